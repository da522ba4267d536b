# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.arguments import (
    VCenterSettings,
    vcenter_argument_spec,
)


def test_spec_has_the_vmware_collections_names_and_env_fallbacks():
    spec = vcenter_argument_spec()
    fallbacks = {name: option["fallback"][1] for name, option in spec.items() if "fallback" in option}
    assert fallbacks == {"hostname": ["VMWARE_HOST"], "username": ["VMWARE_USER"], "password": ["VMWARE_PASSWORD"],
                         "port": ["VMWARE_PORT"], "validate_certs": ["VMWARE_VALIDATE_CERTS"], "ca_cert": ["VMWARE_CA_CERT"],
                         "proxy_host": ["VMWARE_PROXY_HOST"], "proxy_port": ["VMWARE_PROXY_PORT"]}
    assert spec["password"]["no_log"] is True and spec["validate_certs"]["default"] is True and spec["port"]["default"] == 443
    assert spec["ca_cert"]["type"] == "path"
    assert spec is not vcenter_argument_spec()


def test_settings_from_params_and_no_password_in_repr_or_facts():
    settings = VCenterSettings.from_params(dict(hostname="vc", username="admin", password="S3cret!", port=None,
                                                validate_certs=None, ca_cert="/ca.pem", datacenter="DC1"))
    assert (settings.port, settings.validate_certs, settings.datacenter) == (443, True, "DC1")
    assert "S3cret!" not in repr(settings) and "S3cret!" not in str(settings.public_facts())
    assert settings.missing() == []


def test_missing_names_the_options_and_their_variables():
    assert VCenterSettings(username="admin").missing() == ["hostname (or VMWARE_HOST)", "password (or VMWARE_PASSWORD)"]


def test_proxy_defaults_to_port_80_and_a_port_alone_is_missing_its_host():
    assert VCenterSettings(hostname="vc", proxy_host="proxy").proxy() == ("proxy", 80)
    assert VCenterSettings(hostname="vc", proxy_host="proxy", proxy_port=3128).proxy() == ("proxy", 3128)
    assert VCenterSettings(hostname="vc").proxy() == (None, None)
    assert VCenterSettings(hostname="vc", username="u", password="p", proxy_port=3128).missing() == [
        "proxy_host (or VMWARE_PROXY_HOST), since proxy_port is set"]


def test_proxy_options_come_from_the_vmware_variables(monkeypatch):
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
    monkeypatch.setenv("VMWARE_PROXY_HOST", "proxy.example.com")
    monkeypatch.setenv("VMWARE_PROXY_PORT", "3128")
    params = ArgumentSpecValidator(vcenter_argument_spec()).validate({}).validated_parameters
    assert VCenterSettings.from_params(params).proxy() == ("proxy.example.com", 3128)


def test_only_validation_off_is_insecure():
    assert VCenterSettings(validate_certs=True).insecure() == []
    reasons = VCenterSettings(validate_certs=False).insecure()
    assert len(reasons) == 1 and "validate_certs=false" in reasons[0] and "not validated" in reasons[0]
