# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The maintenance-window report, built in Python: one dict that report.json is, and the views of it.

Filters (documented in the ``.yml`` file of the same name next to this one):
``migration_report`` builds the report, ``migration_report_lines`` the summary a run prints,
``migration_report_junit`` the JUnit XML. Their counts use one vocabulary (``COUNTS``) everywhere, and the
report's invariants are checked here: a bug raises an error, it never produces a green report.
"""

from __future__ import annotations

import datetime
import os
import time
from xml.etree import ElementTree

import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.journal import DEFAULT_JOURNAL_PATH, read_damaged

# The counts of a run, in this order wherever they are shown. planned = the sum of the five volume outcomes.
OUTCOMES = ("migrated", "already_in_place", "failed", "false_success", "not_started")
COUNTS = ("entries", "planned") + OUTCOMES + ("restored", "repaired")
LABELS = {"migrated": "migrated", "already_in_place": "already in place", "failed": "failed",
          "false_success": "false success", "not_started": "not started"}
STATUSES = ("succeeded", "nothing_to_do", "failed", "preflight_failed", "checked")
# Status of a cs_volume_migrate_safe result -> outcome in the report.
RESULT_OUTCOMES = {"migrated": "migrated", "unchanged": "already_in_place", "failed": "failed"}
EXIT_CODES = {"succeeded": 0, "nothing_to_do": 0, "checked": 0, "failed": 2, "preflight_failed": 2}
JOURNAL_MAX_BYTES = 64 * 1024 * 1024


class ReportInvariantError(AnsibleFilterError):
    """The report's data contradict each other: a bug, never to be reported as a success."""

    def __init__(self, message):
        super().__init__("The migration report is inconsistent (%s); this is a bug of the collection, not of your plan: "
                         "check the lab or the systems by hand before trusting this run" % message)


def result_outcome(result):
    """The report's outcome of one cs_volume_migrate_safe volume result."""
    if result.get("false_success"):
        return "false_success"
    status = result.get("status")
    if status not in RESULT_OUTCOMES:
        raise ReportInvariantError("volume %s has the unknown result status %r" % (_result_key(result), status))
    return RESULT_OUTCOMES[status]


def count_outcomes(items, key="outcome"):
    """{outcome: count} over OUTCOMES, plus restored and repaired, of items carrying ``key``, ``restored`` and
    ``repaired``."""
    counts = dict.fromkeys(OUTCOMES, 0)
    for item in items:
        counts[item[key]] += 1
    counts["restored"] = sum(1 for item in items if item.get("restored"))
    counts["repaired"] = sum(1 for item in items if item.get("repaired"))
    return counts


def counts_text(counts):
    """'1 migrated, 0 already in place, 1 failed, 0 false success (0 restored), 0 not started'."""
    parts = []
    for name in OUTCOMES:
        part = "%d %s" % (counts[name], LABELS[name])
        if name == "false_success":
            part += " (%d restored)" % counts["restored"]
        parts.append(part)
    text = ", ".join(parts)
    if counts.get("repaired"):
        text += " (%d damaged record(s) repaired first)" % counts["repaired"]
    return text


def _result_key(result):
    return result.get("volume_id") or result.get("volume")


def restored(result):
    """This run's false success, its record put back to vCenter's truth (verified)."""
    return bool(result.get("false_success")) and bool((result.get("restore") or {}).get("verified"))


def repaired(result):
    """A record damaged by an earlier false success, put back to the truth before this run migrated the volume."""
    return bool(result.get("repaired")) and bool((result.get("restore") or {}).get("verified"))


def _text(problem):
    if isinstance(problem, (list, tuple)):
        return "; ".join(_text(item) for item in problem)
    if isinstance(problem, dict):
        return str(problem.get("message") or problem.get("msg") or problem)
    return str(problem)


def _iso(timestamp):
    return datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc).astimezone().isoformat(timespec="seconds")


def _duration_text(seconds):
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
        if entry.get("error"):
            status = "error"
        elif ids is None:
            status = "unresolved"
        elif not ids:
            status = "empty"
        else:
            status = "resolved"
        reported.append({"index": index, "entry": entry.get("entry"), "description": describe_entry(entry.get("entry")),
                         "status": status, "volume_ids": list(ids or []),
                         "volumes": [names.get(volume_id) or volume_id for volume_id in ids or []],
                         "error": entry.get("error"), "error_code": entry.get("error_code")})
    if [entry["index"] for entry in reported] != list(range(1, len(reported) + 1)):
        raise ReportInvariantError("plan entries are not numbered 1 to %d: %s"
                                   % (len(reported), [entry["index"] for entry in reported]))
    if plan and entries and len(plan) != len(entries):
        raise ReportInvariantError("%d plan entries in, %d resolved entries" % (len(plan), len(entries)))
    return reported


