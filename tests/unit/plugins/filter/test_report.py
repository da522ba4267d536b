# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The maintenance-window report: statuses, counts, entries, invariants, JUnit and the damaged journal."""

import json
from xml.etree import ElementTree

import pytest

from ansible_collections.cloudstack_vmware.safe_migration.plugins.filter.report import (
    FilterModule, ReportInvariantError, migration_report, migration_report_junit, migration_report_lines)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.filter.waves import migration_wave_outcome
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.journal import Journal, read_damaged

STARTED = 1764560000.0
COUNTS = ("entries", "planned", "migrated", "already_in_place", "failed", "false_success", "restored", "not_started")


def volume(number, entry=1, vm="vm-1"):
    return {"volume_id": "v%d" % number, "volume_name": "DATA-%d" % number, "vm_name": vm, "vm_id": "id-" + vm,
            "instance_name": "i-2-%d-VM" % number, "source_pool_name": "nfs-1", "destination_pool_name": "nfs-2",
            "entry": entry}


def entry(index, ids, error=None, **plan):
    return {"index": index, "entry": plan or {"volume": "DATA-%d" % index, "destination": "nfs-2"},
            "volume_ids": ids, "error": error, "error_code": "not_found" if error else None}


def result(number, status="migrated", **facts):
    return dict({"volume": "v%d" % number, "volume_id": "v%d" % number, "volume_name": "DATA-%d" % number,
                 "status": status, "failed": status == "failed", "job_id": "job-%d" % number, "duration": 1.5,
                 "verification": {"vcenter": {"file": "[ds2] i-2-%d-VM/DATA-%d.vmdk" % (number, number)}}}, **facts)


def build(results=(), volumes=(), entries=(), ok=True, **options):
    options.setdefault("journal_path", "/nonexistent/journal.jsonl")
    options.setdefault("preflight", {"ok": ok, "skipped": False, "problems": [] if ok else ["vm-1 is not in vCenter"]})
    return migration_report(list(results), volumes=list(volumes), entries=list(entries), started=STARTED,
                            finished=STARTED + 125, **options)


def counts(report):
    return [report["summary"][name] for name in COUNTS]


def two_volume_plan():
    return [volume(1, 1), volume(2, 2, vm="vm-2")], [entry(1, ["v1"]), entry(2, ["v2"])]


# ---- statuses ----------------------------------------------------------------------------------------------

def test_succeeded_only_when_every_planned_volume_is_verified():
    volumes, entries = two_volume_plan()
    report = build([result(1), result(2, "unchanged")], volumes, entries)
    assert report["status"] == "succeeded" and report["summary"]["exit_code"] == 0
    assert counts(report) == [2, 2, 1, 1, 0, 0, 0, 0]
    assert [item["outcome"] for item in report["volumes"]] == ["migrated", "already_in_place"]
    assert report["headline"].startswith("SUCCEEDED: all 2 planned volume(s)")


def test_a_copy_left_behind_and_a_false_failure_put_right_are_named_without_changing_the_outcome():
    volumes, entries = two_volume_plan()
    copy = "[ds1] i-2-1-VM/DATA-1.vmdk"
    report = build([result(1, leftovers=[copy]), result(2, false_failure=True, restore={"verified": True})], volumes, entries)
    assert report["status"] == "succeeded" and counts(report)[2] == 2
    assert [(note["kind"], note["subject"]) for note in report["notes"]] == [
        ("copy_to_clean_up", "DATA-1 (vm-1)"), ("false_failure", "DATA-2 (vm-2)")]
    assert copy in report["notes"][0]["message"] and "job-2" in report["notes"][1]["message"]
    lines = migration_report_lines(report)
    assert any(line.startswith("copy to clean up: DATA-1 (vm-1): ") and copy in line for line in lines)
    assert report["volumes"][0]["leftovers"] == [copy]


def test_a_failed_volume_and_the_ones_not_started_make_the_run_failed():
    volumes = [volume(1), volume(2, vm="vm-2"), volume(3, vm="vm-3")]
    entries = [entry(1, ["v1", "v2", "v3"], source_pool="nfs-1", destination="nfs-2")]
    report = build([result(1, "failed", msg="job failed: disk busy")], volumes, entries)
    assert report["status"] == "failed" and report["summary"]["exit_code"] == 2
    assert counts(report) == [1, 3, 0, 0, 1, 0, 0, 2]
    assert report["headline"] == "FAILED: 3 of 3 planned volume(s) are not verified where the plan wants them"


