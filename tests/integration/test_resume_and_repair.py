"""Resume and repair, against the lab: options refused before any call, damaged records repaired with
on_false_success=restore, a running migrateVolume adopted with or without the journal (an AWX container
loses it), and CloudStack's "job already exists" answer for the collection's own customjobid.

Every test proves its outcome by the lab's ground truth (lab.records(), lab.vmdk_locations()) and by the
simulator's job log (the migrateVolume jobs listAsyncJobs shows), not only by what the module returns.
"""

from __future__ import annotations

import threading
import time

import pytest
from integration.playbook_runner import lab_state, plan_of, run_playbook, stopped_vm_volumes  # pylint: disable=import-error
from integration.test_cs_volume_migrate_safe import (  # pylint: disable=import-error
    JOB_TIMEOUT,
    MODULE,
    POLL,
    Volume,
    journal_entries,
    migrate_jobs,
    no_traceback,
    wait_until,
)

pytestmark = pytest.mark.lab

PLAYBOOK_VARIABLE = "safe_migration_on_false_success"


@pytest.fixture
def migrate(fresh_lab, module_runner, tmp_path):
    """migrate(check_mode=False, diff=False, **module args) -> result (never with a traceback)."""
    journal = tmp_path / "journal.jsonl"

    def run(check_mode=False, diff=False, **args):
        args = {"journal_path": str(journal), "poll_interval": POLL, "job_timeout": JOB_TIMEOUT, **args}
        result = module_runner(MODULE, args, dict(fresh_lab.env), check_mode=check_mode, diff=diff)
        no_traceback(result)
        return result

    run.journal = journal
    return run


class ReleaseWhen(threading.Thread):
    """Release the hung jobs once ``condition()`` holds (the module waits for the job), or after ``limit`` s."""

    def __init__(self, lab, condition, limit=15.0):
        super().__init__(daemon=True)
        self.lab, self.condition, self.limit = lab, condition, limit
        self.met = False
        self.start()

    def run(self):
        deadline = time.monotonic() + self.limit
        while time.monotonic() < deadline and not self.met:
            try:
                self.met = bool(self.condition())
            except (OSError, ValueError):
                self.met = False
            time.sleep(0.1)
        self.lab.control("release_jobs")


def adopted_in(journal):
    """The module wrote job_adopted: it found the running job and waits for it."""
    return lambda: journal.exists() and "job_adopted" in journal.read_text()


# ---- 1. options refused before any API call ---------------------------------------------------------

@pytest.mark.parametrize("option, value, variable", [
    ("job_timeout", 0, "safe_migration_job_timeout"),
    ("poll_interval", 0, "safe_migration_poll_interval"),
    ("concurrency", 0, "safe_migration_concurrency"),
])
def test_a_bad_option_is_refused_before_anything_is_submitted(fresh_lab, migrate, option, value, variable):
    volume = Volume(fresh_lab, "DATA-10", "nfs-primary-1")

    result = migrate(volume=volume.id, destination="nfs-primary-1", **{option: value})

    assert result["failed"] is True and result["changed"] is False, result
    assert option in result["msg"] and variable in result["msg"] and "\n" not in result["msg"]
    assert "ValueError" not in result["msg"]
    volume.assert_untouched()
    assert migrate_jobs(fresh_lab) == []
    assert not migrate.journal.exists()


def test_a_zero_job_timeout_in_the_playbook_submits_nothing(fresh_lab, tmp_path):
    volumes = stopped_vm_volumes(fresh_lab, 1)
    before = lab_state(fresh_lab, volumes)

    run = run_playbook(fresh_lab, tmp_path, plan_of(volumes), "-e", "safe_migration_job_timeout=0")

    assert run.returncode != 0, run.output
    assert "safe_migration_job_timeout" in run.output
    assert "ValueError" not in run.output and "Traceback" not in run.output
    assert lab_state(fresh_lab, volumes) == before
    assert migrate_jobs(fresh_lab) == []


# ---- 2. a record damaged by an earlier false success ------------------------------------------------

