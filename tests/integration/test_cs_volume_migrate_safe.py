"""cs_volume_migrate_safe through ansible-playbook against the lab (vcsim + the CloudStack simulator).

Every test proves its outcome by the lab's state afterwards: the volume row as the simulator
stores it (lab.records()) and where the VMDK file really is on the datastores' directories
(lab.vmdk_locations()), not only by what the module returns.
"""

from __future__ import annotations

import json
import time
import urllib.request

import pytest
from pyVim.connect import SmartConnect
from pyVmomi import vim
from integration.lab_queries import assert_no_traceback, datastore_of, placement  # pylint: disable=import-error

pytestmark = pytest.mark.lab

MODULE = "cs_volume_migrate_safe"
JOB_TIMEOUT = 10
POLL = 0.05


# ---- helpers -----------------------------------------------------------------------------------

def volume_named(lab, name):
    volumes = lab.admin().listVolumes(listall=True, name=name)["volume"]
    assert len(volumes) == 1, volumes
    return volumes[0]


def pool_named(lab, name):
    return next(pool for pool in lab.admin().listStoragePools()["storagepool"] if pool["name"] == name)


def migrate_jobs(lab):
    jobs = lab.admin().listAsyncJobs(listall=True).get("asyncjobs", [])
    return [job for job in jobs if job["cmd"].endswith("MigrateVolumeCmdByAdmin")]


def no_traceback(result):
    assert_no_traceback(result["_output"])
    assert "module_stderr" not in result, result


def lab_status(lab):
    with urllib.request.urlopen("%s/control/status" % lab.env["LAB_CONTROL_URL"], timeout=30) as response:
        return json.loads(response.read().decode())