def test_a_window_that_ended_is_its_own_status_with_the_plan_left_to_run():
    volumes = [volume(1), volume(2, vm="vm-2"), volume(3, vm="vm-3")]
    entries = [entry(1, ["v1", "v2", "v3"], source_pool="nfs-1", destination="nfs-2")]
    end = "2026-12-02T04:30:00+00:00"
    report = build([result(1), result(2, "unchanged")], volumes, entries, window_end=end)
    assert report["status"] == "window_ended" and report["summary"]["exit_code"] == 2
    assert report["headline"] == ("WINDOW ENDED at %s: 2 of 3 planned volume(s) verified where the plan wants them, 1 not "
                                  "started (nothing was done to them): run the same plan again in the next window" % end)
    assert report["next_plan"] == [{"volume": "v3", "destination": "nfs-2"}] and report["window_end"] == end
    assert "not started: DATA-3" in migration_report_lines(report)


def test_a_failure_in_a_window_that_ended_is_a_failed_run():
    volumes = [volume(1), volume(2, vm="vm-2")]
    report = build([result(1, "failed", msg="boom")], volumes, [entry(1, ["v1", "v2"])], window_end="2026-12-02T04:30:00+00:00")
    assert report["status"] == "failed" and report["next_plan"] == [{"volume": "v2", "destination": "nfs-2"}]


def test_volumes_not_started_without_a_window_end_are_a_failed_run():
    volumes = [volume(1), volume(2, vm="vm-2")]
    report = build([result(1)], volumes, [entry(1, ["v1", "v2"])])
    assert report["status"] == "failed" and report["window_end"] is None


def test_a_false_success_counts_as_false_success_not_as_failed_and_restored_is_part_of_it():
    volumes, entries = two_volume_plan()
    report = build([result(1, "failed", false_success=True, msg="nothing moved", restore={"verified": True}),
                    result(2, "failed", false_success=True, msg="nothing moved", restore={"verified": False})],
                   volumes, entries)
    assert report["status"] == "failed"
    assert counts(report) == [2, 2, 0, 0, 0, 2, 1, 0]
    messages = [problem["message"] for problem in report["problems"]]
    assert messages == ["nothing moved (record restored to vCenter's truth)", "nothing moved (record NOT restored)"]


def test_a_damaged_record_repaired_before_the_migration_counts_as_repaired_not_as_a_restored_false_success():
    volumes, entries = two_volume_plan()
    report = build([result(1, "migrated", repaired=True, restore={"verified": True}), result(2, "migrated")], volumes, entries)
    assert report["status"] == "succeeded"
    assert (report["summary"]["repaired"], report["summary"]["restored"], report["summary"]["false_success"]) == (1, 0, 0)
    assert "1 damaged record(s) repaired first" in "\n".join(migration_report_lines(report))


def test_a_plan_of_empty_entries_is_nothing_to_do_and_says_why():
    entries = [entry(1, [], source_pool="nfs-4", destination="nfs-1"), entry(2, [], source_pool="nfs-3", destination="nfs-1")]
    report = build([], [], entries)
    assert report["status"] == "nothing_to_do" and report["summary"]["exit_code"] == 0
    assert report["reason"] == ("the plan resolved to no volume: entry 1 (source_pool nfs-4 to nfs-1) has no volumes; "
                                "entry 2 (source_pool nfs-3 to nfs-1) has no volumes")
    assert "NOTHING TO DO" in report["headline"] and "SUCCEEDED" not in report["headline"]
    assert counts(report) == [2, 0, 0, 0, 0, 0, 0, 0]


def test_nothing_to_do_also_in_check_mode():
    report = build([], [], [entry(1, [], source_pool="nfs-4", destination="nfs-1")], check_mode=True)
    assert report["status"] == "nothing_to_do"