def test_a_damaged_record_is_planned_then_repaired_and_migrated_without_the_journal(fresh_lab, migrate):
    volume = Volume(fresh_lab, "DATA-42", "nfs-primary-1")
    fresh_lab.control("fault_next_job", mode="false_success")
    first = migrate(volume=volume.id, destination="nfs-primary-1")
    assert first["failed"] is True and first["volumes"][0]["false_success"] is True, first
    claimed = (volume.destination["id"], volume.path, "Ready")
    assert volume.now() == claimed and volume.vmdk_now() == volume.vmdk_before
    migrate.journal.unlink()                                   # an AWX container: the journal is gone

    refused = migrate(volume=volume.id, destination="nfs-primary-1", check_mode=True)

    assert refused["failed"] is True and refused["changed"] is False, refused
    assert "on_false_success=restore" in refused["msg"] and PLAYBOOK_VARIABLE in refused["msg"]
    assert volume.vmdk_before[0] in refused["msg"]

    planned = migrate(volume=volume.id, destination="nfs-primary-1", on_false_success="restore", check_mode=True, diff=True)

    assert planned["changed"] is True and not planned.get("failed"), planned
    entry = planned["volumes"][0]
    assert entry["status"] == "planned" and entry["plan"]["action"] == "repair_then_migrate"
    assert entry["restore"]["would_restore"]["pool_id"] == volume.source["id"]
    diff = planned["diff"]
    assert diff["before"][volume.name]["record"] == {"pool": "nfs-primary-1", "path": volume.path, "state": "Ready"}
    assert diff["before"][volume.name]["datastore_path"] == volume.vmdk_before[0]
    assert diff["after"][volume.name]["datastore_path"] == volume.vmdk_on_destination[0]
    assert volume.now() == claimed and volume.vmdk_now() == volume.vmdk_before      # check mode changed nothing
    assert len(migrate_jobs(fresh_lab)) == 1

    repaired = migrate(volume=volume.id, destination="nfs-primary-1", on_false_success="restore")

    assert repaired["changed"] is True and not repaired.get("failed"), repaired
    entry = repaired["volumes"][0]
    assert entry["status"] == "migrated" and entry["repaired"] is True and not entry.get("false_success")
    assert entry["restore"]["verified"] is True
    assert entry["restore"]["after"]["pool_id"] == volume.source["id"]
    assert entry["verification"]["vcenter"]["file"] == volume.vmdk_on_destination[0]
    volume.assert_migrated()
    assert len(migrate_jobs(fresh_lab)) == 2                   # the lying job, then the real migration
    events = [item["event"] for item in journal_entries(migrate.journal)]
    assert events.index("restore") < events.index("repair") < events.index("job_submitting") < events.index("verification")

    again = migrate(volume=volume.id, destination="nfs-primary-1", on_false_success="restore")

    assert again["changed"] is False and again["volumes"][0]["status"] == "unchanged", again
    volume.assert_migrated()
    assert len(migrate_jobs(fresh_lab)) == 2


def test_a_null_path_record_is_repaired_from_the_journal(fresh_lab, migrate):
    volume = Volume(fresh_lab, "DATA-26", "nfs-primary-1")
    fresh_lab.control("fault_next_job", mode="false_success", null_path=True)
    first = migrate(volume=volume.id, destination="nfs-primary-1")
    assert first["failed"] is True and first["volumes"][0]["false_success"] is True, first
    damaged = (volume.destination["id"], None, "Ready")
    assert volume.now() == damaged and volume.vmdk_now() == volume.vmdk_before

    # (without the journal, the VM's one unclaimed disk gives the path:
    #  test_a_record_left_by_9881_is_repaired_from_the_playbook_with_restore_then_migrated)
    repaired = migrate(volume=volume.id, destination="nfs-primary-1", on_false_success="restore")

    assert repaired["changed"] is True and not repaired.get("failed"), repaired
    entry = repaired["volumes"][0]
    assert entry["status"] == "migrated" and entry["repaired"] is True
    assert entry["restore"]["before"]["path"] is None and entry["restore"]["after"]["path"] == volume.path
    volume.assert_migrated()
    assert len(migrate_jobs(fresh_lab)) == 2


