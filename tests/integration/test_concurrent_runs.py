"""Two maintenance-window runs started at once on the same plan: never two migrateVolume jobs for one volume, and
neither run reports a false success. Both runs go through migrate_volumes.yml, as two operators would start them."""

from __future__ import annotations

import threading

import pytest

from integration.playbook_runner import plan_of, run_playbook, stopped_vm_volumes  # pylint: disable=import-error

pytestmark = pytest.mark.lab


def migrate_jobs(lab):
    jobs = lab.admin().listAsyncJobs(listall=True).get("asyncjobs", [])
    return [job for job in jobs if job["cmd"].endswith("MigrateVolumeCmdByAdmin")]


def run_both(lab, tmp_path, plan, journals):
    """Start two runs at the same moment; return them once both ended."""
    runs, threads = [None, None], []
    for index in (0, 1):
        workdir = tmp_path / ("run%d" % index)
        workdir.mkdir()

        def run(index=index, workdir=workdir):
            runs[index] = run_playbook(lab, workdir, plan, "-e", "safe_migration_journal_path=%s" % journals[index])
        threads.append(threading.Thread(target=run))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return runs


@pytest.mark.parametrize("shared_journal", [True, False], ids=["same-journal", "own-journals"])
def test_two_runs_at_once_submit_each_volume_once_and_tell_the_truth(fresh_lab, tmp_path, shared_journal):
    fresh_lab.control("job_seconds", seconds=2)
    volumes = stopped_vm_volumes(fresh_lab, 2)
    journals = [tmp_path / "journal.jsonl"] * 2 if shared_journal else [tmp_path / "a.jsonl", tmp_path / "b.jsonl"]
    runs = run_both(fresh_lab, tmp_path, plan_of(volumes), journals)

    jobs = migrate_jobs(fresh_lab)
    assert sorted(job["jobinstanceid"] for job in jobs) == sorted(volume["id"] for volume in volumes), \
        "each volume is submitted exactly once:\n%s\n%s" % (runs[0].output, runs[1].output)
    records = fresh_lab.records()
    for volume in volumes:
        record = records[volume["id"]]
        assert record["storageid"] == volume["destination"]["id"] and record["state"] == "Ready"
        assert any(volume["destination"]["id"].replace("-", "") in place for place in fresh_lab.vmdk_locations(record["path"]))
    reports = [run.report() for run in runs]
    for run, report in zip(runs, reports):
        summary = report["summary"]
        assert summary["false_success"] == 0, run.output
        assert (run.returncode == 0) == (report["status"] == "succeeded"), run.output
        assert "Traceback" not in run.output
        if run.returncode != 0:
            # the run that lost the race says why, and that it changed nothing
            assert "Another run is working on" in run.output or "changed after it was planned" in run.output, run.output
    migrated = sum(report["summary"]["migrated"] for report in reports)
    assert migrated == len(volumes), "each volume is reported migrated by exactly one run"
