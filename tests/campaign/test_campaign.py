"""The randomized campaign's fixed slice for CI: seeded schedules of plans x faults x disruptions, each run through
the real playbook (or the module) against the lab and checked against its ground truth (tests/campaign/invariants.py).

The full campaign: ``python bench/campaign.py --schedules 1000`` (docs/reliability.md). A failing schedule prints
its seed and index; ``python bench/campaign.py --seed S --only I`` runs it again.
"""

from __future__ import annotations

import json
import os

import pytest

from campaign.invariants import violations  # pylint: disable=import-error
from campaign.runner import run_schedule  # pylint: disable=import-error
from campaign.schedules import schedules  # pylint: disable=import-error

pytestmark = pytest.mark.lab

SEED = int(os.environ.get("CAMPAIGN_SEED", "20261201"))
COUNT = int(os.environ.get("CAMPAIGN_SCHEDULES", "50"))


def lab_secrets(lab):
    return [lab.env[name] for name in ("CLOUDSTACK_KEY", "CLOUDSTACK_SECRET", "VMWARE_PASSWORD", "LAB_USER_SECRET")
            if lab.env.get(name)]


@pytest.mark.parametrize("schedule", schedules(SEED, COUNT), ids=lambda schedule: "seed%s-%s" % (schedule["seed"], schedule["index"]))
def test_schedule_keeps_every_invariant(lab, tmp_path, schedule):
    try:
        evidence = run_schedule(lab, schedule, tmp_path)
        found = violations(evidence, lab_secrets(lab))
    finally:
        lab.reset()  # the session's lab is shared with other test files: leave it as seeded
    assert not found, "seed %s schedule %s (%s):\n%s\n--- outputs:\n%s" % (
        schedule["seed"], schedule["index"], json.dumps(schedule), "\n".join("%s: %s" % item for item in found),
        "\n".join("== %s (rc %s)\n%s" % (run.name, run.returncode, run.output[-3000:]) for run in evidence["runs"]))
