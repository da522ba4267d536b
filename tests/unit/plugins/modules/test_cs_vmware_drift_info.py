# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""main() of cs_vmware_drift_info, through patch_module_args, with fake clients: the boundary and the result shape."""

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._cloudstack import client as cloudstack_client

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter import client as vcenter_client
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import ConnectionFailed
from ansible_collections.cloudstack_vmware.safe_migration.plugins.modules import cs_vmware_drift_info

POOL = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
DS = POOL.replace("-", "")
SECRETS = dict(api_url="https://cloud.example/client/api", api_key="the-key", api_secret="Secret-CS!",
               hostname="vc.example", username="admin", password="Secret-VC!")


class FakeCloudStack:
    def list_storage_pools(self, **filters):
        return [dict(id=POOL, name="nfs-1", zoneid="z", clusterid="c", type="NetworkFilesystem", hypervisor="VMware")]

    def list_volumes(self, **filters):
        return []

    def list_virtual_machines(self, **filters):
        return []


class FakeVCenter:
    def __init__(self, files):
        self.files = files
        self.closed = False

    def read_inventory(self, datacenter=None):
        return {"vms": [], "datastores": {"ds-1": {"moid": "ds-1", "name": DS, "browser": "b", "accessible": True}}}

    def list_datastore_files(self, datastore):
        return list(self.files)

    def close(self):
        self.closed = True


@pytest.fixture
def clients(monkeypatch):
    vcenter = FakeVCenter([])
    monkeypatch.setattr(cloudstack_client, "connect", lambda settings: FakeCloudStack())
    monkeypatch.setattr(vcenter_client, "connect", lambda settings: vcenter)
    return vcenter


def run_main(capsys, args):
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exited:
            cs_vmware_drift_info.main()
    return exited.value.code, json.loads(capsys.readouterr().out)


def test_clean_audit_shape_and_no_secret(capsys, clients):
    code, result = run_main(capsys, dict(SECRETS, _ansible_check_mode=True))
    assert code == 0 and result["changed"] is False and result["clean"] is True and result["drift"] == []
    assert result["scope"]["kind"] == "all" and result["summary"]["datastores_listed"] == 1 and clients.closed
    assert "Secret-CS!" not in json.dumps(result) and "Secret-VC!" not in json.dumps(result)


def test_drift_is_reported_and_fails_only_when_asked(capsys, clients):
    clients.files.append("[%s] lost.vmdk" % DS)
    code, result = run_main(capsys, SECRETS)
    assert code == 0 and result["clean"] is False and [item["code"] for item in result["drift"]] == ["orphan_vmdk"]
    code, result = run_main(capsys, dict(SECRETS, fail_on_drift=True))
    assert code == 1 and result["failed"] is True and result["msg"] == "Drift between CloudStack and vCenter: 1 orphan_vmdk"
    assert result["drift"][0]["datastore_path"] == "[%s] lost.vmdk" % DS


def test_domain_errors_and_surprises_become_messages(capsys, monkeypatch, clients):
    code, result = run_main(capsys, dict(SECRETS, zone="z1", pool="p1"))
    assert code == 1 and "mutually exclusive" in result["msg"]

    def refuse(settings):
        raise ConnectionFailed("Cannot reach vCenter vc.example:443: refused", reason="unreachable")
    monkeypatch.setattr(vcenter_client, "connect", refuse)
    code, result = run_main(capsys, SECRETS)
    assert code == 1 and result["reason"] == "unreachable" and result["msg"].startswith("Cannot reach vCenter")

    def explode(settings):
        raise KeyError("boom")
    monkeypatch.setattr(vcenter_client, "connect", explode)
    code, result = run_main(capsys, SECRETS)
    assert code == 1 and result["msg"] == "Unexpected error: KeyError: 'boom'" and "Traceback" not in json.dumps(result)
