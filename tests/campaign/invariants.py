"""What must hold after every schedule, checked against the lab's ground truth (issue 12, part 4).

Each check returns violations as (kind, text); the kinds are the invariants' names, counted by the campaign.
"""

from __future__ import annotations

import json
from xml.etree import ElementTree

REPORTED_FINE = ("migrated", "already_in_place")
REPORTED_PROBLEM = ("failed", "false_success", "named_in_problems")
# A job that moved nothing (or lost the disk) may be followed by another migrateVolume of the volume.
LYING_FAULTS = ("false_success", "detached_disk_lost")
MODULE_STATUS = {"migrated": "migrated", "unchanged": "already_in_place", "failed": "failed"}


def violations(evidence, secrets):
    found = []
    truth = _truth(evidence)
    final = _final_runs(evidence["runs"])
    outcomes = _outcomes(final)
    problems = _problems_text(final)
    # what every run told its operator (a copy or a lost disk named by the first run of a re-run schedule was told)
    texts = [run.output + _report_text(run) for run in evidence["runs"]]
    for volume in evidence["volumes"]:
        told = outcomes.get(volume["id"], set())
        if volume["id"] in problems:  # e.g. a plan entry that no longer resolves, with the reason
            told = told | {"named_in_problems"}
        found += _volume_checks(volume, truth[volume["id"]], told, texts)
    found += _job_log_checks(evidence)
    for run in evidence["runs"]:
        found += _layer_checks(run)
        found += _hygiene_checks(run, secrets)
    for journal in evidence["journals"]:
        text = journal.read_text(errors="replace")
        found += [("secret_leaked", "a secret in the journal %s" % journal.name) for secret in secrets if secret in text]
    return found


# ---- the truth ---------------------------------------------------------------------------------
def _truth(evidence):
    """Per volume: the record, where its files are, and whether they agree (one file, on the record's pool)."""
    pool_of = {_datastore(pool): pool["id"] for pool in evidence["pools"]}
    truth = {}
    for volume in evidence["volumes"]:
        record = evidence["records"].get(volume["id"])
        files = evidence["files"][volume["id"]]
        path = (record or {}).get("path")
        mine = [file for file in files if path and (file.endswith("/%s.vmdk" % path) or file.endswith("] %s.vmdk" % path))]
        on_record_pool = [file for file in mine if pool_of.get(file[1:].split("]", 1)[0]) == (record or {}).get("storageid")]
        agree = bool(record) and record.get("state") == "Ready" and len(on_record_pool) == 1
        truth[volume["id"]] = {"record": record, "files": files, "agree": agree,
                               "extra": [file for file in files if file not in on_record_pool] if agree else [],
                               "on_destination": bool(record) and record.get("storageid") == volume["destination"]["id"]}
    return truth


def _datastore(pool):
    return pool["id"].replace("-", "") if pool["type"] == "NetworkFilesystem" else pool["path"].rsplit("/", 1)[-1]


# ---- what the runs said ------------------------------------------------------------------------
def _final_runs(runs):
    """The runs whose word is final: the last re-run when there was one, else every run (two runs at once)."""
    again = [run for run in runs if run.name == "run-again"]
    return again[-1:] or [run for run in runs if not run.killed]


def _outcomes(runs):
    """Per volume id: the outcomes the final runs reported."""
    outcomes = {}
    for run in runs:
        report = run.report()
        if report:
            for volume in report.get("volumes", []):
                outcomes.setdefault(volume.get("volume_id"), set()).add(volume.get("outcome"))
            # a preflight that stops on the volume names it among the problems: reported, though not started
            problems = " ".join("%s %s" % (problem.get("subject"), problem.get("message")) for problem in report.get("problems", []))
            for volume in report.get("volumes", []):
                if volume.get("volume_id") in problems or (volume.get("volume_name") or "\0") in problems:
                    outcomes.setdefault(volume.get("volume_id"), set()).add("named_in_problems")
        result = run.module_result()
        if result:
            for entry in result.get("volumes", []):
                status = "false_success" if entry.get("false_success") else MODULE_STATUS.get(entry.get("status"), entry.get("status"))
                outcomes.setdefault(entry.get("volume_id") or entry.get("volume"), set()).add(status)
    return outcomes


