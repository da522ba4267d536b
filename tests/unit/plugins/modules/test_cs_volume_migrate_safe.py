# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""main() of cs_volume_migrate_safe, through patch_module_args: the boundary and the documented examples."""

import json

import pytest
import yaml
from ansible.module_utils.testing import patch_module_args

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import PreflightFailed
from ansible_collections.cloudstack_vmware.safe_migration.plugins.modules import cs_volume_migrate_safe

ARGS = dict(volume="DATA-42", destination="primary-nfs-2", api_url="http://cs.example/client/api", api_key="K3y",
            api_secret="S3cret!", hostname="vc.example", username="admin", password="Pa55!")
MODULE_NAME = "cloudstack_vmware.safe_migration.cs_volume_migrate_safe"


def run_main(capsys, args):
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exited:
            cs_volume_migrate_safe.main()
    output = capsys.readouterr().out
    return exited.value.code, json.loads(output), output


def test_examples_use_only_options_the_module_has():
    spec = cs_volume_migrate_safe.argument_spec()
    names = set(spec) | {alias for option in spec.values() for alias in option.get("aliases", [])}
    for task in yaml.safe_load(cs_volume_migrate_safe.EXAMPLES):
        unknown = set(task[MODULE_NAME]) - names
        assert not unknown, "%s: %s" % (task["name"], unknown)


def test_secrets_are_no_log():
    spec = cs_volume_migrate_safe.argument_spec()
    assert spec["api_secret"]["no_log"] and spec["api_key"]["no_log"] and spec["password"]["no_log"]


def test_a_domain_error_becomes_a_failure_with_its_facts(capsys, monkeypatch):
    def refuse(params, check_mode):
        raise PreflightFailed("Preflight of volume DATA-42 failed, nothing was changed: pool is full",
                              volume_id="v-42", diff={"before": {}, "after": {}})
    monkeypatch.setattr(cs_volume_migrate_safe, "migrate", refuse)
    code, result, output = run_main(capsys, ARGS)
    assert code == 1 and result["failed"] is True
    assert result["msg"].startswith("Preflight of volume DATA-42 failed") and result["volume_id"] == "v-42"
    assert "diff" not in result  # shown only in diff mode
    assert "S3cret!" not in output and "Pa55!" not in output


def test_an_unexpected_error_is_a_message_not_a_traceback(capsys, monkeypatch):
    def crash(params, check_mode):
        raise KeyError("storageid")
    monkeypatch.setattr(cs_volume_migrate_safe, "migrate", crash)
    code, result, output = run_main(capsys, ARGS)
    assert code == 1 and result["msg"] == "Unexpected error: KeyError: 'storageid'"
    assert "Traceback" not in output


def test_volume_and_volumes_are_exclusive(capsys):
    code, result, unused_output = run_main(capsys, dict(ARGS, volumes=[{"volume": "DATA-1", "destination": "p"}]))
    assert code == 1 and "mutually exclusive" in result["msg"]
