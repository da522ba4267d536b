"""playbooks/migrate_volumes.yml run with ansible-playbook against the lab, as an operator runs it."""

from __future__ import annotations

import json
from xml.etree import ElementTree

import pytest

from lab.fixtures import Lab  # pylint: disable=import-error
from integration.playbook_runner import lab_state, plan_of, run_playbook, stopped_vm_volumes  # pylint: disable=import-error

pytestmark = pytest.mark.lab
OUTCOMES = ("migrated", "already_in_place", "failed", "false_success", "not_started")


@pytest.fixture(autouse=True)
def _show_set_stats(monkeypatch):
    """The default callback prints the set_stats data ("RUN: {...}") at the end of the play."""
    monkeypatch.setenv("ANSIBLE_SHOW_CUSTOM_STATS", "1")


def published_summary(run):
    """The summary the play published with set_stats (what AWX keeps as the job's artifacts)."""
    lines = [line for line in run.output.splitlines() if line.strip().startswith("RUN:")]
    assert lines, run.output
    return json.loads(lines[-1].split("RUN:", 1)[1])["safe_migration"]


def agreed_report(run):
    """report.json, once checked that report.md, junit.xml, the set_stats summary and the printed summary agree with it."""
    report = run.report()
    summary = report["summary"]
    assert summary["status"] == report["status"]
    assert published_summary(run) == summary
    # The invariants, seen from outside.
    assert summary["planned"] == sum(summary[name] for name in OUTCOMES) == len(report["volumes"])
    assert summary["entries"] == len(report["entries"])
    for name in OUTCOMES:
        assert summary[name] == [volume["outcome"] for volume in report["volumes"]].count(name)
    markdown = (run.report_dir / "report.md").read_text()
    assert "- Status: **%s**" % summary["status"] in markdown
    assert "- Plan entries: %d" % summary["entries"] in markdown
    assert ("- Planned volumes: %(planned)d — migrated %(migrated)d, already in place %(already_in_place)d, failed %(failed)d, "
            "false success %(false_success)d (restored %(restored)d), not started %(not_started)d" % summary) in markdown
    suites = {suite.get("name"): suite for suite in ElementTree.parse(str(run.report_dir / "junit.xml")).getroot()}
    migration = suites["migration"]
    assert (int(migration.get("tests")), int(migration.get("failures")), int(migration.get("skipped"))) == (
        summary["planned"], summary["failed"] + summary["false_success"], summary["not_started"])
    assert int(suites["plan"].get("tests")) == summary["entries"]
    assert suites["preflight"].find("testcase/failure") is None or summary["status"] in ("preflight_failed", "failed")
    counts = ("%(migrated)d migrated, %(already_in_place)d already in place, %(failed)d failed, %(false_success)d false success "
              "(%(restored)d restored), %(not_started)d not started" % summary)
    assert counts in run.output
    assert summary["headline"] in run.output
    return report


def assert_lab_agrees(lab, report, before, volumes):
    """Each volume's outcome in the report is what the lab shows: moved and on its destination, or left as it was."""
    after = lab_state(lab, volumes)
    by_id = {volume["id"]: volume for volume in volumes}
    for entry in report["volumes"]:
        volume = by_id[entry["volume_id"]]
        if entry["outcome"] in ("migrated", "already_in_place"):
            assert after[volume["id"]][:3] == (volume["destination"]["id"], volume["path"], "Ready")
            assert [location.split("]")[0].strip("[") for location in after[volume["id"]][3]] == [
                volume["destination"]["id"].replace("-", "")]
        else:
            assert after[volume["id"]] == before[volume["id"]], entry


