# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The record sync service against fake CloudStack and vCenter: what is written, and every refusal."""

import pytest

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import (
    CloudStackApiError,
    PreflightFailed,
    VerificationFailed,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.journal import Journal
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.record_sync import (
    RecordSyncService,
    Refused,
    SyncOptions,
    SyncRequest,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.disks import DiskLocation
from unit.plugins.module_utils.identity_read import IdentityRead  # pylint: disable=import-error

VOL = "11111111-1111-4111-8111-111111111111"
VOL2 = "22222222-2222-4222-8222-222222222222"
SRC = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
DST = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
VM = "cccccccc-cccc-4ccc-8ccc-cccccccccccc"
ZONE = "dddddddd-dddd-4ddd-8ddd-dddddddddddd"
SRC_DS = SRC.replace("-", "")
DST_DS = DST.replace("-", "")
FILE = "[%s] i-2-7-VM/DATA-7.vmdk" % SRC_DS


class FakeVCenter:
    """VCenterDisks.locate over a scripted answer per (instance name, path)."""

    def __init__(self):
        self.answers = {("i-2-7-VM", "DATA-7"): attached(FILE)}

    def locate(self, instance_name, path, datastores=None):
        return self.answers.get((instance_name, path)) or DiskLocation(True, ["i-2-7-VM has no disk %s attached" % path])


def attached(file, exists=True, problems=()):
    return DiskLocation(True, list(problems), file=file, datastore=file.split("]")[0][1:], attached=True, exists=exists)


def vm_missing(copies, complete=True):
    if len(copies) == 1 and complete:
        return DiskLocation(False, ["i-2-7-VM is not in the vCenter inventory"], file=copies[0],
                            datastore=copies[0].split("]")[0][1:], exists=True, copies=copies)
    return DiskLocation(False, ["i-2-7-VM is not in the vCenter inventory (not searched: ds-x)"], copies=copies)


class FakeVCenterClient(IdentityRead):
    """The vCenter client's inventory read and exact-name searches, for detached volumes."""

    def __init__(self, files=(), unusable=()):
        self.files = list(files)
        self.unusable = set(unusable)

    def read_inventory(self, datacenter=None):
        names = [SRC_DS, DST_DS, "ds-x"]
        return {"vms": [], "datastores": {name: {"moid": name, "name": name, "browser": "b", "accessible": name not in self.unusable}
                                          for name in names}}

    def search_datastore(self, datastore, file_names, timeout=None):
        return [path for path in self.files if path.startswith("[%s]" % datastore["name"]) and path.split("] ", 1)[1].rsplit("/", 1)[-1] in file_names]


class FakeCloudStack:
    def __init__(self):
        self.volumes = {VOL: dict(id=VOL, name="DATA-7", state="Ready", storageid=DST, storage="pool-dst", path="DATA-7",
                                  zoneid=ZONE, zonename="zone1", virtualmachineid=VM, vmname="web-7", account="admin",
                                  type="DATADISK")}
        self.pools = [dict(id=SRC, name="pool-src", zoneid=ZONE, type="NetworkFilesystem", path="/export/src"),
                      dict(id=DST, name="pool-dst", zoneid=ZONE, type="NetworkFilesystem", path="/export/dst")]
        self.vms = {VM: dict(id=VM, name="web-7", instancename="i-2-7-VM")}
        self.updates = []
        self.job_status = 1

    def get_volume(self, volume_id):
        return dict(self.volumes[volume_id]) if volume_id in self.volumes else None

    def list_volumes(self, **filters):
        return [dict(volume) for volume in self.volumes.values()
                if all(volume.get(key) == value for key, value in filters.items())]

    def get_virtual_machine(self, vm_id):
        return self.vms.get(vm_id)

    def list_storage_pools(self, **filters):
        return [pool for pool in self.pools if filters.get("zoneid") in (None, pool["zoneid"])]

    def update_volume(self, volume_id, job_id, storage_id=None, path=None, state=None):
        self.updates.append(dict(volume_id=volume_id, storageid=storage_id, path=path, state=state))
        if self.job_status == 1:
            pool = next(pool for pool in self.pools if pool["id"] == storage_id)
            self.volumes[volume_id].update(storageid=storage_id, storage=pool["name"], path=path, state=state)
        return job_id

    def query_job(self, job_id):
        result = {} if self.job_status == 1 else {"errortext": "Invalid volume state"}
        return {"jobid": job_id, "jobstatus": self.job_status, "jobresult": result}


class ReadOnlyCloudStack(FakeCloudStack):
    """Check mode: any mutating call is a failure of the test."""

    def update_volume(self, *args, **kwargs):
        raise AssertionError("check mode must not call updateVolume")


class ReadOnlyJournal(Journal):
    def record(self, volume_id, event, **data):
        raise AssertionError("check mode must not write the journal (%s)" % event)


@pytest.fixture
def world(tmp_path):
    return {"cs": FakeCloudStack(), "vcenter": FakeVCenter(), "client": FakeVCenterClient(),
            "journal": Journal(str(tmp_path / "journal.jsonl"), clock=lambda: 1.0)}


def run(world, check_mode=False, **request):
    service = RecordSyncService(world["cs"], world["vcenter"], world["client"], world["journal"],
                                SyncOptions(job_timeout=5, poll_interval=0.01, check_mode=check_mode),
                                sleep=lambda seconds: None, new_job_id=lambda: "job-1")
    return service.run(SyncRequest(request.pop("volume", VOL), **request))


def refusal(world, reason, **request):
    with pytest.raises(Refused) as caught:
        run(world, **request)
    assert caught.value.facts["reason"] == reason, caught.value.message
    assert caught.value.facts["status"] == "refused" and caught.value.facts["changed"] is False
    assert world["cs"].updates == []
    return caught.value


def events(world):
    return [entry["event"] for entry in world["journal"].entries(VOL)]


# ---- writes --------------------------------------------------------------------------------------

def test_a_false_success_goes_back_to_the_pool_of_the_attached_disk(world):
    result = run(world)
    assert result["status"] == "synced" and result["changed"] is True
    assert world["cs"].updates == [dict(volume_id=VOL, storageid=SRC, path="DATA-7", state="Ready")]
    assert result["written"] == {"storageid": SRC}
    assert result["after"] == {"state": "Ready", "pool_id": SRC, "pool_name": "pool-src", "path": "DATA-7"}
    assert result["diff"]["before"]["pool_id"] == DST and result["diff"]["after"]["pool_id"] == SRC
    assert events(world) == ["record_sync", "restore_submitting", "restore", "outcome"]
    outcome = world["journal"].entries(VOL)[-1]
    assert outcome["status"] == "synced" and outcome["job_id"] == "job-1"


def test_a_record_in_sync_changes_nothing(world):
    world["cs"].volumes[VOL].update(storageid=SRC, storage="pool-src")
    result = run(world)
    assert result["status"] == "in_sync" and result["changed"] is False
    assert world["cs"].updates == []
    assert events(world) == ["outcome"]


def test_check_mode_says_what_it_would_write_and_touches_nothing(tmp_path):
    world = {"cs": ReadOnlyCloudStack(), "vcenter": FakeVCenter(), "client": FakeVCenterClient(),
             "journal": ReadOnlyJournal(str(tmp_path / "journal.jsonl"))}
    result = run(world, check_mode=True)
    assert result["status"] == "planned" and result["changed"] is True
    assert result["would_write"] == {"storageid": SRC}
    assert "storageid=%s" % SRC in result["msg"]
    assert not (tmp_path / "journal.jsonl").exists()


def test_check_mode_refusal_writes_nothing_either(tmp_path):
    world = {"cs": ReadOnlyCloudStack(), "vcenter": FakeVCenter(), "client": FakeVCenterClient(),
             "journal": ReadOnlyJournal(str(tmp_path / "journal.jsonl"))}
    world["vcenter"].answers[("i-2-7-VM", "DATA-7")] = attached(FILE, exists=False)
    with pytest.raises(Refused):
        run(world, check_mode=True)


def test_stuck_migrating_becomes_ready_on_the_same_pool(world):
    world["cs"].volumes[VOL].update(storageid=SRC, storage="pool-src", state="Migrating")
    result = run(world)
    assert result["written"] == {"state": "Ready"}
    assert world["cs"].volumes[VOL]["state"] == "Ready"


def test_a_missing_vm_with_its_disk_in_one_place_takes_the_reviewed_path(world):
    world["cs"].volumes[VOL]["path"] = None
    world["vcenter"].answers[("i-2-7-VM", "DATA-7")] = vm_missing([FILE])
    result = run(world, expected_path="DATA-7", expected_pool="pool-src")
    assert result["written"] == {"storageid": SRC, "path": "DATA-7"}
    assert result["vcenter"]["vm_found"] is False and result["truth"]["file"] == FILE


def test_a_null_path_without_review_or_journal_is_refused(world):
    world["cs"].volumes[VOL]["path"] = None
    error = refusal(world, "volume_path_null")
    assert "expected_path" in error.message


def test_a_null_path_is_taken_from_the_journaled_migration(world):
    world["cs"].volumes[VOL]["path"] = None
    world["journal"].record(VOL, "job_submitting", job_id="j0", plan={"source": {"path": "DATA-7", "pool_id": SRC}})
    world["vcenter"].answers[("i-2-7-VM", "DATA-7")] = vm_missing([FILE])
    assert run(world)["written"] == {"storageid": SRC, "path": "DATA-7"}


def test_a_failed_update_is_reported_with_both_sides(world):
    world["cs"].job_status = 2
    with pytest.raises(VerificationFailed) as caught:
        run(world)
    facts = caught.value.facts
    assert facts["changed"] is True and facts["after"]["pool_id"] == DST
    assert "updateVolume id=%s storageid=%s" % (VOL, SRC) in caught.value.message and "failed" in caught.value.message
    assert world["journal"].entries(VOL)[-1]["status"] == "failed"


# ---- refusals ------------------------------------------------------------------------------------

def test_a_missing_vm_with_its_disk_in_two_places_is_refused(world):
    copy = "[%s] i-2-7-VM/DATA-7.vmdk" % DST_DS
    world["vcenter"].answers[("i-2-7-VM", "DATA-7")] = vm_missing([FILE, copy])
    error = refusal(world, "disk_in_several_places")
    assert FILE in error.message and copy in error.message
    assert world["journal"].entries(VOL)[-1]["reason"] == "disk_in_several_places"


def test_a_missing_vm_whose_datastores_were_not_all_searched_is_refused(world):
    world["vcenter"].answers[("i-2-7-VM", "DATA-7")] = vm_missing([FILE], complete=False)
    assert "ds-x" in refusal(world, "not_searched").message


def test_a_missing_vm_whose_disk_is_nowhere_is_refused(world):
    world["vcenter"].answers[("i-2-7-VM", "DATA-7")] = vm_missing([])
    refusal(world, "disk_nowhere")


def test_an_attached_disk_whose_file_is_gone_is_refused(world):
    world["vcenter"].answers[("i-2-7-VM", "DATA-7")] = attached(FILE, exists=False)
    assert "backup" in refusal(world, "disk_file_missing").message


def test_an_attached_disk_on_an_unsearched_datastore_is_refused(world):
    world["vcenter"].answers[("i-2-7-VM", "DATA-7")] = attached(FILE, exists=None, problems=["datastore x is not accessible"])
    refusal(world, "not_searched")


def test_a_disk_the_vm_does_not_have_is_refused(world):
    world["vcenter"].answers.clear()
    refusal(world, "disk_not_attached")


def test_a_datastore_of_no_pool_is_refused(world):
    world["vcenter"].answers[("i-2-7-VM", "DATA-7")] = attached("[local-ds] i-2-7-VM/DATA-7.vmdk")
    assert "local-ds" in refusal(world, "datastore_of_no_pool").message


def test_a_datastore_of_two_pools_is_refused(world):
    world["cs"].pools.append(dict(id="eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee", name="vmfs", zoneid=ZONE, type="VMFS",
                                  path="/dc/%s" % SRC_DS))
    refusal(world, "datastore_of_several_pools")


@pytest.mark.parametrize("expectation", [dict(expected_pool="pool-dst"), dict(expected_pool=DST),
                                         dict(expected_datastore_path="[%s] i-2-7-VM/DATA-7.vmdk" % DST_DS)])
def test_facts_that_no_longer_match_the_review_are_refused(world, expectation):
    error = refusal(world, "expectation_mismatch", **expectation)
    assert "no longer matches" in error.message


def test_a_reviewed_path_is_refused_while_the_records_own_path_is_attached(world):
    world["vcenter"].answers[("i-2-7-VM", "DATA-8")] = attached("[%s] i-2-7-VM/DATA-8.vmdk" % SRC_DS)
    refusal(world, "expectation_mismatch", expected_path="DATA-8")


def test_a_reviewed_path_that_is_another_volumes_disk_is_refused(world):
    world["cs"].volumes[VOL2] = dict(world["cs"].volumes[VOL], id=VOL2, name="ROOT-7", path="ROOT-7")
    world["cs"].volumes[VOL]["path"] = None
    refusal(world, "path_claimed", expected_path="ROOT-7")


def test_a_volume_with_a_running_job_is_refused(world):
    world["cs"].volumes[VOL].update(jobid="job-0", jobstatus=0, state="Migrating")
    refusal(world, "job_pending")


def test_a_volume_that_is_not_ready_is_refused(world):
    world["cs"].volumes[VOL]["state"] = "Allocated"
    refusal(world, "state_not_syncable")


def test_an_unknown_volume_is_a_clear_error(world):
    with pytest.raises(PreflightFailed) as caught:
        run(world, volume="DATA-99")
    assert "DATA-99" in caught.value.message and world["cs"].updates == []


# ---- detached volumes ----------------------------------------------------------------------------

def detached(world, files, unusable=()):
    world["cs"].volumes[VOL].update(virtualmachineid=None, vmname=None)
    world["client"] = FakeVCenterClient(files, unusable)


def test_a_detached_volume_found_once_is_synced(world):
    detached(world, [FILE])
    assert run(world)["written"] == {"storageid": SRC}


def test_a_detached_volume_found_twice_is_refused(world):
    detached(world, [FILE, "[%s] DATA-7.vmdk" % DST_DS])
    refusal(world, "disk_in_several_places")


def test_a_detached_volume_with_an_unsearchable_datastore_is_refused(world):
    detached(world, [FILE], unusable=["ds-x"])
    refusal(world, "not_searched")


def test_a_detached_volume_found_nowhere_is_refused(world):
    detached(world, [])
    refusal(world, "disk_nowhere")


def test_an_update_refused_by_cloudstack_is_reported_not_raised_raw(world):
    def refuse(*args, **kwargs):
        raise CloudStackApiError("Failed to update the record of volume %s: Invalid volume state" % VOL, errorcode=431)
    world["cs"].update_volume = refuse
    with pytest.raises(VerificationFailed) as caught:
        run(world)
    assert "Invalid volume state" in caught.value.message and world["cs"].volumes[VOL]["storageid"] == DST
