"""The schedule keeps CloudStack's limits and the window's end, proven by what the simulator saw: its job log records
every migrateVolume with its start and end, and the peak number running at once per destination pool and per VM."""

from __future__ import annotations

import collections
import datetime
import json
import threading
import time
import urllib.request

import pytest

from integration.lab_queries import assert_no_traceback  # pylint: disable=import-error
from integration.playbook_runner import lab_state, plan_of, run_playbook, stopped_vm_volumes  # pylint: disable=import-error

pytestmark = pytest.mark.lab

THRESHOLD = "concurrent.migrations.per.target.datastore"
THRESHOLD_TEXT = "exceeded the threshold"


def job_log(lab):
    with urllib.request.urlopen("%s/control/job_log" % lab.env["LAB_CONTROL_URL"], timeout=30) as response:
        return json.loads(response.read().decode())


def migrations(lab):
    return [job for job in job_log(lab)["jobs"] if job["command"] == "migrateVolume"]


def in_flight(jobs, subject):
    """Per pool (or VM): the most of our migrateVolume jobs submitted and not yet ended at one moment."""
    peaks = {}
    for key in {job[subject] for job in jobs if job[subject]}:
        mine = [job for job in jobs if job[subject] == key]
        peaks[key] = max(sum(1 for other in mine if other["queued"] <= job["queued"] < other["ended"]) for job in mine)
    return peaks


def sharing_destinations(lab, count):
    """Volumes of ``count`` stopped VMs, those of one cluster all to one NFS pool of it (the source of none of them)."""
    volumes = stopped_vm_volumes(lab, count)
    nfs = [pool for pool in lab.admin().listStoragePools()["storagepool"] if pool["type"] == "NetworkFilesystem"]
    chosen = []
    for cluster in sorted({volume["clusterid"] for volume in volumes}):
        members = [volume for volume in volumes if volume["clusterid"] == cluster]
        pool = min((pool for pool in nfs if pool["clusterid"] == cluster),
                   key=lambda pool: (sum(volume["storageid"] == pool["id"] for volume in members), pool["name"]))
        chosen += [dict(volume, destination=pool) for volume in members if volume["storageid"] != pool["id"]]
    return chosen


def with_sibling(lab, volumes):
    """The volumes and the ROOT disk of one of their VMs (two volumes of one VM), to that volume's destination."""
    for volume in volumes:
        root = lab.admin().listVolumes(listall=True, virtualmachineid=volume["vm"]["id"], type="ROOT")["volume"][0]
        if root["storageid"] != volume["destination"]["id"]:
            return volumes + [dict(root, vm=volume["vm"], destination=volume["destination"])]
    raise AssertionError("no VM of the plan has its ROOT disk off its data disk's destination")


def module_args(volumes, **options):
    return dict({"volumes": [{"volume": volume["id"], "destination": volume["destination"]["name"]} for volume in volumes],
                 "poll_interval": 0.05, "job_timeout": 60}, **options)


def assert_all_migrated(lab, volumes, result):
    assert not result.get("failed"), result.get("msg")
    assert [entry["status"] for entry in result["volumes"]] == ["migrated"] * len(volumes)
    for volume_id, (pool_id, _path, state, files) in lab_state(lab, volumes).items():
        destination = next(volume["destination"]["id"] for volume in volumes if volume["id"] == volume_id)
        assert (pool_id, state) == (destination, "Ready") and len(files) == 1 and destination.replace("-", "") in files[0]


