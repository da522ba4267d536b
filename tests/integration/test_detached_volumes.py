"""Detached volumes (no VM) migrated through the module and through playbooks/migrate_volumes.yml, against the lab.

CloudStack moves a detached volume through a copy (reference 5.2 path B): a new row during the job,
the UUID kept at the end, the old row expunged and its file deleted. Every test proves its outcome by
the lab's ground truth: the rows as the simulator stores them and where the VMDK really is on disk.
"""

from __future__ import annotations

import json
import time
import urllib.request

import pytest

from integration.lab_queries import assert_no_traceback, datastore_of  # pylint: disable=import-error
from integration.playbook_runner import lab_state, run_playbook  # pylint: disable=import-error

pytestmark = pytest.mark.lab

MODULE = "cs_volume_migrate_safe"


# ---- helpers -----------------------------------------------------------------------------------
def detached_volume(lab):
    """A seeded detached volume and an NFS pool (not its own) to migrate it to."""
    admin = lab.admin()
    volumes = [volume for volume in admin.listVolumes(listall=True, type="DATADISK", fetch_list=True)
               if not volume.get("virtualmachineid")]
    volume = sorted(volumes, key=lambda item: item["name"])[0]
    pools = sorted(admin.listStoragePools(fetch_list=True), key=lambda pool: pool["name"])
    destination = next(pool for pool in pools if pool["id"] != volume["storageid"] and pool["type"] == "NetworkFilesystem")
    source = next(pool for pool in pools if pool["id"] == volume["storageid"])
    assert lab.vmdk_locations(volume["path"]) == ["[%s] %s.vmdk" % (datastore_of(source), volume["path"])]
    return volume, source, destination


def all_rows(lab):
    """Every volume row as stored, expunged ones (uuid NULL) included."""
    with urllib.request.urlopen("%s/control/volumes" % lab.env["LAB_CONTROL_URL"], timeout=30) as response:
        return json.loads(response.read().decode())["volumes"]


def migrate_jobs(lab):
    jobs = lab.admin().listAsyncJobs(listall=True).get("asyncjobs", [])
    return [job for job in jobs if job["cmd"].endswith("MigrateVolumeCmdByAdmin")]


@pytest.fixture
def migrate(fresh_lab, module_runner, tmp_path):
    """migrate(check_mode=False, **module args) -> result, never with a traceback."""
    def run(check_mode=False, **args):
        args = dict({"journal_path": str(tmp_path / "journal.jsonl"), "poll_interval": 0.05, "job_timeout": 20}, **args)
        result = module_runner(MODULE, args, fresh_lab.env, check_mode=check_mode)
        assert_no_traceback(result["_output"])
        assert "module_stderr" not in result, result
        return result
    return run


def assert_migrated(lab, volume, destination, row_before):
    record = lab.records()[volume["id"]]
    assert (record["storageid"], record["state"], record["path"]) == (destination["id"], "Ready", volume["path"])
    assert record["row_id"] != row_before  # CloudStack's path (B): the UUID lives on a new row now
    assert lab.vmdk_locations(volume["path"]) == ["[%s] %s.vmdk" % (datastore_of(destination), volume["path"])]


# ---- the simulator's path (B) ------------------------------------------------------------------
def test_during_the_job_a_new_row_exists_and_the_source_file_goes_only_after_the_copy(fresh_lab):
    volume, source, destination = detached_volume(fresh_lab)
    admin = fresh_lab.admin(fetch_result=False)
    fresh_lab.control("fault_next_job", mode="hang")
    job_id = admin.migrateVolume(volumeid=volume["id"], storageid=destination["id"])["jobid"]
    time.sleep(0.3)

    during = [row for row in all_rows(fresh_lab) if row["name"] == volume["name"] and not row["removed"]]
    assert sorted((row["id"] == volume["id"], row["state"], row["storageid"]) for row in during) == [
        (False, "Creating", destination["id"]), (True, "Migrating", source["id"])]
    assert fresh_lab.vmdk_locations(volume["path"]) == ["[%s] %s.vmdk" % (datastore_of(source), volume["path"])]

    fresh_lab.control("release_jobs")
    deadline = time.monotonic() + 20
    while admin.queryAsyncJobResult(jobid=job_id)["jobstatus"] == 0:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    record = fresh_lab.records()[volume["id"]]
    assert (record["storageid"], record["state"], record["path"]) == (destination["id"], "Ready", volume["path"])
    expunged = [row for row in all_rows(fresh_lab) if row["name"] == volume["name"] and row["state"] == "Expunged"]
    assert len(expunged) == 1 and expunged[0]["id"] is None and expunged[0]["storageid"] == source["id"]
    assert fresh_lab.vmdk_locations(volume["path"]) == ["[%s] %s.vmdk" % (datastore_of(destination), volume["path"])]


