"""Seeded plans with random mistakes, fed to playbooks/migrate_volumes.yml as an operator would at 3 a.m.

Every plan with a bad entry or a bad option must fail before anything changes (non-zero exit, each bad
entry named by its position, the lab's records untouched, no job submitted); every good plan's report
must account for every entry. Good plans run in check mode (read-only, so the lab is shared), and a few
of them for real on a fresh lab. A failure prints the seed and the plan that reproduce it:

    PLAN_MISTAKES_SEED=<seed> PLAN_MISTAKES_PLANS=<n> pytest tests/integration/test_plan_mistakes.py
"""

from __future__ import annotations

import json
import os
import random
import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from integration.lab_queries import assert_no_traceback  # pylint: disable=import-error
from integration.playbook_runner import run_playbook  # pylint: disable=import-error

pytestmark = pytest.mark.lab

SEED = int(os.environ.get("PLAN_MISTAKES_SEED", "20261201"))
PLANS = int(os.environ.get("PLAN_MISTAKES_PLANS", "200"))
REAL_RUNS = 3
PARALLEL_RUNS = 2

ENTRY_MISTAKES = ("unknown_volume", "typo_volume", "unknown_destination", "typo_destination", "misspelt_key",
                  "volume_and_source_pool", "no_destination", "not_a_dict", "wrong_type", "two_destinations",
                  "unknown_source_pool", "exclude_unknown")
OPTION_MISTAKES = (("safe_migration_on_false_success", "restor"), ("safe_migration_on_volume_failure", "finish"),
                   ("safe_migration_concurrency", "0"), ("safe_migration_wave_size", "0"),
                   ("safe_migration_job_timeout", "0"), ("safe_migration_job_timeout", "-5"),
                   ("safe_migration_poll_interval", "0"))


class LabFacts:
    """What the generator draws from: volumes of stopped admin VMs with a destination in their cluster."""

    def __init__(self, lab):
        admin = lab.admin()
        pools = admin.listStoragePools()["storagepool"]
        vms = {vm["id"]: vm for vm in admin.listVirtualMachines(listall=True)["virtualmachine"]}
        self.pools = sorted(pool["name"] for pool in pools)
        self.movable = []
        for volume in admin.listVolumes(listall=True)["volume"]:
            vm = vms.get(volume.get("virtualmachineid"))
            if not vm or vm["state"] != "Stopped" or vm["account"] != "admin":
                continue
            destinations = sorted(pool["name"] for pool in pools if pool["clusterid"] == volume["clusterid"]
                                  and pool["id"] != volume["storageid"] and pool["type"] == "NetworkFilesystem")
            if destinations:
                self.movable.append({"volume": volume, "vm": vm, "destinations": destinations})
        self.movable.sort(key=lambda item: item["volume"]["id"])


class Plan:
    def __init__(self, number, entries, options, bad_positions, bad_options, good_volumes):
        self.number = number
        self.entries = entries
        self.options = options                  # ["-e", "name=value", ...]
        self.bad_positions = bad_positions      # 1-based positions of the bad entries
        self.bad_options = bad_options          # variable names given a bad value
        self.good_volumes = good_volumes        # {volume id: destination name} of the good entries

    @property
    def bad(self):
        return bool(self.bad_positions or self.bad_options)

    def describe(self):
        return "plan %d (seed %d): %s %s" % (self.number, SEED, json.dumps(self.entries), " ".join(self.options))


def _good_entry(rng, facts, used):
    choice = rng.choice([item for item in facts.movable if item["volume"]["id"] not in used])
    used.add(choice["volume"]["id"])
    destination = rng.choice(choice["destinations"])
    if rng.random() < 0.5:
        entry = {"volume": choice["volume"]["id"], "destination": destination}
    else:
        entry = {"volume": choice["volume"]["name"], "vm": choice["vm"]["name"], "destination": destination}
    return entry, choice["volume"]["id"], destination


def _typo(rng, text):
    position = rng.randrange(len(text))
    return text[:position] + text[position + 1:] if rng.random() < 0.5 else text[:position] + "x" + text[position:]


def _bad_entries(rng, facts, used, kind):
    """One or two entries that carry `kind` of mistake; the last one is the bad one."""
    entry, volume_id, destination = _good_entry(rng, facts, used)
    if kind == "unknown_volume":
        entry["volume"] = "DATA-%d" % rng.randrange(90000, 99999)
    elif kind == "typo_volume":
        entry["volume"] = _typo(rng, entry["volume"])
    elif kind == "unknown_destination":
        entry["destination"] = "nfs-primary-%d" % rng.randrange(50, 99)
    elif kind == "typo_destination":
        entry["destination"] = _typo(rng, destination)
    elif kind == "misspelt_key":
        key = rng.choice([key for key in entry if key != "volume"] + ["volume"])
        entry[_typo(rng, key)] = entry.pop(key)
    elif kind == "volume_and_source_pool":
        entry["source_pool"] = rng.choice(facts.pools)
    elif kind == "no_destination":
        del entry["destination"]
    elif kind == "not_a_dict":
        entry = rng.choice(["%s -> %s" % (entry["volume"], destination), [entry["volume"], destination]])
    elif kind == "wrong_type":
        entry[rng.choice(["volume", "destination"])] = rng.choice([12345, ["a", "b"], {"name": "x"}])
    elif kind == "two_destinations":
        other = dict(entry, destination=next(name for name in facts.pools if name != destination))
        return [entry, other]
    elif kind == "unknown_source_pool":
        entry = {"source_pool": "nfs-primary-%d" % rng.randrange(50, 99), "destination": destination}
    elif kind == "exclude_unknown":
        entry = {"source_pool": rng.choice(facts.pools), "destination": destination,
                 "exclude": ["DATA-%d" % rng.randrange(90000, 99999)]}
    return [entry]