def test_a_damaged_record_whose_disk_is_on_the_requested_pool_only_gets_its_record_back(fresh_lab, migrate):
    """The operator asks for the pool where the disk really is: repaired, nothing migrated."""
    volume = Volume(fresh_lab, "DATA-42", "nfs-primary-1")
    fresh_lab.control("fault_next_job", mode="false_success", null_path=True)
    migrate(volume=volume.id, destination="nfs-primary-1")
    assert volume.now() == (volume.destination["id"], None, "Ready")

    result = migrate(volume=volume.id, destination=volume.source["name"], on_false_success="restore")

    assert result["changed"] is True and not result.get("failed"), result
    entry = result["volumes"][0]
    assert entry["status"] == "unchanged" and entry["repaired"] is True and entry["restore"]["verified"] is True
    volume.assert_untouched()                                   # the record is back to the truth
    assert len(migrate_jobs(fresh_lab)) == 1


# ---- 4. "run again to resume" while the job still runs ----------------------------------------------

@pytest.mark.parametrize("keep_journal", [False, True], ids=["journal-lost", "journal-kept"])
def test_a_rerun_adopts_the_running_job_and_verifies(fresh_lab, migrate, keep_journal):
    volume = Volume(fresh_lab, "DATA-46", "nfs-primary-3")
    fresh_lab.control("fault_next_job", mode="hang")
    first = migrate(volume=volume.id, destination="nfs-primary-3", job_timeout=1)
    assert first["failed"] is True and "run the task again" in first["msg"], first
    job_id = first["job_id"]
    assert volume.now() == (volume.source["id"], volume.path, "Migrating")
    if not keep_journal:
        migrate.journal.unlink()
    # the job still runs when the re-run starts; it ends while the re-run waits for it
    # journal lost: released once the module journaled job_adopted; journal kept: released after 12 s, while the
    # re-run (job_timeout 40 s) waits for the job it found in the journal
    release = ReleaseWhen(fresh_lab, adopted_in(migrate.journal) if not keep_journal else lambda: False,
                          limit=60.0 if not keep_journal else 12.0)

    second = migrate(volume=volume.id, destination="nfs-primary-3", job_timeout=40)

    release.join()
    assert release.met is (not keep_journal)

    assert second["changed"] is True and not second.get("failed"), second
    entry = second["volumes"][0]
    assert entry["status"] == "migrated" and entry["resumed"] is True and entry["job_id"] == job_id
    assert entry.get("adopted") is (True if not keep_journal else None)
    assert entry["verification"]["ok"] is True
    volume.assert_migrated()
    assert [job["jobid"] for job in migrate_jobs(fresh_lab)] == [job_id]


def test_someone_elses_running_migration_is_adopted_not_doubled(fresh_lab, migrate):
    volume = Volume(fresh_lab, "DATA-10", "nfs-primary-1")
    fresh_lab.control("fault_next_job", mode="hang")
    job = fresh_lab.admin(fetch_result=False).migrateVolume(volumeid=volume.id, storageid=volume.destination["id"])
    wait_until(lambda: volume.now() == (volume.source["id"], volume.path, "Migrating"))

    planned = migrate(volume=volume.id, destination="nfs-primary-1", check_mode=True)
    assert planned["volumes"][0]["status"] == "planned" and planned["volumes"][0]["job_id"] == job["jobid"], planned

    release = ReleaseWhen(fresh_lab, adopted_in(migrate.journal), limit=60.0)

    result = migrate(volume=volume.id, destination="nfs-primary-1", job_timeout=40)

    release.join()
    assert release.met is True

    assert result["changed"] is True and not result.get("failed"), result
    entry = result["volumes"][0]
    assert entry["adopted"] is True and entry["job_id"] == job["jobid"] and entry["status"] == "migrated"
    volume.assert_migrated()
    assert [item["jobid"] for item in migrate_jobs(fresh_lab)] == [job["jobid"]]