def test_happy_path_migrates_verifies_reports_and_a_second_run_changes_nothing(fresh_lab, tmp_path):
    volumes = stopped_vm_volumes(fresh_lab, 2)
    before = lab_state(fresh_lab, volumes)

    first = run_playbook(fresh_lab, tmp_path, plan_of(volumes), "-e", "safe_migration_wave_size=1",
                         "-e", "safe_migration_concurrency=1")

    assert first.returncode == 0, first.output
    assert first.changed == 2  # one wave task per volume (wave size 1)
    records = fresh_lab.records()
    for volume in volumes:
        record = records[volume["id"]]
        datastore = volume["destination"]["id"].replace("-", "")
        assert (record["storageid"], record["state"], record["path"]) == (volume["destination"]["id"], "Ready", volume["path"])
        expected = "[%s] %s/%s.vmdk" % (datastore, volume["vm"]["instancename"], volume["path"])
        assert fresh_lab.vmdk_locations(volume["path"]) == [expected]
    report = agreed_report(first)
    assert_lab_agrees(fresh_lab, report, before, volumes)
    assert report["status"] == "succeeded" and report["summary"]["exit_code"] == 0
    assert [report["summary"][name] for name in ("entries", "planned", "migrated", "waves")] == [2, 2, 2, 2]
    assert [(entry["index"], entry["status"], entry["volume_ids"]) for entry in report["entries"]] == [
        (1, "resolved", [volumes[0]["id"]]), (2, "resolved", [volumes[1]["id"]])]
    assert report["started"][-6] in "+-" and report["finished"][-6] in "+-"  # ISO 8601 with the offset
    assert "- Started: %s" % report["started"] in (first.report_dir / "report.md").read_text()
    assert first.output.count("Wave 1/2: 1 volume(s): 1 migrated, 0 already in place, 0 failed") == 1
    assert {entry["volume_id"] for entry in report["volumes"]} == {volume["id"] for volume in volumes}
    assert all(entry["job_id"] for entry in report["volumes"])
    assert {(volume["id"], "job_submitting") for volume in volumes} <= {
        (event["volume"], event["event"]) for event in report["journal"]["events"]}
    rows = (first.report_dir / "report.md").read_text().splitlines()
    for volume in volumes:
        assert any(("| %s | %s |" % (volume["name"], volume["vm"]["name"])) in row and "| migrated |" in row for row in rows)
    suites = ElementTree.parse(str(first.report_dir / "junit.xml")).getroot()
    assert (suites.get("tests"), suites.get("failures"), suites.get("skipped")) == ("5", "0", "0")  # 2 entries, preflight, 2 volumes

    second = run_playbook(fresh_lab, tmp_path, plan_of(volumes), name="again")

    assert second.returncode == 0 and second.changed == 0, second.output
    again = agreed_report(second)
    assert again["status"] == "succeeded" and [entry["outcome"] for entry in again["volumes"]] == ["already_in_place"] * 2
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
    report = agreed_report(run)
    assert report["status"] == "preflight_failed" and report["summary"]["not_started"] == 2
    assert report["summary"]["exit_code"] == 2 and "STOPPED AT PREFLIGHT" in report["headline"]
    assert any(removed in problem for problem in report["preflight"]["problems"])
    suites = ElementTree.parse(str(run.report_dir / "junit.xml")).getroot()
    assert (suites.get("failures"), suites.get("skipped")) == ("1", "2")
    # The last task says the status and points at the report; it does not list the problems again.
    final = run.output[run.output.index("TASK [Fail unless every volume is where the plan wants it]"):]
    assert "status preflight_failed" in final and removed not in final


def test_check_mode_shows_the_plan_and_changes_nothing(fresh_lab, tmp_path):
    volumes = stopped_vm_volumes(fresh_lab, 2)
    before = lab_state(fresh_lab, volumes)

    run = run_playbook(fresh_lab, tmp_path, plan_of(volumes), "--diff", check=True)

    # changed: what a real run would change (the preflight's check-mode migration checks), shown as a diff
    assert run.returncode == 0 and run.changed == 1, run.output
    assert "Preflight passed: 2 volume(s)" in run.output and "CHECK MODE" in run.output
    for volume in volumes:
        assert "%s (DATADISK, %s/%s" % (volume["name"], volume["vm"]["name"], volume["vm"]["instancename"]) in run.output
        assert '-        "pool": "%s"' % volume["storage"] in run.output
        assert '+        "pool": "%s"' % volume["destination"]["name"] in run.output
    assert lab_state(fresh_lab, volumes) == before
    assert not (tmp_path / "journal.jsonl").exists()
    # A check run leaves a report a person can read (local files: not a change to the managed systems).
    report = agreed_report(run)
    assert report["status"] == "checked" and report["check_mode"] is True
    assert report["summary"]["planned"] == report["summary"]["not_started"] == 2
    assert [entry["volume_id"] for entry in report["volumes"]] == [volume["id"] for volume in volumes]