def journal_entries(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class Volume:
    """A volume to migrate, with its record and VMDK location before the test touched anything."""

    def __init__(self, lab, name, destination):
        self.lab = lab
        self.record = volume_named(lab, name)
        self.id = self.record["id"]
        self.name = name
        self.path = self.record["path"]
        self.source = pool_named(lab, self.record["storage"])
        self.destination = pool_named(lab, destination)
        self.vm = lab.admin().listVirtualMachines(id=self.record["virtualmachineid"])["virtualmachine"][0]
        self.instance_name = self.vm["instancename"]
        self.before = placement(lab, self.id)
        self.vmdk_before = lab.vmdk_locations(self.path)
        assert self.vmdk_before == ["[%s] %s/%s.vmdk" % (datastore_of(self.source), self.instance_name, self.path)]

    @property
    def vmdk_on_destination(self):
        return ["[%s] %s/%s.vmdk" % (datastore_of(self.destination), self.instance_name, self.path)]

    def vmdk_now(self):
        return self.lab.vmdk_locations(self.path)

    def now(self):
        return placement(self.lab, self.id)

    def assert_untouched(self):
        assert self.now() == self.before
        assert self.vmdk_now() == self.vmdk_before

    def assert_migrated(self):
        assert self.now() == (self.destination["id"], self.path, "Ready")
        assert self.vmdk_now() == self.vmdk_on_destination


@pytest.fixture
def migrate(fresh_lab, module_runner, tmp_path):
    """migrate(check_mode=False, diff=False, env=None, **module args) -> result (never with a traceback)."""
    journal = tmp_path / "journal.jsonl"

    def run(check_mode=False, diff=False, env=None, **args):
        args = {"journal_path": str(journal), "poll_interval": POLL, "job_timeout": JOB_TIMEOUT, **args}
        result = module_runner(MODULE, args, dict(fresh_lab.env, **(env or {})), check_mode=check_mode, diff=diff)
        no_traceback(result)
        return result

    run.journal = journal
    return run


def wait_until(condition, timeout=10):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in %s s" % timeout
        time.sleep(0.05)


def wait_for_job_end(lab, job_id):
    admin = lab.admin(fetch_result=False)
    wait_until(lambda: admin.queryAsyncJobResult(jobid=job_id)["jobstatus"] != 0)


# ---- happy path and idempotence ----------------------------------------------------------------

def test_one_volume_moves_and_a_second_run_changes_nothing(fresh_lab, migrate):
    volume = Volume(fresh_lab, "DATA-10", "nfs-primary-1")

    result = migrate(volume=volume.name, vm="vm-0007", destination="nfs-primary-1")

    assert result["changed"] is True and not result.get("failed"), result
    entry = result["volumes"][0]
    assert entry["status"] == "migrated" and entry["verification"]["ok"] is True
    assert entry["verification"]["vcenter"]["file"] == volume.vmdk_on_destination[0]
    assert result["summary"]["migrated"] == 1
    volume.assert_migrated()
    assert [job["jobid"] for job in migrate_jobs(fresh_lab)] == [entry["job_id"]]

    again = migrate(volume=volume.id, destination=volume.destination["id"], api_http_method="post")

    assert again["changed"] is False and not again.get("failed"), again
    assert again["volumes"][0]["status"] == "unchanged" and again["summary"]["unchanged"] == 1
    volume.assert_migrated()
    assert len(migrate_jobs(fresh_lab)) == 1


def test_a_list_moves_two_at_a_time_including_to_a_vmfs_pool(fresh_lab, migrate):
    data = Volume(fresh_lab, "DATA-18", "nfs-primary-3")
    root = Volume(fresh_lab, "ROOT-15", "vmfs-primary-1")
    items = [{"volume": data.id, "destination": "nfs-primary-3"}, {"volume": root.id, "destination": "vmfs-primary-1"}]

    result = migrate(volumes=items, concurrency=2)

    assert result["changed"] is True and not result.get("failed"), result
    assert [entry["status"] for entry in result["volumes"]] == ["migrated", "migrated"]
    assert result["summary"] == {"total": 2, "migrated": 2, "unchanged": 0, "planned": 0, "failed": 0,
                                 "false_success": 0, "restored": 0}
    data.assert_migrated()
    root.assert_migrated()

    again = migrate(volumes=items, concurrency=2)

    assert again["changed"] is False and again["summary"]["unchanged"] == 2, again
    data.assert_migrated()
    root.assert_migrated()
    assert len(migrate_jobs(fresh_lab)) == 2


def test_check_mode_returns_the_plan_and_changes_nothing(fresh_lab, migrate):
    volume = Volume(fresh_lab, "DATA-26", "nfs-primary-1")

    result = migrate(volume=volume.id, destination="nfs-primary-1", check_mode=True, diff=True)

    assert result["changed"] is True and not result.get("failed"), result
    entry = result["volumes"][0]
    assert entry["status"] == "planned"
    plan = entry["plan"]
    assert plan["action"] == "migrate" and plan["blockers"] == []
    assert plan["source"]["datastore_path"] == volume.vmdk_before[0]
    assert plan["destination"]["pool_id"] == volume.destination["id"]
    diff = result["diff"]
    assert diff["before"][volume.name] == {"pool": volume.source["name"], "datastore_path": volume.vmdk_before[0]}
    assert diff["after"][volume.name]["pool"] == "nfs-primary-1"
    assert diff["after"][volume.name]["datastore_path"] == volume.vmdk_on_destination[0]
    volume.assert_untouched()
    assert migrate_jobs(fresh_lab) == []
    assert not migrate.journal.exists() or all(entry["event"] != "job_submitting"
                                               for entry in journal_entries(migrate.journal))


def test_diff_mode_shows_the_pool_and_datastore_path_before_and_after(fresh_lab, migrate):
    volume = Volume(fresh_lab, "DATA-26", "nfs-primary-1")

    result = migrate(volume=volume.id, destination="nfs-primary-1", diff=True)

    assert result["changed"] is True and not result.get("failed"), result
    assert result["diff"] == {
        "before": {volume.name: {"pool": volume.source["name"], "datastore_path": volume.vmdk_before[0]}},
        "after": {volume.name: {"pool": "nfs-primary-1", "datastore_path": volume.vmdk_on_destination[0]}},
    }
    volume.assert_migrated()


# ---- the VM removed from the vCenter inventory --------------------------------------------------

@pytest.mark.parametrize("behaviour", ["legacy", "fixed"])
def test_vm_missing_from_vcenter_stops_the_preflight(fresh_lab, migrate, behaviour):
    fresh_lab.control("behaviour", behaviour=behaviour)
    volume = Volume(fresh_lab, "DATA-4", "nfs-primary-2")
    fresh_lab.control("vcenter_unregister_vm", instance_name=volume.instance_name)

    result = migrate(volume=volume.id, destination="nfs-primary-2", on_false_success="restore")

    assert result["failed"] is True and result["changed"] is False, result
    assert volume.instance_name in result["msg"] and "not in the vCenter inventory" in result["msg"]
    assert volume.vmdk_before[0] in result["msg"]  # where the disk is
    assert "nothing was changed" in result["msg"]
    volume.assert_untouched()
    assert migrate_jobs(fresh_lab) == []


# ---- false success -------------------------------------------------------------------------------

def test_false_success_is_caught_and_the_record_restored(fresh_lab, migrate):
    volume = Volume(fresh_lab, "DATA-42", "nfs-primary-1")
    fresh_lab.control("fault_next_job", mode="false_success")

    result = migrate(volume=volume.id, destination="nfs-primary-1", on_false_success="restore")

    assert result["failed"] is True, result
    entry = result["volumes"][0]
    assert entry["false_success"] is True and entry["job_status"] == 1
    claim = entry["verification"]["cloudstack"]
    assert claim["pool_id"] == volume.destination["id"]          # what CloudStack claimed
    assert entry["truth"]["pool_id"] == volume.source["id"]        # what vCenter shows
    assert entry["truth"]["file"] == volume.vmdk_before[0]
    restore = entry["restore"]
    assert restore["verified"] is True
    assert restore["before"]["pool_id"] == volume.destination["id"]
    assert restore["after"] == {"state": "Ready", "pool_id": volume.source["id"], "pool_name": volume.source["name"],
                                "path": volume.path}
    assert "False success" in result["msg"] and "restored" in result["msg"]
    assert volume.vmdk_before[0] in result["msg"] and "nfs-primary-1" in result["msg"]
    volume.assert_untouched()
    assert result["summary"]["false_success"] == 1 and result["summary"]["restored"] == 1

    events = [item["event"] for item in journal_entries(migrate.journal)]
    for event in ("plan", "job_submitting", "job_result", "verification", "restore_submitting", "restore", "outcome"):
        assert event in events, events
    assert events.index("job_submitting") < events.index("job_result") < events.index("verification")


def test_false_success_without_restore_leaves_the_record_and_a_rerun_reports_the_drift(fresh_lab, migrate):
    volume = Volume(fresh_lab, "DATA-42", "nfs-primary-1")
    fresh_lab.control("fault_next_job", mode="false_success")

    result = migrate(volume=volume.id, destination="nfs-primary-1")

    assert result["failed"] is True and result["changed"] is False, result
    assert result["volumes"][0]["false_success"] is True
    assert result["volumes"][0]["restore"]["submitted"] is False
    assert "False success" in result["msg"] and "on_false_success=restore" in result["msg"]
    assert "nfs-primary-1" in result["msg"] and volume.vmdk_before[0] in result["msg"]
    claimed = (volume.destination["id"], volume.path, "Ready")
    assert volume.now() == claimed                           # as CloudStack left it
    assert volume.vmdk_now() == volume.vmdk_before

    again = migrate(volume=volume.id, destination="nfs-primary-1")

    assert again["failed"] is True and again["changed"] is False, again
    assert "false success" in again["msg"] and volume.vmdk_before[0] in again["msg"]
    assert volume.now() == claimed
    assert volume.vmdk_now() == volume.vmdk_before
    assert len(migrate_jobs(fresh_lab)) == 1


def test_vm_removed_while_the_job_waits_legacy_false_success_is_restored(fresh_lab, migrate):
    """apache/cloudstack#9881 itself: the preflight passed, then the VM left the inventory."""
    volume = Volume(fresh_lab, "DATA-12", "nfs-primary-4")
    fresh_lab.control("fault_next_job", mode="hang")
    first = migrate(volume=volume.id, destination="nfs-primary-4", job_timeout=1)
    assert first["failed"] is True and "Timed out" in first["msg"], first
    fresh_lab.control("vcenter_unregister_vm", instance_name=volume.instance_name)
    fresh_lab.control("release_jobs")
    wait_for_job_end(fresh_lab, first["job_id"])
    assert volume.now() == (volume.destination["id"], None, "Ready")   # the record CloudStack wrote

    result = migrate(volume=volume.id, destination="nfs-primary-4", on_false_success="restore")

    assert result["failed"] is True and result["volumes"][0]["false_success"] is True, result
    assert result["volumes"][0]["resumed"] is True and result["volumes"][0]["job_id"] == first["job_id"]
    assert volume.instance_name in result["msg"] and volume.vmdk_before[0] in result["msg"]
    assert result["volumes"][0]["restore"]["verified"] is True
    volume.assert_untouched()
    assert len(migrate_jobs(fresh_lab)) == 1


def test_vm_removed_while_the_job_waits_fixed_reports_the_agent_error(fresh_lab, migrate):
    """After PR #10707 the same sequence fails the job; the record stays where the disk is."""
    fresh_lab.control("behaviour", behaviour="fixed")
    volume = Volume(fresh_lab, "DATA-12", "nfs-primary-4")
    fresh_lab.control("fault_next_job", mode="hang")
    first = migrate(volume=volume.id, destination="nfs-primary-4", job_timeout=1)
    assert first["failed"] is True and "Timed out" in first["msg"], first
    fresh_lab.control("vcenter_unregister_vm", instance_name=volume.instance_name)
    fresh_lab.control("release_jobs")

    result = migrate(volume=volume.id, destination="nfs-primary-4", on_false_success="restore")

    assert result["failed"] is True and result["changed"] is False, result
    assert result["volumes"][0]["resumed"] is True and result["volumes"][0]["job_id"] == first["job_id"]
    assert "VM %s does not exist in VMware datacenter" % volume.instance_name in result["msg"]
    assert "unchanged" in result["msg"]
    volume.assert_untouched()
    assert len(migrate_jobs(fresh_lab)) == 1


def test_record_damaged_by_a_plain_migrate_volume_is_reported_not_restored_blindly(fresh_lab, migrate):
    """#9881 done by someone else: the record has the destination and no path, the VM is gone from vCenter."""
    volume = Volume(fresh_lab, "DATA-12", "nfs-primary-4")
    fresh_lab.control("vcenter_unregister_vm", instance_name=volume.instance_name)
    fresh_lab.admin().migrateVolume(volumeid=volume.id, storageid=volume.destination["id"])
    damaged = (volume.destination["id"], None, "Ready")
    assert volume.now() == damaged

    result = migrate(volume=volume.id, destination="nfs-primary-4")

    assert result["failed"] is True and result["changed"] is False, result
    assert "re-register the VM" in result["msg"], result["msg"]
    assert "put it back to what vCenter shows" not in result["msg"]
    assert volume.now() == damaged                                  # nothing written over the damage
    assert volume.vmdk_now() == volume.vmdk_before
    assert len(migrate_jobs(fresh_lab)) == 1                         # only the plain call's job


# ---- job failure, timeout and resume -------------------------------------------------------------

def test_job_failure_reports_cloudstacks_text_and_leaves_the_record(fresh_lab, migrate):
    volume = Volume(fresh_lab, "DATA-28", "nfs-primary-4")
    text = "Migrate volume failed: datastore went away (injected)"
    fresh_lab.control("fault_next_job", mode="fail", errortext=text)

    result = migrate(volume=volume.id, destination="nfs-primary-4")

    assert result["failed"] is True and result["changed"] is False, result
    assert text in result["msg"] and result["volumes"][0]["job_id"] in result["msg"]
    assert "unchanged" in result["msg"]
    volume.assert_untouched()


def test_timeout_then_rerun_resumes_the_same_job(fresh_lab, migrate):
    volume = Volume(fresh_lab, "DATA-46", "nfs-primary-3")
    fresh_lab.control("fault_next_job", mode="hang")

    first = migrate(volume=volume.id, destination="nfs-primary-3", job_timeout=1)

    assert first["failed"] is True and first["changed"] is False, first
    job_id = first["job_id"]
    assert job_id in first["msg"] and "outcome is unknown" in first["msg"] and "run the task again" in first["msg"]
    assert volume.now() == (volume.source["id"], volume.path, "Migrating")
    assert volume.vmdk_now() == volume.vmdk_before
    fresh_lab.control("release_jobs")

    second = migrate(volume=volume.id, destination="nfs-primary-3")

    assert second["changed"] is True and not second.get("failed"), second
    entry = second["volumes"][0]
    assert entry["resumed"] is True and entry["job_id"] == job_id and entry["status"] == "migrated"
    volume.assert_migrated()
    assert [job["jobid"] for job in migrate_jobs(fresh_lab)] == [job_id]
    submissions = [item for item in journal_entries(migrate.journal) if item["event"] == "job_submitting"]
    assert [item["job_id"] for item in submissions] == [job_id]


@pytest.mark.parametrize("status,command", [(429, None), (530, "queryAsyncJobResult"), ("drop", "listVolumes")])
def test_transient_faults_on_reads_are_retried(fresh_lab, migrate, status, command):
    volume = Volume(fresh_lab, "ROOT-7", "nfs-primary-3")
    fault = {"count": 2, "status": status}
    if command:
        fault["command"] = command
    fresh_lab.control("fault_next_calls", **fault)

    result = migrate(volume=volume.id, destination="nfs-primary-3")

    assert result["changed"] is True and not result.get("failed"), result
    volume.assert_migrated()
    assert lab_status(fresh_lab)["pending_call_faults"] == 0  # the faults did happen
    assert len(migrate_jobs(fresh_lab)) == 1


# ---- credentials and bad inputs ------------------------------------------------------------------

def test_wrong_cloudstack_secret_is_refused_clearly(fresh_lab, migrate):
    volume = Volume(fresh_lab, "DATA-10", "nfs-primary-1")

    result = migrate(volume=volume.id, destination="nfs-primary-1", env={"CLOUDSTACK_SECRET": "not-the-secret"})

    assert result["failed"] is True and result["changed"] is False, result
    assert "refused the credentials" in result["msg"] and "api_secret" in result["msg"]
    assert "not-the-secret" not in result["_output"]
    volume.assert_untouched()


def _vcsim_checks_passwords(lab):
    try:
        SmartConnect(host=lab.env["VMWARE_HOST"], port=int(lab.env["VMWARE_PORT"]), user=lab.env["VMWARE_USER"],
                     pwd="surely-not-the-password", disableSslCertValidation=True)
    except vim.fault.InvalidLogin:
        return True
    return False


def test_wrong_vcenter_password_is_refused_clearly(fresh_lab, migrate):
    if not _vcsim_checks_passwords(fresh_lab):
        pytest.skip("the lab's vcsim accepts any password: it is started without -username/-password")
    volume = Volume(fresh_lab, "DATA-10", "nfs-primary-1")

    result = migrate(volume=volume.id, destination="nfs-primary-1", password="surely-not-the-password")

    assert result["failed"] is True and result["changed"] is False, result
    assert "refused the login" in result["msg"]
    volume.assert_untouched()


def test_missing_vcenter_password_is_a_clear_error(fresh_lab, migrate):
    volume = Volume(fresh_lab, "DATA-10", "nfs-primary-1")

    result = migrate(volume=volume.id, destination="nfs-primary-1", env={"VMWARE_PASSWORD": ""})

    assert result["failed"] is True and result["changed"] is False, result
    assert "password" in result["msg"]
    volume.assert_untouched()


def _refused(lab, migrate, target, expected, **args):
    result = migrate(**args)
    assert result["failed"] is True and result["changed"] is False, result
    for text in expected:
        assert text in result["msg"], result["msg"]
    target.assert_untouched()
    assert migrate_jobs(lab) == []
    return result


def test_unknown_volume(fresh_lab, migrate):
    volume = Volume(fresh_lab, "DATA-10", "nfs-primary-1")
    _refused(fresh_lab, migrate, volume, ["DATA-9999", "not found"], volume="DATA-9999", destination="nfs-primary-1")
    missing = "0b3e8c2a-6f1e-4a51-9a43-6a1d2c3b4d5e"
    _refused(fresh_lab, migrate, volume, [missing, "not found"], volume=missing, destination="nfs-primary-1")


def test_unknown_pool(fresh_lab, migrate):
    volume = Volume(fresh_lab, "DATA-10", "nfs-primary-1")
    _refused(fresh_lab, migrate, volume, ["no-such-pool", "not found"], volume=volume.id, destination="no-such-pool")


def test_ambiguous_volume_name_lists_the_candidates(fresh_lab, migrate):
    volume = Volume(fresh_lab, "DATA-10", "nfs-primary-1")
    namesake = volume_named(fresh_lab, "DATA-18")
    fresh_lab.admin().updateVolume(id=namesake["id"], name="DATA-10")
    volume.before = placement(fresh_lab, volume.id)

    result = _refused(fresh_lab, migrate, volume, ["ambiguous", volume.id, namesake["id"], "vm"],
                      volume="DATA-10", destination="nfs-primary-1")

    assert sorted(result["candidates"]) == sorted([volume.id, namesake["id"]])


def test_destination_pool_in_maintenance(fresh_lab, migrate):
    volume = Volume(fresh_lab, "DATA-10", "nfs-primary-1")
    fresh_lab.admin().enableStorageMaintenance(id=volume.destination["id"])
    _refused(fresh_lab, migrate, volume, ["nfs-primary-1", "Maintenance", "not Up"], volume=volume.id,
             destination="nfs-primary-1")


def test_unsuitable_destination_pool(fresh_lab, migrate):
    volume = Volume(fresh_lab, "DATA-10", "nfs-primary-1")
    fresh_lab.control("pool_capacity", pool_id=volume.destination["id"], bytes=1024 ** 3)
    _refused(fresh_lab, migrate, volume, ["nfs-primary-1", "not report pool nfs-primary-1 as suitable", "choose a pool with room"],
             volume=volume.id, destination="nfs-primary-1")
    # a pool of another cluster, which the VM's hosts do not mount
    _refused(fresh_lab, migrate, volume, ["not report pool nfs-primary-2 as suitable"], volume=volume.id,
             destination="nfs-primary-2")


def test_volume_already_migrating(fresh_lab, migrate):
    volume = Volume(fresh_lab, "DATA-10", "nfs-primary-1")
    fresh_lab.control("fault_next_job", mode="hang")
    job = fresh_lab.admin(fetch_result=False).migrateVolume(volumeid=volume.id, storageid=volume.destination["id"])
    volume.before = (volume.source["id"], volume.path, "Migrating")
    wait_until(lambda: volume.now() == volume.before)  # the job's worker marks the volume

    # the running migrateVolume of this volume is adopted (waited for, never doubled); it hangs past job_timeout
    result = migrate(volume=volume.id, destination="nfs-primary-1", job_timeout=1)

    assert result["failed"] is True and result["changed"] is False, result
    assert "Timed out" in result["msg"] and job["jobid"] in result["msg"] and "run the task again" in result["msg"]
    assert result["volumes"][0]["adopted"] is True and result["volumes"][0]["job_id"] == job["jobid"]
    volume.assert_untouched()
    assert [item["jobid"] for item in migrate_jobs(fresh_lab)] == [job["jobid"]]


def test_running_vm_needs_allow_live_migration(fresh_lab, migrate):
    volume = Volume(fresh_lab, "DATA-2", "nfs-primary-1")
    assert volume.vm["state"] == "Running"
    _refused(fresh_lab, migrate, volume, ["allow_live_migration", "vm-0003"], volume=volume.id,
             destination="nfs-primary-1")


def test_running_vm_migrates_live_when_allowed(fresh_lab, migrate):
    volume = Volume(fresh_lab, "DATA-2", "nfs-primary-1")

    result = migrate(volume=volume.id, destination="nfs-primary-1", allow_live_migration=True)

    assert result["changed"] is True and not result.get("failed"), result
    assert result["volumes"][0]["plan"]["live"] is True
    volume.assert_migrated()


# ---- journal -------------------------------------------------------------------------------------

def test_journal_records_each_step_before_it_happens_and_no_secret(fresh_lab, migrate):
    volume = Volume(fresh_lab, "DATA-10", "nfs-primary-1")

    result = migrate(volume=volume.id, destination="nfs-primary-1")

    assert result["changed"] is True, result
    entries = journal_entries(migrate.journal)
    assert [entry["event"] for entry in entries] == ["plan", "job_submitting", "job_result", "verification", "outcome"]
    assert all(entry["volume"] == volume.id for entry in entries)
    submitting = entries[1]
    assert submitting["job_id"] == result["volumes"][0]["job_id"] == migrate_jobs(fresh_lab)[0]["jobid"]
    assert submitting["plan"]["source"]["path"] == volume.path
    assert entries[2]["job_status"] == 1 and entries[3]["verification"]["ok"] is True
    assert (entries[4]["status"], entries[4]["changed"], entries[4]["job_id"]) == ("migrated", True, submitting["job_id"])
    text = migrate.journal.read_text()
    env = fresh_lab.env
    for secret in (env["CLOUDSTACK_SECRET"], env["CLOUDSTACK_KEY"], env["VMWARE_PASSWORD"]):
        assert secret not in text
    assert "api_secret" not in text and "password" not in text
