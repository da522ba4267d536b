# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""main() of vmware_inventory_assert, through patch_module_args, with a fake vCenter client."""

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter import client as vcenter_client
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import ConnectionFailed
from ansible_collections.cloudstack_vmware.safe_migration.plugins.modules import vmware_inventory_assert
from unit.plugins.module_utils.identity_read import IdentityRead  # pylint: disable=import-error

CONNECTION = dict(hostname="vc.example", username="admin", password="S3cret!")
ROOT34 = "[ds1] i-2-34-VM/ROOT-34.vmdk"


class FakeClient(IdentityRead):
    def __init__(self):
        self.closed = False

    def read_inventory(self, datacenter=None):
        disks = [{"key": 2000, "file": ROOT34, "datastore_moid": "ds-1", "parent_files": []}]
        vm = {"moid": "vm-34", "name": "i-2-34-VM", "connection_state": "connected", "power_state": "poweredOn", "disks": disks}
        ds = {"moid": "ds-1", "name": "ds1", "browser": "b-1", "accessible": True, "maintenance_mode": "normal"}
        return {"vms": [vm], "datastores": {"ds-1": ds}}

    def read_vms(self, moids, hosts, field_names):  # pylint: disable=unused-argument
        return [vm for vm in self.read_inventory()["vms"] if vm["moid"] in moids]

    def search_datastore(self, datastore, names):
        return [ROOT34] if "ROOT-34.vmdk" in names else []

    def close(self):
        self.closed = True


@pytest.fixture
def fake_vcenter(monkeypatch):
    client = FakeClient()
    seen = []

    def connect(settings):
        seen.append(settings)
        return client
    monkeypatch.setattr(vcenter_client, "connect", connect)
    client.seen = seen
    return client


def run_main(capsys, args):
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exited:
            vmware_inventory_assert.main()
    return exited.value.code, json.loads(capsys.readouterr().out)


def test_passes_and_returns_the_documented_shape(capsys, fake_vcenter):
    code, result = run_main(capsys, dict(CONNECTION, vms=[{"name": "i-2-34-VM", "disks": [{"path": "ROOT-34", "datastore": "ds1"}]}]))
    assert code == 0 and result["ok"] is True and result["changed"] is False and result["problems"] == []
    assert result["vms"][0]["disks"][0] == {"path": "ROOT-34", "file": ROOT34, "datastore": "ds1", "exists": True, "attached": True,
                                            "device_key": 2000, "datastore_moid": "ds-1", "file_status": "found",
                                            "file_status_reason": None}
    assert result["summary"] == {"total": 1, "found": 1, "problems": 0}
    assert fake_vcenter.closed and fake_vcenter.seen[0].port == 443 and fake_vcenter.seen[0].validate_certs is True
    assert "S3cret!" not in json.dumps(result)


def test_fails_with_every_problem_code_unless_told_to_report(capsys, fake_vcenter):
    vms = [{"name": "i-2-34-VM", "disks": [{"path": "ROOT-3"}]}, {"name": "i-2-40-VM"}]
    code, result = run_main(capsys, dict(CONNECTION, vms=vms))
    assert code == 1 and result["failed"] is True
    assert [problem["code"] for problem in result["problems"]] == ["disk_not_attached", "vm_not_found"]
    assert result["msg"].startswith("vCenter does not hold what was asserted (2 problems)")
    code, result = run_main(capsys, dict(CONNECTION, vms=vms, fail_on_problems=False))
    assert code == 0 and result["ok"] is False and len(result["problems"]) == 2


def test_check_mode_runs_the_same_read_only_check(capsys, fake_vcenter):
    code, result = run_main(capsys, dict(CONNECTION, vms=[{"moid": "vm-34"}], _ansible_check_mode=True))
    assert code == 0 and result["ok"] is True and result["vms"][0]["name"] == "i-2-34-VM"


def test_a_vm_needs_exactly_one_reference(capsys, fake_vcenter):
    code, result = run_main(capsys, dict(CONNECTION, vms=[{"name": "a", "bios_uuid": "b"}]))
    assert code == 1 and "exactly one of name, instance_uuid, bios_uuid, moid" in result["msg"]
    assert fake_vcenter.seen == []


def test_domain_errors_become_a_failure_with_facts(capsys, monkeypatch):
    def refuse(settings):
        raise ConnectionFailed("vCenter vc.example:443 refused the login of user admin", reason="invalid_login")
    monkeypatch.setattr(vcenter_client, "connect", refuse)
    code, result = run_main(capsys, dict(CONNECTION, vms=[{"name": "x"}]))
    assert code == 1 and result["reason"] == "invalid_login" and "refused the login" in result["msg"]


def test_unexpected_errors_give_a_message_not_a_traceback(capsys, monkeypatch):
    def crash(settings):
        raise KeyError("boom")
    monkeypatch.setattr(vcenter_client, "connect", crash)
    code, result = run_main(capsys, dict(CONNECTION, vms=[{"name": "x"}]))
    assert code == 1 and result["msg"] == "Unexpected error: KeyError: 'boom'" and "exception" not in result


def test_missing_pyvmomi_is_reported(capsys, monkeypatch):
    monkeypatch.setattr(vcenter_client, "HAS_PYVMOMI", False)
    code, result = run_main(capsys, dict(CONNECTION, vms=[{"name": "x"}]))
    assert code == 1 and "pyvmomi" in result["msg"]
