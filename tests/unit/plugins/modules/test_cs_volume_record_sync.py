# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""main() of cs_volume_record_sync, through patch_module_args, with fake clients: the boundary and the result shape."""

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._cloudstack import client as cloudstack_client

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter import client as vcenter_client
from ansible_collections.cloudstack_vmware.safe_migration.plugins.modules import cs_volume_record_sync
from unit.plugins.module_utils.identity_read import IdentityRead  # pylint: disable=import-error

VOL = "11111111-1111-4111-8111-111111111111"
SRC = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
DST = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
VM = "cccccccc-cccc-4ccc-8ccc-cccccccccccc"
SRC_DS = SRC.replace("-", "")
FILE = "[%s] i-2-7-VM/DATA-7.vmdk" % SRC_DS
SECRETS = dict(api_url="https://cloud.example/client/api", api_key="the-key", api_secret="Secret-CS!",
               hostname="vc.example", username="admin", password="Secret-VC!")


class FakeCloudStack:
    def __init__(self):
        self.volume = dict(id=VOL, name="DATA-7", state="Ready", storageid=DST, storage="pool-dst", path="DATA-7",
                           zoneid="z", virtualmachineid=VM)
        self.updates = []

    def get_volume(self, volume_id):
        return dict(self.volume)

    def get_virtual_machine(self, vm_id):
        return dict(id=VM, instancename="i-2-7-VM")

    def list_volumes(self, **filters):
        return [dict(self.volume)]

    def list_storage_pools(self, **filters):
        return [dict(id=SRC, name="pool-src", zoneid="z", type="NetworkFilesystem"),
                dict(id=DST, name="pool-dst", zoneid="z", type="NetworkFilesystem")]

    def update_volume(self, volume_id, job_id, storage_id=None, path=None, state=None):
        self.updates.append(storage_id)
        self.volume.update(storageid=storage_id, storage="pool-src", path=path, state=state)
        return None  # done at once: no job to wait for


class FakeVCenter(IdentityRead):
    """One VM with one disk, on the source pool's datastore."""

    def __init__(self, files=(FILE,)):
        self.files = list(files)
        self.closed = False

    def read_inventory(self, datacenter=None):
        return {"vms": [{"moid": "vm-1", "name": "i-2-7-VM", "connection_state": "connected", "power_state": "poweredOff",
                         "disks": [{"key": 2000, "file": FILE, "datastore_moid": "ds-1"}]}],
                "datastores": {"ds-1": {"moid": "ds-1", "name": SRC_DS, "browser": "b", "accessible": True}}}

    def read_vms(self, moids, hosts, field_names):
        return [vm for vm in self.read_inventory()["vms"] if vm["moid"] in moids]

    def search_datastore(self, datastore, file_names, timeout=None):
        return [path for path in self.files if path.rsplit("/", 1)[-1] in file_names]

    def close(self):
        self.closed = True


@pytest.fixture
def clients(monkeypatch):
    pair = {"cs": FakeCloudStack(), "vcenter": FakeVCenter()}
    monkeypatch.setattr(cloudstack_client, "connect", lambda settings: pair["cs"])
    monkeypatch.setattr(vcenter_client, "connect", lambda settings: pair["vcenter"])
    return pair


def run_main(capsys, args):
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exited:
            cs_volume_record_sync.main()
    return exited.value.code, json.loads(capsys.readouterr().out)


def test_sync_writes_the_truth_and_shows_a_diff_only_when_asked(capsys, clients, tmp_path):
    args = dict(SECRETS, volume=VOL, journal_path=str(tmp_path / "j.jsonl"))
    code, result = run_main(capsys, dict(args, _ansible_check_mode=True, _ansible_diff=True))
    assert code == 0 and result["status"] == "planned" and result["would_write"] == {"storageid": SRC}
    assert result["diff"]["after"]["pool_id"] == SRC and clients["cs"].updates == []

    code, result = run_main(capsys, args)
    assert code == 0 and result["changed"] is True and result["status"] == "synced" and "diff" not in result
    assert clients["cs"].updates == [SRC] and clients["vcenter"].closed
    text = json.dumps(result) + (tmp_path / "j.jsonl").read_text()
    assert "Secret-CS!" not in text and "Secret-VC!" not in text

    code, result = run_main(capsys, args)
    assert code == 0 and result["changed"] is False and result["status"] == "in_sync"


def test_a_refusal_fails_with_its_reason(capsys, clients, tmp_path):
    clients["vcenter"].files = []
    code, result = run_main(capsys, dict(SECRETS, volume=VOL, journal_path=str(tmp_path / "j.jsonl")))
    assert code == 1 and result["failed"] is True and result["changed"] is False
    assert result["reason"] == "disk_file_missing" and "nothing was changed" in result["msg"]
    assert clients["cs"].updates == []


def test_surprises_become_messages(capsys, monkeypatch, clients, tmp_path):
    def explode(settings):
        raise KeyError("boom")
    monkeypatch.setattr(vcenter_client, "connect", explode)
    code, result = run_main(capsys, dict(SECRETS, volume=VOL, journal_path=str(tmp_path / "j.jsonl")))
    assert code == 1 and result["msg"] == "Unexpected error: KeyError: 'boom'" and "Traceback" not in json.dumps(result)