def test_a_failing_job_stops_the_run_and_the_report_says_what_was_left_alone(fresh_lab, tmp_path):
    volumes = stopped_vm_volumes(fresh_lab, 3)
    before = lab_state(fresh_lab, volumes)
    fresh_lab.control("fault_next_job", mode="fail", errortext="injected by the test")

    run = run_playbook(fresh_lab, tmp_path, plan_of(volumes), "-e", "safe_migration_concurrency=1",
                       "-e", "safe_migration_on_volume_failure=stop")

    assert run.returncode != 0
    assert lab_state(fresh_lab, volumes) == before
    report = agreed_report(run)
    assert_lab_agrees(fresh_lab, report, before, volumes)
    assert report["status"] == "failed" and report["summary"]["exit_code"] == 2
    assert [entry["outcome"] for entry in report["volumes"]] == ["failed", "not_started", "not_started"]
    assert "injected by the test" in report["volumes"][0]["msg"]
    assert "FAILED: 3 of 3 planned volume(s) are not verified where the plan wants them" in run.output
    # The failure is printed once: in the summary (the module's own failure text stays in the registered result).
    assert run.output.count("failed: %s (%s): " % (volumes[0]["name"], volumes[0]["vm"]["name"])) == 1


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
    report = agreed_report(run)
    assert_lab_agrees(fresh_lab, report, before, volumes)
    assert [entry["outcome"] for entry in report["volumes"]] == ["failed", "migrated", "not_started"]
    assert [(wave["wave"], wave["planned"], wave["migrated"], wave["failed"]) for wave in report["waves"]] == [(1, 2, 1, 1)]
    assert "Wave 1/2: 2 volume(s): 1 migrated, 0 already in place, 1 failed" in run.output


@pytest.fixture
def empty_pools_lab(tmp_path_factory):
    """A lab of its own whose pools hold no volume (the seeded lab has volumes on every pool)."""
    started = Lab.up(tmp_path_factory.mktemp("empty-lab"), vms=0, detached_volumes=0)
    yield started
    started.down()


def test_a_plan_of_an_empty_pool_ends_nothing_to_do_not_succeeded(empty_pools_lab, tmp_path):
    lab = empty_pools_lab
    admin = lab.admin()
    assert not admin.listVolumes(listall=True).get("volume")
    pools = sorted(admin.listStoragePools()["storagepool"], key=lambda pool: pool["name"])
    empty, destination = pools[0], next(pool for pool in pools[1:] if pool["clusterid"] == pools[0]["clusterid"])

    run = run_playbook(lab, tmp_path, [{"source_pool": empty["name"], "destination": destination["name"]}])

    assert run.returncode == 0, run.output
    assert "every volume migrated" not in run.output and "SUCCEEDED" not in run.output
    report = agreed_report(run)
    assert report["status"] == "nothing_to_do" and report["summary"]["planned"] == 0 and report["summary"]["entries"] == 1
    assert "entry 1 (source_pool %s to %s) has no volumes" % (empty["name"], destination["name"]) in report["reason"]
    assert report["entries"][0]["status"] == "empty" and report["entries"][0]["volume_ids"] == []
    assert "NOTHING TO DO" in run.output
    assert not lab.records() and not (tmp_path / "journal.jsonl").exists()


def test_the_volumes_of_one_vm_go_in_the_same_wave(fresh_lab, tmp_path):
    admin = fresh_lab.admin()
    pools = sorted(admin.listStoragePools()["storagepool"], key=lambda pool: pool["name"])
    vm = next(vm for vm in admin.listVirtualMachines(listall=True, state="Stopped")["virtualmachine"] if vm["account"] == "admin")
    volumes = []
    for volume in sorted(admin.listVolumes(listall=True, virtualmachineid=vm["id"])["volume"], key=lambda volume: volume["name"]):
        destination = next(pool for pool in pools if pool["clusterid"] == volume["clusterid"] and pool["id"] != volume["storageid"]
                           and pool["type"] == "NetworkFilesystem")
        volumes.append(dict(volume, vm=vm, destination=destination))
    assert len(volumes) == 2
    before = lab_state(fresh_lab, volumes)

    run = run_playbook(fresh_lab, tmp_path, plan_of(volumes), "-e", "safe_migration_wave_size=1")

    assert run.returncode == 0, run.output
    report = agreed_report(run)
    assert_lab_agrees(fresh_lab, report, before, volumes)
    assert report["status"] == "succeeded" and report["summary"]["waves"] == 1
    assert [volume["wave"] for volume in report["volumes"]] == [1, 1]
    assert "Wave 1/1: 2 volume(s): 2 migrated" in run.output


