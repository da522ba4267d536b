# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""main() of cs_volume_plan_info, through patch_module_args, with a fake CloudStack client."""

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._cloudstack import client as cloudstack_client
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import ConnectionFailed
from ansible_collections.cloudstack_vmware.safe_migration.plugins.modules import cs_volume_plan_info

CONNECTION = dict(api_url="https://cloud.example/client/api", api_key="Ak3y-4-tests", api_secret="S3cret!")
POOL1 = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
POOL2 = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
VOLUME = "11111111-1111-4111-8111-111111111111"


class FakeClient:
    def __init__(self, broken=False):
        self.broken = broken

    def get_volume(self, volume_id):
        if self.broken:
            raise RuntimeError("boom")
        return dict(id=VOLUME, name="DATA-7", storageid=POOL1, storage="nfs-1", path="DATA-7", zoneid="z", state="Ready",
                    virtualmachineid=None)

    def list_storage_pools(self, name=None):
        return [dict(id=POOL2, name="nfs-2", zoneid="z", type="NetworkFilesystem")] if name == "nfs-2" else []

    def get_storage_pool(self, pool_id):
        return dict(id=pool_id, name="nfs-1", zoneid="z", type="NetworkFilesystem")


@pytest.fixture
def fake_cloudstack(monkeypatch):
    def install(**options):
        client = FakeClient(**options)
        monkeypatch.setattr(cloudstack_client, "connect", lambda settings: client)
        return client
    return install


def run_main(capsys, args):
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exited:
            cs_volume_plan_info.main()
    return exited.value.code, json.loads(capsys.readouterr().out)


def test_returns_the_resolved_plan_and_changes_nothing(capsys, fake_cloudstack):
    fake_cloudstack()

    code, result = run_main(capsys, dict(CONNECTION, plan=[{"volume": VOLUME, "destination": "nfs-2"}], _ansible_check_mode=True))

    assert code == 0 and result["changed"] is False
    assert result["volumes"][0]["migration"] == {"volume": VOLUME, "destination": POOL2}
    assert result["volumes"][0]["attached"] is False and result["vms"] == []
    assert "S3cret!" not in json.dumps(result)


def test_every_bad_entry_fails_the_module_with_the_entries_in_the_result(capsys, fake_cloudstack):
    fake_cloudstack()
    plan = [{"volume": VOLUME, "destination": "nfs-2"},
            {"volume": VOLUME, "source_pool": "nfs-1", "destination": "nfs-2"},
            "DATA-7 to nfs-2",
            {"volume": VOLUME, "destinaton": "nfs-2"}]

    code, result = run_main(capsys, dict(CONNECTION, plan=plan))

    assert code == 1 and result["failed"] is True
    assert "3 of the plan's 4 entries cannot be used, nothing was changed" in result["msg"]
    assert [entry["index"] for entry in result["entries"]] == [1, 2, 3, 4]
    assert [entry["error_code"] for entry in result["entries"]] == [None, "volume_and_source_pool", "not_a_mapping", "unknown_key"]
    assert result["entries"][0]["volume_ids"] == [VOLUME] and result["entries"][2]["entry"] == "DATA-7 to nfs-2"
    assert "did you mean destination?" in result["entries"][3]["error"]
    assert "S3cret!" not in json.dumps(result)


def test_an_unexpected_error_is_a_message_not_a_traceback(capsys, fake_cloudstack):
    fake_cloudstack(broken=True)

    code, result = run_main(capsys, dict(CONNECTION, plan=[{"volume": VOLUME, "destination": "nfs-2"}]))

    assert code == 1 and result["msg"] == "Unexpected error: RuntimeError: boom"
    assert "Traceback" not in json.dumps(result)


class FakeEvacuationClient(FakeClient):
    def list_storage_pools(self, name=None):
        pools = [dict(id=POOL1, name="nfs-1", zoneid="z", type="NetworkFilesystem"),
                 dict(id=POOL2, name="nfs-2", zoneid="z", type="NetworkFilesystem")]
        return [pool for pool in pools if name in (None, pool["name"])]

    def list_volumes(self, storageid):
        return [self.get_volume(VOLUME)] if storageid == POOL1 else []

    def find_storage_pools_for_migration(self, volume_id):
        return [dict(id=POOL2, name="nfs-2", zoneid="z", state="Up", disksizetotal=100 * 1024 ** 3, disksizeallocated=0,
                     overprovisionfactor="1.0", suitableformigration=True)]


def test_evacuate_returns_the_evacuation_plan_and_changes_nothing(capsys, monkeypatch):
    monkeypatch.setattr(cloudstack_client, "connect", lambda settings: FakeEvacuationClient())

    code, result = run_main(capsys, dict(CONNECTION, evacuate={"source_pool": "nfs-1", "concurrency": 3}, _ansible_check_mode=True))

    assert code == 0 and result["changed"] is False and "volumes" not in result
    assert result["evacuation"]["plan"] == [{"volume": VOLUME, "destination": POOL2}]
    assert result["evacuation"]["concurrency"] == 3 and result["evacuation"]["unplaced"] == []


def test_plan_and_evacuate_together_are_refused_by_the_argument_spec(capsys, fake_cloudstack):
    fake_cloudstack()

    code, result = run_main(capsys, dict(CONNECTION, plan=[{"volume": VOLUME, "destination": "nfs-2"}],
                                         evacuate={"source_pool": "nfs-1"}))

    assert code == 1 and "mutually exclusive" in result["msg"]


def test_a_bad_evacuation_rule_is_a_clear_message(capsys, monkeypatch):
    monkeypatch.setattr(cloudstack_client, "connect", lambda settings: FakeEvacuationClient())

    code, result = run_main(capsys, dict(CONNECTION, evacuate={"source_pool": "nfs-1", "max_fill": 2.0}))

    assert code == 1 and "max_fill is the share of a destination's capacity" in result["msg"]


class RefusingClient(FakeClient):
    def get_volume(self, volume_id):
        raise ConnectionFailed("Failed to read volume %s: CloudStack refused the credentials (bad signature); check api_key "
                               "and api_secret" % volume_id, command="listVolumes", errorcode=401)


def test_a_cloudstack_error_while_resolving_fails_once_with_every_entry_in_the_result(capsys, monkeypatch):
    monkeypatch.setattr(cloudstack_client, "connect", lambda settings: RefusingClient())

    code, result = run_main(capsys, dict(CONNECTION, plan=[{"volume": VOLUME, "destination": "nfs-2"}, {"volume": VOLUME}]))

    assert code == 1 and result["msg"].startswith("CloudStack could not resolve the plan, nothing was changed: Failed to read")
    assert result["plan_error"] is True and result["errorcode"] == 401
    assert [(entry["index"], entry["error_code"]) for entry in result["entries"]] == [(1, None), (2, "no_destination")]
    assert "S3cret!" not in json.dumps(result)
