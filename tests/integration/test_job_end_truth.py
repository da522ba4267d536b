"""cs_volume_migrate_safe finds the truth in vCenter after every job end, not only after a success: each failure
shape of tests/lab/cloudstack_sim (docs/cloudstack-simulator.md) is made for real and the module's answer is checked
against the record and the VMDK files."""

from __future__ import annotations

import json

import pytest

from integration.playbook_runner import lab_state, plan_of, run_playbook, stopped_vm_volumes  # pylint: disable=import-error
from integration.test_cs_volume_migrate_safe import Volume, journal_entries, migrate_jobs  # pylint: disable=import-error
from integration.lab_queries import assert_no_traceback  # pylint: disable=import-error

pytestmark = pytest.mark.lab


@pytest.fixture
def migrate(fresh_lab, module_runner, tmp_path):
    journal = tmp_path / "journal.jsonl"

    def run(check_mode=False, **args):
        args = {"journal_path": str(journal), "poll_interval": 0.05, "job_timeout": 20, **args}
        result = module_runner("cs_volume_migrate_safe", args, fresh_lab.env, check_mode=check_mode)
        assert_no_traceback(result["_output"])
        assert "module_stderr" not in result, result
        return result

    run.journal = journal
    return run


@pytest.mark.parametrize("reason, text", [
    ("cancelled", "Job is cancelled as it has been blocking others for too long"),
    ("session_timeout", "The session is not authenticated"),
    ("restart", "Job cancelled because of management server restart or shutdown"),
])
def test_a_failed_job_whose_disk_moved_is_a_false_failure_never_nothing_migrated(fresh_lab, migrate, reason, text):
    volume = Volume(fresh_lab, "DATA-46", "nfs-primary-3")
    fresh_lab.control("fault_next_job", mode="false_failure", reason=reason)
    result = migrate(volume=volume.id, destination=volume.destination["name"])
    assert result["failed"] is True
    assert result["msg"].startswith("False failure: CloudStack's migrateVolume job"), result["msg"]
    assert text in result["msg"] and "nothing was migrated" not in result["msg"]
    shown = "vCenter shows the disk at %s on the destination pool %s" % (volume.vmdk_on_destination[0], volume.destination["name"])
    assert shown in result["msg"]
    entry = result["volumes"][0]
    assert entry["false_failure"] is True and entry["truth"]["pool_id"] == volume.destination["id"]
    assert entry["restore"]["submitted"] is False and "on_false_success=restore" in result["msg"]
    # the lab: the disk moved, the record still names the source
    assert volume.vmdk_now() == volume.vmdk_on_destination
    assert fresh_lab.records()[volume.id]["storageid"] == volume.source["id"]
    assert "false_failure" in [event["event"] for event in journal_entries(migrate.journal)]


def test_a_false_failure_is_put_right_under_restore_and_counts_as_migrated(fresh_lab, migrate):
    volume = Volume(fresh_lab, "DATA-46", "nfs-primary-3")
    fresh_lab.control("fault_next_job", mode="false_failure", reason="cancelled")
    result = migrate(volume=volume.id, destination=volume.destination["name"], on_false_success="restore")
    assert not result.get("failed") and result["changed"] is True, result
    entry = result["volumes"][0]
    assert entry["status"] == "migrated" and entry["false_failure"] is True and entry["restore"]["verified"] is True
    volume.assert_migrated()
    assert len(migrate_jobs(fresh_lab)) == 1
    again = migrate(volume=volume.id, destination=volume.destination["name"], on_false_success="restore")
    assert again["changed"] is False and again["volumes"][0]["status"] == "unchanged"
    assert len(migrate_jobs(fresh_lab)) == 1


def test_a_failed_job_that_removed_the_source_raises_the_disk_lost_alarm(fresh_lab, migrate):
    volume = Volume(fresh_lab, "DATA-46", "nfs-primary-3")
    fresh_lab.control("fault_next_job", mode="source_removed")
    result = migrate(volume=volume.id, destination=volume.destination["name"], on_false_success="restore")
    assert result["failed"] is True and result["msg"].startswith("DISK LOST: "), result["msg"]
    assert volume.vmdk_before[0] in result["msg"] and "do NOT retry the migration" in result["msg"]
    entry = result["volumes"][0]
    assert entry["disk_lost"] is True and entry["datastores_searched"] and entry["journal_entries"]
    assert volume.vmdk_now() == []
    record = fresh_lab.records()[volume.id]
    assert (record["storageid"], record["path"]) == (volume.source["id"], volume.path), "a lost disk is never restored"


@pytest.mark.parametrize("check_mode", [False, True])
def test_the_next_run_says_disk_lost_again_while_the_disk_is_missing(fresh_lab, migrate, check_mode):
    # The first run's alarm may have reached nobody (a controller killed after the journal's outcome line): the next
    # run, or its preflight in check mode, says it again instead of a plain "file not on datastore".
    volume = Volume(fresh_lab, "DATA-46", "nfs-primary-3")
    fresh_lab.control("fault_next_job", mode="source_removed")
    first = migrate(volume=volume.id, destination=volume.destination["name"])
    assert first["msg"].startswith("DISK LOST: "), first["msg"]
    job_id = first["volumes"][0]["job_id"]

    again = migrate(volume=volume.id, destination=volume.destination["name"], check_mode=check_mode)

    assert again["failed"] is True, again
    assert again["msg"].startswith("DISK LOST: volume DATA-46 (%s): the run " % volume.id), again["msg"]
    assert "migrateVolume job %s lost its disk, and the disk is still missing" % job_id in again["msg"]
    assert "Nothing was done in this run; do NOT retry the migration" in again["msg"]
    assert again["volumes"][0]["disk_lost"] is True and again["changed"] is False
    assert len(migrate_jobs(fresh_lab)) == 1, "no second migrateVolume"
    assert volume.vmdk_now() == []
    # and the run after says it again: a run that did nothing does not end the alarm
    third = migrate(volume=volume.id, destination=volume.destination["name"])
    assert "migrateVolume job %s lost its disk" % job_id in third["msg"] and len(migrate_jobs(fresh_lab)) == 1