def _volumes(volumes, results, check_mode):
    by_id = {}
    for result in results:
        key = _result_key(result)
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
            "restored": restored(result), "repaired": repaired(result), "datastore_path": vcenter.get("file"), "seconds": result.get("duration")})
    return reported


def _status(preflight, entries, volumes, counts, errors, check_mode):
    if any(entry["status"] in ("error", "unresolved") for entry in entries) or not (preflight["ok"] or preflight["skipped"]):
        return "preflight_failed"
    if not volumes:
        return "nothing_to_do"
    if check_mode:
        return "checked"
    if counts["migrated"] + counts["already_in_place"] == len(volumes) and not errors:
        return "succeeded"
    return "failed"


def _nothing_to_do_reason(entries):
    empty = ["entry %d (%s) has no volumes" % (entry["index"], entry["description"]) for entry in entries
             if entry["status"] == "empty"]
    if empty:
        return "the plan resolved to no volume: " + "; ".join(empty)
    return "the plan resolved to no volume: it has no entries"


def _headline(status, summary, reason):
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
    wrong = planned - summary["migrated"] - summary["already_in_place"]
    return "FAILED: %d of %d planned volume(s) are not verified where the plan wants them" % (wrong, planned)


def _problems(preflight, entries, volumes, errors):
    """Each failure once: preflight problems, entry errors not already among them, failed volumes, run errors."""
    problems = []
    texts = [_text(problem) for problem in preflight["problems"]]
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
        problems.append({"kind": "error", "subject": None, "message": _text(error)})
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
            events.append({"ts": stamp, "time": _iso(stamp), "volume": entry.get("volume"), "event": entry.get("event"),
                           "job_id": entry.get("job_id"), "job_status": entry.get("job_status")})
    return {"path": path, "events": events, "skipped_lines": read["skipped"], "truncated": read["truncated"]}


def _check(report, entries_in):
    """The invariants; raise ReportInvariantError when one is broken."""
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
    if status == "nothing_to_do" and (summary["planned"] or any(entry["status"] != "empty" for entry in report["entries"])):
        raise ReportInvariantError("status nothing_to_do with planned volumes or unresolved entries")
    if status == "checked" and (summary["planned"] != summary["not_started"] or not report["check_mode"]):
        raise ReportInvariantError("status checked but volumes were started")
    ran = summary["planned"] - summary["not_started"]
    if ran and not (report["preflight"]["ok"] or report["preflight"]["skipped"]):
        raise ReportInvariantError("%d volume(s) ran although preflight failed and was not skipped" % ran)


def migration_report(results, volumes=None, entries=None, plan=None, resolved=True, preflight=None, waves=None, errors=None,
                     journal_path=None, started=None, finished=None, check_mode=False, report_dir=None,
                     journal_max_bytes=JOURNAL_MAX_BYTES):
    """The whole report of a maintenance window as one dict (report.json); see migration_report.yml."""
    results, volumes, waves, errors = list(results or []), list(volumes or []), list(waves or []), list(errors or [])
    plan = _plan_list(plan)
    preflight = dict({"ok": False, "skipped": False, "problems": []}, **(preflight or {}))
    preflight["problems"] = [_text(problem) for problem in preflight["problems"] or []]
    started = float(started) if started not in (None, "") else time.time()
    finished = float(finished) if finished not in (None, "") else time.time()
    report_entries = _entries(entries, plan, volumes, resolved)
    report_volumes = _volumes(volumes, results, check_mode)
    counts = count_outcomes(report_volumes)
    status = _status(preflight, report_entries, report_volumes, counts, errors, check_mode)
    reason = _nothing_to_do_reason(report_entries) if status == "nothing_to_do" else None
    journal = _journal(journal_path, started, {volume["volume_id"] for volume in volumes}, journal_max_bytes)
    summary = {"status": status, "entries": len(report_entries), "planned": len(report_volumes)}
    summary.update(counts)
    summary.update(waves=len(waves), exit_code=EXIT_CODES[status], started=_iso(started), finished=_iso(finished),
                   duration_seconds=round(max(0.0, finished - started), 3),
                   report_dir=os.path.realpath(os.path.expanduser(report_dir)) if report_dir else None, journal=journal["path"])
    summary["headline"] = _headline(status, summary, reason)
    report = {
        "status": status, "headline": summary["headline"], "reason": reason, "check_mode": bool(check_mode),
        "started": summary["started"], "finished": summary["finished"], "duration_seconds": summary["duration_seconds"],
        "duration": _duration_text(summary["duration_seconds"]), "summary": summary, "entries": report_entries,
        "preflight": preflight, "volumes": report_volumes, "waves": waves, "errors": [_text(error) for error in errors],
        "problems": _problems(preflight, report_entries, report_volumes, errors), "journal": journal}
    _check(report, len(entries) if entries else len(plan or []))
    return report


