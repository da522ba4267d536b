"""cs_volume_migrate_safe finds the truth in vCenter after every job end, not only after a success: each failure
shape of tests/lab/cloudstack_sim (docs/cloudstack-simulator.md) is made for real and the module's answer is checked
against the record and the VMDK files."""

from __future__ import annotations

import pytest

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
