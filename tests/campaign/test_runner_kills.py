"""The campaign's two kills, on plain processes: a controller that dies takes every process of the run with it; a
killed command leaves the processes that detached their session (ansible-core's workers do) running, as orphans."""

from __future__ import annotations

import os
import signal
import subprocess
import time

from campaign.runner import _descendants, _kill_tree, _wait_for_orphans, alive  # pylint: disable=import-error

# A command with a child in its process group and a child in a session of its own, as ansible-playbook and its worker.
COMMAND = ["sh", "-c", "setsid sleep 30 & sleep 30 & wait"]


def _started():
    process = subprocess.Popen(COMMAND, start_new_session=True)
    deadline = time.monotonic() + 10
    while len(_descendants(process.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    return process, _descendants(process.pid)


def test_a_controller_kill_ends_every_process_of_the_run_even_in_another_session():
    process, below = _started()

    _kill_tree(process.pid)

    process.wait(timeout=10)
    _wait_for_orphans(below, timeout=10)
    assert len(below) == 2 and not any(alive(pid) for pid in below)


def test_the_orphans_of_a_killed_command_are_waited_for_until_they_end():
    process, below = _started()
    orphans = [pid for pid in below if os.getpgid(pid) != process.pid]

    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)

    assert len(orphans) == 1 and alive(orphans[0])  # the detached one goes on
    os.kill(orphans[0], signal.SIGTERM)
    _wait_for_orphans(orphans, timeout=10)
    assert not alive(orphans[0])