def migration_report_lines(report):
    """The summary a run prints: headline, counts, each problem once, where the report and journal are."""
    summary = report["summary"]
    lines = [summary["headline"],
             "%d plan entr%s, %d planned volume(s): %s; %d wave(s); started %s, took %s" % (
                 summary["entries"], "y" if summary["entries"] == 1 else "ies", summary["planned"], counts_text(summary),
                 summary["waves"], summary["started"], report["duration"])]
    for problem in report["problems"]:
        kind = problem["kind"].replace("_", " ")
        if problem["kind"] == "preflight" and report["preflight"]["skipped"]:
            kind = "preflight (skipped)"
        lines.append("%s: %s%s" % (kind, problem["subject"] + ": " if problem["subject"] else "", problem["message"]))
    not_started = [volume["volume_name"] for volume in report["volumes"] if volume["outcome"] == "not_started"]
    if not_started and report["status"] == "failed":
        lines.append("not started: %s" % ", ".join(map(str, not_started)))
    if summary["report_dir"]:
        lines.append("report: %s/{report.md,report.json,junit.xml}" % summary["report_dir"])
    journal = report["journal"]
    damage = ""
    if journal["skipped_lines"] or journal["truncated"]:
        damage = " (%d unreadable line(s) skipped%s)" % (journal["skipped_lines"], ", older lines not read" if journal["truncated"] else "")
    lines.append("journal: %s%s" % (journal["path"], damage))
    return lines


def _xml_text(text):
    """Text without the control characters XML 1.0 cannot hold."""
    return "".join(char for char in str(text or "") if char in "\t\n\r" or ord(char) >= 0x20)


def _case(parent, classname, name, seconds=None):
    case = ElementTree.SubElement(parent, "testcase", classname=classname, name=name)
    if seconds is not None:
        case.set("time", "%.3f" % float(seconds))
    return case


def migration_report_junit(report):
    """The report as JUnit XML (a string): suites plan (one case per entry), preflight, migration (one per volume)."""
    root = ElementTree.Element("testsuites", name="safe_migration")
    plan = ElementTree.SubElement(root, "testsuite", name="plan")
    for entry in report["entries"]:
        case = _case(plan, "safe_migration.plan", _xml_text("entry %d: %s" % (entry["index"], entry["description"])))
        if entry["status"] == "error":
            ElementTree.SubElement(case, "failure", message=entry["error_code"] or "error").text = _xml_text(entry["error"])
        elif entry["status"] == "unresolved":
            ElementTree.SubElement(case, "skipped", message="not resolved: the run stopped before")
        elif entry["status"] == "empty":
            ElementTree.SubElement(case, "system-out").text = "no volumes"
    preflight = ElementTree.SubElement(root, "testsuite", name="preflight")
    case = _case(preflight, "safe_migration.preflight", "plan preflight")
    if not report["preflight"]["ok"]:
        message = "preflight failed (skipped: the migration ran anyway)" if report["preflight"]["skipped"] else "preflight failed, nothing was changed"
        ElementTree.SubElement(case, "failure", message=message).text = _xml_text("\n".join(report["preflight"]["problems"]))
    migration = ElementTree.SubElement(root, "testsuite", name="migration")
    for volume in report["volumes"]:
        name = "%s (%s): %s to %s" % (volume["volume_name"], volume["vm_name"] or "detached", volume["source_pool"],
                                      volume["destination_pool"])
        case = _case(migration, "safe_migration.migrate", _xml_text(name), volume["seconds"] or 0)
        if volume["outcome"] in ("failed", "false_success"):
            ElementTree.SubElement(case, "failure", message=volume["outcome"]).text = _xml_text(volume["msg"])
        elif volume["outcome"] == "not_started":
            ElementTree.SubElement(case, "skipped", message="not started")
    for suite in (plan, preflight, migration):
        cases = suite.findall("testcase")
        suite.set("tests", str(len(cases)))
        suite.set("failures", str(sum(1 for item in cases if item.find("failure") is not None)))
        suite.set("errors", "0")
        suite.set("skipped", str(sum(1 for item in cases if item.find("skipped") is not None)))
    for name in ("tests", "failures", "errors", "skipped"):
        root.set(name, str(sum(int(suite.get(name)) for suite in (plan, preflight, migration))))
    root.set("time", "%.3f" % report["duration_seconds"])
    text = ElementTree.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + text + "\n"


class FilterModule:
    """The report filters."""

    def filters(self):
        return {"migration_report": migration_report, "migration_report_lines": migration_report_lines,
                "migration_report_junit": migration_report_junit}