def test_cloudstacks_limit_per_destination_and_one_volume_per_vm_are_kept(fresh_lab, module_runner, tmp_path):
    fresh_lab.control("job_seconds", seconds=0.6)
    fresh_lab.control("configuration", name=THRESHOLD, value=1)
    volumes = with_sibling(fresh_lab, sharing_destinations(fresh_lab, 6))
    per_destination = collections.Counter(volume["destination"]["id"] for volume in volumes if volume["type"] == "DATADISK")
    assert max(per_destination.values()) >= 2, "two VMs' volumes must go to one pool, or the limit proves nothing"

    result = module_runner("cs_volume_migrate_safe", module_args(volumes, concurrency=4,
                                                                 journal_path=str(tmp_path / "journal.jsonl")), fresh_lab.env)
    assert_no_traceback(result["_output"])
    assert_all_migrated(fresh_lab, volumes, result)
    assert (result["schedule"]["per_destination"], result["schedule"][THRESHOLD]) == (1, 1)
    # submitted, not only run: CloudStack's queues would hide an excess submission (it waits there)
    assert max(in_flight(migrations(fresh_lab), "storageid").values()) == 1
    assert max(in_flight(migrations(fresh_lab), "virtualmachineid").values()) == 1
    assert not [job for job in migrations(fresh_lab) if THRESHOLD_TEXT in (job.get("errortext") or "")]
    # within the limits, the work still overlapped: two destinations at once
    assert result["schedule"]["peak"]["overall"] >= 2


def test_the_run_s_own_limit_per_destination_and_its_concurrency(fresh_lab, module_runner, tmp_path):
    fresh_lab.control("job_seconds", seconds=0.6)
    volumes = sharing_destinations(fresh_lab, 8)
    assert max(collections.Counter(volume["destination"]["id"] for volume in volumes).values()) >= 3
    result = module_runner("cs_volume_migrate_safe", module_args(volumes, concurrency=6, max_per_destination=2,
                                                                 journal_path=str(tmp_path / "journal.jsonl")), fresh_lab.env)
    assert_all_migrated(fresh_lab, volumes, result)
    assert (result["schedule"]["per_destination"], result["schedule"][THRESHOLD]) == (2, 0)
    per_pool = in_flight(migrations(fresh_lab), "storageid")
    assert max(per_pool.values()) == 2, per_pool


def test_a_plan_cut_by_the_window_end_is_resumed_next_run_with_nothing_done_twice(fresh_lab, tmp_path):
    fresh_lab.control("job_seconds", seconds=0.05)
    volumes = stopped_vm_volumes(fresh_lab, 3)
    fresh_lab.control("fault_next_job", mode="hang")
    end = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=25)
    window = end.isoformat(timespec="seconds")
    runs = []
    first = threading.Thread(target=lambda: runs.append(run_playbook(
        fresh_lab, tmp_path, plan_of(volumes), "-e", "safe_migration_window_end=%s" % window,
        "-e", "safe_migration_concurrency=1", "-e", "safe_migration_wave_size=1")))
    first.start()
    deadline = time.monotonic() + 25
    while not migrations(fresh_lab) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert migrations(fresh_lab), "the first migration did not start within the window"
    time.sleep(max(0.0, (end - datetime.datetime.now(datetime.timezone.utc)).total_seconds()) + 0.5)
    fresh_lab.control("release_jobs")  # the running one finishes after the window's end, and is verified
    first.join()
    run = runs[0]
    report = run.report()
    assert run.returncode == 2 and report["status"] == "window_ended", run.output
    assert report["headline"].startswith("WINDOW ENDED at %s: 1 of 3 planned volume(s) verified" % end.isoformat(timespec="seconds"))
    assert [volume["outcome"] for volume in report["volumes"]] == ["migrated", "not_started", "not_started"]
    assert report["next_plan"] == [{"volume": volume["id"], "destination": volume["destination"]["name"]} for volume in volumes[1:]]
    assert "## Left to run" in (run.report_dir / "report.md").read_text()
    assert len(migrations(fresh_lab)) == 1, "nothing starts after the window's end"

    again = run_playbook(fresh_lab, tmp_path, plan_of(volumes), name="again")
    assert again.returncode == 0 and again.report()["status"] == "succeeded", again.output
    assert [volume["outcome"] for volume in again.report()["volumes"]] == ["already_in_place", "migrated", "migrated"]
    jobs = migrations(fresh_lab)
    assert sorted(job["volumeid"] for job in jobs) == sorted(volume["id"] for volume in volumes), "each volume moved once"
