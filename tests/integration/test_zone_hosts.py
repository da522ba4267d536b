"""The maintenance window as one inventory host per zone (safe_migration_zone), against the two-zone, two-vCenter lab:
each zone's host migrates its zone's volumes with its own journal and report, every zone's preflight passes before
any zone migrates, and one report of every zone says what no host did. Exit code, reports and each zone's vCenter."""

from __future__ import annotations

import json

import pytest

from integration.playbook_runner import plan_of, run_playbook  # pylint: disable=import-error
from integration.test_cs_volume_migrate_safe import migrate_jobs  # pylint: disable=import-error
from integration.test_zones import _vcenters_file, _volume_to_move, _where  # pylint: disable=import-error

pytestmark = pytest.mark.lab


def _inventory(tmp_path, zones):
    """An inventory group `zones`, a host per zone (host name -> safe_migration_zone, None for no zone)."""
    lines = ["[zones]"]
    for host, zone in zones.items():
        lines.append("%s ansible_connection=local%s" % (host, " safe_migration_zone=%s" % zone if zone else ""))
    inventory = tmp_path / "inventory.ini"
    inventory.write_text("\n".join(lines) + "\n")
    return ["-i", str(inventory), "-e", "safe_migration_hosts=zones"]


def _run(lab, tmp_path, volumes, zones, *options):
    return run_playbook(lab, tmp_path, plan_of(volumes), "-e", _vcenters_file(lab, tmp_path), *_inventory(tmp_path, zones),
                        *options)


def _host_report(run, host):
    return json.loads((run.report_dir / host / "report.json").read_text())


def test_each_zones_host_migrates_its_zone_and_one_report_tells_the_whole_window(two_zones, tmp_path):
    volumes = [_volume_to_move(two_zones, "zone1"), _volume_to_move(two_zones, "zone2")]

    run = _run(two_zones, tmp_path, volumes, {"west": "zone1", "east": "zone2"})

    assert run.returncode == 0, run.output
    report = run.report()
    assert report["status"] == "succeeded" and report["summary"]["planned"] == 2, report["headline"]
    assert {(volume["host"], volume["zone"], volume["outcome"]) for volume in report["volumes"]} == {
        ("west", "zone1", "migrated"), ("east", "zone2", "migrated")}
    assert [(host["host"], host["zone"], host["status"]) for host in report["hosts"]] == [
        ("west", "zone1", "succeeded"), ("east", "zone2", "succeeded")]
    assert [entry["status"] for entry in report["entries"]] == ["resolved", "resolved"]
    west = _host_report(run, "west")
    assert west["headline"].startswith("zone zone1: SUCCEEDED") and west["summary"]["planned"] == 1
    assert [entry["status"] for entry in west["entries"]] == ["resolved", "other_zone"]
    assert [volume["volume_id"] for volume in west["other_zones"]] == [volumes[1]["id"]]
    for host, zone_id, volume in (("west", 1, volumes[0]), ("east", 2, volumes[1])):
        assert two_zones.records()[volume["id"]]["storageid"] == volume["destination"]["id"]
        assert _where(two_zones, zone_id, volume).startswith("[%s] " % volume["destination"]["id"].replace("-", ""))
        journal = (tmp_path / ("journal.%s.jsonl" % host)).read_text()
        assert volume["id"] in journal and volumes[2 - zone_id]["id"] not in journal, "each zone's journal its own"
    assert "host east: zone zone2: SUCCEEDED" in run.output
    assert len(migrate_jobs(two_zones)) == 2


def test_a_problem_in_one_zone_stops_every_zone_before_anything_is_migrated(two_zones, tmp_path):
    volumes = [_volume_to_move(two_zones, "zone1"), _volume_to_move(two_zones, "zone2")]
    two_zones.control("vcenter_unregister_vm", instance_name=volumes[1]["vm"]["instancename"])

    run = _run(two_zones, tmp_path, volumes, {"west": "zone1", "east": "zone2"})

    assert run.returncode == 2 and (run.report_dir / "report.json").is_file(), run.output
    report = run.report()
    assert report["status"] == "preflight_failed" and report["headline"].startswith("STOPPED AT PREFLIGHT"), report["headline"]
    west = _host_report(run, "west")
    assert west["status"] == "preflight_failed"
    assert west["preflight"]["problems"] == ["Zone zone2 (host east): its preflight did not pass, so nothing is migrated in any zone"]
    assert any(volumes[1]["vm"]["name"] in problem for problem in _host_report(run, "east")["preflight"]["problems"])
    assert migrate_jobs(two_zones) == [], "nothing migrated in either zone"
    assert all(two_zones.records()[volume["id"]]["storageid"] == volume["storageid"] for volume in volumes)


def test_a_zone_that_no_host_serves_stops_the_window_unless_it_is_left_to_another_run(two_zones, tmp_path):
    volumes = [_volume_to_move(two_zones, "zone1"), _volume_to_move(two_zones, "zone2")]

    stopped = _run(two_zones, tmp_path, volumes, {"west": "zone1"})

    assert stopped.returncode == 2, stopped.output
    report = stopped.report()
    assert report["status"] == "preflight_failed", report["headline"]
    assert any("Zone zone2 has 1 volume(s) of the plan, and no host of this run serves it" in problem
               for problem in report["preflight"]["problems"]), report["preflight"]
    assert migrate_jobs(two_zones) == []

    left = _run(two_zones, tmp_path, volumes, {"west": "zone1"}, "-e", "safe_migration_other_zones=leave")

    assert left.returncode == 0, left.output
    report = left.report()
    assert report["status"] == "succeeded" and report["summary"]["planned"] == 1, report["headline"]
    assert "1 volume(s) of other zones left to other runs" in report["headline"]
    assert [volume["volume_id"] for volume in report["other_zones"]] == [volumes[1]["id"]]
    assert two_zones.records()[volumes[0]["id"]]["storageid"] == volumes[0]["destination"]["id"]
    assert two_zones.records()[volumes[1]["id"]]["storageid"] == volumes[1]["storageid"], "zone2 left alone"


@pytest.mark.parametrize("zones, message", [
    ({"west": "zone1", "east": None}, "hosts east, west run this play together, and east has no safe_migration_zone"),
    ({"west": "zone1", "east": "zone1"}, "hosts east and west all have safe_migration_zone zone1: one host per zone"),
])
def test_hosts_that_would_migrate_the_same_volumes_are_refused_before_anything_is_read(two_zones, tmp_path, zones, message):
    volumes = [_volume_to_move(two_zones, "zone1")]

    run = _run(two_zones, tmp_path, volumes, zones)

    assert run.returncode == 2 and message in run.output, run.output
    assert "Preflight" not in run.output.split("Refuse hosts that would migrate the same volumes", 1)[1]
    assert migrate_jobs(two_zones) == []
