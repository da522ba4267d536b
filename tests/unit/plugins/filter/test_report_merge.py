# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report of a window run as one run per zone: each zone's report merged, and what no run did said."""

import pytest

from ansible_collections.cloudstack_vmware.safe_migration.plugins.filter.report import migration_report_lines
from ansible_collections.cloudstack_vmware.safe_migration.plugins.filter.report_merge import (
    ReportMergeError,
    migration_report_merge,
)
from unit.plugins.filter.test_report import build, entry, result, volume  # pylint: disable=import-error

ZONE1 = {"id": "z1", "name": "zone1"}
ZONE2 = {"id": "z2", "name": "zone2"}
ZONE3 = {"id": "z3", "name": "zone3"}


def elsewhere(number, zone, entry_index):
    return {"volume_id": "v%d" % number, "volume_name": "DATA-%d" % number, "entry": entry_index, "zone_id": zone["id"],
            "zone_name": zone["name"], "vm_name": "vm-%d" % number, "source_pool_name": "nfs-1", "destination_pool_name": "nfs-2"}


def zone_run(zone, mine, others, results=None, ok=True, check_mode=False):
    """The report of one zone's run of the plan DATA-1 (entry 1), DATA-2 (entry 2): ``mine`` its volume numbers,
    ``others`` the other volumes as (number, zone)."""
    entries = [dict(entry(index, ["v%d" % index] if index in mine else []),
                    other_zone_volume_ids=["v%d" % number for number, _zone in others if number == index])
               for index in (1, 2)]
    if results is None:
        results = [] if check_mode or not ok else [result(number) for number in mine]
    return build(results, [volume(number, number, vm="vm-%d" % number) for number in mine], entries, ok=ok,
                 check_mode=check_mode, zone=zone, other_zones=[elsewhere(number, where, number) for number, where in others])


def test_each_zones_run_merged_is_a_success_of_the_whole_window():
    report = migration_report_merge({"west": zone_run(ZONE1, [1], [(2, ZONE2)]), "east": zone_run(ZONE2, [2], [(1, ZONE1)])})

    assert report["status"] == "succeeded" and report["summary"]["planned"] == 2 and report["summary"]["migrated"] == 2
    assert [(item["volume_id"], item["host"], item["zone"]) for item in report["volumes"]] == [
        ("v1", "west", "zone1"), ("v2", "east", "zone2")]
    assert [(item["index"], item["status"], item["volume_ids"]) for item in report["entries"]] == [
        (1, "resolved", ["v1"]), (2, "resolved", ["v2"])]
    assert [(host["host"], host["zone"], host["status"]) for host in report["hosts"]] == [
        ("west", "zone1", "succeeded"), ("east", "zone2", "succeeded")]
    assert report["headline"] == ("SUCCEEDED: all 2 planned volume(s) migrated or already in place, verified against "
                                  "vCenter (2 zone run(s): zone1 on west, zone2 on east)")
    assert "host east: zone zone2: SUCCEEDED: all 1 planned volume(s) migrated or already in place, verified against vCenter; " \
           "1 volume(s) of the plan are in other zones, left to their runs" in migration_report_lines(report)


def test_a_zone_that_no_run_served_counts_its_volumes_not_started_and_fails_the_window():
    report = migration_report_merge({"west": zone_run(ZONE1, [1], [(2, ZONE3)])})

    assert report["status"] == "failed" and report["summary"]["exit_code"] == 2
    assert [(item["volume_id"], item["outcome"], item["host"]) for item in report["volumes"]] == [
        ("v1", "migrated", "west"), ("v2", "not_started", None)]
    assert [problem["kind"] for problem in report["problems"]] == ["zone_not_run"]
    assert "add a host with safe_migration_zone: zone3" in report["problems"][0]["message"]
    assert report["next_plan"] == [{"volume": "v2", "destination": "nfs-2"}]


def test_volumes_of_a_zone_left_to_another_run_do_not_fail_this_one():
    report = migration_report_merge({"west": zone_run(ZONE1, [1], [(2, ZONE3)])}, other_zones="leave")

    assert report["status"] == "succeeded" and report["summary"]["planned"] == 1
    assert [item["volume_id"] for item in report["other_zones"]] == ["v2"]
    assert report["headline"].endswith("(1 zone run(s): zone1 on west; 1 volume(s) of other zones left to other runs)")


def test_a_preflight_that_failed_in_one_zone_with_nothing_run_anywhere_is_preflight_failed():
    report = migration_report_merge({"west": zone_run(ZONE1, [1], [(2, ZONE2)], ok=False),
                                     "east": zone_run(ZONE2, [2], [(1, ZONE1)], ok=False)})

    assert report["status"] == "preflight_failed" and report["headline"].startswith("STOPPED AT PREFLIGHT: nothing was changed")
    assert report["preflight"]["problems"] == ["vm-1 is not in vCenter"], "the same problem of both runs once"


def test_a_preflight_failed_in_one_run_while_another_ran_is_a_failed_window():
    report = migration_report_merge({"west": zone_run(ZONE1, [1], [(2, ZONE2)], ok=False), "east": zone_run(ZONE2, [2], [(1, ZONE1)])})

    assert report["status"] == "failed" and report["summary"]["migrated"] == 1 and report["summary"]["not_started"] == 1


def test_one_zone_run_twice_or_a_host_without_report_fails_the_window():
    twice = migration_report_merge({"west": zone_run(ZONE1, [1], [(2, ZONE2)]), "west2": zone_run(ZONE1, [], [(2, ZONE2)]),
                                    "east": zone_run(ZONE2, [2], [(1, ZONE1)])})
    silent = migration_report_merge({"west": zone_run(ZONE1, [1], [(2, ZONE2)]), "east": None}, other_zones="leave")

    assert twice["status"] == "failed" and "run by west and west2: one host per zone" in twice["problems"][0]["message"]
    assert silent["status"] == "failed" and silent["problems"][0]["subject"] == "host east"


def test_check_mode_runs_merge_as_checked():
    report = migration_report_merge({"west": zone_run(ZONE1, [1], [(2, ZONE2)], check_mode=True),
                                     "east": zone_run(ZONE2, [2], [(1, ZONE1)], check_mode=True)})

    assert report["status"] == "checked" and report["summary"]["not_started"] == 2


@pytest.mark.parametrize("reports, text", [
    ({}, "There is no report to merge"),
    ({"west": None}, "No run of west wrote its report"),
    ({"west": {"status": "succeeded"}}, "The report of west is not a maintenance window's report"),
])
def test_what_cannot_be_merged_is_refused_saying_why(reports, text):
    with pytest.raises(ReportMergeError, match=text):
        migration_report_merge(reports)


def test_reports_of_different_plans_or_runs_not_kept_to_a_zone_are_refused():
    one_entry = build([], [], [entry(1, [])], zone=ZONE2)
    with pytest.raises(ReportMergeError, match="different plans"):
        migration_report_merge({"west": zone_run(ZONE1, [1], [(2, ZONE2)]), "east": one_entry})
    with pytest.raises(ReportMergeError, match="The runs of east were not kept to one zone"):
        migration_report_merge({"west": zone_run(ZONE1, [1], [(2, ZONE2)]), "east": zone_run(None, [2], [])})
    with pytest.raises(ReportMergeError, match="other_zones must be one of stop, leave"):
        migration_report_merge({"west": zone_run(ZONE1, [1], [])}, other_zones="skip")