def test_an_entry_that_did_not_resolve_is_preflight_failed_with_its_error():
    volumes = [volume(1)]
    entries = [entry(1, ["v1"]), entry(2, [], error="Storage pool nfs-9 was not found", source_pool="nfs-9", destination="nfs-1")]
    report = build([], volumes, entries, ok=False, preflight={"ok": False, "skipped": False, "problems": []})
    assert report["status"] == "preflight_failed" and report["summary"]["exit_code"] == 2
    assert report["entries"][1]["status"] == "error" and report["entries"][1]["error"] == "Storage pool nfs-9 was not found"
    assert report["entries"][0]["volumes"] == ["DATA-1"]
    assert counts(report) == [2, 1, 0, 0, 0, 0, 0, 1]
    assert [problem["subject"] for problem in report["problems"]] == ["entry 2 (source_pool nfs-9 to nfs-1)"]


def test_an_entry_error_already_among_the_preflight_problems_is_listed_once():
    entries = [entry(1, [], error="Volume DATA-1 was not found")]
    report = build([], [], entries, ok=False,
                   preflight={"ok": False, "skipped": False, "problems": ["entry 1: Volume DATA-1 was not found"]})
    assert [problem["message"] for problem in report["problems"]] == ["entry 1: Volume DATA-1 was not found"]
    lines = migration_report_lines(report)
    assert sum("Volume DATA-1 was not found" in line for line in lines) == 1


def test_preflight_problems_make_preflight_failed_and_nothing_ran():
    volumes, entries = two_volume_plan()
    report = build([], volumes, entries, ok=False)
    assert report["status"] == "preflight_failed" and report["headline"] == "STOPPED AT PREFLIGHT: nothing was changed"
    assert counts(report) == [2, 2, 0, 0, 0, 0, 0, 2]


def test_check_mode_is_checked_and_every_volume_not_started():
    volumes, entries = two_volume_plan()
    report = build([], volumes, entries, check_mode=True)
    assert report["status"] == "checked" and report["check_mode"] is True
    assert counts(report) == [2, 2, 0, 0, 0, 0, 0, 2]


def test_check_mode_with_preflight_problems_is_preflight_failed():
    volumes, entries = two_volume_plan()
    assert build([], volumes, entries, ok=False, check_mode=True)["status"] == "preflight_failed"


def test_skipped_preflight_lets_the_run_succeed_and_still_reports_the_problems():
    volumes, entries = two_volume_plan()
    report = build([result(1), result(2)], volumes, entries,
                   preflight={"ok": False, "skipped": True, "problems": ["vm-1 powered on"]})
    assert report["status"] == "succeeded"
    assert migration_report_lines(report)[2] == "preflight (skipped): vm-1 powered on"


def test_an_error_of_the_run_makes_it_failed_even_when_the_volumes_are_fine():
    volumes, entries = two_volume_plan()
    report = build([result(1), result(2)], volumes, entries, errors=["wave 2: template error"])
    assert report["status"] == "failed"
    assert report["problems"][-1] == {"kind": "error", "subject": None, "message": "wave 2: template error"}


# ---- entries ------------------------------------------------------------------------------------------------

def test_each_entry_maps_to_its_volumes_and_a_volume_to_its_entry():
    volumes = [volume(1, 1), volume(2, 1, vm="vm-2"), volume(3, 2, vm="vm-3")]
    entries = [entry(1, ["v1", "v2"], source_pool="nfs-1", destination="nfs-2"), entry(2, ["v3"])]
    report = build([result(1), result(2), result(3)], volumes, entries)
    assert [(item["index"], item["status"], item["volume_ids"], item["volumes"]) for item in report["entries"]] == [
        (1, "resolved", ["v1", "v2"], ["DATA-1", "DATA-2"]), (2, "resolved", ["v3"], ["DATA-3"])]
    assert [item["entry"] for item in report["volumes"]] == [1, 1, 2]


def test_the_same_volume_in_two_entries_is_planned_once():
    volumes = [volume(1, 1)]
    entries = [entry(1, ["v1"]), entry(2, ["v1"])]
    report = build([result(1)], volumes, entries)
    assert counts(report)[:3] == [2, 1, 1] and report["status"] == "succeeded"