def test_the_playbook_rerun_adopts_the_running_job_after_the_journal_is_lost(fresh_lab, tmp_path):
    volumes = stopped_vm_volumes(fresh_lab, 1)
    volume = volumes[0]
    fresh_lab.control("fault_next_job", mode="hang")
    first = run_playbook(fresh_lab, tmp_path, plan_of(volumes), "-e", "safe_migration_job_timeout=1", name="first")
    assert first.returncode != 0, first.output
    jobs = migrate_jobs(fresh_lab)
    assert len(jobs) == 1 and jobs[0]["jobstatus"] == 0
    (tmp_path / "journal.jsonl").unlink()

    release = ReleaseWhen(fresh_lab, adopted_in(tmp_path / "journal.jsonl"), limit=90.0)

    second = run_playbook(fresh_lab, tmp_path, plan_of(volumes), name="second")

    release.join()
    assert release.met is True, second.output

    assert second.returncode == 0, second.output
    records = fresh_lab.records()
    assert records[volume["id"]]["storageid"] == volume["destination"]["id"]
    assert records[volume["id"]]["state"] == "Ready" and records[volume["id"]]["path"] == volume["path"]
    assert len(fresh_lab.vmdk_locations(volume["path"])) == 1
    assert fresh_lab.vmdk_locations(volume["path"])[0].startswith("[%s]" % volume["destination"]["id"].replace("-", ""))
    assert [job["jobid"] for job in migrate_jobs(fresh_lab)] == [jobs[0]["jobid"]]


# ---- 5. "job already exists" for the collection's own customjobid --------------------------------

def test_a_late_first_submission_is_adopted_not_abandoned(fresh_lab, migrate):
    volume = Volume(fresh_lab, "DATA-28", "nfs-primary-4")
    # the first migrateVolume runs but its answer is lost; the lookup of the job id fails (530s): the
    # module submits the same customjobid again, and CloudStack answers 431 "already exists"
    fresh_lab.control("fault_next_calls", status="lost_answer", command="migrateVolume", count=1)
    fresh_lab.control("fault_next_calls", status=530, command="queryAsyncJobResult", count=4)

    result = migrate(volume=volume.id, destination="nfs-primary-4")

    assert result["changed"] is True and not result.get("failed"), result
    entry = result["volumes"][0]
    assert entry["status"] == "migrated" and entry["verification"]["ok"] is True
    volume.assert_migrated()
    assert [job["jobid"] for job in migrate_jobs(fresh_lab)] == [entry["job_id"]]
    events = journal_entries(migrate.journal)
    assert "job_abandoned" not in [item["event"] for item in events]
    found = [item for item in events if item["event"] == "job_found"]
    assert found and "already exists" in found[0]["reason"]


def test_a_record_left_by_9881_is_repaired_from_the_playbook_with_restore_then_migrated(fresh_lab, tmp_path):
    """#9881 as the field has it: destination pool, path NULL, no journal of ours; the disk still at the source."""
    volume = stopped_vm_volumes(fresh_lab, 1)[0]
    fresh_lab.control("fault_next_job", mode="false_success", null_path=True)
    fresh_lab.admin().migrateVolume(volumeid=volume["id"], storageid=volume["destination"]["id"])
    damaged = fresh_lab.records()[volume["id"]]
    assert (damaged["storageid"], damaged["path"]) == (volume["destination"]["id"], None)
    source_file = fresh_lab.vmdk_locations(volume["path"])

    refused = run_playbook(fresh_lab, tmp_path, plan_of([volume]), name="fail-policy")

    assert refused.returncode != 0 and "safe_migration_on_false_success" in refused.output, refused.output
    assert refused.report()["status"] == "preflight_failed"
    assert fresh_lab.records()[volume["id"]] == damaged and fresh_lab.vmdk_locations(volume["path"]) == source_file

    repaired = run_playbook(fresh_lab, tmp_path, plan_of([volume]), "-e", "safe_migration_on_false_success=restore",
                            name="restore-policy")

    assert repaired.returncode == 0, repaired.output
    record = fresh_lab.records()[volume["id"]]
    assert (record["storageid"], record["path"], record["state"]) == (volume["destination"]["id"], volume["path"], "Ready")
    assert fresh_lab.vmdk_locations(volume["path"]) == ["[%s] %s/%s.vmdk" % (
        volume["destination"]["id"].replace("-", ""), volume["vm"]["instancename"], volume["path"])]
    summary = repaired.report()["summary"]
    assert (summary["status"], summary["migrated"], summary["repaired"], summary["false_success"]) == ("succeeded", 1, 1, 0)