def _problems_text(runs):
    """The problems the final runs' reports list (a plan entry's error names the volume it could not resolve)."""
    return " ".join("%s %s" % (problem.get("subject"), problem.get("message"))
                    for run in runs for problem in (run.report() or {}).get("problems", []))


def _report_text(run):
    texts = []
    for name in ("report.md", "report.json"):
        path = run.report_dir / name
        if path.exists():
            texts.append(path.read_text())
    result = run.module_result()
    if result:
        texts.append(json.dumps(result))
    return "\n".join(texts)


# ---- the invariants ----------------------------------------------------------------------------
def _volume_checks(volume, truth, outcomes, texts):
    found, label = [], "volume %s (%s)" % (volume["name"], volume["id"])
    if outcomes & set(REPORTED_FINE) and not (truth["agree"] and truth["on_destination"]):
        found.append(("false_success_reported", "%s reported %s, but record %s and files %s disagree"
                      % (label, sorted(outcomes), _record_text(truth["record"]), truth["files"])))
    if not truth["agree"] and not outcomes & set(REPORTED_PROBLEM):
        found.append(("disagreement_unreported", "%s: record %s and files %s disagree, reported %s"
                      % (label, _record_text(truth["record"]), truth["files"], sorted(outcomes) or "nothing")))
    if not truth["files"] and not any("DISK LOST" in text for text in texts):
        found.append(("disk_lost_silently", "%s: its disk is on no datastore and no run said DISK LOST" % label))
    for extra in truth["extra"]:
        if not any(extra in text for text in texts):
            found.append(("copy_unreported", "%s: a second copy %s is not named by any report" % (label, extra)))
    return found


def _job_log_checks(evidence):
    found = []
    jobs = [job for job in evidence["job_log"]["jobs"] if job["command"] == "migrateVolume"]
    for volume in evidence["volumes"]:
        mine = sorted((job for job in jobs if job["volumeid"] == volume["id"]), key=lambda job: job["queued"])
        for earlier, later in zip(mine, mine[1:]):
            overlap = earlier["ended"] is None or later["queued"] < earlier["ended"]
            moved = earlier["jobstatus"] == 1 and earlier.get("fault") not in LYING_FAULTS
            if overlap or moved:
                found.append(("second_migration", "volume %s: migrateVolume %s %s migrateVolume %s"
                              % (volume["id"], later["jobid"], "ran beside" if overlap else "after the successful",
                                 earlier["jobid"])))
    return found


def _layer_checks(run):
    """Exit code, report.json, junit.xml and set_stats agree (playbook runs that got to their report)."""
    report = run.report()
    if run.killed or report is None:
        return []
    found, summary = [], report["summary"]
    if (run.returncode == 0) != (report["status"] in ("succeeded", "nothing_to_do")):
        found.append(("layers_disagree", "%s: exit code %s with status %s" % (run.name, run.returncode, report["status"])))
    stats = [line.split("RUN:", 1)[1] for line in run.output.splitlines() if line.strip().startswith("RUN:")]
    if not stats or json.loads(stats[-1])["safe_migration"] != summary:
        found.append(("layers_disagree", "%s: set_stats does not repeat the report's summary" % run.name))
    suites = {suite.get("name"): suite for suite in ElementTree.parse(str(run.report_dir / "junit.xml")).getroot()}
    migration = suites.get("migration")
    if migration is None or int(migration.get("failures")) != summary["failed"] + summary["false_success"]:
        found.append(("layers_disagree", "%s: junit.xml failures differ from the report" % run.name))
    return found


def _hygiene_checks(run, secrets):
    found = []
    if "Traceback (most recent call last)" in run.output or "MODULE FAILURE" in run.output:
        found.append(("traceback", "%s printed a traceback" % run.name))
    seen = run.output + _report_text(run)
    found += [("secret_leaked", "%s showed a secret" % run.name) for secret in secrets if secret and secret in seen]
    return found


def _record_text(record):
    if not record:
        return "(none)"
    return "%s/%s/%s" % (record.get("storageid"), record.get("path"), record.get("state"))
