# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""TLS of both connections: warnings when validation is off or http is plain, a certificate failure that says so,
names the option and is not retried. CloudStack is a real HTTPS server on loopback with a certificate of its own CA."""

import datetime
import ipaddress
import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._cloudstack import client as cloudstack_client

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter import client as vcenter_client
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._cloudstack.arguments import CloudStackSettings
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import ConnectionFailed
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.arguments import VCenterSettings

ZONES = {"listzonesresponse": {"count": 1, "zone": [{"id": "z1", "name": "zone1"}]}}


def _certificate(tmp_path):
    """A self-signed certificate for 127.0.0.1 (its own CA); returns (cert path, key path)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cloudstack.test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cloudstack-ca.pem", tmp_path / "cloudstack.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        self.server.requests += 1
        body = json.dumps(ZONES).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def https_cloudstack(tmp_path):
    """(endpoint, CA bundle path, server) of an HTTPS API on loopback whose certificate no system CA signed."""
    cert_path, key_path = _certificate(tmp_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.requests = 0
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert_path), str(key_path))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "https://127.0.0.1:%d/client/api" % server.server_address[1], str(cert_path), server
    server.shutdown()
    server.server_close()


def _connect(endpoint, sleeps, warnings, **settings):
    return cloudstack_client.connect(CloudStackSettings(endpoint=endpoint, key="KEY", secret="SECRET", timeout=5, **settings),
                                     warn=warnings.append, sleep=sleeps.append)


@pytest.mark.parametrize("switch_name", ["validate_certs", "api_validate_certs"])
def test_an_unverifiable_cloudstack_certificate_fails_at_once_and_names_the_options(https_cloudstack, switch_name):
    endpoint, server = https_cloudstack[0], https_cloudstack[2]
    sleeps, warnings = [], []
    client = _connect(endpoint, sleeps, warnings, switch_name=switch_name)
    with pytest.raises(ConnectionFailed) as raised:
        client.list_zones()
    message = raised.value.message
    assert "TLS certificate of CloudStack at %s could not be verified" % endpoint in message
    assert "certificate verify failed" in message
    assert "api_verify_ssl_cert" in message and "%s=false" % switch_name in message
    assert "CLOUDSTACK_DANGEROUS_NO_TLS_VERIFY" in message
    assert raised.value.facts["reason"] == "tls"
    assert "SECRET" not in message and "apiKey" not in message
    assert sleeps == [], "a certificate failure was retried as a transient error"
    assert server.requests == 0 and warnings == []


def test_the_ca_bundle_option_makes_the_same_certificate_verify(https_cloudstack):
    endpoint, ca_bundle, server = https_cloudstack
    sleeps, warnings = [], []
    assert _connect(endpoint, sleeps, warnings, verify=ca_bundle).list_zones() == ZONES["listzonesresponse"]["zone"]
    assert server.requests == 1 and warnings == [] and sleeps == []


def test_validation_off_connects_and_warns(https_cloudstack):
    endpoint, server = https_cloudstack[0], https_cloudstack[2]
    sleeps, warnings = [], []
    client = _connect(endpoint, sleeps, warnings, validate_certs=False, switch_name="api_validate_certs")
    assert client.list_zones() == ZONES["listzonesresponse"]["zone"] and server.requests == 1
    assert len(warnings) == 1 and "not validated" in warnings[0] and "api_validate_certs=false" in warnings[0]


def test_plain_http_is_warned_about():
    warnings = []
    cloudstack_client.connect(CloudStackSettings(endpoint="http://127.0.0.1:9/client/api", key="k", secret="s"),
                              warn=warnings.append)
    assert len(warnings) == 1 and "plain http" in warnings[0]


def test_warnings_go_to_ansibles_module_warnings_by_default(monkeypatch):
    from ansible.module_utils.common import warnings as module_warnings
    # module.warn records there too; a fresh record keeps other tests' module results free of this warning
    monkeypatch.setattr(module_warnings, "_global_warnings", {})
    # as in a module run: once a test has loaded controller code, warn() would go to the controller's display
    monkeypatch.setattr(module_warnings._internal, "is_controller", False)  # pylint: disable=protected-access
    cloudstack_client.connect(CloudStackSettings(endpoint="http://127.0.0.1:9/client/api", key="k", secret="s"))
    assert any("plain http" in str(message) for message in module_warnings.get_warning_messages())


def test_a_refused_connection_is_still_retried():
    sleeps, warnings = [], []
    client = _connect("https://127.0.0.1:9/client/api", sleeps, warnings)  # the discard port: nothing listens
    with pytest.raises(ConnectionFailed) as raised:
        client.list_zones()
    assert "cannot reach CloudStack" in raised.value.message and len(sleeps) == 3


class _FakeConnect:
    def __init__(self, fail=None):
        self.calls = []
        self.fail = fail

    def __call__(self, **kwargs):
        self.calls.append(kwargs)
        if self.fail:
            raise self.fail

        class _Instance:
            def RetrieveContent(self):  # noqa: N802 (pyVmomi's name)
                return None
        return _Instance()


def _vcenter(**options):
    return VCenterSettings(hostname="vc.example.com", username="u", password="p", **options)


def test_vcenter_proxy_is_given_to_pyvmomi():
    fake = _FakeConnect()
    vcenter_client.connect(_vcenter(proxy_host="proxy.example.com", proxy_port=3128), smart_connect=fake, warn=[].append)
    assert (fake.calls[0]["httpProxyHost"], fake.calls[0]["httpProxyPort"]) == ("proxy.example.com", 3128)
    fake = _FakeConnect()
    vcenter_client.connect(_vcenter(), smart_connect=fake, warn=[].append)
    assert "httpProxyHost" not in fake.calls[0]


def test_vcenter_validation_off_warns_and_on_does_not():
    warnings = []
    vcenter_client.connect(_vcenter(validate_certs=False), smart_connect=_FakeConnect(), warn=warnings.append)
    assert len(warnings) == 1 and "validate_certs=false" in warnings[0]
    warnings = []
    vcenter_client.connect(_vcenter(), smart_connect=_FakeConnect(), warn=warnings.append)
    assert warnings == []


def test_vcenter_certificate_failure_names_the_options_and_the_proxy():
    error = ssl.SSLCertVerificationError(1, "certificate verify failed")
    error.verify_message = "self-signed certificate in certificate chain"
    fake = _FakeConnect(fail=error)
    with pytest.raises(ConnectionFailed) as raised:
        vcenter_client.connect(_vcenter(proxy_host="proxy", proxy_port=3128), smart_connect=fake, warn=[].append)
    message = raised.value.message
    assert "could not be verified (self-signed certificate in certificate chain)" in message
    assert "ca_cert" in message and "validate_certs=false" in message and "through the proxy proxy:3128" in message
    assert len(fake.calls) == 1
