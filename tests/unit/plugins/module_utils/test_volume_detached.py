# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Detached volumes: located and verified by datastore searches (the real VCenterDisks over a fake client)."""

import copy

import pytest

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import (
    DriftDetected,
    JobFailed,
    PreflightFailed,
    VCenterError,
    VerificationFailed,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.journal import Journal
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.detached import DiskLost
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.migration import VolumeMigrationService
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.options import MigrationOptions, MigrationRequest
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.disks import VCenterDisks
from unit.plugins.module_utils.identity_read import IdentityRead  # pylint: disable=import-error

VOL = "11111111-1111-4111-8111-111111111111"
SRC = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
DST = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
OTHER = "eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee"
ZONE = "dddddddd-dddd-4ddd-8ddd-dddddddddddd"
SRC_DS, DST_DS, OTHER_DS = SRC.replace("-", ""), DST.replace("-", ""), OTHER.replace("-", "")
PATH = "f00dfeed"
FILE = PATH + ".vmdk"


class FakeVCenterClient(IdentityRead):
    """Datastores as {name: set of relative file paths}; searches as the real client answers them."""

    def __init__(self):
        self.files = {SRC_DS: {FILE}, DST_DS: set(), OTHER_DS: set()}
        self.unusable = {}  # name -> {"accessible": False} or {"maintenance_mode": "inMaintenance"}
        self.failing = set()
        self.searches = []

    def read_inventory(self, datacenter=None):
        datastores = {}
        for number, name in enumerate(sorted(self.files)):
            datastores["ds-%d" % number] = dict({"moid": "ds-%d" % number, "name": name, "browser": "b-%d" % number,
                                                 "cloud_uuid": None, "accessible": True, "maintenance_mode": "normal"},
                                                **self.unusable.get(name, {}))
        return {"vms": [], "datastores": datastores}

    def search_datastore(self, datastore, file_names, timeout=None):
        self.searches.append(datastore["name"])
        if datastore["name"] in self.failing:
            raise VCenterError("Failed to search datastore %s: the host is not responding" % datastore["name"])
        return ["[%s] %s" % (datastore["name"], rel) for rel in sorted(self.files[datastore["name"]])
                if rel.rsplit("/", 1)[-1] in file_names]


class FakeCloudStack:
    """One detached volume; ``outcome`` is what the migrateVolume job does to both sides."""

    def __init__(self, vcenter):
        self.vcenter = vcenter
        self.volumes = {VOL: dict(id=VOL, name="DATA-99", state="Ready", storageid=SRC, storage="pool-src", path=PATH,
                                  zoneid=ZONE, virtualmachineid=None, hypervisor="VMware", size=1024, type="DATADISK")}
        self.pools = {pool_id: dict(id=pool_id, name=name, state="Up", zoneid=ZONE, type="NetworkFilesystem",
                                    path="/export/" + name, disksizetotal=10 ** 9, disksizeallocated=0)
                      for pool_id, name in ((SRC, "pool-src"), (DST, "pool-dst"), (OTHER, "pool-other"))}
        self.jobs = {}
        self.submissions = []
        self.updates = []
        self.outcome = "moves"

    def get_configuration(self, name):
        return "0" if name == "concurrent.migrations.per.target.datastore" else None

    def get_volume(self, volume_id):
        return copy.deepcopy(self.volumes.get(volume_id))

    def list_volumes(self, **filters):
        return [copy.deepcopy(v) for v in self.volumes.values() if v["name"] == filters.get("name")]

    def get_storage_pool(self, pool_id):
        return copy.deepcopy(self.pools.get(pool_id))

    def list_storage_pools(self, **filters):
        return [copy.deepcopy(p) for p in self.pools.values() if filters.get("name") in (None, p["name"])]

    def find_storage_pools_for_migration(self, volume_id):
        return [dict(id=p["id"], name=p["name"], suitableformigration=True) for p in self.pools.values()]

    def get_virtual_machine(self, vm_id):
        raise AssertionError("a detached volume has no VM to read")

    def query_job(self, job_id):
        return self.jobs.get(job_id)

    def migrate_volume(self, volume_id, pool_id, job_id, live=False):
        self.submissions.append((volume_id, pool_id, job_id, live))
        files = self.vcenter.files
        volume = self.volumes[volume_id]
        status, moved = 1, dict(storageid=pool_id, storage=self.pools[pool_id]["name"])
        if self.outcome == "moves":
            files[SRC_DS].discard(FILE)
            files[DST_DS].add(FILE)
            volume.update(moved)
        elif self.outcome == "copy_leaves_source":
            files[DST_DS].add(FILE)
            volume.update(moved)
        elif self.outcome == "fails":
            status = 2
        elif self.outcome == "lost_success":  # apache/cloudstack#8747: a null path taken for success, source expunged
            files[SRC_DS].discard(FILE)
            volume.update(moved, path=None)
        elif self.outcome == "lost_failure":  # the copy failed after the source row and file were expunged
            files[SRC_DS].discard(FILE)
            del self.volumes[volume_id]
            status = 2
        elif self.outcome == "record_only":  # the record moved, the file did not
            volume.update(moved)
        self.jobs[job_id] = dict(jobid=job_id, jobstatus=status,
                                 jobresult={"errortext": "Migrate volume failed: copy failed"} if status == 2 else {})
        return job_id

    def update_volume(self, volume_id, job_id, storage_id=None, path=None, state=None):
        self.updates.append(dict(volume_id=volume_id, storage_id=storage_id, path=path, state=state))
        self.volumes[volume_id].update(storageid=storage_id, storage=self.pools[storage_id]["name"], path=path, state=state)
        self.jobs[job_id] = dict(jobid=job_id, jobstatus=1)
        return job_id


@pytest.fixture
def world(tmp_path):
    client = FakeVCenterClient()
    return FakeCloudStack(client), client, Journal(str(tmp_path / "journal.jsonl"))


def run(world, check_mode=False, **options):
    cloudstack, client, journal = world
    ids = iter("job-%d" % n for n in range(1, 100))
    service = VolumeMigrationService(cloudstack, VCenterDisks(client), journal,
                                     MigrationOptions(check_mode=check_mode, poll_interval=0.01, job_timeout=5, **options),
                                     clock=lambda: 0.0, sleep=lambda seconds: None, new_job_id=lambda: next(ids))
    return service.run([MigrationRequest(VOL, DST)])


# ---- the happy path and idempotence ----------------------------------------------------------------
def test_a_detached_volume_migrates_when_the_destination_search_finds_its_file(world):
    cloudstack, client, journal = world
    result = run(world)
    entry = result["volumes"][0]
    assert entry["status"] == "migrated" and result["changed"] is True
    assert entry["plan"]["detached"] is True and entry["plan"]["source"]["datastore_path"] == "[%s] %s" % (SRC_DS, FILE)
    assert entry["verification"]["vcenter"]["file"] == "[%s] %s" % (DST_DS, FILE)
    assert entry["verification"]["source_file"]["exists"] is False and "leftovers" not in entry
    assert cloudstack.submissions == [(VOL, DST, "job-1", False)]

    again = run(world)
    assert again["changed"] is False and again["volumes"][0]["status"] == "unchanged"
    assert len(cloudstack.submissions) == 1


def test_check_mode_plans_and_submits_nothing(world):
    cloudstack, client, journal = world
    result = run(world, check_mode=True)
    assert result["volumes"][0]["status"] == "planned" and result["volumes"][0]["plan"]["action"] == "migrate"
    assert cloudstack.submissions == [] and client.files[SRC_DS] == {FILE}


def test_an_old_file_left_on_the_source_is_reported_never_deleted(world):
    cloudstack, client, journal = world
    cloudstack.outcome = "copy_leaves_source"
    entry = run(world)["volumes"][0]
    assert entry["status"] == "migrated"
    assert entry["leftovers"] == ["[%s] %s" % (SRC_DS, FILE)] and "delete it by hand" in entry["warnings"][0]
    assert FILE in client.files[SRC_DS]


# ---- preflight blockers -----------------------------------------------------------------------------
@pytest.mark.parametrize("breakage, expected", [
    (lambda cs, vc: vc.files[SRC_DS].discard(FILE), "detached_file_missing"),
    (lambda cs, vc: vc.files[SRC_DS].add("copy/" + FILE), "detached_file_ambiguous"),
    (lambda cs, vc: vc.unusable.update({SRC_DS: {"accessible": False}}), "disk_unconfirmed"),
    (lambda cs, vc: vc.failing.add(SRC_DS), "disk_unconfirmed"),
    (lambda cs, vc: vc.files[DST_DS].add(FILE), "destination_file_exists"),
    (lambda cs, vc: vc.unusable.update({DST_DS: {"maintenance_mode": "inMaintenance"}}), "destination_unsearchable"),
    (lambda cs, vc: cs.volumes[VOL].update(path=None), "volume_path_null"),
])
def test_preflight_blockers_stop_before_any_change(world, breakage, expected):
    cloudstack, client, journal = world
    breakage(cloudstack, client)
    with pytest.raises(PreflightFailed) as caught:
        run(world)
    assert expected in [blocker["code"] for blocker in caught.value.facts["blockers"]]
    assert "detached" not in [blocker["code"] for blocker in caught.value.facts["blockers"]]
    assert cloudstack.submissions == []


def test_a_file_found_on_another_datastore_is_named_in_the_blocker(world):
    cloudstack, client, journal = world
    client.files[SRC_DS].discard(FILE)
    client.files[DST_DS].discard(FILE)
    with pytest.raises(PreflightFailed) as caught:
        run(world)
    assert "is not on datastore %s of pool pool-src" % SRC_DS in caught.value.message


# ---- lost disks and false successes -----------------------------------------------------------------
def test_the_8747_shape_is_a_loud_disk_lost_with_every_fact(world):
    cloudstack, client, journal = world
    cloudstack.outcome = "lost_success"
    with pytest.raises(DiskLost) as caught:
        run(world)
    error = caught.value
    assert error.message.startswith("DISK LOST") and "do NOT retry" in error.message
    assert "%s (pool pool-src), %s (pool pool-dst)" % (SRC_DS, DST_DS) in error.message
    assert error.facts["last_known_path"] == "[%s] %s" % (SRC_DS, FILE)
    assert error.facts["datastores_searched"] == sorted([SRC_DS, DST_DS, OTHER_DS])
    assert error.facts["job_id"] == "job-1" and error.facts["disk_lost"] is True
    assert error.facts["volumes"][0]["status"] == "failed" and error.facts["volumes"][0]["false_success"] is True

    with pytest.raises(DiskLost):  # a second run says it again, from the journal's plan
        run(world)
    assert len(cloudstack.submissions) == 1


def test_a_failed_job_that_took_the_source_with_it_is_a_disk_lost(world):
    cloudstack, client, journal = world
    cloudstack.outcome = "lost_failure"
    with pytest.raises(DiskLost) as caught:
        run(world)
    assert "CloudStack no longer lists volume %s" % VOL in caught.value.message
    assert caught.value.facts["job_id"] == "job-1"


def test_a_lost_file_with_an_unsearchable_datastore_is_not_found_not_ok(world):
    cloudstack, client, journal = world
    cloudstack.outcome = "lost_success"
    client.failing.add(OTHER_DS)
    with pytest.raises(DiskLost) as caught:
        run(world)
    assert caught.value.message.startswith("DISK NOT FOUND") and OTHER_DS in caught.value.message
    assert caught.value.facts["datastores_not_searched"] == {OTHER_DS: "Failed to search datastore %s: the host is not "
                                                             "responding" % OTHER_DS}


def test_a_destination_that_cannot_be_searched_after_the_job_is_unverified(world):
    cloudstack, client, journal = world

    def migrate_then_break(*args, **kwargs):
        answer = FakeCloudStack.migrate_volume(cloudstack, *args, **kwargs)
        client.failing.add(DST_DS)
        return answer
    cloudstack.migrate_volume = migrate_then_break
    with pytest.raises(VerificationFailed) as caught:
        run(world)
    assert caught.value.facts["volumes"][0]["status"] == "failed"
    assert caught.value.facts["verification"]["vcenter_ok"] is False


def test_a_failed_job_with_the_file_still_on_the_source_changed_nothing(world):
    cloudstack, client, journal = world
    cloudstack.outcome = "fails"
    with pytest.raises(JobFailed, match="its file is still at"):
        run(world)


def test_a_record_moved_without_its_file_is_a_false_success_and_restore_repairs_it(world):
    cloudstack, client, journal = world
    cloudstack.outcome = "record_only"
    with pytest.raises(VerificationFailed) as caught:
        run(world, on_false_success="restore")
    assert "found its file at [%s] %s" % (SRC_DS, FILE) in caught.value.message
    assert caught.value.facts["restore"]["verified"] is True
    assert cloudstack.volumes[VOL]["storageid"] == SRC and cloudstack.updates[0]["path"] == PATH


def test_already_on_the_destination_without_the_file_there_is_drift(world):
    cloudstack, client, journal = world
    cloudstack.volumes[VOL].update(storageid=DST, storage="pool-dst")
    with pytest.raises(DriftDetected) as caught:
        run(world)
    assert caught.value.facts["truth"]["pool_id"] == SRC and cloudstack.submissions == []


# ---- the pure pieces ----------------------------------------------------------------------------------
def test_locate_detached_lists_what_it_could_not_search_and_never_calls_it_gone():
    client = FakeVCenterClient()
    client.unusable[DST_DS] = {"accessible": False}
    client.failing.add(OTHER_DS)
    location = VCenterDisks(client).locate_detached(PATH)
    assert location.found == ["[%s] %s" % (SRC_DS, FILE)] and location.searched == [SRC_DS]
    assert set(location.not_searched) == {DST_DS, OTHER_DS}
    assert "not accessible" in location.not_searched[DST_DS]
    destination = location.side([DST])
    assert (destination.exists, destination.confirmed, destination.file) == (None, False, None)
    source = location.side([SRC])
    assert (source.exists, source.confirmed, source.file) == (True, True, "[%s] %s" % (SRC_DS, FILE))
    assert client.searches == [SRC_DS, OTHER_DS]  # an inaccessible datastore is not even asked


def test_locate_detached_searches_only_the_pools_asked_for_and_matches_names_exactly():
    client = FakeVCenterClient()
    client.files[OTHER_DS] |= {"x/" + FILE, "x/" + PATH + "-flat.vmdk", "x/a" + FILE}
    location = VCenterDisks(client).locate_detached(PATH, [SRC, DST])
    assert client.searches == [SRC_DS, DST_DS] and location.found == ["[%s] %s" % (SRC_DS, FILE)]
    assert location.side([DST]).exists is False
    everywhere = VCenterDisks(client).locate_detached(PATH)
    assert everywhere.found == ["[%s] %s" % (SRC_DS, FILE), "[%s] x/%s" % (OTHER_DS, FILE)]
    assert everywhere.side([OTHER]).file == "[%s] x/%s" % (OTHER_DS, FILE)


def test_a_record_on_the_destination_without_a_path_and_without_a_journal_is_never_ok(world):
    cloudstack, client, journal = world
    cloudstack.volumes[VOL].update(storageid=DST, storage="pool-dst", path=None)
    with pytest.raises(VerificationFailed, match="no path for it"):
        run(world)
    assert cloudstack.submissions == [] and cloudstack.updates == []