def generate(facts, number):
    rng = random.Random("%d-%d" % (SEED, number))
    used, entries, bad_positions, good = set(), [], [], {}
    for _good in range(rng.randint(1, 3)):
        entry, volume_id, destination = _good_entry(rng, facts, used)
        entries.append(entry)
        good[volume_id] = destination
    options, bad_options = [], []
    if rng.random() < 0.75:
        for _mistake in range(rng.randint(1, 2)):
            group = _bad_entries(rng, facts, used, rng.choice(ENTRY_MISTAKES))
            position = rng.randint(0, len(entries))
            entries[position:position] = group
            bad_positions = [p if p <= position else p + len(group) for p in bad_positions]
            bad_positions.append(position + len(group))
    if rng.random() < 0.2:
        name, value = rng.choice(OPTION_MISTAKES)
        options += ["-e", "%s=%s" % (name, value)]
        bad_options.append(name)
    return Plan(number, entries, options, sorted(bad_positions), bad_options, good)


def _journal_submissions(path):
    if not path.exists():
        return []
    return [line for line in path.read_text(errors="replace").splitlines() if '"job_submitting"' in line]


def check_plan(lab, tmp_path, plan, records_before):
    """The invariants for one plan; returns the list of violations (empty when it holds)."""
    work = tmp_path / ("plan-%03d" % plan.number)
    work.mkdir()
    run = run_playbook(lab, work, plan.entries, *plan.options, check=not plan.bad)
    problems = []
    try:
        assert_no_traceback(run.output)
    except AssertionError as error:
        problems.append(str(error))
    if plan.bad:
        if run.returncode == 0:
            problems.append("a bad plan ended with exit code 0")
        # Options are checked first, before CloudStack is read: with a bad option the entries are not resolved yet.
        for position in [] if plan.bad_options else plan.bad_positions:
            if not re.search(r"\bentry %d\b" % position, run.output, re.IGNORECASE):
                problems.append("the output does not name entry %d" % position)
        for name in plan.bad_options:
            if name not in run.output:
                problems.append("the output does not name the variable %s" % name)
        if _journal_submissions(work / "journal.jsonl"):
            problems.append("a job was submitted for a bad plan")
        if lab.records() != records_before:
            problems.append("the lab's records changed")
        report_file = run.report_dir / "report.json"
        if report_file.exists() and json.loads(report_file.read_text())["status"] in ("succeeded", "nothing_to_do"):
            problems.append("report.json of a bad plan says %s" % json.loads(report_file.read_text())["status"])
    else:
        problems += _report_accounts_for_every_entry(run, plan, expected_status="checked")
    return ["%s: %s\n%s" % (plan.describe(), problem, run.output[-3000:]) for problem in problems]


def _report_accounts_for_every_entry(run, plan, expected_status):
    if run.returncode != 0:
        return ["a good plan ended with exit code %d" % run.returncode]
    if not (run.report_dir / "report.json").exists():
        return ["a good plan left no report.json"]
    report = run.report()
    problems = []
    if report["status"] != expected_status:
        problems.append("report status %s, expected %s" % (report["status"], expected_status))
    entries = report.get("entries", [])
    if len(entries) != len(plan.entries):
        problems.append("%d plan entries, %d reported" % (len(plan.entries), len(entries)))
    reported = {volume_id for entry in entries for volume_id in entry.get("volume_ids", [])}
    if reported != set(plan.good_volumes):
        problems.append("volumes accounted %s, planned %s" % (sorted(reported), sorted(plan.good_volumes)))
    if {volume["volume_id"] for volume in report["volumes"]} != set(plan.good_volumes):
        problems.append("report volumes differ from the plan's")
    return problems


def test_every_bad_plan_fails_before_any_change_and_every_good_plan_is_accounted_for(lab, tmp_path):
    lab.reset()
    facts = LabFacts(lab)
    plans = [generate(facts, number) for number in range(PLANS)]
    assert sum(plan.bad for plan in plans) >= PLANS // 2 and sum(not plan.bad for plan in plans) >= PLANS // 10
    records_before = lab.records()

    with ThreadPoolExecutor(PARALLEL_RUNS) as pool:
        violations = [problem for found in pool.map(lambda plan: check_plan(lab, tmp_path, plan, records_before), plans)
                      for problem in found]

    assert not violations, "%d violation(s):\n\n%s" % (len(violations), "\n\n".join(violations[:5]))


def test_good_generated_plans_migrate_for_real_and_the_report_accounts_for_every_entry(lab, tmp_path):
    lab.reset()
    facts = LabFacts(lab)
    good = [plan for plan in (generate(facts, number) for number in range(PLANS)) if not plan.bad][:REAL_RUNS]
    for plan in good:
        lab.reset()
        work = tmp_path / ("real-%03d" % plan.number)
        work.mkdir()

        run = run_playbook(lab, work, plan.entries)

        assert _report_accounts_for_every_entry(run, plan, expected_status="succeeded") == [], plan.describe()
        records = lab.records()
        pools = {pool["name"]: pool["id"] for pool in lab.admin().listStoragePools()["storagepool"]}
        for volume_id, destination in plan.good_volumes.items():
            record = records[volume_id]
            assert (record["storageid"], record["state"]) == (pools[destination], "Ready"), plan.describe()
            assert [location.split("]")[0].strip("[") for location in lab.vmdk_locations(record["path"])] == [
                pools[destination].replace("-", "")], plan.describe()