def test_a_success_that_left_the_source_behind_names_the_copy_to_clean_up(fresh_lab, migrate):
    volume = Volume(fresh_lab, "DATA-46", "nfs-primary-3")
    fresh_lab.control("fault_next_job", mode="source_left_behind")
    result = migrate(volume=volume.id, destination=volume.destination["name"])
    assert not result.get("failed") and result["changed"] is True, result
    entry = result["volumes"][0]
    assert entry["status"] == "migrated" and entry["leftovers"] == volume.vmdk_before
    assert any(volume.vmdk_before[0] in warning and "delete it by hand" in warning for warning in result["warnings"])
    # both copies are still there: nothing was deleted
    assert sorted(volume.vmdk_now()) == sorted(volume.vmdk_before + volume.vmdk_on_destination)
    assert fresh_lab.records()[volume.id]["storageid"] == volume.destination["id"]


def _journal_cut_after(journal, event):
    """The journal as a run killed right after writing its first ``event`` line leaves it."""
    lines = journal.read_text().splitlines(keepends=True)
    end = next(index for index, line in enumerate(lines) if json.loads(line)["event"] == event)
    journal.write_text("".join(lines[:end + 1]))


@pytest.mark.parametrize("killed_after", ["job_submitting", "job_result"])
def test_a_rerun_after_a_run_killed_during_a_false_failure_judges_that_job_instead_of_stopping(
        fresh_lab, tmp_path, killed_after):
    # campaign index 59: the first run was killed while its job failed falsely (the disk moved, the record stayed on
    # the source); its journal ends at the job's submission, or at its result before any outcome. The re-run's
    # preflight finds the disk on the destination: that is the journaled job's doing, which the run judges first.
    volume = stopped_vm_volumes(fresh_lab, 1)[0]
    fresh_lab.control("fault_next_job", mode="false_failure", reason="restart")
    first = run_playbook(fresh_lab, tmp_path, plan_of([volume]), name="first")
    assert first.returncode != 0 and "False failure" in first.output, first.output
    journal = tmp_path / "journal.jsonl"
    _journal_cut_after(journal, killed_after)
    assert fresh_lab.records()[volume["id"]]["storageid"] == volume["storageid"], "the record stayed on the source"

    again = run_playbook(fresh_lab, tmp_path, plan_of([volume]), "-e", "safe_migration_on_false_success=restore",
                         name="again")

    assert again.returncode == 0, again.output
    assert "Preflight passed" in again.output
    report = again.report()
    assert report["status"] == "succeeded", report
    [entry] = report["volumes"]
    assert entry["outcome"] == "migrated" and entry["false_failure"] is True, entry
    state = lab_state(fresh_lab, [volume])[volume["id"]]
    destination = volume["destination"]["id"]
    assert state[:3] == (destination, volume["path"], "Ready")
    assert len(state[3]) == 1 and state[3][0].startswith("[%s]" % destination.replace("-", ""))
    assert len(migrate_jobs(fresh_lab)) == 1, "the job of the killed run is judged, never repeated"
    events = [item["event"] for item in journal_entries(journal)]
    assert events[-1] == "outcome" and "false_failure" in events[events.index(killed_after):]


def test_a_rerun_after_a_run_killed_before_judging_a_true_failure_migrates_the_volume(fresh_lab, migrate):
    # the killed run's job failed and moved nothing: the re-run finds the disk on the source, journals that job's
    # outcome, and migrates as a first run would (one new job), never reporting the old failure as this run's
    volume = Volume(fresh_lab, "DATA-46", "nfs-primary-3")
    fresh_lab.control("fault_next_job", mode="fail", errortext="injected by the test")
    first = migrate(volume=volume.id, destination=volume.destination["name"])
    assert first["failed"] is True and "nothing was migrated" in first["msg"], first["msg"]
    _journal_cut_after(migrate.journal, "job_result")

    planned = migrate(volume=volume.id, destination=volume.destination["name"], check_mode=True)
    assert planned["volumes"][0]["resumed"] is True and "a run would look for the disk first" in planned["volumes"][0]["msg"], planned

    again = migrate(volume=volume.id, destination=volume.destination["name"])

    assert again["changed"] is True and not again.get("failed"), again
    assert again["volumes"][0]["status"] == "migrated" and again["volumes"][0]["job_id"] != first["volumes"][0]["job_id"]
    volume.assert_migrated()
    assert len(migrate_jobs(fresh_lab)) == 2
    judged = [item for item in journal_entries(migrate.journal) if item.get("judged_by_later_run")]
    assert len(judged) == 1 and judged[0]["job_id"] == first["volumes"][0]["job_id"] and judged[0]["status"] == "failed"
