# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AWX credential types inject what the modules read: their env injectors rendered as AWX renders them
(Jinja, ``tower.filename.<field>`` for file injectors), then read through the modules' own argument specs."""

from pathlib import Path

import jinja2
import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._cloudstack.arguments import (
    CloudStackSettings,
    cloudstack_argument_spec,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.filter.plan_options import vcenter_list
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.arguments import (
    VCenterSettings,
    vcenter_argument_spec,
    vcenters_argument_spec,
)

KEYS = {"endpoint": "https://cs/client/api", "api_key": "k", "api_secret": "s"}
AWX = Path(__file__).resolve().parents[3] / "docs" / "awx"


def injected(credential_type, inputs):
    """The environment a job gets from a credential of ``credential_type`` with ``inputs``."""
    definition = yaml.safe_load((AWX / credential_type).read_text())
    fields = {field["id"]: field.get("default", "") for field in definition["inputs"]["fields"]}
    fields.update(inputs)
    files = {name.split(".", 1)[1]: "/runner/env/tmp%s" % name.split(".", 1)[1]
             for name in definition["injectors"].get("file", {})}
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined)
    return {name: environment.from_string(template).render(tower={"filename": files}, **fields)
            for name, template in definition["injectors"]["env"].items()}


def read_by_modules(monkeypatch, env, spec):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = ArgumentSpecValidator(spec).validate({})
    assert not result.error_messages, result.error_messages
    return result.validated_parameters


@pytest.mark.parametrize("beside_vcenter", [False, True])
def test_cloudstack_credential_defaults_validate_against_the_system_cas(monkeypatch, beside_vcenter):
    env = injected("credential_type_cloudstack.yml", {"endpoint": "https://cs/client/api", "api_key": "k", "api_secret": "s"})
    settings = CloudStackSettings.from_params(read_by_modules(monkeypatch, env, cloudstack_argument_spec(beside_vcenter)))
    settings.check()
    assert (settings.endpoint, settings.key, settings.secret, settings.tls_verify()) == ("https://cs/client/api", "k", "s", True)


def test_cloudstack_credential_ca_bundle_is_the_file_awx_writes(monkeypatch):
    env = injected("credential_type_cloudstack.yml", dict(KEYS, ca_bundle="-----BEGIN CERTIFICATE-----\n..."))
    settings = CloudStackSettings.from_params(read_by_modules(monkeypatch, env, cloudstack_argument_spec(True)))
    assert settings.tls_verify() == "/runner/env/tmpca_bundle"


def test_cloudstack_credential_unticked_turns_cloudstacks_validation_off_only(monkeypatch):
    env = injected("credential_type_cloudstack.yml", dict(KEYS, validate_certs=False))
    spec = cloudstack_argument_spec(beside_vcenter=True)
    spec.update(vcenter_argument_spec())
    params = read_by_modules(monkeypatch, env, spec)
    assert CloudStackSettings.from_params(params).tls_verify() is False
    assert VCenterSettings.from_params(params).validate_certs is True


def test_vcenter_credential(monkeypatch):
    env = injected("credential_type_vcenter.yml", {"host": "vc", "username": "u", "password": "p"})
    settings = VCenterSettings.from_params(read_by_modules(monkeypatch, env, vcenter_argument_spec()))
    assert (settings.hostname, settings.port, settings.validate_certs, settings.ca_cert) == ("vc", 443, True, "")


def test_vcenters_credential_gives_the_list_the_modules_take(monkeypatch):
    definition = yaml.safe_load((AWX / "credential_type_vcenters.yml").read_text())
    text = "- {hostname: vc-east, username: ro, password: pe}\n- {hostname: vc-west, username: ro, password: pw, zones: [west]}\n"
    [(name, template)] = definition["injectors"]["extra_vars"].items()
    value = jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(template).render(vcenters=text)
    assert definition["inputs"]["fields"][0]["secret"] is True

    entries = vcenter_list(value)

    assert name == "safe_migration_vcenters"
    result = ArgumentSpecValidator(vcenters_argument_spec()).validate({"vcenters": entries})
    assert not result.error_messages, result.error_messages
    vcenters = result.validated_parameters["vcenters"]
    assert [(entry["hostname"], entry["port"], entry["validate_certs"], entry["zones"]) for entry in vcenters] == [
        ("vc-east", 443, True, []), ("vc-west", 443, True, ["west"])]
