# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One report of a maintenance window run as one run per zone (one inventory host each): ``migration_report_merge``.

Each zone's run resolved the whole plan and kept its own zone's volumes (``report.zone``), listing the others
(``report.other_zones``). The merge puts the runs side by side and says what no run did: volumes of a zone that no
run served count as not started (a failure, never a green report), unless they are left to other runs on purpose
(``other_zones='leave'``, the runs of the other slices of an AWX sliced job). Its invariants are those of a single
run's report (``check_report``), and a volume that two runs report is a failure of the window.
"""

from __future__ import annotations

import datetime

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudstack_vmware.safe_migration.plugins.filter.report import (
    EXIT_CODES,
    check_report,
    duration_text,
    headline,
    nothing_to_do_reason,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.plugin_utils.report_outcomes import count_outcomes

OTHER_ZONES = ("stop", "leave")


class ReportMergeError(AnsibleFilterError):
    """The reports cannot be merged: they are not of one plan, or not of one run per zone."""


def _parts(reports):
    """The runs that reported ({host, report}), and the hosts that did not (their report is None)."""
    if not isinstance(reports, dict) or not reports:
        raise ReportMergeError("There is no report to merge: give the reports of the zones' runs, {host: report}")
    silent = [host for host, report in reports.items() if report is None]
    parts = [{"host": host, "report": report} for host, report in reports.items() if report is not None]
    if not parts:
        raise ReportMergeError("No run of %s wrote its report: see each host's output" % ", ".join(silent))
    for part in parts:
        if not isinstance(part["report"], dict) or "entries" not in part["report"]:
            raise ReportMergeError("The report of %s is not a maintenance window's report (report.json)" % part["host"])
    lengths = sorted({len(part["report"]["entries"]) for part in parts})
    if len(lengths) > 1:
        raise ReportMergeError("The reports are of different plans (%s entries): give every zone's run the same plan"
                               % " and ".join(map(str, lengths)))
    unzoned = [part["host"] for part in parts if not part["report"].get("zone")]
    if unzoned and len(parts) > 1:
        raise ReportMergeError("The runs of %s were not kept to one zone: each run of a merged window has its zone "
                               "(safe_migration_zone)" % ", ".join(unzoned))
    return parts, silent


def _zone_label(zone):
    return (zone or {}).get("name") or (zone or {}).get("id") or "every zone"


def _uncovered(parts):
    """The plan's volumes of zones no run served: {volume_id: other-zone record}, in plan order."""
    served = {part["report"]["zone"]["id"] for part in parts if part["report"].get("zone")}
    uncovered = {}
    for part in parts:
        for volume in part["report"].get("other_zones") or []:
            if volume["zone_id"] not in served and volume["volume_id"] not in uncovered:
                uncovered[volume["volume_id"]] = volume
    return sorted(uncovered.values(), key=lambda volume: (volume["entry"], volume["volume_name"] or ""))


def _not_run_volume(volume):
    return {"volume_id": volume["volume_id"], "volume_name": volume["volume_name"], "entry": volume["entry"],
            "vm_name": volume.get("vm_name"), "instance_name": None, "source_pool": volume.get("source_pool_name"),
            "destination_pool": volume.get("destination_pool_name"), "outcome": "not_started", "wave": None,
            "job_id": None, "msg": "zone %s was run by no host of this window" % volume["zone_name"],
            "false_success": False, "restored": False, "repaired": False, "datastore_path": None, "seconds": None,
            "false_failure": False, "leftovers": [], "host": None, "zone": volume["zone_name"]}


def _volumes(parts, not_run):
    volumes, seen, problems = [], {}, []
    for part in parts:
        for volume in part["report"]["volumes"]:
            if volume["volume_id"] in seen:
                problems.append({"kind": "error", "subject": volume["volume_name"],
                                 "message": "reported by the runs of both %s and %s: two runs had the same volume"
                                            % (seen[volume["volume_id"]], part["host"])})
                continue
            seen[volume["volume_id"]] = part["host"]
            volumes.append(dict(volume, host=part["host"], zone=_zone_label(part["report"].get("zone"))))
    return volumes + [_not_run_volume(volume) for volume in not_run], problems


def _entries(parts, not_run, volumes):
    names = {volume["volume_id"]: volume["volume_name"] or volume["volume_id"] for volume in volumes}
    merged = []
    for index, first in enumerate(parts[0]["report"]["entries"]):
        alike = [part["report"]["entries"][index] for part in parts]
        bad = next((entry for entry in alike if entry["status"] in ("error", "unresolved")), None)
        if bad is not None:
            merged.append(dict(bad, other_zone_volume_ids=[]))
            continue
        ids = [volume_id for entry in alike for volume_id in entry["volume_ids"]]
        ids += [volume["volume_id"] for volume in not_run if volume["entry"] == first["index"]]
        ids = list(dict.fromkeys(ids))
        merged.append(dict(first, status="resolved" if ids else "empty", volume_ids=ids,
                           volumes=[names.get(volume_id, volume_id) for volume_id in ids], other_zone_volume_ids=[]))
    return merged


def _unique(items):
    kept = []
    for item in items:
        if item not in kept:
            kept.append(item)
    return kept


def _status(parts, volumes, problems, check_mode, counts):
    statuses = {part["report"]["status"] for part in parts}
    ran = len(volumes) - counts["not_started"]
    if "preflight_failed" in statuses:
        return "failed" if ran else "preflight_failed"
    if "failed" in statuses or problems:
        return "failed"
    if "window_ended" in statuses:
        return "window_ended"
    if not volumes:
        return "nothing_to_do"
    return "checked" if check_mode else "succeeded"