@pytest.mark.parametrize("policy", ["restore", "fail"])
def test_a_false_success_is_reported_once_as_false_success_restored_or_not(fresh_lab, tmp_path, policy):
    volumes = stopped_vm_volumes(fresh_lab, 2)
    before = lab_state(fresh_lab, volumes)
    fresh_lab.control("fault_next_job", mode="false_success")

    run = run_playbook(fresh_lab, tmp_path, plan_of(volumes), "-e", "safe_migration_concurrency=1",
                       "-e", "safe_migration_on_false_success=%s" % policy)

    assert run.returncode == 2, run.output
    report = agreed_report(run)
    restored = policy == "restore"
    assert report["status"] == "failed"
    assert [report["summary"][name] for name in ("planned", "failed", "false_success", "restored", "not_started")] == [
        2, 0, 1, int(restored), 1]
    assert [(volume["outcome"], volume["restored"]) for volume in report["volumes"]] == [
        ("false_success", restored), ("not_started", False)]
    damaged, untouched = volumes
    after = lab_state(fresh_lab, volumes)
    assert after[untouched["id"]] == before[untouched["id"]]
    assert after[damaged["id"]][3] == before[damaged["id"]][3]  # the disk never moved
    if restored:
        assert after[damaged["id"]] == before[damaged["id"]]  # and the record says so again
    else:
        assert after[damaged["id"]][0] == damaged["destination"]["id"]  # the record still claims the destination
    expected = "(record restored to vCenter's truth)" if restored else "(record NOT restored)"
    lines = [line for line in run.output.splitlines() if line.strip().startswith('"false success: %s (' % damaged["name"])]
    assert len(lines) == 1 and expected in lines[0]


def test_stop_lets_the_volume_running_beside_a_failure_finish_and_starts_no_other(fresh_lab, tmp_path):
    volumes = stopped_vm_volumes(fresh_lab, 4)
    before = lab_state(fresh_lab, volumes)
    fresh_lab.control("job_seconds", seconds=1.0)
    fresh_lab.control("fault_next_job", mode="fail", errortext="injected by the test")
    # the second job runs on well after the failure is known: the stop is decided while it runs
    fresh_lab.control("fault_next_job", mode="slow", seconds=5.0)

    run = run_playbook(fresh_lab, tmp_path, plan_of(volumes), "-e", "safe_migration_concurrency=2",
                       "-e", "safe_migration_on_volume_failure=stop")

    assert run.returncode != 0
    report = agreed_report(run)
    assert_lab_agrees(fresh_lab, report, before, volumes)
    outcomes = {entry["volume_id"]: entry["outcome"] for entry in report["volumes"]}
    # The two first volumes start together: one job fails, the other goes on to its end and is verified.
    assert sorted(outcomes[volume["id"]] for volume in volumes[:2]) == ["failed", "migrated"]
    assert [outcomes[volume["id"]] for volume in volumes[2:]] == ["not_started", "not_started"]
    after = lab_state(fresh_lab, volumes)
    for volume in volumes[2:]:
        assert after[volume["id"]] == before[volume["id"]]
    # One run of the module for the wave: one run in the journal, a job for the two volumes started and none other.
    entries = [json.loads(line) for line in (tmp_path / "journal.jsonl").read_text().splitlines()]
    assert len({entry["run"] for entry in entries}) == 1
    assert sorted(entry["volume"] for entry in entries if entry["event"] == "job_submitting") == sorted(
        volume["id"] for volume in volumes[:2])
    assert [wave["planned"] for wave in report["waves"]] == [4]


def test_a_wave_holds_at_least_concurrency_volumes(fresh_lab, tmp_path):
    volumes = stopped_vm_volumes(fresh_lab, 3)
    before = lab_state(fresh_lab, volumes)

    run = run_playbook(fresh_lab, tmp_path, plan_of(volumes), "-e", "safe_migration_wave_size=1",
                       "-e", "safe_migration_concurrency=3")

    assert run.returncode == 0, run.output
    report = agreed_report(run)
    assert_lab_agrees(fresh_lab, report, before, volumes)
    assert [(wave["planned"], wave["migrated"]) for wave in report["waves"]] == [(3, 3)]
