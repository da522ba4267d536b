"""The campaign's schedules: a seeded, reproducible mix of plans, faults and disruptions (issue 12, part 4).

A schedule is plain data (JSON-able): the same seed and index always give the same schedule, and the runner resolves
its volume picks against the seeded lab in a fixed order, so a violation is reproduced by its seed and index alone.
"""

from __future__ import annotations

import random

# Every failure shape of the simulator (docs/cloudstack-simulator.md), as fault_next_job payloads.
JOB_FAULTS = (
    {"mode": "fail"},
    {"mode": "false_success"},
    {"mode": "false_success", "null_path": True},
    {"mode": "false_failure", "reason": "cancelled"},
    {"mode": "false_failure", "reason": "session_timeout"},
    {"mode": "false_failure", "reason": "restart"},
    {"mode": "source_left_behind"},
    {"mode": "source_removed"},
    {"mode": "slow", "seconds": 1.0},
    {"mode": "hang"},
    {"mode": "detached_disk_lost"},
)
# Lost answers and bursts of refusals, as fault_next_calls payloads.
CALL_FAULTS = (
    {"status": 429, "count": 2},
    {"status": 530, "count": 1, "command": "queryAsyncJobResult"},
    {"status": "drop", "count": 1, "command": "listVolumes"},
    {"status": "lost_answer", "count": 1, "command": "migrateVolume"},
    {"status": 429, "count": 1, "command": "migrateVolume"},
)
# What happens to the run itself: nothing, a SIGKILL of the controller at a random moment (then a re-run), a
# second run of the same plan started at the same moment, or a restart of the management server (killed, down
# for restart_seconds, up again with its database) or of vCenter (sessions ended, 503 for restart_seconds) at a
# random moment of the run (then a re-run if the run failed).
DISRUPTIONS = (None, None, None, None, "kill", "concurrent", "cloudstack_restart", "vcenter_restart")
# What a kill kills: the controller machine (ansible-playbook and every process below it: the module dies mid-step),
# or the ansible-playbook command alone (kill -9 of it): ansible-core's workers run in sessions of their own (setsid),
# so the module goes on, orphaned, and its result reaches no one.
KILL_SCOPES = ("controller", "command")
VOLUME_KINDS = ("attached", "attached", "siblings", "detached")


def schedule(seed, index):
    """The schedule number ``index`` of the campaign ``seed``."""
    rng = random.Random("%s/%s" % (seed, index))
    picks = [{"kind": kind, "rank": rng.randrange(6)} for kind in rng.sample(VOLUME_KINDS, rng.randint(1, 3))]
    return {
        "seed": seed,
        "index": index,
        "behaviour": rng.choice(("legacy", "fixed")),
        "policy": rng.choice(("fail", "restore")),
        "runner": "module" if rng.random() < 0.25 else "playbook",
        "concurrency": rng.randint(1, 3),
        "volumes": picks,
        "job_faults": [dict(rng.choice(JOB_FAULTS)) for _fault in range(rng.choice((0, 1, 1, 2)))],
        "call_faults": [dict(rng.choice(CALL_FAULTS)) for _fault in range(rng.choice((0, 0, 1)))],
        "disruption": rng.choice(DISRUPTIONS),
        "kill_after": round(rng.uniform(0.5, 6.0), 2),
        "shared_journal": rng.random() < 0.5,
        "restart_seconds": round(rng.uniform(0.5, 4.0), 2),
        # drawn last, so that the draws above are those of the schedules before it existed
        "kill_scope": rng.choice(KILL_SCOPES),
    }


def schedules(seed, count, start=0):
    return [schedule(seed, index) for index in range(start, start + count)]