def test_without_entries_the_plan_accounts_for_them():
    plan = [{"volume": "DATA-1", "destination": "nfs-2"}, {"source_pool": "nfs-4", "destination": "nfs-2"}]
    report = build([result(1)], [volume(1, 1)], [], plan=plan)
    assert [(item["index"], item["status"]) for item in report["entries"]] == [(1, "resolved"), (2, "empty")]
    assert report["status"] == "succeeded"


def test_a_plan_given_as_yaml_text_is_accounted_for():
    report = build([], [], [], plan="- {volume: DATA-1, destination: nfs-2}\n", resolved=False, ok=False)
    assert [(item["index"], item["status"]) for item in report["entries"]] == [(1, "unresolved")]
    assert report["status"] == "preflight_failed"


def test_a_play_stopped_before_resolution_reports_unresolved_entries():
    plan = [{"volume": "DATA-1", "destination": "nfs-2"}]
    report = build([], [], [], plan=plan, resolved=False,
                   preflight={"ok": False, "skipped": False, "problems": ["Failed to list volumes: 530"]})
    assert report["status"] == "preflight_failed" and report["entries"][0]["status"] == "unresolved"
    junit = ElementTree.fromstring(migration_report_junit(report))
    assert junit.find("testsuite[@name='plan']/testcase/skipped") is not None


def test_preflight_item_numbering_from_zero_is_read_as_entries():
    volumes = [dict(volume(1), entry=None, item=0)]
    report = build([result(1)], volumes, [entry(1, ["v1"])])
    assert report["volumes"][0]["entry"] == 1


# ---- invariants -------------------------------------------------------------------------------------------

def test_entries_numbered_with_a_gap_raise():
    with pytest.raises(ReportInvariantError, match="not numbered 1 to 2"):
        build([], [volume(1)], [entry(1, ["v1"]), entry(3, [])])


def test_entries_that_do_not_match_the_plan_raise():
    with pytest.raises(ReportInvariantError, match="2 plan entries in, 1 resolved"):
        build([], [volume(1)], [entry(1, ["v1"])], plan=[{"volume": "a", "destination": "b"}, {"volume": "c", "destination": "d"}])


def test_a_result_of_a_volume_that_was_not_planned_raises():
    with pytest.raises(ReportInvariantError, match="not planned: v9"):
        build([result(9)], [volume(1)], [entry(1, ["v1"])])


def test_two_results_of_one_volume_raise():
    with pytest.raises(ReportInvariantError, match="two results"):
        build([result(1), result(1)], [volume(1)], [entry(1, ["v1"])])


def test_an_unknown_result_status_raises():
    with pytest.raises(ReportInvariantError, match="unknown result status 'planned'"):
        build([result(1, "planned")], [volume(1)], [entry(1, ["v1"])])


def test_results_in_check_mode_raise():
    with pytest.raises(ReportInvariantError, match="check mode"):
        build([result(1)], [volume(1)], [entry(1, ["v1"])], check_mode=True)


def test_a_volume_without_an_entry_raises():
    with pytest.raises(ReportInvariantError, match="without a plan entry"):
        build([], [volume(1, entry=4)], [entry(1, ["v1"])])


def test_entries_and_volumes_that_differ_raise():
    with pytest.raises(ReportInvariantError, match="entries and planned volumes differ"):
        build([], [volume(1), volume(2)], [entry(1, ["v1"])])


def test_waves_that_count_otherwise_than_the_volumes_raise():
    volumes, entries = two_volume_plan()
    waves = [{"wave": 1, "planned": 2, "migrated": 1, "already_in_place": 0, "failed": 1, "false_success": 0}]
    with pytest.raises(ReportInvariantError, match="waves count migrated=1, the volumes 2"):
        build([result(1), result(2)], volumes, entries, waves=waves)


def test_volumes_run_although_preflight_failed_raise():
    volumes, entries = two_volume_plan()
    with pytest.raises(ReportInvariantError, match="ran although preflight failed"):
        build([result(1)], volumes, entries, ok=False)


def test_the_invariant_error_says_it_is_a_bug_and_is_a_filter_error():
    from ansible.errors import AnsibleFilterError  # pylint: disable=import-outside-toplevel
    with pytest.raises(AnsibleFilterError, match="this is a bug of the collection"):
        build([result(9)], [volume(1)], [entry(1, ["v1"])])


# ---- the views agree ---------------------------------------------------------------------------------------