# ---- through the module --------------------------------------------------------------------------
def test_the_module_migrates_a_detached_volume_check_mode_first_and_a_second_run_changes_nothing(fresh_lab, migrate):
    volume, source, destination = detached_volume(fresh_lab)
    row_before = fresh_lab.records()[volume["id"]]["row_id"]
    before = lab_state(fresh_lab, [volume])

    planned = migrate(volume=volume["id"], destination=destination["name"], check_mode=True)

    assert planned["changed"] is True and not planned.get("failed"), planned
    plan = planned["volumes"][0]["plan"]
    assert planned["volumes"][0]["status"] == "planned" and plan["detached"] is True and plan["blockers"] == []
    assert plan["source"]["datastore_path"] == "[%s] %s.vmdk" % (datastore_of(source), volume["path"])
    assert lab_state(fresh_lab, [volume]) == before and migrate_jobs(fresh_lab) == []

    result = migrate(volume=volume["id"], destination=destination["name"])

    assert result["changed"] is True and not result.get("failed"), result
    entry = result["volumes"][0]
    assert entry["status"] == "migrated" and entry["verification"]["ok"] is True
    assert entry["verification"]["vcenter"]["file"] == "[%s] %s.vmdk" % (datastore_of(destination), volume["path"])
    assert entry["verification"]["source_file"]["exists"] is False and "leftovers" not in entry
    assert_migrated(fresh_lab, volume, destination, row_before)

    again = migrate(volume=volume["id"], destination=destination["id"])

    assert again["changed"] is False and not again.get("failed"), again
    assert again["volumes"][0]["status"] == "unchanged"
    assert_migrated(fresh_lab, volume, destination, row_before)
    assert len(migrate_jobs(fresh_lab)) == 1


def test_a_detached_file_missing_from_its_datastore_blocks_before_any_change(fresh_lab, migrate):
    volume, source, destination = detached_volume(fresh_lab)
    fresh_lab.control("vcenter_delete_vmdk", volume_id=volume["id"])
    before = lab_state(fresh_lab, [volume])

    result = migrate(volume=volume["id"], destination=destination["name"])

    assert result.get("failed") is True
    assert [blocker["code"] for blocker in result["blockers"]] == ["detached_file_missing"]
    assert "is not on datastore %s of pool %s" % (datastore_of(source), source["name"]) in result["msg"]
    assert lab_state(fresh_lab, [volume]) == before and migrate_jobs(fresh_lab) == []


def test_a_destination_that_cannot_be_searched_blocks_before_any_change(fresh_lab, migrate):
    volume, source, destination = detached_volume(fresh_lab)
    fresh_lab.control("vcenter_datastore_state", pool_id=destination["id"], accessible=False)
    before = lab_state(fresh_lab, [volume])

    result = migrate(volume=volume["id"], destination=destination["name"])

    assert result.get("failed") is True
    assert "destination_unsearchable" in [blocker["code"] for blocker in result["blockers"]]
    assert "datastore %s of pool %s cannot be searched" % (datastore_of(destination), destination["name"]) in result["msg"]
    assert lab_state(fresh_lab, [volume]) == before and migrate_jobs(fresh_lab) == []


