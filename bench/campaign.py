"""The full randomized campaign of issue 12: seeded schedules of plans x faults x disruptions against the lab.

Run from the repository root (it starts its own labs, one per worker):

    PYTHONPATH=.venv/collections:tests .venv/bin/python bench/campaign.py --schedules 1000 [--seed 20261201] [--workers 2]
    PYTHONPATH=.venv/collections:tests .venv/bin/python bench/campaign.py --seed 20261201 --only 17   # one schedule again

Each schedule (tests/campaign/schedules.py) is run through the real migrate_volumes.yml (or the module, for a
share) by tests/campaign/runner.py and checked by tests/campaign/invariants.py against the lab's ground truth.
It prints the figures (schedules run, by runner, disruption and fault; violations by kind; time) and, for each
violation, the seed and index that reproduce it; --json writes them to a file. The CI slice of the same campaign:
tests/campaign/test_campaign.py.
"""

from __future__ import annotations

import argparse
import collections
import json
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

# This script is named like the campaign's package (tests/campaign): import the package, not the script.
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != Path(__file__).resolve().parent]

from campaign.invariants import violations  # pylint: disable=import-error,wrong-import-position
from campaign.runner import run_schedule  # pylint: disable=import-error,wrong-import-position
from campaign.schedules import schedule  # pylint: disable=import-error,wrong-import-position
from lab.fixtures import Lab  # pylint: disable=import-error,wrong-import-position

SECRET_NAMES = ("CLOUDSTACK_KEY", "CLOUDSTACK_SECRET", "VMWARE_PASSWORD", "LAB_USER_SECRET")


def _worker(seed, indexes, results):
    """One lab, a share of the schedules; one result line per schedule on the queue."""
    with tempfile.TemporaryDirectory(prefix="campaign-") as root:
        lab = Lab.up(Path(root) / "lab")
        secrets = [lab.env[name] for name in SECRET_NAMES if lab.env.get(name)]
        try:
            for index in indexes:
                plan = schedule(seed, index)
                started = time.monotonic()
                workdir = Path(root) / ("schedule-%d" % index)
                workdir.mkdir()
                try:
                    found = violations(run_schedule(lab, plan, workdir), secrets)
                except Exception as error:  # a schedule that cannot run is a violation of its own, never skipped
                    found = [("campaign_error", "%s: %s" % (type(error).__name__, error))]
                results.put({"index": index, "schedule": plan, "seconds": round(time.monotonic() - started, 2),
                             "violations": found})
        finally:
            lab.down()


def run(seed, indexes, workers):
    results = multiprocessing.Queue()
    shares = [indexes[number::workers] for number in range(workers)]
    processes = [multiprocessing.Process(target=_worker, args=(seed, share, results)) for share in shares if share]
    for process in processes:
        process.start()
    done = []
    while len(done) < len(indexes):
        item = results.get()
        done.append(item)
        mark = "ok" if not item["violations"] else "VIOLATION"
        print("schedule %d/%d (index %d): %s in %.1fs" % (len(done), len(indexes), item["index"], mark, item["seconds"]),
              flush=True)
        for kind, text in item["violations"]:
            print("  %s: %s\n  reproduce: bench/campaign.py --seed %s --only %d" % (kind, text, seed, item["index"]), flush=True)
    for process in processes:
        process.join()
    return sorted(done, key=lambda item: item["index"])


def figures(seed, done, seconds, workers):
    count = collections.Counter
    kinds = count(violation[0] for item in done for violation in item["violations"])
    return {
        "seed": seed, "schedules": len(done), "workers": workers, "seconds": round(seconds, 1),
        "violations": sum(kinds.values()), "violations_by_kind": dict(kinds),
        "schedules_with_violations": [item["index"] for item in done if item["violations"]],
        "by_runner": dict(count(item["schedule"]["runner"] for item in done)),
        "by_behaviour": dict(count(item["schedule"]["behaviour"] for item in done)),
        "by_disruption": dict(count(item["schedule"]["disruption"] or "none" for item in done)),
        "job_faults": dict(count(_fault_name(fault) for item in done for fault in item["schedule"]["job_faults"])),
        "call_faults": dict(count("%s%s" % (fault["status"], " on " + fault["command"] if fault.get("command") else "")
                                  for item in done for fault in item["schedule"]["call_faults"])),
        "volumes": sum(len(item["schedule"]["volumes"]) for item in done),
        "slowest_schedule_seconds": max((item["seconds"] for item in done), default=0),
    }


def _fault_name(fault):
    extra = fault.get("reason") or ("null_path" if fault.get("null_path") else "")
    return fault["mode"] + (" (%s)" % extra if extra else "")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--schedules", type=int, default=1000)
    parser.add_argument("--start", type=int, default=0, help="index of the first schedule")
    parser.add_argument("--only", type=int, action="append", help="run only this schedule index (repeatable)")
    parser.add_argument("--workers", type=int, default=2, help="labs run side by side")
    parser.add_argument("--json", help="write the figures and every violation to this file")
    args = parser.parse_args(argv)
    indexes = args.only or list(range(args.start, args.start + args.schedules))
    started = time.monotonic()
    done = run(args.seed, indexes, max(1, min(args.workers, len(indexes))))
    result = figures(args.seed, done, time.monotonic() - started, args.workers)
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(dict(result, details=[item for item in done if item["violations"]]), indent=2))
    return 1 if result["violations"] else 0


if __name__ == "__main__":
    sys.exit(main())
