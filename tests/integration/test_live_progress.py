"""Progress shows while a wave runs: a line per volume as it starts and as it ends, from the run's journal."""

from __future__ import annotations

import re

import pytest

from integration.lab_queries import assert_no_traceback, datastore_of  # pylint: disable=import-error
from integration.playbook_runner import lab_state, plan_of, run_playbook_timed, stopped_vm_volumes  # pylint: disable=import-error

pytestmark = pytest.mark.lab

JOB_SECONDS = 2.0


def arrival(timed, pattern, after=None):
    """When the first line matching ``pattern`` (after the first line matching ``after``) arrived, and the line."""
    start = 0 if after is None else next(index for index, (_seconds, line) in enumerate(timed) if re.search(after, line))
    return next((seconds, line) for seconds, line in timed[start:] if re.search(pattern, line))


def test_each_volume_shows_as_it_starts_and_ends_while_its_wave_runs(fresh_lab, tmp_path):
    fresh_lab.control("job_seconds", seconds=JOB_SECONDS)
    volumes = stopped_vm_volumes(fresh_lab, 2)
    run, timed = run_playbook_timed(fresh_lab, tmp_path, plan_of(volumes), "-e", "safe_migration_concurrency=1")

    assert run.returncode == 0, run.output
    assert_no_traceback(run.output)
    assert run.report()["summary"]["migrated"] == 2
    for volume in volumes:
        pool, _path, state, files = lab_state(fresh_lab, [volume])[volume["id"]]
        assert (pool, state) == (volume["destination"]["id"], "Ready")
        assert files and all(path.startswith("[%s] " % datastore_of(volume["destination"])) for path in files), files
    first, second = volumes
    for volume in volumes:
        arrival(timed, r"^progress: started %s \(%s\), [\d.]+ GiB: %s -> %s$" % (
            re.escape(volume["name"]), volume["id"], re.escape(volume["storage"]), re.escape(volume["destination"]["name"])))
    first_end = arrival(timed, r"^progress: \[1/2 done, about \d+ s left\] %s \(%s\) migrated after \d+ s$"
                        % (re.escape(first["name"]), first["id"]))
    arrival(timed, r"^progress: \[2/2 done\] %s \(%s\) migrated after \d+ s$" % (re.escape(second["name"]), second["id"]))
    wave_result = arrival(timed, r"^changed: \[localhost\]$", after=r"^TASK \[.*Migrate and verify the volumes of wave 1 of 1\]")
    # One module run migrates both, one after the other: the first volume's end shows while the second's job runs.
    assert wave_result[0] - first_end[0] >= JOB_SECONDS * 0.75, (first_end, wave_result)


def test_check_mode_shows_no_progress_and_journals_nothing(fresh_lab, tmp_path):
    volumes = stopped_vm_volumes(fresh_lab, 1)
    run = run_playbook_timed(fresh_lab, tmp_path, plan_of(volumes), "--check")[0]

    assert run.returncode == 0, run.output
    assert "progress:" not in run.output
    assert not (tmp_path / "journal.jsonl").exists()


def test_progress_off_shows_no_lines_and_migrates_the_same(fresh_lab, tmp_path):
    volumes = stopped_vm_volumes(fresh_lab, 1)
    run = run_playbook_timed(fresh_lab, tmp_path, plan_of(volumes), "-e", "safe_migration_progress=false")[0]

    assert run.returncode == 0, run.output
    assert "progress:" not in run.output
    assert run.report()["summary"]["migrated"] == 1
    pool, _path, state, _files = lab_state(fresh_lab, volumes)[volumes[0]["id"]]
    assert (pool, state) == (volumes[0]["destination"]["id"], "Ready")


def test_a_wave_cut_by_a_failure_ends_with_what_did_not_start(fresh_lab, tmp_path):
    volumes = stopped_vm_volumes(fresh_lab, 2)
    before = lab_state(fresh_lab, volumes)
    fresh_lab.control("fault_next_job", mode="fail", errortext="injected by the test")
    run = run_playbook_timed(fresh_lab, tmp_path, plan_of(volumes), "-e", "safe_migration_concurrency=1")[0]

    assert run.returncode == 2, run.output
    assert_no_traceback(run.output)
    assert re.search(r"^progress: \[1/2 done, 1 not verified\] 1 not started: a volume failed \(on_volume_failure=stop\); "
                     r"run the same plan again to go on$", run.output, re.MULTILINE), run.output
    assert [entry["outcome"] for entry in run.report()["volumes"]] == ["failed", "not_started"]
    assert lab_state(fresh_lab, volumes) == before