@pytest.mark.parametrize("job_result", ["success", "failure"])
def test_the_8747_shape_ends_as_a_loud_disk_lost_with_every_fact(fresh_lab, migrate, job_result):
    volume, source, destination = detached_volume(fresh_lab)
    fresh_lab.control("fault_next_job", mode="detached_disk_lost", job_result=job_result)

    result = migrate(volume=volume["id"], destination=destination["name"])

    assert result.get("failed") is True and result["msg"].startswith("DISK LOST: detached volume"), result
    assert result["disk_lost"] is True
    assert result["last_known_path"] == "[%s] %s.vmdk" % (datastore_of(source), volume["path"])
    assert datastore_of(source) in result["datastores_searched"] and datastore_of(destination) in result["datastores_searched"]
    assert result["job_id"] == migrate_jobs(fresh_lab)[0]["jobid"]
    assert result["volumes"][0]["status"] == "failed" and result["summary"]["migrated"] == 0
    assert fresh_lab.vmdk_locations(volume["path"]) == []  # the ground truth: the disk is gone
    records = fresh_lab.records()
    if job_result == "success":  # the UUID moved onto the new row, with no path
        assert (records[volume["id"]]["storageid"], records[volume["id"]]["path"]) == (destination["id"], None)
    else:
        assert volume["id"] not in records or records[volume["id"]]["removed"]

    again = migrate(volume=volume["id"], destination=destination["name"])

    assert again.get("failed") is True and len(migrate_jobs(fresh_lab)) == 1, again
    if job_result == "success":
        assert again["msg"].startswith("DISK LOST") and again["last_known_path"] == result["last_known_path"]
    else:
        assert "not found in CloudStack" in again["msg"]


# ---- through the playbook ------------------------------------------------------------------------
def test_the_playbook_migrates_a_detached_volume_check_mode_changes_nothing_and_a_second_run_is_unchanged(fresh_lab, tmp_path):
    volume, source, destination = detached_volume(fresh_lab)
    row_before = fresh_lab.records()[volume["id"]]["row_id"]
    plan = [{"volume": volume["id"], "destination": destination["name"]}]
    before = lab_state(fresh_lab, [volume])

    checked = run_playbook(fresh_lab, tmp_path, plan, name="check", check=True)

    assert checked.returncode == 0 and checked.changed == 1, checked.output
    assert "Preflight passed: 1 volume(s)" in checked.output
    assert lab_state(fresh_lab, [volume]) == before and migrate_jobs(fresh_lab) == []

    run = run_playbook(fresh_lab, tmp_path, plan)

    assert run.returncode == 0, run.output
    report = run.report()
    assert report["status"] == "succeeded" and report["summary"]["migrated"] == 1
    assert [(entry["volume_id"], entry["outcome"]) for entry in report["volumes"]] == [(volume["id"], "migrated")]
    assert_migrated(fresh_lab, volume, destination, row_before)

    again = run_playbook(fresh_lab, tmp_path, plan, name="again")

    assert again.returncode == 0 and again.changed == 0, again.output
    assert [entry["outcome"] for entry in again.report()["volumes"]] == ["already_in_place"]
    assert_migrated(fresh_lab, volume, destination, row_before)
    assert len(migrate_jobs(fresh_lab)) == 1


def test_the_playbook_ends_non_zero_on_the_8747_shape_and_reports_the_lost_disk(fresh_lab, tmp_path):
    volume, source, destination = detached_volume(fresh_lab)
    fresh_lab.control("fault_next_job", mode="detached_disk_lost")

    run = run_playbook(fresh_lab, tmp_path, [{"volume": volume["id"], "destination": destination["name"]}])

    assert run.returncode != 0, run.output
    assert "DISK LOST: detached volume %s (%s)" % (volume["name"], volume["id"]) in run.output
    assert "SUCCEEDED" not in run.output
    report = run.report()
    assert report["status"] != "succeeded" and report["summary"]["migrated"] == 0
    entry = report["volumes"][0]
    assert entry["outcome"] in ("failed", "false_success") and "DISK LOST" in entry["msg"]
    assert "[%s] %s.vmdk" % (datastore_of(source), volume["path"]) in entry["msg"]
    assert fresh_lab.vmdk_locations(volume["path"]) == []
