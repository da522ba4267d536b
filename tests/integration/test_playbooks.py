"""playbooks/migrate_volumes.yml run with ansible-playbook against the lab, as an operator runs it."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest

from integration.playbook_runner import lab_state, plan_of, run_playbook, stopped_vm_volumes  # pylint: disable=import-error

pytestmark = pytest.mark.lab


def test_happy_path_migrates_verifies_reports_and_a_second_run_changes_nothing(fresh_lab, tmp_path):
    volumes = stopped_vm_volumes(fresh_lab, 2)

    first = run_playbook(fresh_lab, tmp_path, plan_of(volumes), "-e", "safe_migration_wave_size=1")

    assert first.returncode == 0, first.output
    assert first.changed == 2  # one wave task per volume (wave size 1)
    records = fresh_lab.records()
    for volume in volumes:
        record = records[volume["id"]]
        datastore = volume["destination"]["id"].replace("-", "")
        assert (record["storageid"], record["state"], record["path"]) == (volume["destination"]["id"], "Ready", volume["path"])
        expected = "[%s] %s/%s.vmdk" % (datastore, volume["vm"]["instancename"], volume["path"])
        assert fresh_lab.vmdk_locations(volume["path"]) == [expected]
    report = first.report()
    assert report["status"] == "succeeded" and report["summary"]["migrated"] == 2 and report["summary"]["waves"] == 2
    assert {entry["volume_id"] for entry in report["volumes"]} == {volume["id"] for volume in volumes}
    assert all(entry["job_id"] for entry in report["volumes"])
    assert {(volume["id"], "job_submitting") for volume in volumes} <= {
        (event["volume"], event["event"]) for event in report["journal"]["events"]}
    rows = (first.report_dir / "report.md").read_text().splitlines()
    for volume in volumes:
        assert any(row.startswith("| %s |" % volume["name"]) and "| migrated |" in row for row in rows)
    suites = ElementTree.parse(str(first.report_dir / "junit.xml")).getroot()
    assert (suites.get("tests"), suites.get("failures"), suites.get("skipped")) == ("3", "0", "0")

    second = run_playbook(fresh_lab, tmp_path, plan_of(volumes), name="again")

    assert second.returncode == 0 and second.changed == 0, second.output
    again = second.report()
    assert again["status"] == "succeeded" and [entry["status"] for entry in again["volumes"]] == ["unchanged", "unchanged"]
    assert fresh_lab.records() == records


def test_a_vm_removed_from_vcenter_stops_the_play_at_preflight_and_nothing_changes(fresh_lab, tmp_path):
    volumes = stopped_vm_volumes(fresh_lab, 2)
    removed = volumes[0]["vm"]["instancename"]
    fresh_lab.control("vcenter_unregister_vm", instance_name=removed)
    before = lab_state(fresh_lab, volumes)

    run = run_playbook(fresh_lab, tmp_path, plan_of(volumes))

    assert run.returncode != 0 and run.failed == 1
    assert "Preflight failed, nothing was changed" in run.output
    assert "%s is not in the vCenter inventory" % removed in run.output
    assert "Wave 1" not in run.output
    assert lab_state(fresh_lab, volumes) == before
    report = run.report()
    assert report["status"] == "preflight_failed" and report["summary"]["not_run"] == 2
    assert any(removed in problem for problem in report["preflight"]["problems"])
    suites = ElementTree.parse(str(run.report_dir / "junit.xml")).getroot()
    assert (suites.get("failures"), suites.get("skipped")) == ("1", "2")


def test_check_mode_shows_the_plan_and_changes_nothing(fresh_lab, tmp_path):
    volumes = stopped_vm_volumes(fresh_lab, 2)
    before = lab_state(fresh_lab, volumes)

    run = run_playbook(fresh_lab, tmp_path, plan_of(volumes), check=True)

    assert run.returncode == 0 and run.changed == 0, run.output
    assert "Preflight passed: 2 volume(s)" in run.output and "CHECK MODE" in run.output
    for volume in volumes:
        assert "%s (DATADISK, %s" % (volume["name"], volume["vm"]["name"]) in run.output
    assert lab_state(fresh_lab, volumes) == before
    assert not (tmp_path / "journal.jsonl").exists()
    assert not run.report_dir.exists()


def test_a_failing_job_stops_the_run_and_the_report_says_what_was_left_alone(fresh_lab, tmp_path):
    volumes = stopped_vm_volumes(fresh_lab, 3)
    before = lab_state(fresh_lab, volumes)
    fresh_lab.control("fault_next_job", mode="fail", errortext="injected by the test")

    run = run_playbook(fresh_lab, tmp_path, plan_of(volumes), "-e", "safe_migration_concurrency=1",
                       "-e", "safe_migration_on_volume_failure=stop")

    assert run.returncode != 0
    assert "1 of 3 volume(s) failed; 2 not started (on_volume_failure=stop)" in run.output
    assert lab_state(fresh_lab, volumes) == before
    report = run.report()
    assert report["status"] == "failed"
    assert [entry["status"] for entry in report["volumes"]] == ["failed", "not_started", "not_started"]
    assert "injected by the test" in report["volumes"][0]["msg"]


def test_finish_wave_lets_the_failing_wave_finish_then_starts_no_other_wave(fresh_lab, tmp_path):
    volumes = stopped_vm_volumes(fresh_lab, 3)
    before = lab_state(fresh_lab, volumes)
    fresh_lab.control("fault_next_job", mode="fail", errortext="injected by the test")

    run = run_playbook(fresh_lab, tmp_path, plan_of(volumes), "-e", "safe_migration_concurrency=1",
                       "-e", "safe_migration_wave_size=2", "-e", "safe_migration_on_volume_failure=finish_wave")

    assert run.returncode != 0
    after = lab_state(fresh_lab, volumes)
    failed, finished, not_started = volumes
    assert after[failed["id"]] == before[failed["id"]]
    assert after[finished["id"]][:3] == (finished["destination"]["id"], finished["path"], "Ready")
    assert [location.split("]")[0].strip("[") for location in after[finished["id"]][3]] == [
        finished["destination"]["id"].replace("-", "")]
    assert after[not_started["id"]] == before[not_started["id"]]
    assert [entry["status"] for entry in run.report()["volumes"]] == ["failed", "migrated", "not_started"]
