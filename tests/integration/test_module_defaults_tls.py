"""module_defaults meant for one service never turn off certificate validation for the other.

One play through ansible-playbook against the lab. vCenter (vcsim) has a certificate of its own CA; CloudStack (the
simulator) is reached through an HTTPS front on loopback whose certificate is of another private CA. Each case sets
module_defaults for one group (ngine_io.cloudstack's, vmware.vmware's, or this collection's two) and trusts the
*other* service by its CA bundle, so the task can only pass if the defaults turned the other service's validation
off: each such case must fail on the other service's certificate. Controls show that each switch works for its own
service. ngine_io.cloudstack and vmware.vmware are not installed here: stand-ins with their group names and runtime
metadata are written for the play (module_defaults for a group of a missing collection is a parse error).
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import ssl
import subprocess
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

pytest_plugins = ["lab.fixtures"]

REPO = Path(__file__).resolve().parents[2]
COLLECTIONS = REPO / ".venv" / "collections"
FQCN = "cloudstack_vmware.safe_migration."
NGINE_IO_GROUP = "group/ngine_io.cloudstack.cloudstack"
VMWARE_VMWARE_GROUP = "group/vmware.vmware.vmware"
OUR_CLOUDSTACK_GROUP = "group/cloudstack_vmware.safe_migration.cloudstack"
OUR_VMWARE_GROUP = "group/cloudstack_vmware.safe_migration.vmware"
VCENTER_CERT_FAILURE = "The TLS certificate of vCenter"
CLOUDSTACK_CERT_FAILURE = "the TLS certificate of CloudStack at"

STAND_INS = {
    # collection: (group, one module of the group)
    ("ngine_io", "cloudstack"): ("cloudstack", "zone_info"),
    ("vmware", "vmware"): ("vmware", "vm_powerstate"),
}


def _private_ca(directory):
    """A self-signed certificate for 127.0.0.1 (its own CA): (cert path, key path)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cloudstack-front.test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cloudstack-ca.pem", directory / "cloudstack-front.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def _front_handler(backend):
    class Front(BaseHTTPRequestHandler):
        """Relays each request to the simulator's plain-http endpoint, as a TLS-terminating load balancer does."""

        def _relay(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            request = urllib.request.Request(backend + self.path, data=body, method=self.command,
                                             headers={k: v for k, v in self.headers.items() if k.lower() != "host"})
            try:
                with urllib.request.urlopen(request, timeout=60) as answer:
                    status, headers, payload = answer.status, answer.headers, answer.read()
            except urllib.error.HTTPError as error:
                status, headers, payload = error.code, error.headers, error.read()
            self.send_response(status)
            self.send_header("Content-Type", headers.get("Content-Type", "application/json"))
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _relay  # noqa: N815 (http.server's names)

        def log_message(self, *args):
            pass
    return Front


@pytest.fixture
def https_cloudstack(lab, tmp_path):
    """(https endpoint, its CA bundle) in front of the lab's CloudStack simulator."""
    endpoint = lab.env["CLOUDSTACK_ENDPOINT"]
    backend = endpoint.split("/client/api")[0]
    cert_path, key_path = _private_ca(tmp_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _front_handler(backend))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert_path), str(key_path))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "https://127.0.0.1:%d/client/api" % server.server_address[1], str(cert_path)
    server.shutdown()
    server.server_close()


def _stand_in_collections(root):
    for (namespace, name), (group, module) in STAND_INS.items():
        collection = root / "ansible_collections" / namespace / name
        (collection / "meta").mkdir(parents=True)
        (collection / "plugins" / "modules").mkdir(parents=True)
        (collection / "meta" / "runtime.yml").write_text(
            "---\nrequires_ansible: '>=2.16.0'\naction_groups:\n  %s:\n    - %s\n" % (group, module))
        (collection / "plugins" / "modules" / (module + ".py")).write_text(
            "#!/usr/bin/python\nfrom ansible.module_utils.basic import AnsibleModule\n"
            "AnsibleModule(argument_spec={}).exit_json(changed=False)\n")
    return root


def _case(name, module, args, defaults, trust):
    """A block: module_defaults ``defaults``, the CA bundle of the service ``trust`` in the environment."""
    return {"name": name, "module_defaults": defaults, "environment": trust,
            "block": [{"name": name, FQCN + module: args, "register": "outcome", "ignore_errors": True},
                      {"name": "Keep " + name, "ansible.builtin.set_fact": {
                          "outcomes": "{{ outcomes | combine({%s: outcome}) }}" % json.dumps(name)}}]}


