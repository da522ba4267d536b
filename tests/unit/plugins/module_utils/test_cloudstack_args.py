# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The CloudStack connection options: names and environment as in ngine_io.cloudstack, the certificate switch."""

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._cloudstack.arguments import (
    CloudStackSettings,
    cloudstack_argument_spec,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import InvalidInput
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.arguments import vcenter_argument_spec

CLOUDSTACK_ENV = ("CLOUDSTACK_ENDPOINT", "CLOUDSTACK_KEY", "CLOUDSTACK_SECRET", "CLOUDSTACK_TIMEOUT", "CLOUDSTACK_METHOD",
                  "CLOUDSTACK_VERIFY", "CLOUDSTACK_REGION", "CLOUDSTACK_DANGEROUS_NO_TLS_VERIFY", "VMWARE_VALIDATE_CERTS")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in CLOUDSTACK_ENV:
        monkeypatch.delenv(name, raising=False)


def validated(spec, params):
    """The module's parameters after Ansible's own validation (fallbacks, aliases, defaults, types)."""
    result = ArgumentSpecValidator(spec).validate(params)
    assert not result.error_messages, result.error_messages
    return result.validated_parameters


def alone_spec():
    return cloudstack_argument_spec()


def beside_vcenter_spec():
    spec = cloudstack_argument_spec(beside_vcenter=True)
    spec.update(vcenter_argument_spec())
    return spec


def test_spec_has_ngine_io_names_env_fallbacks_and_hides_secrets():
    spec = cloudstack_argument_spec()
    assert {name: spec[name]["fallback"][1] for name in ("api_url", "api_key", "api_secret", "api_timeout",
                                                         "api_http_method", "api_verify_ssl_cert")} == {
        "api_url": ["CLOUDSTACK_ENDPOINT"], "api_key": ["CLOUDSTACK_KEY"], "api_secret": ["CLOUDSTACK_SECRET"],
        "api_timeout": ["CLOUDSTACK_TIMEOUT"], "api_http_method": ["CLOUDSTACK_METHOD"],
        "api_verify_ssl_cert": ["CLOUDSTACK_VERIFY"]}
    assert spec["api_secret"]["no_log"] is True and spec["api_key"]["no_log"] is True
    assert spec["api_http_method"]["choices"] == ["get", "post"]
    assert spec["validate_certs"]["type"] == "bool" and spec["validate_certs"]["default"] is True
    assert spec is not cloudstack_argument_spec()


def test_cloudstack_only_module_takes_validate_certs_with_the_group_wide_alias():
    spec = alone_spec()
    assert spec["validate_certs"]["aliases"] == ["api_validate_certs"] and "api_validate_certs" not in spec
    for name in ("validate_certs", "api_validate_certs"):
        settings = CloudStackSettings.from_params(validated(alone_spec(), {name: False}))
        # the messages name the switch as the task spelled it
        assert (settings.validate_certs, settings.switch_name, settings.tls_verify()) == (False, name, False)


def test_beside_vcenter_validate_certs_is_vcenters_and_api_validate_certs_cloudstacks():
    params = validated(beside_vcenter_spec(), {"validate_certs": False})
    settings = CloudStackSettings.from_params(params)
    assert params["validate_certs"] is False and params["api_validate_certs"] is True
    assert (settings.validate_certs, settings.switch_name) == (True, "api_validate_certs")
    params = validated(beside_vcenter_spec(), {"api_validate_certs": False})
    assert params["validate_certs"] is True and CloudStackSettings.from_params(params).validate_certs is False


@pytest.mark.parametrize("value, validate", [("true", False), ("1", False), ("yes", False), ("false", True), ("0", True),
                                             ("maybe", True), ("", True)])
def test_dangerous_no_tls_verify_reads_as_its_name_says(monkeypatch, value, validate):
    monkeypatch.setenv("CLOUDSTACK_DANGEROUS_NO_TLS_VERIFY", value)
    for spec, switch in ((alone_spec(), "validate_certs"), (beside_vcenter_spec(), "api_validate_certs")):
        assert validated(spec, {})[switch] is validate


def test_cloudstack_variable_never_touches_vcenters_switch_nor_the_converse(monkeypatch):
    monkeypatch.setenv("CLOUDSTACK_DANGEROUS_NO_TLS_VERIFY", "true")
    params = validated(beside_vcenter_spec(), {})
    assert (params["validate_certs"], params["api_validate_certs"]) == (True, False)
    monkeypatch.delenv("CLOUDSTACK_DANGEROUS_NO_TLS_VERIFY")
    monkeypatch.setenv("VMWARE_VALIDATE_CERTS", "false")
    params = validated(beside_vcenter_spec(), {})
    assert (params["validate_certs"], params["api_validate_certs"]) == (False, True)


def test_an_explicit_switch_wins_over_the_variable(monkeypatch):
    monkeypatch.setenv("CLOUDSTACK_DANGEROUS_NO_TLS_VERIFY", "true")
    assert validated(alone_spec(), {"validate_certs": True})["validate_certs"] is True


@pytest.mark.parametrize("validate, bundle, expected", [(True, None, True), (True, "/etc/ca.pem", "/etc/ca.pem"),
                                                        (False, "/etc/ca.pem", False), (False, None, False)])
def test_tls_verify(validate, bundle, expected):
    assert CloudStackSettings(verify=bundle, validate_certs=validate).tls_verify() == expected


@pytest.mark.parametrize("word", ["false", "False", "no", "true", "0"])
def test_a_switch_word_in_the_ca_bundle_option_is_refused_naming_the_switch(word):
    settings = CloudStackSettings.from_params(validated(beside_vcenter_spec(), {"api_verify_ssl_cert": word}))
    with pytest.raises(InvalidInput) as raised:
        settings.check()
    assert "takes the path of a CA bundle" in raised.value.message and "api_validate_certs=false" in raised.value.message


def test_ca_bundle_from_the_environment(monkeypatch):
    monkeypatch.setenv("CLOUDSTACK_VERIFY", "/etc/pki/cloudstack-ca.pem")
    settings = CloudStackSettings.from_params(validated(alone_spec(), {}))
    settings.check()
    assert settings.tls_verify() == "/etc/pki/cloudstack-ca.pem"


@pytest.mark.parametrize("endpoint, validate, warned", [
    ("https://cs/client/api", True, []),
    ("http://cs/client/api", True, ["plain http"]),
    ("HTTP://cs/client/api", True, ["plain http"]),
    ("https://cs/client/api", False, ["not validated"]),
    ("http://cs/client/api", False, ["not validated", "plain http"]),
])
def test_insecure_reasons(endpoint, validate, warned):
    reasons = CloudStackSettings(endpoint=endpoint, validate_certs=validate, switch_name="api_validate_certs").insecure()
    assert len(reasons) == len(warned) and all(part in reason for part, reason in zip(warned, reasons))
    if not validate:
        assert "api_validate_certs=false" in reasons[0]


@pytest.mark.parametrize("ini, validate, bundle", [
    ({"verify": "/ini/ca.pem"}, True, "/ini/ca.pem"),
    ({"dangerous_no_tls_verify": "true"}, False, None),
    ({"dangerous_no_tls_verify": "false", "verify": "/ini/ca.pem"}, True, "/ini/ca.pem"),
    ({"verify": "false"}, False, None),
    ({"verify": False}, False, None),
    ({"verify": True}, True, None),
    ({}, True, None),
])
def test_cloudstack_ini_tls_keys(ini, validate, bundle):
    merged = CloudStackSettings(endpoint="https://cs", key="k", secret="s").merged_with_ini(ini)
    assert (merged.validate_certs, merged.verify) == (validate, bundle)


def test_options_win_over_cloudstack_ini_and_an_ini_never_turns_validation_back_on():
    merged = CloudStackSettings(verify="/opt/ca.pem", validate_certs=False).merged_with_ini(
        {"verify": "/ini/ca.pem", "dangerous_no_tls_verify": "false", "endpoint": "https://ini", "key": "k", "secret": "s"})
    assert (merged.verify, merged.validate_certs, merged.endpoint, merged.missing()) == ("/opt/ca.pem", False, "https://ini", [])


def test_secret_never_in_repr_or_public_facts():
    settings = CloudStackSettings.from_params(dict(api_url="https://cs", api_key="KEY", api_secret="SECRET", api_region=None))
    assert "SECRET" not in repr(settings) and "KEY" not in repr(settings)
    assert settings.public_facts() == {"endpoint": "https://cs", "region": "cloudstack", "validate_certs": True,
                                       "ca_bundle": None}
    assert settings.missing() == []