def test_times_carry_their_offset_and_the_duration_is_given():
    volumes, entries = two_volume_plan()
    report = build([result(1), result(2)], volumes, entries)
    for stamp in (report["started"], report["finished"], report["summary"]["started"]):
        assert stamp[-6] in "+-" and stamp[-3] == ":"
    assert report["duration_seconds"] == 125 and report["duration"] == "2m 05s"


def test_the_report_is_json():
    volumes, entries = two_volume_plan()
    report = build([result(1), result(2, "failed", msg="x")], volumes, entries)
    assert json.loads(json.dumps(report)) == report


def test_summary_lines_list_each_failure_once_and_the_counts_in_the_report_vocabulary():
    volumes = [volume(1), volume(2, vm="vm-2"), volume(3, vm="vm-3")]
    entries = [entry(1, ["v1", "v2", "v3"], source_pool="nfs-1", destination="nfs-2")]
    report = build([result(1, "failed", msg="disk busy"), result(2)], volumes, entries, report_dir="/tmp/report")
    lines = migration_report_lines(report)
    assert lines[0] == report["headline"]
    assert lines[1].startswith("1 plan entry, 3 planned volume(s): 1 migrated, 0 already in place, 1 failed, "
                               "0 false success (0 restored), 1 not started; 0 wave(s); started ")
    assert [line for line in lines if "disk busy" in line] == ["failed: DATA-1 (vm-1): disk busy"]
    assert "not started: DATA-3" in lines
    assert "report: /tmp/report/{report.md,report.json,junit.xml}" in lines


def test_junit_counts_match_the_summary_and_parse_back():
    volumes = [volume(1), volume(2, vm="vm-2"), volume(3, vm="vm-3")]
    entries = [entry(1, ["v1", "v2", "v3"], source_pool="nfs-1", destination="nfs-2")]
    report = build([result(1, "failed", msg="disk <busy> & \"locked\""), result(2)], volumes, entries)
    root = ElementTree.fromstring(migration_report_junit(report))
    suites = {suite.get("name"): suite for suite in root}
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("5", "1", "1")
    migration = suites["migration"]
    assert (migration.get("tests"), migration.get("failures"), migration.get("skipped")) == ("3", "1", "1")
    failure = migration.find("testcase/failure")
    assert failure.get("message") == "failed" and failure.text == "disk <busy> & \"locked\""
    assert [case.get("name") for case in suites["plan"]] == ["entry 1: source_pool nfs-1 to nfs-2"]
    assert suites["preflight"].find("testcase/failure") is None


def test_junit_shows_a_failed_preflight_and_an_entry_error():
    entries = [entry(1, [], error="Volume DATA-1 was not found")]
    report = build([], [], entries, ok=False)
    suites = {suite.get("name"): suite for suite in ElementTree.fromstring(migration_report_junit(report))}
    assert suites["plan"].find("testcase/failure").get("message") == "not_found"
    assert suites["preflight"].find("testcase/failure").text == "vm-1 is not in vCenter"


def test_junit_drops_characters_xml_cannot_hold():
    volumes, entries = two_volume_plan()
    report = build([result(1, "failed", msg="bad\x00\x1bbyte"), result(2)], volumes, entries)
    failure = ElementTree.fromstring(migration_report_junit(report)).find("testsuite/testcase/failure")
    assert failure.text == "badbyte"


def test_wave_outcomes_feed_the_report_with_the_same_counts():
    volumes, entries = two_volume_plan()
    wave = [{"volume": "v1", "destination": "p"}, {"volume": "v2", "destination": "p"}]
    call = {"volumes": [result(1), result(2, "failed", false_success=True, msg="no", restore={"verified": True})]}
    outcome = migration_wave_outcome(call, wave, 1, count=1, total=2)
    report = build(outcome["volumes"], volumes, entries, waves=[outcome["summary"]])
    for name in ("migrated", "already_in_place", "failed", "false_success", "restored", "not_started"):
        assert outcome["summary"][name] == report["summary"][name]
    assert report["volumes"][1]["wave"] == 1


def test_the_filters_are_registered():
    assert set(FilterModule().filters()) == {"migration_report", "migration_report_lines", "migration_report_junit"}


