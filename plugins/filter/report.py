# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The maintenance-window report, built in Python: one dict that report.json is, and the views of it.

Filters (documented in the ``.yml`` file of the same name next to this one):
``migration_report`` builds the report, ``migration_report_lines`` the summary a run prints,
``migration_report_junit`` the JUnit XML (built in ``plugin_utils/report_junit.py``). Their counts use one
vocabulary (``plugin_utils/report_outcomes.py``) everywhere, and the report's invariants are checked here: a bug
raises an error, it never produces a green report.
"""

from __future__ import annotations

import datetime
import os
import time

import yaml

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.journal import DEFAULT_JOURNAL_PATH, read_damaged
from ansible_collections.cloudstack_vmware.safe_migration.plugins.plugin_utils.report_junit import migration_report_junit
from ansible_collections.cloudstack_vmware.safe_migration.plugins.plugin_utils.report_outcomes import (
    OUTCOMES,
    ReportInvariantError,
    count_outcomes,
    counts_text,
    repaired,
    restored,
    result_key,
    result_outcome,
)

STATUSES = ("succeeded", "nothing_to_do", "failed", "preflight_failed", "checked", "window_ended")
EXIT_CODES = {"succeeded": 0, "nothing_to_do": 0, "checked": 0, "failed": 2, "preflight_failed": 2, "window_ended": 2}
JOURNAL_MAX_BYTES = 64 * 1024 * 1024


def problem_text(problem):
    if isinstance(problem, (list, tuple)):
        return "; ".join(problem_text(item) for item in problem)
    if isinstance(problem, dict):
        return str(problem.get("message") or problem.get("msg") or problem)
    return str(problem)


def iso_time(timestamp):
    return datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc).astimezone().isoformat(timespec="seconds")


def duration_text(seconds):
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return "%dh %02dm %02ds" % (hours, minutes, seconds)
    if minutes:
        return "%dm %02ds" % (minutes, seconds)
    return "%ds" % seconds


def describe_entry(entry):
    """'source_pool nfs-primary-4 to nfs-primary-1' for a plan entry (a dict, or anything shown as it is)."""
    if not isinstance(entry, dict):
        return repr(entry)
    for key in ("volume", "source_pool"):
        if entry.get(key):
            text = "%s %s" % (key, entry[key])
            if entry.get("destination"):
                text += " to %s" % entry["destination"]
            return text
    return ", ".join("%s=%s" % item for item in sorted(entry.items())) or "an empty entry"


def _plan_list(plan):
    """The plan as a list (it may come as YAML text, from an AWX survey); anything else has no entries."""
    if isinstance(plan, str):
        try:
            plan = yaml.safe_load(plan)
        except yaml.YAMLError:
            return []
    return list(plan) if isinstance(plan, (list, tuple)) else []


def _volume_entry(volume):
    if volume.get("entry") is not None:
        return int(volume["entry"])
    if volume.get("item") is not None:
        return int(volume["item"]) + 1
    return None


def _entries(entries, plan, volumes, resolved):
    """The plan entries as given (preflight_entries), or derived from the plan when they are not given."""
    if entries:
        source = [dict(entry) for entry in entries]
    elif plan:
        source = []
        for index, entry in enumerate(plan, start=1):
            ids = [volume["volume_id"] for volume in volumes if _volume_entry(volume) == index] if resolved else None
            source.append({"index": index, "entry": entry, "volume_ids": ids, "error": None, "error_code": None})
    else:
        return []
    names = {volume["volume_id"]: volume.get("volume_name") for volume in volumes}
    reported = []
    for position, entry in enumerate(source, start=1):
        index = entry.get("index", position)
        ids = entry.get("volume_ids")
        elsewhere = list(entry.get("other_zone_volume_ids") or [])
        if entry.get("error"):
            status = "error"
        elif ids is None:
            status = "unresolved"
        elif not ids:
            status = "other_zone" if elsewhere else "empty"
        else:
            status = "resolved"
        reported.append({"index": index, "entry": entry.get("entry"), "description": describe_entry(entry.get("entry")),
                         "status": status, "volume_ids": list(ids or []),
                         "volumes": [names.get(volume_id) or volume_id for volume_id in ids or []],
                         "other_zone_volume_ids": elsewhere, "error": entry.get("error"), "error_code": entry.get("error_code")})
    if [entry["index"] for entry in reported] != list(range(1, len(reported) + 1)):
        raise ReportInvariantError("plan entries are not numbered 1 to %d: %s"
                                   % (len(reported), [entry["index"] for entry in reported]))
    if plan and entries and len(plan) != len(entries):
        raise ReportInvariantError("%d plan entries in, %d resolved entries" % (len(plan), len(entries)))
    return reported


def _volumes(volumes, results, check_mode):
    by_id = {}
    for result in results:
        key = result_key(result)
        if key in by_id:
            raise ReportInvariantError("volume %s has two results" % key)
        by_id[key] = result
    planned_ids = {volume["volume_id"] for volume in volumes}
    stray = [key for key in by_id if key not in planned_ids]
    if stray:
        raise ReportInvariantError("results for volumes that were not planned: %s" % ", ".join(map(str, stray)))
    if check_mode and by_id:
        raise ReportInvariantError("volumes were migrated in check mode: %s" % ", ".join(map(str, by_id)))
    reported = []
    for volume in volumes:
        result = by_id.get(volume["volume_id"])
        outcome = result_outcome(result) if result is not None else "not_started"
        result = result or {}
        vcenter = (result.get("verification") or {}).get("vcenter") or {}
        reported.append({
            "volume_id": volume["volume_id"], "volume_name": volume.get("volume_name"), "entry": _volume_entry(volume),
            "vm_name": volume.get("vm_name"), "instance_name": volume.get("instance_name"),
            "source_pool": volume.get("source_pool_name"), "destination_pool": volume.get("destination_pool_name"),
            "outcome": outcome, "wave": result.get("wave"),
            "job_id": result.get("job_id"), "msg": result.get("msg"), "false_success": outcome == "false_success",
            "restored": restored(result), "repaired": repaired(result), "datastore_path": vcenter.get("file"), "seconds": result.get("duration"),
            "false_failure": bool(result.get("false_failure")), "leftovers": list(result.get("leftovers") or [])})
    return reported


def _notes(volumes):
    """What needs a look although the volume's outcome stands: a job CloudStack called failed that vCenter had carried
    out, and copies of a disk left behind (to clean up by hand: nothing here deletes files)."""
    notes = []
    for volume in volumes:
        subject = "%s (%s)" % (volume["volume_name"], volume["vm_name"] or "detached")
        if volume["false_failure"] and volume["outcome"] == "migrated":
            notes.append({"kind": "false_failure", "subject": subject,
                          "message": "CloudStack reported job %s as failed, but vCenter had moved the disk; the record was "
                                     "put on the destination and verified" % (volume["job_id"] or "?")})
        if volume["leftovers"]:
            notes.append({"kind": "copy_to_clean_up", "subject": subject,
                          "message": "another copy of the disk is still on a datastore: %s; check that nothing uses it, then "
                                     "delete it by hand" % ", ".join(volume["leftovers"])})
    return notes


def _status(preflight, entries, volumes, counts, errors, check_mode, window_end=None):
    if any(entry["status"] in ("error", "unresolved") for entry in entries) or not (preflight["ok"] or preflight["skipped"]):
        return "preflight_failed"
    if not volumes:
        return "nothing_to_do"
    if check_mode:
        return "checked"
    if counts["migrated"] + counts["already_in_place"] == len(volumes) and not errors:
        return "succeeded"
    if window_end and counts["migrated"] + counts["already_in_place"] + counts["not_started"] == len(volumes) and not errors:
        return "window_ended"
    return "failed"


def nothing_to_do_reason(entries, zone=None):
    empty = ["entry %d (%s) has no volumes" % (entry["index"], entry["description"]) for entry in entries
             if entry["status"] == "empty"]
    elsewhere = sum(len(entry["other_zone_volume_ids"]) for entry in entries)
    if zone and elsewhere:
        empty.append("its %d volume(s) are in other zones than %s, left to their runs" % (elsewhere, zone["name"]))
    if empty:
        return "the plan resolved to no volume%s: %s" % (" in zone %s" % zone["name"] if zone else "", "; ".join(empty))
    return "the plan resolved to no volume: it has no entries"


def headline(status, summary, reason):
    planned = summary["planned"]
    if status == "succeeded":
        return "SUCCEEDED: all %d planned volume(s) migrated or already in place, verified against vCenter" % planned
    if status == "nothing_to_do":
        return "NOTHING TO DO: %s; nothing was changed" % reason
    if status == "checked":
        return "CHECK MODE: %d volume(s) planned and preflighted; nothing was changed" % planned
    if status == "preflight_failed":
        if summary["migrated"] or summary["failed"] or summary["false_success"] or summary["already_in_place"]:
            return "PREFLIGHT FAILED after volumes were migrated (safe_migration_skip_preflight): see the problems"
        return "STOPPED AT PREFLIGHT: nothing was changed"
    if status == "window_ended":
        return ("WINDOW ENDED at %s: %d of %d planned volume(s) verified where the plan wants them, %d not started "
                "(nothing was done to them): run the same plan again in the next window"
                % (reason, summary["migrated"] + summary["already_in_place"], planned, summary["not_started"]))
    wrong = planned - summary["migrated"] - summary["already_in_place"]
    return "FAILED: %d of %d planned volume(s) are not verified where the plan wants them" % (wrong, planned)


def _problems(preflight, entries, volumes, errors):
    """Each failure once: preflight problems, entry errors not already among them, failed volumes, run errors."""
    problems = []
    texts = [problem_text(problem) for problem in preflight["problems"]]
    for text in texts:
        problems.append({"kind": "preflight", "subject": None, "message": text})
    for entry in entries:
        if entry["status"] == "error" and not any(entry["error"] in text for text in texts):
            problems.append({"kind": "entry", "subject": "entry %d (%s)" % (entry["index"], entry["description"]),
                             "message": entry["error"]})
    for volume in volumes:
        if volume["outcome"] in ("failed", "false_success"):
            message = volume["msg"] or "no reason given"
            if volume["outcome"] == "false_success":
                message += " (record restored to vCenter's truth)" if volume["restored"] else " (record NOT restored)"
            problems.append({"kind": volume["outcome"], "subject": "%s (%s)" % (volume["volume_name"], volume["vm_name"] or "detached"),
                             "message": message})
    for error in errors:
        problems.append({"kind": "error", "subject": None, "message": problem_text(error)})
    return problems


def _journal(path, started, volume_ids, max_bytes):
    path = os.path.realpath(os.path.expanduser(path or DEFAULT_JOURNAL_PATH))
    read = read_damaged(path, max_bytes=max_bytes)
    events = []
    for entry in read["events"]:
        try:
            stamp = float(entry.get("ts"))
        except (TypeError, ValueError):
            read["skipped"] += 1
            continue
        if stamp >= started and entry.get("volume") in volume_ids:
            events.append({"ts": stamp, "time": iso_time(stamp), "volume": entry.get("volume"), "event": entry.get("event"),
                           "job_id": entry.get("job_id"), "job_status": entry.get("job_status")})
    return {"path": path, "events": events, "skipped_lines": read["skipped"], "truncated": read["truncated"]}


def check_report(report, entries_in, preflight_per_run=False):
    """The invariants; raise ReportInvariantError when one is broken. ``preflight_per_run``: a merged report, whose runs
    each checked that none of their volumes ran past a failed preflight."""
    summary, volumes = report["summary"], report["volumes"]
    if summary["entries"] != entries_in or len(report["entries"]) != entries_in:
        raise ReportInvariantError("%d plan entries in, %d reported" % (entries_in, len(report["entries"])))
    recount = count_outcomes(volumes)
    for name in OUTCOMES + ("restored", "repaired"):
        if summary[name] != recount[name]:
            raise ReportInvariantError("summary %s=%d but %d volume(s) have it" % (name, summary[name], recount[name]))
    total = sum(summary[name] for name in OUTCOMES)
    if summary["planned"] != total or summary["planned"] != len(volumes):
        raise ReportInvariantError("planned=%d but migrated + already_in_place + failed + false_success + not_started=%d"
                                   % (summary["planned"], total))
    if summary["restored"] > summary["false_success"]:
        raise ReportInvariantError("restored=%d exceeds false_success=%d" % (summary["restored"], summary["false_success"]))
    for name in ("migrated", "already_in_place", "failed", "false_success"):
        in_waves = sum(wave.get(name, 0) for wave in report["waves"])
        if report["waves"] and in_waves != summary[name]:
            raise ReportInvariantError("the waves count %s=%d, the volumes %d" % (name, in_waves, summary[name]))
    if report["entries"]:
        known = {entry["index"] for entry in report["entries"]}
        orphans = [volume["volume_name"] for volume in volumes if volume["entry"] not in known]
        if orphans:
            raise ReportInvariantError("volumes without a plan entry: %s" % ", ".join(map(str, orphans)))
        if volumes:
            mapped = {volume_id for entry in report["entries"] for volume_id in entry["volume_ids"]}
            unplanned = mapped - {volume["volume_id"] for volume in volumes}
            unmapped = {volume["volume_id"] for volume in volumes} - mapped
            if unplanned or unmapped:
                raise ReportInvariantError("entries and planned volumes differ: %s" % sorted(unplanned | unmapped))
    status = report["status"]
    if status not in STATUSES:
        raise ReportInvariantError("unknown status %r" % status)
    if status == "succeeded" and not (summary["planned"] > 0 and summary["migrated"] + summary["already_in_place"] == summary["planned"]
                                      and not report["check_mode"] and not report["errors"]):
        raise ReportInvariantError("status succeeded but not every planned volume is verified")
    unplanned = [entry for entry in report["entries"] if entry["status"] not in ("empty", "other_zone")]
    if status == "nothing_to_do" and (summary["planned"] or unplanned):
        raise ReportInvariantError("status nothing_to_do with planned volumes or unresolved entries")
    if status == "checked" and (summary["planned"] != summary["not_started"] or not report["check_mode"]):
        raise ReportInvariantError("status checked but volumes were started")
    ran = summary["planned"] - summary["not_started"]
    if ran and not (report["preflight"]["ok"] or report["preflight"]["skipped"] or preflight_per_run):
        raise ReportInvariantError("%d volume(s) ran although preflight failed and was not skipped" % ran)


def migration_report(results, volumes=None, entries=None, plan=None, resolved=True, preflight=None, waves=None, errors=None,
                     journal_path=None, started=None, finished=None, check_mode=False, report_dir=None,
                     journal_max_bytes=JOURNAL_MAX_BYTES, window_end=None, zone=None, other_zones=None):
    """The whole report of a maintenance window as one dict (report.json); see migration_report.yml."""
    zone = dict(zone) if zone else None
    results, volumes, waves, errors = list(results or []), list(volumes or []), list(waves or []), list(errors or [])
    plan = _plan_list(plan)
    preflight = dict({"ok": False, "skipped": False, "problems": []}, **(preflight or {}))
    preflight["problems"] = [problem_text(problem) for problem in preflight["problems"] or []]
    started = float(started) if started not in (None, "") else time.time()
    finished = float(finished) if finished not in (None, "") else time.time()
    report_entries = _entries(entries, plan, volumes, resolved)
    report_volumes = _volumes(volumes, results, check_mode)
    counts = count_outcomes(report_volumes)
    status = _status(preflight, report_entries, report_volumes, counts, errors, check_mode, window_end)
    reason = nothing_to_do_reason(report_entries, zone) if status == "nothing_to_do" else None
    if status == "window_ended":
        reason = str(window_end)
    journal = _journal(journal_path, started, {volume["volume_id"] for volume in volumes}, journal_max_bytes)
    summary = {"status": status, "entries": len(report_entries), "planned": len(report_volumes)}
    summary.update(counts)
    summary.update(waves=len(waves), exit_code=EXIT_CODES[status], started=iso_time(started), finished=iso_time(finished),
                   duration_seconds=round(max(0.0, finished - started), 3),
                   report_dir=os.path.realpath(os.path.expanduser(report_dir)) if report_dir else None, journal=journal["path"])
    summary["headline"] = headline(status, summary, reason)
    if zone:
        summary["headline"] = "zone %s: %s%s" % (zone["name"], summary["headline"], "; %d volume(s) of the plan are in other zones, "
                                                 "left to their runs" % len(other_zones) if other_zones else "")
    report = {
        "status": status, "headline": summary["headline"], "reason": reason, "check_mode": bool(check_mode),
        "started": summary["started"], "finished": summary["finished"], "duration_seconds": summary["duration_seconds"],
        "duration": duration_text(summary["duration_seconds"]), "summary": summary, "entries": report_entries,
        "preflight": preflight, "volumes": report_volumes, "waves": waves, "errors": [problem_text(error) for error in errors],
        "problems": _problems(preflight, report_entries, report_volumes, errors), "notes": _notes(report_volumes),
        "journal": journal, "window_end": window_end or None, "next_plan": _next_plan(report_volumes, check_mode),
        "zone": zone, "other_zones": list(other_zones or [])}
    check_report(report, len(entries) if entries else len(plan or []))
    return report


def _next_plan(volumes, check_mode):
    """The plan entries of the volumes a run did not start, by UUID (what to run next time); empty in check mode.
    Running the whole plan again does the same: what is done is recognised."""
    if check_mode:
        return []
    return [{"volume": volume["volume_id"], "destination": volume["destination_pool"]}
            for volume in volumes if volume["outcome"] == "not_started"]


def migration_report_lines(report):
    """The summary a run prints: headline, counts, each problem once, where the report and journal are."""
    summary = report["summary"]
    lines = [summary["headline"],
             "%d plan entr%s, %d planned volume(s): %s; %d wave(s); started %s, took %s" % (
                 summary["entries"], "y" if summary["entries"] == 1 else "ies", summary["planned"], counts_text(summary),
                 summary["waves"], summary["started"], report["duration"])]
    for host in report.get("hosts") or []:
        lines.append("host %s: %s" % (host["host"], host["headline"]))
    for problem in report["problems"]:
        kind = problem["kind"].replace("_", " ")
        if problem["kind"] == "preflight" and report["preflight"]["skipped"]:
            kind = "preflight (skipped)"
        lines.append("%s: %s%s" % (kind, problem["subject"] + ": " if problem["subject"] else "", problem["message"]))
    for note in report.get("notes", []):
        lines.append("%s: %s: %s" % (note["kind"].replace("_", " "), note["subject"], note["message"]))
    not_started = [volume["volume_name"] for volume in report["volumes"] if volume["outcome"] == "not_started"]
    if not_started and report["status"] in ("failed", "window_ended"):
        lines.append("not started: %s" % ", ".join(map(str, not_started)))
    if summary["report_dir"]:
        lines.append("report: %s/{report.md,report.json,junit.xml}" % summary["report_dir"])
    journal = report["journal"]
    damage = ""
    if journal["skipped_lines"] or journal["truncated"]:
        damage = " (%d unreadable line(s) skipped%s)" % (journal["skipped_lines"], ", older lines not read" if journal["truncated"] else "")
    lines.append("journal: %s%s" % (journal["path"], damage))
    return lines


class FilterModule:
    """The report filters."""

    def filters(self):
        return {"migration_report": migration_report, "migration_report_lines": migration_report_lines,
                "migration_report_junit": migration_report_junit}
