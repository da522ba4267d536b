# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The migration service against fake CloudStack and vCenter, with scripted jobs and no real sleeping."""

import copy
import json
import os

import pytest

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import (
    CloudStackApiError,
    ConnectionFailed,
    DriftDetected,
    InvalidInput,
    JobFailed,
    PreflightFailed,
    RunInProgress,
    SafeMigrationError,
    UnsafeOperation,
    VerificationFailed,
    WaitTimeout,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.journal import Journal
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.run_lock import (
    held,
    journal_lock_path,
    volume_lock_path,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.migration import VolumeMigrationService
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.options import (
    MigrationOptions,
    MigrationRequest,
    requests_from_params,
)

VOL = "11111111-1111-4111-8111-111111111111"
VOL2 = "22222222-2222-4222-8222-222222222222"
SRC = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
DST = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
VM = "cccccccc-cccc-4ccc-8ccc-cccccccccccc"
ZONE = "dddddddd-dddd-4ddd-8ddd-dddddddddddd"
SRC_DS = SRC.replace("-", "")
DST_DS = DST.replace("-", "")


class FakeClock:
    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


class FakeDisk:
    """What VCenterDisks.locate returns, for a fake inventory. ``problems``: (code, message) pairs."""

    def __init__(self, vm_found, problems, file=None, datastore=None, exists=None):
        self.vm_found = vm_found
        self.problems = [message for code, message in problems]
        self.issues = [{"code": code, "message": message, "facts": {}} for code, message in problems]
        self.file = file
        self.datastore = datastore
        self.exists = exists

    @property
    def ok(self):
        return self.vm_found and not self.problems

    @property
    def confirmed(self):
        return self.ok and self.exists is True

    @property
    def stranded(self):
        return not self.vm_found and self.exists is True

    def as_dict(self):
        return {"vm_found": self.vm_found, "file": self.file, "datastore": self.datastore, "exists": self.exists,
                "problems": self.problems}


class FakeVCenter:
    """An inventory: VM instance name -> {disk path: datastore name}."""

    def __init__(self):
        self.vms = {"i-2-7-VM": {"DATA-7": SRC_DS}}
        self.calls = []
        self.unsearched = False  # True: disks attached, but no datastore search could confirm their files
        self.gone = set()  # (instance name, path) of attached disks whose file is gone from the datastore
        self.strays = []  # files on datastores that no VM has attached
        self.vm_reads = 0  # reads of one VM in vCenter (a locate, or its disk files read again)
        self.last_read = {}  # instance name -> {disk path: datastore name} as the last read of that VM saw it
        self.read_ahead_calls = 0

    def read_ahead(self):
        self.read_ahead_calls += 1

    def locate_detached(self, path, datastores=None):
        found = ["[%s] %s/%s.vmdk" % (ds, vm, disk) for vm, disks in self.vms.items() for disk, ds in disks.items()
                 if disk == path and (vm, disk) not in self.gone]
        return FakeSearch(path, sorted(found + [file for file in self.strays if file.endswith("/%s.vmdk" % path)]))

    def attached_disk_files(self, instance_name, read_again=True):
        # read_again=False: the disks as the last read of that VM saw them (a caller relying on an old read sees old disks)
        disks = self._read_vm(instance_name) if read_again else self.last_read.get(instance_name)
        return None if disks is None else ["[%s] %s/%s.vmdk" % (ds, instance_name, path) for path, ds in disks.items()]

    def _read_vm(self, instance_name):
        self.vm_reads += 1
        disks = self.vms.get(instance_name)
        self.last_read[instance_name] = None if disks is None else dict(disks)
        return disks

    def locate(self, instance_name, path, datastores=None):
        self.calls.append((instance_name, path, tuple(datastores or ())))
        disks = self._read_vm(instance_name)
        if disks is None:
            return FakeDisk(False, [("vm_not_found", "VM %s not found" % instance_name)])
        if path not in disks:
            return FakeDisk(True, [("disk_not_attached", "disk %s not attached" % path)])
        datastore = disks[path]
        file = "[%s] %s/%s.vmdk" % (datastore, instance_name, path)
        if (instance_name, path) in self.gone:
            return FakeDisk(True, [("disk_file_missing", "disk file %s is missing" % file)], file, datastore, False)
        if self.unsearched:
            return FakeDisk(True, [], file, datastore, None)
        if datastores and datastore not in datastores:
            return FakeDisk(True, [("disk_on_other_datastore", "disk %s on %s, expected %s" % (path, datastore, list(datastores)))],
                            file, datastore, True)
        return FakeDisk(True, [], file, datastore, True)


class FakeSearch:
    """What VCenterDisks.locate_detached returns: every datastore searched."""

    def __init__(self, path, found):
        self.file_name = path + ".vmdk"
        self.found = found
        self.searched = [SRC_DS, DST_DS]
        self.not_searched = {}

    def as_dict(self):
        return {"file_name": self.file_name, "found": list(self.found), "datastores_searched": self.searched}


class FakeCloudStack:
    """CloudStack's state, plus scripted job outcomes. ``on_migrate`` decides what a job does to the world."""

    def __init__(self, vcenter):
        self.vcenter = vcenter
        self.volumes = {VOL: dict(id=VOL, name="DATA-7", state="Ready", storageid=SRC, storage="pool-src", path="DATA-7",
                                  zoneid=ZONE, zonename="zone1", virtualmachineid=VM, vmname="web-7", account="admin",
                                  hypervisor="VMware", size=1024, type="DATADISK")}
        self.pools = {SRC: dict(id=SRC, name="pool-src", state="Up", zoneid=ZONE, type="NetworkFilesystem", path="/export/src",
                                disksizetotal=10 ** 9, disksizeallocated=0),
                      DST: dict(id=DST, name="pool-dst", state="Up", zoneid=ZONE, type="NetworkFilesystem", path="/export/dst",
                                disksizetotal=10 ** 9, disksizeallocated=0)}
        self.vms = {VM: dict(id=VM, name="web-7", state="Stopped", instancename="i-2-7-VM")}
        self.unsuitable = set()
        self.jobs = {}
        self.job_script = {}
        self.submissions = []
        self.updates = []
        self.migrate_errors = []
        self.query_errors = []
        self.outcome = "moves"
        self.update_error = None  # errortext: the next updateVolume job fails and changes nothing
        self.configurations = {"concurrent.migrations.per.target.datastore": "0"}

    # reads
    def get_configuration(self, name):
        return self.configurations.get(name)

    def get_volume(self, volume_id):
        return copy.deepcopy(self.volumes.get(volume_id))

    def list_volumes(self, **filters):
        return [copy.deepcopy(v) for v in self.volumes.values() if all(v.get(key) == value for key, value in filters.items())]

    def get_storage_pool(self, pool_id):
        return copy.deepcopy(self.pools.get(pool_id))

    def list_storage_pools(self, **filters):
        return [copy.deepcopy(p) for p in self.pools.values()
                if all(p.get(key) == value for key, value in filters.items())]

    def find_storage_pools_for_migration(self, volume_id):
        return [dict(id=p["id"], name=p["name"], suitableformigration=p["id"] not in self.unsuitable)
                for p in self.pools.values() if p["id"] != self.volumes[volume_id]["storageid"]]

    def get_virtual_machine(self, vm_id):
        return copy.deepcopy(self.vms.get(vm_id))

    def query_job(self, job_id):
        if self.query_errors:
            raise self.query_errors.pop(0)
        script = self.job_script.get(job_id)
        if script is None:
            return None
        status = script.pop(0) if len(script) > 1 else script[0]
        if status != 0:
            self._complete(job_id, status)
        return dict(self.jobs[job_id], jobstatus=status)

    # mutations
    def migrate_volume(self, volume_id, pool_id, job_id, live=False):
        self.submissions.append((volume_id, pool_id, job_id, live))
        if self.migrate_errors:
            error, reached = self.migrate_errors.pop(0)
            if reached:
                self._register(job_id, volume_id, pool_id)
            raise error
        self._register(job_id, volume_id, pool_id)
        return job_id

    def update_volume(self, volume_id, job_id, storage_id=None, path=None, state=None):
        self.updates.append(dict(volume_id=volume_id, storage_id=storage_id, path=path, state=state))
        self.jobs[job_id] = dict(jobid=job_id, kind="update")
        if self.update_error:
            self.jobs[job_id]["jobresult"] = {"errorcode": 530, "errortext": self.update_error}
            self.job_script[job_id] = [2]
            return job_id
        volume = self.volumes[volume_id]
        volume.update(storageid=storage_id, storage=self.pools[storage_id]["name"], path=path, state=state)
        self.job_script[job_id] = [1]
        return job_id

    def _register(self, job_id, volume_id, pool_id):
        self.jobs[job_id] = dict(jobid=job_id, kind="migrate", volume_id=volume_id, pool_id=pool_id, done=False)
        self.job_script.setdefault(job_id, list(self.default_script))

    default_script = [0, 0, 1]

    def _complete(self, job_id, status):
        job = self.jobs[job_id]
        if job.get("kind") != "migrate" or job["done"]:
            return
        job["done"] = True
        volume = self.volumes[job["volume_id"]]
        if status == 2:
            job["jobresult"] = {"errorcode": 530, "errortext": "Migrate volume failed: disk busy"}
            instance = self.vms[volume["virtualmachineid"]]["instancename"]
            if self.outcome == "false_failure":  # apache/cloudstack#7168: the job gave up, vCenter moved the disk
                self.vcenter.vms[instance][volume["path"]] = job["pool_id"].replace("-", "")
            elif self.outcome == "disk_lost":  # the source removed, no copy anywhere
                self.vcenter.gone.add((instance, volume["path"]))
            return
        job["jobresult"] = {"volume": {"id": volume["id"]}}
        pool = self.pools[job["pool_id"]]
        if self.outcome == "moves":
            volume.update(storageid=pool["id"], storage=pool["name"])
            disks = self.vcenter.vms[self.vms[volume["virtualmachineid"]]["instancename"]]
            disks[volume["path"]] = pool["id"].replace("-", "")
        elif self.outcome == "false_success":  # apache/cloudstack#9881: record moved, disk did not
            volume.update(storageid=pool["id"], storage=pool["name"], path=None)


class MutationForbidden(FakeCloudStack):
    def migrate_volume(self, *args, **kwargs):
        raise AssertionError("check mode must not call migrateVolume")

    def update_volume(self, *args, **kwargs):
        raise AssertionError("check mode must not call updateVolume")


@pytest.fixture
def world(tmp_path):
    vcenter = FakeVCenter()
    cloudstack = FakeCloudStack(vcenter)
    clock = FakeClock()
    journal = Journal(str(tmp_path / "journal.jsonl"), clock=clock)
    return cloudstack, vcenter, journal, clock


def lock_directory_of(journal):
    """The volume locks of a test beside its journal, never in the user's home."""
    return os.path.join(os.path.dirname(journal.path), "locks")


def service_for(world, **options):
    cloudstack, vcenter, journal, clock = world
    options.setdefault("poll_interval", 1.0)
    options.setdefault("job_timeout", 60)
    ids = iter("job-%d" % n for n in range(1, 100))
    return VolumeMigrationService(cloudstack, vcenter, journal, MigrationOptions(**options), clock=clock,
                                  sleep=clock.sleep, new_job_id=lambda: next(ids),
                                  lock_directory=lock_directory_of(journal))


def run_one(world, volume=VOL, destination=DST, **options):
    return service_for(world, **options).run([MigrationRequest(volume, destination)])


# ---- happy path and idempotence -------------------------------------------------------------------
def test_migrates_and_verifies_both_sides(world):
    cloudstack, vcenter, journal, clock = world
    result = run_one(world)
    entry = result["volumes"][0]
    assert result["changed"] is True
    assert entry["status"] == "migrated"
    assert entry["verification"]["ok"] is True
    assert entry["verification"]["vcenter"]["datastore"] == DST_DS
    assert cloudstack.submissions == [(VOL, DST, "job-1", False)]
    assert result["summary"]["migrated"] == 1
    assert clock.sleeps, "the job was polled with back-off through the injected sleep"
    assert result["diff"]["before"]["DATA-7"]["pool"] == "pool-src"
    assert result["diff"]["after"]["DATA-7"]["datastore_path"] == "[%s] i-2-7-VM/DATA-7.vmdk" % DST_DS


def test_journal_records_job_id_before_the_result(world):
    cloudstack, vcenter, journal, clock = world
    run_one(world)
    events = [entry["event"] for entry in journal.entries(VOL)]
    assert events == ["plan", "job_submitting", "job_result", "verification", "outcome"]
    assert journal.entries(VOL)[1]["job_id"] == "job-1"
    assert journal.unfinished_job(VOL) is None


def test_second_run_is_unchanged(world):
    run_one(world)
    cloudstack = world[0]
    result = run_one(world)
    assert result["changed"] is False
    assert result["volumes"][0]["status"] == "unchanged"
    assert len(cloudstack.submissions) == 1


def test_record_on_destination_but_disk_elsewhere_is_drift_not_ok(world):
    cloudstack, vcenter, journal, clock = world
    cloudstack.volumes[VOL].update(storageid=DST, storage="pool-dst")
    with pytest.raises(DriftDetected) as caught:
        run_one(world)
    assert "false success" in caught.value.message
    assert caught.value.facts["truth"]["pool_id"] == SRC
    assert caught.value.facts["restore"]["submitted"] is False
    assert cloudstack.updates == [] and cloudstack.submissions == []


def test_drift_with_restore_policy_repairs_the_record(world):
    cloudstack, vcenter, journal, clock = world
    cloudstack.volumes[VOL].update(storageid=DST, storage="pool-dst")
    result = run_one(world, on_false_success="restore")
    entry = result["volumes"][0]
    # the record is put back to the truth (the source), then the volume is migrated as planned
    assert entry["restore"]["verified"] is True and entry["repaired"] is True
    assert cloudstack.updates[0]["storage_id"] == SRC
    assert entry["status"] == "migrated" and result["changed"] is True
    assert cloudstack.volumes[VOL]["storageid"] == DST and vcenter.vms["i-2-7-VM"]["DATA-7"] == DST_DS
    assert len(cloudstack.submissions) == 1


# ---- check mode ----------------------------------------------------------------------------------
def test_check_mode_plans_without_any_mutating_call(world):
    vcenter, journal, clock = world[1], world[2], world[3]
    forbidden = MutationForbidden(vcenter)
    service = VolumeMigrationService(forbidden, vcenter, journal, MigrationOptions(check_mode=True), clock=clock, sleep=clock.sleep)
    result = service.run([MigrationRequest(VOL, "pool-dst")])
    entry = result["volumes"][0]
    assert entry["status"] == "planned" and result["changed"] is True
    assert entry["plan"]["action"] == "migrate"
    assert entry["plan"]["source"]["datastore_path"] == "[%s] i-2-7-VM/DATA-7.vmdk" % SRC_DS
    assert forbidden.volumes[VOL]["storageid"] == SRC
    assert journal.entries() == []


def test_check_mode_still_reports_blockers(world):
    cloudstack = world[0]
    cloudstack.pools[DST]["state"] = "Maintenance"
    with pytest.raises(PreflightFailed) as caught:
        run_one(world, check_mode=True)
    assert "Maintenance" in caught.value.message


# ---- preflight -----------------------------------------------------------------------------------
@pytest.mark.parametrize("breakage, expected", [
    (lambda cs, vc: cs.pools[DST].update(state="Maintenance"), "pool_not_up"),
    (lambda cs, vc: cs.unsuitable.add(DST), "pool_unsuitable"),
    (lambda cs, vc: cs.pools[DST].update(disksizetotal=10, disksizeallocated=5), "pool_full"),
    (lambda cs, vc: cs.pools[DST].update(zoneid="other"), "other_zone"),
    (lambda cs, vc: cs.volumes[VOL].update(state="Migrating", jobid="j0", jobstatus=0), "already_migrating"),
    (lambda cs, vc: cs.volumes[VOL].update(state="Migrating"), "volume_stuck_migrating"),
    (lambda cs, vc: setattr(vc, "unsearched", True), "disk_unconfirmed"),
    (lambda cs, vc: cs.volumes[VOL].update(state="Allocated"), "volume_not_ready"),
    (lambda cs, vc: cs.vms[VM].update(state="Starting"), "vm_state"),
    (lambda cs, vc: vc.vms.pop("i-2-7-VM"), "vm_not_found"),
    (lambda cs, vc: vc.vms["i-2-7-VM"].update({"DATA-7": DST_DS}), "disk_on_other_datastore"),
    (lambda cs, vc: vc.vms["i-2-7-VM"].pop("DATA-7"), "disk_not_attached"),
])
def test_preflight_blockers_stop_before_any_change(world, breakage, expected):
    cloudstack, vcenter, journal, clock = world
    breakage(cloudstack, vcenter)
    with pytest.raises(PreflightFailed) as caught:
        run_one(world)
    codes = [blocker["code"] for blocker in caught.value.facts["blockers"]]
    assert expected in codes
    assert "nothing was changed" in caught.value.message
    assert cloudstack.submissions == [] and cloudstack.updates == []


def test_running_vm_is_refused_naming_the_option(world):
    cloudstack = world[0]
    cloudstack.vms[VM]["state"] = "Running"
    with pytest.raises(UnsafeOperation) as caught:
        run_one(world)
    assert "allow_live_migration" in caught.value.message
    assert cloudstack.submissions == []


def test_running_vm_migrates_live_when_allowed(world):
    cloudstack = world[0]
    cloudstack.vms[VM]["state"] = "Running"
    result = run_one(world, allow_live_migration=True)
    assert result["volumes"][0]["status"] == "migrated"
    assert cloudstack.submissions[0][3] is True


def test_unknown_volume_and_unknown_pool(world):
    with pytest.raises(PreflightFailed, match="was not found"):
        run_one(world, volume="33333333-3333-4333-8333-333333333333")
    with pytest.raises(PreflightFailed, match="pool nope was not found"):
        run_one(world, destination="nope")


def test_ambiguous_name_lists_the_candidates(world):
    cloudstack = world[0]
    cloudstack.volumes[VOL2] = dict(cloudstack.volumes[VOL], id=VOL2, vmname="db-9", virtualmachineid="other-vm")
    with pytest.raises(InvalidInput) as caught:
        run_one(world, volume="DATA-7")
    assert set(caught.value.facts["candidates"]) == {VOL, VOL2}
    assert VOL in caught.value.message and VOL2 in caught.value.message
    result = service_for(world).run([MigrationRequest("DATA-7", DST, vm="web-7")])
    assert result["volumes"][0]["volume_id"] == VOL


# ---- job failures, timeouts, transient errors -----------------------------------------------------
def test_failed_job_reports_cloudstack_error_and_unchanged_record(world):
    cloudstack = world[0]
    cloudstack.default_script = [0, 2]
    with pytest.raises(JobFailed) as caught:
        run_one(world)
    assert "disk busy" in caught.value.message
    assert "record is unchanged" in caught.value.message
    assert caught.value.facts["job_id"] == "job-1"


def test_a_failed_job_whose_disk_moved_is_a_false_failure_with_both_sides(world):
    cloudstack, vcenter, journal, clock = world
    cloudstack.default_script, cloudstack.outcome = [0, 2], "false_failure"
    with pytest.raises(VerificationFailed) as caught:
        run_one(world)
    error = caught.value
    assert error.message.startswith("False failure: CloudStack's migrateVolume job job-1 for volume DATA-7")
    assert "left the record on pool pool-src, path DATA-7" in error.message
    assert "vCenter shows the disk at [%s] i-2-7-VM/DATA-7.vmdk on the destination pool pool-dst" % DST_DS in error.message
    assert "nothing was migrated" not in error.message
    assert error.facts["false_failure"] is True and error.facts["truth"]["pool_id"] == DST
    assert error.facts["restore"]["submitted"] is False and cloudstack.updates == []
    assert cloudstack.volumes[VOL]["storageid"] == SRC
    assert "false_failure" in [entry["event"] for entry in journal.entries(VOL)]


def test_a_false_failure_is_restored_to_the_destination_and_verified(world):
    cloudstack, vcenter, journal, clock = world
    cloudstack.default_script, cloudstack.outcome = [0, 2], "false_failure"
    result = run_one(world, on_false_success="restore")
    entry = result["volumes"][0]
    assert entry["status"] == "migrated" and entry["failed"] is False and entry["false_failure"] is True
    assert entry["restore"]["verified"] is True and entry["verification"]["ok"] is True
    assert cloudstack.volumes[VOL]["storageid"] == DST and cloudstack.volumes[VOL]["path"] == "DATA-7"
    assert cloudstack.updates == [dict(volume_id=VOL, storage_id=DST, path="DATA-7", state="Ready")]
    assert "restored to the truth (pool pool-dst, path DATA-7" in entry["msg"]
    assert len(cloudstack.submissions) == 1


def test_a_failed_job_whose_source_is_gone_everywhere_raises_the_disk_lost_alarm(world):
    cloudstack, vcenter, journal, clock = world
    cloudstack.default_script, cloudstack.outcome = [0, 2], "disk_lost"
    with pytest.raises(VerificationFailed) as caught:
        run_one(world, on_false_success="restore")
    error = caught.value
    assert error.message.startswith("DISK LOST: CloudStack's migrateVolume job job-1 for volume DATA-7")
    assert "on none of the 2 datastores searched" in error.message and "do NOT retry the migration" in error.message
    assert error.facts["disk_lost"] is True and error.facts["datastores_searched"] == [SRC_DS, DST_DS]
    assert error.facts["last_known_path"] and error.facts["journal_entries"]
    assert cloudstack.updates == [], "a lost disk is never 'restored'"


def test_a_failed_job_is_nothing_migrated_only_with_the_disk_seen_on_the_source(world):
    cloudstack, vcenter, journal, clock = world
    cloudstack.default_script = [0, 2]
    original = cloudstack._complete

    def search_fails_after_the_job(job_id, status):
        original(job_id, status)
        vcenter.unsearched = True  # the disk is attached on the source, but the VM's check cannot confirm its file
    cloudstack._complete = search_fails_after_the_job
    with pytest.raises(JobFailed) as caught:
        run_one(world)
    assert "nothing was migrated" in caught.value.message
    assert "the datastore search found its file at [%s] i-2-7-VM/DATA-7.vmdk" % SRC_DS in caught.value.message


def test_a_failed_job_after_another_migration_moved_the_volume_is_no_false_success(world):
    cloudstack, vcenter, journal, clock = world
    cloudstack.default_script = [0, 2]
    original = cloudstack._complete

    def moved_by_someone_else(job_id, status):
        original(job_id, status)
        volume = cloudstack.volumes[VOL]
        volume.update(storageid=DST, storage="pool-dst")
        vcenter.vms["i-2-7-VM"]["DATA-7"] = DST_DS
    cloudstack._complete = moved_by_someone_else
    result = run_one(world)
    entry = result["volumes"][0]
    assert entry["status"] == "unchanged" and entry["failed"] is False and entry["moved_by_another_job"] is True
    assert entry["verification"]["ok"] is True and "another migration moved it" in entry["msg"]


def test_a_second_run_on_the_same_journal_refuses_and_submits_nothing(world):
    cloudstack, vcenter, journal, clock = world
    with held(journal_lock_path(journal.path), "the journal", "other-run"):
        with pytest.raises(RunInProgress) as caught:
            run_one(world)
    assert caught.value.message.startswith("Another run is working on the journal")
    assert "run other-run" in caught.value.message and "changed nothing" in caught.value.message
    assert caught.value.facts["held_by"]["pid"] == os.getpid()
    assert cloudstack.submissions == [] and journal.entries() == []
    assert run_one(world)["volumes"][0]["status"] == "migrated", "the lock is released when its holder ends"


def test_a_second_run_on_the_same_volume_with_another_journal_refuses(world, tmp_path):
    cloudstack, vcenter, journal, clock = world
    with held(volume_lock_path(VOL, None, lock_directory_of(journal)), "volume DATA-7", "other-run"):
        with pytest.raises(RunInProgress) as caught:
            run_one(world)
    assert "Another run is working on volume DATA-7 (%s)" % VOL in caught.value.message
    assert cloudstack.submissions == []


def test_check_mode_takes_no_lock(world):
    cloudstack, vcenter, journal, clock = world
    with held(journal_lock_path(journal.path), "the journal", "other-run"):
        result = run_one(world, check_mode=True)
    assert result["volumes"][0]["status"] == "planned"


def test_a_job_started_elsewhere_after_the_plan_stops_the_submission(world):
    cloudstack, vcenter, journal, clock = world
    service = service_for(world)
    plan = service._planner.plan

    def another_run_submits_meanwhile(volume, destination):
        planned = plan(volume, destination)
        cloudstack.volumes[VOL].update(jobid="someone-elses-job", jobstatus=0)
        return planned
    service._planner.plan = another_run_submits_meanwhile
    with pytest.raises(PreflightFailed) as caught:
        service.run([MigrationRequest(VOL, DST)])
    assert "changed after it was planned: CloudStack job someone-elses-job is running on it" in caught.value.message
    assert "Nothing was submitted" in caught.value.message
    assert cloudstack.submissions == []
    assert "job_submitting" not in [entry["event"] for entry in journal.entries(VOL)]


def with_a_sibling(world):
    """The VM's ROOT volume beside DATA-7, on the source pool and attached in vCenter."""
    cloudstack, vcenter, journal, clock = world
    root = dict(cloudstack.volumes[VOL], id=VOL2, name="ROOT-7", path="ROOT-7", type="ROOT")
    cloudstack.volumes[VOL2] = root
    vcenter.vms["i-2-7-VM"]["ROOT-7"] = SRC_DS
    return root


def test_a_migration_with_siblings_left_alone_is_migrated(world):
    with_a_sibling(world)
    result = run_one(world)
    assert result["volumes"][0]["status"] == "migrated" and "siblings_disturbed" not in result["volumes"][0]


@pytest.mark.parametrize("check_mode", [False, True])
def test_the_inventory_is_read_ahead_once_before_the_first_look_at_a_disk(world, check_mode):
    cloudstack, vcenter, journal, clock = world
    read_ahead_before_each_look = []
    locate = vcenter.locate

    def counted_locate(*args, **kwargs):
        read_ahead_before_each_look.append(vcenter.read_ahead_calls)
        return locate(*args, **kwargs)
    vcenter.locate = counted_locate
    result = run_one(world, check_mode=check_mode)
    assert result["volumes"][0]["status"] == ("planned" if check_mode else "migrated")
    assert read_ahead_before_each_look and set(read_ahead_before_each_look) == {1}


def test_the_siblings_are_seen_in_the_reads_of_the_plan_and_of_the_verification(world):
    cloudstack, vcenter, journal, clock = world
    with_a_sibling(world)
    result = run_one(world)
    assert result["volumes"][0]["status"] == "migrated"
    assert vcenter.vm_reads == 2, "the VM read once before the job (plan) and once after it (verification)"


def test_two_volumes_of_one_vm_migrated_together_are_no_disturbance_of_each_other(world):
    cloudstack, vcenter, journal, clock = world
    with_a_sibling(world)
    result = service_for(world, concurrency=2).run([MigrationRequest(VOL, DST), MigrationRequest("ROOT-7", DST, vm="web-7")])
    assert [entry["status"] for entry in result["volumes"]] == ["migrated", "migrated"]


def test_a_migration_that_disturbed_a_sibling_disk_is_reported(world):
    cloudstack, vcenter, journal, clock = world
    with_a_sibling(world)
    original = cloudstack._complete

    def wrong_disk_matched(job_id, status):  # CLOUDSTACK-8598: the job touched the VM's other disk too
        original(job_id, status)
        cloudstack.volumes[VOL2]["path"] = "ROOT-7-moved"
        del vcenter.vms["i-2-7-VM"]["ROOT-7"]
    cloudstack._complete = wrong_disk_matched
    with pytest.raises(VerificationFailed) as caught:
        run_one(world)
    error = caught.value
    assert "disturbed other disks of VM i-2-7-VM" in error.message
    assert any("ROOT-7 (%s): record pool %s path ROOT-7 became pool %s path ROOT-7-moved" % (VOL2, SRC, SRC) in change
               for change in error.facts["siblings_disturbed"])
    assert any("the VM's disk files" in change for change in error.facts["siblings_disturbed"])
    assert error.facts["job_id"] == "job-1" and error.facts["changed"] is True


def test_timeout_then_resume_without_second_submission(world):
    cloudstack, vcenter, journal, clock = world
    cloudstack.default_script = [0]
    with pytest.raises(WaitTimeout) as caught:
        run_one(world, job_timeout=10)
    assert caught.value.facts["job_id"] == "job-1"
    assert "outcome is unknown" in caught.value.message and "in progress" in caught.value.message
    assert clock.now - 1000.0 <= 10 + 1e-6
    assert journal.unfinished_job(VOL)["job_id"] == "job-1"
    cloudstack.job_script["job-1"] = [0, 1]
    result = run_one(world)
    entry = result["volumes"][0]
    assert entry["status"] == "migrated" and entry["resumed"] is True and entry["job_id"] == "job-1"
    assert len(cloudstack.submissions) == 1
    assert journal.unfinished_job(VOL) is None


def test_lost_answer_is_looked_up_not_resubmitted(world):
    cloudstack = world[0]
    dropped = ConnectionFailed("connection dropped")
    dropped.transient = True
    cloudstack.migrate_errors = [(dropped, True)]
    result = run_one(world)
    assert result["volumes"][0]["status"] == "migrated"
    assert len(cloudstack.submissions) == 1


def test_rejected_submission_is_retried_with_the_same_job_id(world):
    cloudstack = world[0]
    throttled = CloudStackApiError("Failed to migrate volume: limit", errorcode=429)
    throttled.transient = True
    cloudstack.migrate_errors = [(throttled, False)]
    result = run_one(world)
    assert result["volumes"][0]["status"] == "migrated"
    assert [submission[2] for submission in cloudstack.submissions] == ["job-1", "job-1"]


def test_definite_rejection_fails_and_closes_the_journal_entry(world):
    cloudstack, vcenter, journal, clock = world
    cloudstack.migrate_errors = [(CloudStackApiError("Failed to migrate volume: bad", errorcode=431), False)]
    with pytest.raises(CloudStackApiError) as caught:
        run_one(world)
    assert caught.value.facts["job_id"] == "job-1"
    assert journal.unfinished_job(VOL) is None


def test_lost_contact_while_waiting_says_how_to_resume(world):
    cloudstack = world[0]
    cloudstack.default_script = [0, 0, 0]
    original = cloudstack.query_job

    def failing(job_id):
        if cloudstack.jobs.get(job_id, {}).get("kind") == "migrate":
            raise ConnectionFailed("Failed to query job: cannot reach CloudStack")
        return original(job_id)
    cloudstack.query_job = failing
    with pytest.raises(ConnectionFailed) as caught:
        run_one(world)
    assert "resume" in caught.value.message and caught.value.facts["job_id"] == "job-1"


# ---- false success --------------------------------------------------------------------------------
def test_false_success_fails_loudly_and_leaves_record_by_default(world):
    cloudstack = world[0]
    cloudstack.outcome = "false_success"
    with pytest.raises(VerificationFailed) as caught:
        run_one(world)
    facts = caught.value.facts
    assert "False success" in caught.value.message
    assert facts["verification"]["cloudstack"]["pool_id"] == DST
    assert facts["truth"]["pool_id"] == SRC and facts["truth"]["datastore"] == SRC_DS
    assert facts["restore"]["submitted"] is False
    assert "on_false_success=restore" in caught.value.message
    assert cloudstack.volumes[VOL]["storageid"] == DST
    assert facts["summary"]["false_success"] == 1


def test_a_failed_restore_job_reports_cloudstacks_text_under_the_false_success(world):
    cloudstack, _vcenter, _journal, _clock = world
    cloudstack.outcome = "false_success"
    cloudstack.update_error = "Failed to update volume: database locked"
    with pytest.raises(VerificationFailed) as caught:
        run_one(world, on_false_success="restore")
    restore = caught.value.facts["restore"]
    assert restore["verified"] is False and restore["job_status"] == 2
    assert restore["error"] == "the updateVolume job failed: Failed to update volume: database locked"
    assert caught.value.message.startswith("False success")
    assert "Failed to update volume: database locked" in caught.value.message
    assert cloudstack.volumes[VOL]["storageid"] == DST and cloudstack.volumes[VOL]["path"] is None


def test_false_success_with_restore_puts_record_back(world):
    cloudstack, vcenter, journal, clock = world
    cloudstack.outcome = "false_success"
    with pytest.raises(VerificationFailed) as caught:
        run_one(world, on_false_success="restore")
    restore = caught.value.facts["restore"]
    assert restore["verified"] is True
    assert restore["before"]["path"] is None and restore["after"]["path"] == "DATA-7"
    assert cloudstack.updates == [dict(volume_id=VOL, storage_id=SRC, path="DATA-7", state="Ready")]
    assert cloudstack.volumes[VOL]["storageid"] == SRC
    assert caught.value.facts["summary"]["restored"] == 1
    assert "restore" in [entry["event"] for entry in journal.entries(VOL)]


def test_vm_gone_from_inventory_after_job_leaves_truth_unknown(world):
    cloudstack, vcenter, journal, clock = world
    cloudstack.outcome = "false_success"
    original = cloudstack.migrate_volume

    def migrate_and_lose_vm(*args, **kwargs):
        vcenter.vms.pop("i-2-7-VM")
        return original(*args, **kwargs)
    cloudstack.migrate_volume = migrate_and_lose_vm
    with pytest.raises(VerificationFailed) as caught:
        run_one(world, on_false_success="restore")
    assert caught.value.facts.get("truth") is None
    assert caught.value.facts["restore"]["submitted"] is False
    assert "not in the inventory" in caught.value.message or "not found" in caught.value.message
    assert cloudstack.updates == []


def test_failed_job_that_changed_the_record_is_a_false_success(world):
    cloudstack = world[0]
    cloudstack.default_script = [0, 2]
    original = cloudstack._complete

    def complete_and_corrupt(job_id, status):
        original(job_id, status)
        cloudstack.volumes[VOL].update(storageid=DST, storage="pool-dst", path=None)
    cloudstack._complete = complete_and_corrupt
    with pytest.raises(VerificationFailed, match="failed .* but changed the volume record"):
        run_one(world)


# ---- several volumes ------------------------------------------------------------------------------
def test_list_with_concurrency_reports_each_volume(world):
    cloudstack, vcenter, journal, clock = world
    cloudstack.volumes[VOL2] = dict(cloudstack.volumes[VOL], id=VOL2, name="DATA-8", path="DATA-8", state="Allocated")
    vcenter.vms["i-2-7-VM"]["DATA-8"] = SRC_DS
    service = service_for(world, concurrency=2)
    with pytest.raises(SafeMigrationError) as caught:
        service.run([MigrationRequest(VOL, DST), MigrationRequest(VOL2, DST)])
    facts = caught.value.facts
    assert "1 of 2" in caught.value.message
    assert [entry["status"] for entry in facts["volumes"]] == ["migrated", "failed"]
    assert facts["summary"]["migrated"] == 1 and facts["summary"]["failed"] == 1
    assert facts["changed"] is True
    json.dumps(facts)  # the result must be serialisable: no exception objects left in it


def test_requests_from_params_rejects_duplicates_and_applies_scope():
    params = dict(volume=None, destination=None, vm="web", zone=None, account=None,
                  volumes=[dict(volume="a", destination="p"), dict(volume="b", destination="p", vm="db")])
    items = requests_from_params(params)
    assert [(item.volume, item.vm) for item in items] == [("a", "web"), ("b", "db")]
    params["volumes"].append(dict(volume="a", destination="q"))
    with pytest.raises(InvalidInput, match="more than once"):
        requests_from_params(params)


def test_unexpected_error_of_one_volume_becomes_a_message(world):
    cloudstack = world[0]
    cloudstack.get_virtual_machine = lambda vm_id: 1 / 0
    with pytest.raises(SafeMigrationError) as caught:
        run_one(world)
    assert "ZeroDivisionError" in caught.value.message


# ---- evidence, drift without a path, resume of another destination --------------------------------
def test_verification_never_passes_without_the_file_seen_on_the_destination(world):
    cloudstack, vcenter, journal, clock = world
    original = vcenter.locate

    def unsearched_destination(instance_name, path, datastores=None):
        disk = original(instance_name, path, datastores)
        if disk.datastore == DST_DS:
            disk.exists = None  # attached there, but no datastore search could confirm the file
        return disk
    vcenter.locate = unsearched_destination
    with pytest.raises(VerificationFailed) as caught:
        run_one(world)
    assert caught.value.facts["verification"]["ok"] is False
    assert caught.value.facts["verification"]["vcenter_ok"] is False


def test_drift_of_a_record_without_path_and_without_journal_is_reported(world):
    cloudstack, vcenter, journal, clock = world
    cloudstack.volumes[VOL].update(storageid=DST, storage="pool-dst", path=None)
    vcenter.vms["i-2-7-VM"]["DATA-8"] = SRC_DS  # two disks no other volume claims: which one is this volume's is a guess
    with pytest.raises(DriftDetected) as caught:
        run_one(world, on_false_success="restore")
    assert "no path" in caught.value.message
    assert caught.value.facts.get("truth") is None
    assert caught.value.facts["restore"]["submitted"] is False
    assert cloudstack.updates == [] and cloudstack.submissions == []


def test_unfinished_job_to_another_pool_is_not_resumed_as_this_request(world):
    cloudstack, vcenter, journal, clock = world
    third = "eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee"
    cloudstack.pools[third] = dict(cloudstack.pools[DST], id=third, name="pool-third")
    cloudstack.default_script = [0]
    with pytest.raises(WaitTimeout):
        run_one(world, job_timeout=5)
    with pytest.raises(PreflightFailed, match="job-1 of an earlier run.*still running"):
        run_one(world, destination=third)
    assert len(cloudstack.submissions) == 1
    cloudstack.job_script["job-1"] = [1]
    result = run_one(world, destination=third)
    entry = result["volumes"][0]
    assert entry["status"] == "migrated" and entry["plan"]["source"]["pool_id"] == DST
    assert [submission[1] for submission in cloudstack.submissions] == [DST, third]
    assert [event["event"] for event in journal.entries(VOL)].count("job_result") == 2


def test_missing_vm_with_its_disk_found_once_gives_the_disk_as_evidence():
    from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.inventory_facts import (
        InventoryReport,
        Problem,
        VmFacts,
    )
    from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.disks import VCenterDisks

    def report_with(leftovers, not_searched=()):
        def check(client, expectations, datacenter=None):
            vm = VmFacts(ref="i-2-7-VM", ref_type="instance_name", leftovers=leftovers)
            problem = Problem("vm_not_found", "i-2-7-VM", "i-2-7-VM is not in the inventory",
                              {"leftovers": leftovers, "not_searched": list(not_searched)})
            return InventoryReport(vms=[vm], problems=[problem])
        return check

    found = VCenterDisks(None, check=report_with(["[ds1] i-2-7-VM/DATA-7.vmdk", "[ds1] i-2-7-VM/i-2-7-VM.vmx"]))
    disk = found.locate("i-2-7-VM", "DATA-7", ["ds2"])
    assert disk.stranded and not disk.confirmed
    assert (disk.file, disk.datastore, disk.exists) == ("[ds1] i-2-7-VM/DATA-7.vmdk", "ds1", True)
    twice = VCenterDisks(None, check=report_with(["[ds1] i-2-7-VM/DATA-7.vmdk", "[ds2] i-2-7-VM/DATA-7.vmdk"]))
    assert not twice.locate("i-2-7-VM", "DATA-7").stranded
    decoy = VCenterDisks(None, check=report_with(["[ds1] i-2-7-VM/DATA-77.vmdk"]))
    assert not decoy.locate("i-2-7-VM", "DATA-7").stranded
    partial = VCenterDisks(None, check=report_with(["[ds1] i-2-7-VM/DATA-7.vmdk"], not_searched=["ds2: inaccessible"]))
    assert not partial.locate("i-2-7-VM", "DATA-7").stranded


def test_check_mode_plans_the_repair_of_drift_without_restoring_it(world):
    vcenter, journal, clock = world[1], world[2], world[3]
    forbidden = MutationForbidden(vcenter)
    forbidden.volumes[VOL].update(storageid=DST, storage="pool-dst")
    service = VolumeMigrationService(forbidden, vcenter, journal, MigrationOptions(check_mode=True, on_false_success="restore"),
                                     clock=clock, sleep=clock.sleep)
    result = service.run([MigrationRequest(VOL, "pool-dst")])
    entry = result["volumes"][0]
    assert entry["status"] == "planned" and result["changed"] is True
    assert entry["restore"]["submitted"] is False
    assert entry["restore"]["would_restore"]["pool_id"] == SRC
    assert entry["plan"]["action"] == "repair_then_migrate"
    assert forbidden.volumes[VOL]["storageid"] == DST and journal.entries() == []


def test_a_failed_restore_keeps_the_false_success_as_the_headline(world):
    cloudstack, vcenter, journal, clock = world
    cloudstack.outcome = "false_success"

    def refuse_update(*args, **kwargs):
        raise CloudStackApiError("Failed to update the record of volume %s: Invalid volume state specified" % VOL,
                                 errorcode=431)
    cloudstack.update_volume = refuse_update
    with pytest.raises(VerificationFailed) as caught:
        run_one(world, on_false_success="restore")
    restore = caught.value.facts["restore"]
    assert restore["submitted"] is True and restore["verified"] is False and "Invalid volume state" in restore["error"]
    assert caught.value.message.startswith("False success") and "repair the record by hand" in caught.value.message
    assert journal.entries(VOL)[-2]["event"] == "restore"