# ---- the journal -------------------------------------------------------------------------------------------

def test_the_journal_events_of_the_run_and_its_volumes_are_reported(tmp_path):
    path = tmp_path / "journal.jsonl"
    clock = iter([STARTED - 10, STARTED + 1, STARTED + 2]).__next__
    journal = Journal(str(path), clock=clock, run_id="r")
    journal.record("v1", "job_submitting", job_id="j-old")
    journal.record("v1", "job_submitting", job_id="j1")
    journal.record("v-other", "job_submitting", job_id="j2")
    volumes, entries = two_volume_plan()
    report = build([result(1), result(2)], volumes, entries, journal_path=str(path))
    assert [(event["volume"], event["job_id"]) for event in report["journal"]["events"]] == [("v1", "j1")]
    assert report["journal"]["events"][0]["time"][-6] in "+-"
    assert report["journal"]["skipped_lines"] == 0


def test_a_damaged_journal_is_read_around_its_damage(tmp_path):
    path = tmp_path / "journal.jsonl"
    good = json.dumps({"ts": STARTED + 1, "volume": "v1", "event": "job_submitting", "job_id": "j1"}).encode()
    later = json.dumps({"ts": STARTED + 2, "volume": "v1", "event": "job_result", "job_id": "j1"}).encode()
    path.write_bytes(good + b"\n\xff\xfe not utf-8 \x80\n" + b'["not an event"]\n' + b'{"ts": "x", "volume": "v1", "event": "e"}\n'
                     + later + b"\n" + b'{"ts": 1764560003, "volume": "v1", "ev')
    volumes, entries = two_volume_plan()
    report = build([result(1), result(2)], volumes, entries, journal_path=str(path))
    assert [event["event"] for event in report["journal"]["events"]] == ["job_submitting", "job_result"]
    assert report["journal"]["skipped_lines"] == 4
    assert report["status"] == "succeeded"
    assert migration_report_lines(report)[-1].endswith("(4 unreadable line(s) skipped)")


def test_a_journal_larger_than_the_bound_is_read_from_its_end(tmp_path):
    path = tmp_path / "journal.jsonl"
    lines = [json.dumps({"ts": STARTED + number, "volume": "v1", "event": "e%d" % number}) for number in range(100)]
    path.write_text("\n".join(lines) + "\n")
    read = read_damaged(str(path), max_bytes=len(lines[-1]) * 3)
    assert read["truncated"] is True and read["skipped"] == 0
    assert [event["event"] for event in read["events"]][-1] == "e99" and len(read["events"]) < 4


def test_a_missing_or_unreadable_journal_has_no_events(tmp_path):
    assert read_damaged(str(tmp_path / "missing.jsonl")) == {"events": [], "skipped": 0, "truncated": False}
    assert read_damaged(str(tmp_path)) == {"events": [], "skipped": 0, "truncated": False}  # a directory


# ---- report.md renders the report as it is ----------------------------------------------------------------

def render_markdown(report):
    import jinja2  # pylint: disable=import-outside-toplevel
    from pathlib import Path  # pylint: disable=import-outside-toplevel
    template = Path(__file__).resolve().parents[4] / "roles" / "report" / "templates" / "report.md.j2"
    # Ansible's template module renders with trim_blocks.
    return jinja2.Environment(trim_blocks=True).from_string(template.read_text()).render(report_data=report)


def test_report_md_shows_the_counts_entries_problems_and_times_of_the_report():
    volumes = [volume(1), volume(2, vm="vm-2")]
    entries = [entry(1, ["v1", "v2"], source_pool="nfs-1", destination="nfs-2"),
               entry(2, [], source_pool="nfs|3", destination="nfs-2")]
    report = build([result(1, "failed", msg="disk busy")], volumes, entries)
    text = render_markdown(report)
    assert "- Planned volumes: 2 — migrated 0, already in place 0, failed 1, false success 0 (restored 0), not started 1" in text
    assert "- Started: %s\n- Finished: %s\n- Duration: 2m 05s" % (report["started"], report["finished"]) in text
    assert "| 2 | source_pool nfs\\|3 to nfs-2 | empty |  |" in text
    assert text.count("disk busy") == 1
    assert "`\n\n## Plan entries" in text