def _time(parts, key, pick):
    return pick(datetime.datetime.fromisoformat(part["report"][key]) for part in parts)


def _journal(parts):
    journals = [part["report"]["journal"] for part in parts]
    events = sorted((event for journal in journals for event in journal["events"]), key=lambda event: event["ts"])
    return {"path": ", ".join(_unique([journal["path"] for journal in journals])), "events": events,
            "skipped_lines": sum(journal["skipped_lines"] for journal in journals),
            "truncated": any(journal["truncated"] for journal in journals)}


def _hosts(parts):
    return [{"host": part["host"], "zone": _zone_label(part["report"].get("zone")),
             "zone_id": (part["report"].get("zone") or {}).get("id"), "status": part["report"]["status"],
             "exit_code": part["report"]["summary"]["exit_code"], "planned": part["report"]["summary"]["planned"],
             "headline": part["report"]["headline"], "report_dir": part["report"]["summary"]["report_dir"]}
            for part in parts]


def _zone_problems(parts, not_run, mode):
    problems = []
    by_zone = {}
    for part in parts:
        zone = part["report"].get("zone")
        if zone:
            by_zone.setdefault(zone["id"], []).append(part["host"])
    for zone_id, hosts in by_zone.items():
        if len(hosts) > 1:
            problems.append({"kind": "error", "subject": "zone %s" % zone_id,
                             "message": "run by %s: one host per zone" % " and ".join(hosts)})
    if mode == "stop":
        for zone in _unique([volume["zone_name"] for volume in not_run]):
            count = sum(1 for volume in not_run if volume["zone_name"] == zone)
            problems.append({"kind": "zone_not_run", "subject": "zone %s" % zone,
                             "message": "%d volume(s) of the plan are in this zone, which no host of the window served: "
                                        "add a host with safe_migration_zone: %s, or run the plan for that zone on its own"
                                        % (count, zone)})
    return problems


def migration_report_merge(reports, other_zones="stop", report_dir=None):
    """The report of a window run as one run per zone (``reports``: {host: report}); see migration_report_merge.yml."""
    if other_zones not in OTHER_ZONES:
        raise ReportMergeError("other_zones must be one of %s, got %r" % (", ".join(OTHER_ZONES), other_zones))
    parts, silent = _parts(reports)
    reports = [part["report"] for part in parts]
    uncovered = _uncovered(parts)
    not_run = uncovered if other_zones == "stop" else []
    volumes, problems = _volumes(parts, not_run)
    problems += _zone_problems(parts, not_run, other_zones)
    problems += [{"kind": "error", "subject": "host %s" % host,
                  "message": "its run wrote no report: what it did is in its output and its journal"} for host in silent]
    entries = _entries(parts, not_run, volumes)
    check_mode = any(report["check_mode"] for report in reports)
    counts = count_outcomes(volumes)
    status = _status(parts, volumes, problems, check_mode, counts)
    window_end = next((report["window_end"] for report in reports if report.get("window_end")), None)
    reason = {"nothing_to_do": nothing_to_do_reason(entries), "window_ended": str(window_end)}.get(status)
    started, finished = _time(parts, "started", min), _time(parts, "finished", max)
    journal = _journal(parts)
    summary = {"status": status, "entries": len(entries), "planned": len(volumes)}
    summary.update(counts)
    summary.update(waves=sum(report["summary"]["waves"] for report in reports), exit_code=EXIT_CODES[status],
                   started=started.isoformat(timespec="seconds"), finished=finished.isoformat(timespec="seconds"),
                   duration_seconds=round(max(0.0, (finished - started).total_seconds()), 3), report_dir=report_dir,
                   journal=journal["path"])
    hosts = _hosts(parts)
    zones = ", ".join("%s on %s" % (host["zone"], host["host"]) for host in hosts)
    summary["headline"] = "%s (%d zone run(s): %s%s)" % (
        headline(status, summary, reason), len(hosts), zones,
        "; %d volume(s) of other zones left to other runs" % len(uncovered) if other_zones == "leave" and uncovered else "")
    preflight = {"ok": all(report["preflight"]["ok"] for report in reports),
                 "skipped": any(report["preflight"]["skipped"] for report in reports),
                 "problems": _unique([problem for report in reports for problem in report["preflight"]["problems"]])}
    report = {
        "status": status, "headline": summary["headline"], "reason": reason, "check_mode": check_mode,
        "started": summary["started"], "finished": summary["finished"], "duration_seconds": summary["duration_seconds"],
        "duration": duration_text(summary["duration_seconds"]), "summary": summary, "entries": entries,
        "preflight": preflight, "volumes": volumes,
        "waves": [dict(wave, host=part["host"]) for part in parts for wave in part["report"]["waves"]],
        "errors": ["%s: %s" % (part["host"], error) for part in parts for error in part["report"]["errors"]],
        "problems": _unique([problem for report in reports for problem in report["problems"]]) + problems,
        "notes": [note for report in reports for note in report.get("notes", [])], "journal": journal,
        "window_end": window_end, "next_plan": [item for report in reports for item in report["next_plan"]]
        + [{"volume": volume["volume_id"], "destination": volume["destination_pool_name"]} for volume in not_run],
        "zone": None, "other_zones": uncovered if other_zones == "leave" else [], "hosts": hosts}
    check_report(report, len(entries), preflight_per_run=True)
    return report


class FilterModule:
    """The merged report of one run per zone."""

    def filters(self):
        return {"migration_report_merge": migration_report_merge}
