# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

import pytest

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils.cloudstack_args import (
    CloudStackSettings,
    cloudstack_argument_spec,
)


def test_spec_has_ngine_io_names_env_fallbacks_and_hides_secrets():
    spec = cloudstack_argument_spec()
    assert spec["api_url"]["fallback"][1] == ["CLOUDSTACK_ENDPOINT"]
    assert spec["api_verify_ssl_cert"]["fallback"][1] == ["CLOUDSTACK_VERIFY"]
    assert spec["api_secret"]["no_log"] is True and spec["api_key"]["no_log"] is True
    assert spec is not cloudstack_argument_spec()


@pytest.mark.parametrize("value, expected", [(None, True), ("true", True), ("False", False), ("no", False),
                                             (False, False), ("/etc/ca.pem", "/etc/ca.pem")])
def test_tls_verify(value, expected):
    assert CloudStackSettings(verify=value).tls_verify() == expected


def test_secret_never_in_repr_or_public_facts():
    settings = CloudStackSettings.from_params(dict(api_url="https://cs", api_key="KEY", api_secret="SECRET", api_region=None))
    assert "SECRET" not in repr(settings) and "KEY" not in repr(settings)
    assert settings.public_facts() == {"endpoint": "https://cs", "region": "cloudstack"}
    assert settings.missing() == []