def test_no_module_defaults_for_one_service_turns_off_the_others_validation(lab, https_cloudstack, tmp_path):
    endpoint, cloudstack_ca = https_cloudstack
    vcenter_ca = lab.env["VMWARE_CA_CERT"]
    pool = sorted(pool["name"] for pool in lab.admin().listStoragePools()["storagepool"])[0]
    trust_cloudstack = {"CLOUDSTACK_VERIFY": cloudstack_ca}
    trust_vcenter = {"VMWARE_CA_CERT": vcenter_ca}
    drift = ("cs_vmware_drift_info", {"pool": pool})
    plan = ("cs_volume_plan_info", {"evacuate": {"source_pool": pool}})
    off, on = {"validate_certs": False}, {"validate_certs": True}

    # name: (module, module_defaults, trusted service, the failure that must happen or None for success)
    cs_api_off = {"api_validate_certs": False}
    cases = {
        # meant for CloudStack: vCenter's validation stays on
        "ngine_io group validate_certs=false (drift)": (
            drift, {NGINE_IO_GROUP: off}, trust_cloudstack, VCENTER_CERT_FAILURE),
        "our cloudstack group validate_certs=false (drift)": (
            drift, {OUR_CLOUDSTACK_GROUP: off}, trust_cloudstack, VCENTER_CERT_FAILURE),
        "our cloudstack group api_validate_certs=false (drift)": (
            drift, {OUR_CLOUDSTACK_GROUP: cs_api_off}, trust_cloudstack, VCENTER_CERT_FAILURE),
        "cloudstack group off after vmware group on (drift)": (
            drift, [{OUR_VMWARE_GROUP: on}, {OUR_CLOUDSTACK_GROUP: off}], trust_cloudstack, VCENTER_CERT_FAILURE),
        # meant for vCenter: CloudStack's validation stays on
        "vmware.vmware group validate_certs=false (drift)": (
            drift, {VMWARE_VMWARE_GROUP: off}, trust_vcenter, CLOUDSTACK_CERT_FAILURE),
        "our vmware group validate_certs=false (drift)": (
            drift, {OUR_VMWARE_GROUP: off}, trust_vcenter, CLOUDSTACK_CERT_FAILURE),
        "vmware.vmware group validate_certs=false (plan)": (
            plan, {VMWARE_VMWARE_GROUP: off}, {}, CLOUDSTACK_CERT_FAILURE),
        "our vmware group validate_certs=false (plan)": (
            plan, {OUR_VMWARE_GROUP: off}, {}, CLOUDSTACK_CERT_FAILURE),
        "ngine_io group validate_certs=false (plan)": (
            plan, {NGINE_IO_GROUP: off}, {}, CLOUDSTACK_CERT_FAILURE),
        # controls: each switch does turn its own service's validation off
        "control: cloudstack group validate_certs=false is CloudStack's (drift)": (
            drift, {OUR_CLOUDSTACK_GROUP: off}, trust_vcenter, None),
        "control: cloudstack group api_validate_certs=false (drift)": (
            drift, {OUR_CLOUDSTACK_GROUP: cs_api_off}, trust_vcenter, None),
        "control: vmware group validate_certs=false (drift)": (
            drift, {OUR_VMWARE_GROUP: off}, trust_cloudstack, None),
        "control: the task's own validate_certs=false is vCenter's (drift)": (
            ("cs_vmware_drift_info", {"pool": pool, "validate_certs": False}), {OUR_CLOUDSTACK_GROUP: on}, trust_cloudstack, None),
        "control: cloudstack group validate_certs=false (plan)": (
            plan, {OUR_CLOUDSTACK_GROUP: off}, {}, None),
        "control: both trusted by their CA bundles (drift)": (
            drift, {}, dict(trust_cloudstack, **trust_vcenter), None),
    }
    save = {"name": "Save the outcomes",
            "ansible.builtin.copy": {"content": "{{ outcomes | to_json }}", "dest": str(tmp_path / "outcomes.json")}}
    play = [{"name": "module_defaults and certificate validation", "hosts": "localhost", "connection": "local",
             "gather_facts": False, "vars": {"outcomes": {}},
             "tasks": [_case(name, module, args, defaults, trust)
                       for name, ((module, args), defaults, trust, _expected) in cases.items()] + [save]}]
    (tmp_path / "play.yml").write_text(json.dumps(play))

    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("CLOUDSTACK_", "VMWARE_"))}
    env.update({key: value for key, value in lab.env.items() if key not in ("VMWARE_CA_CERT", "VMWARE_VALIDATE_CERTS")})
    stand_ins = _stand_in_collections(tmp_path / "stand-ins")
    env.update(CLOUDSTACK_ENDPOINT=endpoint, ANSIBLE_COLLECTIONS_PATH="%s:%s" % (COLLECTIONS, stand_ins),
               ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="0", ANSIBLE_HOME=str(tmp_path / "ansible-home"))
    completed = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), str(tmp_path / "play.yml")],
                               env=env, cwd=str(tmp_path), capture_output=True, text=True, timeout=900, check=False)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0 and (tmp_path / "outcomes.json").exists(), output
    outcomes = json.loads((tmp_path / "outcomes.json").read_text())

    wrong = {}
    for name, case in cases.items():
        failure = case[3]
        outcome = outcomes[name]
        message = outcome.get("msg", "")
        if failure is None and outcome.get("failed"):
            wrong[name] = "expected success, got: %s" % message
        elif failure is not None and not (outcome.get("failed") and failure in message):
            wrong[name] = "expected %r, got: %s" % (failure, message if outcome.get("failed") else "success")
    assert not wrong, json.dumps(wrong, indent=1)

    # The certificate failures name the options that fix them, as the module calls them.
    assert "api_validate_certs=false" in outcomes["our vmware group validate_certs=false (drift)"]["msg"]
    assert "validate_certs=false" in outcomes["our vmware group validate_certs=false (plan)"]["msg"]
    assert "ca_cert" in outcomes["our cloudstack group validate_certs=false (drift)"]["msg"]
    # Validation turned off is warned about, for the service it was turned off for.
    warned = " ".join(outcomes["control: cloudstack group validate_certs=false is CloudStack's (drift)"].get("warnings", []))
    assert "CloudStack's TLS certificate is not validated" in warned and "vCenter's TLS certificate" not in warned
    warned = " ".join(outcomes["control: vmware group validate_certs=false (drift)"].get("warnings", []))
    assert "vCenter's TLS certificate is not validated" in warned and "CloudStack's TLS certificate" not in warned
