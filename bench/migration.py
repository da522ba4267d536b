"""Benchmark of a maintenance window: migrate_volumes.yml and the migration service on the lab, at scale.

Run from the repository root (it starts its own lab in a dedicated directory under /tmp, or reuses one that
already runs there):

    PYTHONPATH=.venv/collections:tests .venv/bin/python bench/migration.py

The lab: --vms VMs of 1 ROOT and 1 data disk over --pools NFS pools in 2 clusters, built without delay, then
--delay-ms added to every SOAP call and --job-seconds to every CloudStack job. Each run picks data disks of
distinct stopped VMs, each to another NFS pool of its cluster, round robin over the pools (a volume moved by an
earlier run simply moves again). Two kinds of run:
- the service (VolumeMigrationService, the code path of cs_volume_migrate_safe) in this process, with SOAP calls
  counted by method (wrapping pyVmomi's SoapStubAdapter.InvokeMethod) and CloudStack requests by command
  (wrapping cs's CloudStack._send): how the calls grow with the number of volumes;
- the real playbook (ansible-playbook playbooks/migrate_volumes.yml, preflight, waves, report) with the
  playbook's defaults except those given: wall time against the ideal ceil(volumes / concurrency) x job time.
Every run must end with every volume migrated and verified, or the benchmark stops: a failing run measures nothing.
Figures go to docs/benchmarks-migration.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from drift_audit import CloudStackCalls, machine  # pylint: disable=import-error

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._cloudstack import client as cloudstack_client
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._cloudstack.arguments import CloudStackSettings
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.journal import Journal
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter import client as vcenter_client
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.arguments import VCenterSettings
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.disks import VCenterDisks
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.migration import VolumeMigrationService
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.options import (
    MigrationOptions,
    MigrationRequest,
)
from integration.vcenter_lab import SoapCalls  # pylint: disable=import-error
from lab.fixtures import Lab

REPO = Path(__file__).resolve().parents[1]
DEFAULT_LAB_DIR = Path("/tmp/safe-migration-bench-migration")


def pick_volumes(lab, count, turn):
    """Data disks of ``count`` distinct stopped VMs, each with another NFS pool of its cluster (round robin)."""
    admin = lab.admin()
    # every page: CloudStack answers 500 items a page by default
    pools = [pool for pool in admin.listStoragePools(fetch_list=True) if pool["type"] == "NetworkFilesystem"]
    stopped = {vm["id"] for vm in admin.listVirtualMachines(listall=True, state="Stopped", fetch_list=True)}
    chosen = []
    for volume in admin.listVolumes(listall=True, type="DATADISK", fetch_list=True):
        if volume.get("virtualmachineid") not in stopped:
            continue
        candidates = sorted((pool for pool in pools if pool["clusterid"] == volume["clusterid"] and pool["id"] != volume["storageid"]),
                            key=lambda pool: pool["name"])
        chosen.append({"id": volume["id"], "name": volume["name"],
                       "destination": candidates[(turn + len(chosen)) % len(candidates)]})
        stopped.discard(volume["virtualmachineid"])
        if len(chosen) == count:
            return chosen
    raise SystemExit("the lab has fewer than %d stopped VMs with a data disk: raise --vms" % count)


def run_service(lab, volumes, concurrency, workdir):
    """The migration service in this process: seconds, SOAP calls and CloudStack requests by name."""
    env = lab.env
    cloudstack = cloudstack_client.connect(CloudStackSettings(endpoint=env["CLOUDSTACK_ENDPOINT"], key=env["CLOUDSTACK_KEY"],
                                                              secret=env["CLOUDSTACK_SECRET"]))
    settings = VCenterSettings(hostname=env["VMWARE_HOST"], port=int(env["VMWARE_PORT"]), username=env["VMWARE_USER"],
                               password=env["VMWARE_PASSWORD"], ca_cert=env["VMWARE_CA_CERT"])
    with SoapCalls() as soap, CloudStackCalls() as api:
        started = time.perf_counter()
        vcenter = vcenter_client.connect(settings)
        try:
            service = VolumeMigrationService(cloudstack, VCenterDisks(vcenter), Journal(str(workdir / "journal.jsonl")),
                                             MigrationOptions(concurrency=concurrency), cloud=env["CLOUDSTACK_ENDPOINT"],
                                             lock_directory=str(workdir / "locks"))
            result = service.run([MigrationRequest(volume["id"], volume["destination"]["id"]) for volume in volumes])
        finally:
            vcenter.close()
        seconds = time.perf_counter() - started
    statuses = sorted({entry["status"] for entry in result["volumes"]})
    if statuses != ["migrated"]:
        raise SystemExit("the service run did not migrate every volume: %s" % statuses)
    return {"seconds": seconds, "soap": dict(soap.by_method), "api": dict(api.by_command), "peak": result["schedule"]["peak"]["overall"]}


def run_playbook(lab, volumes, settings, workdir):
    """ansible-playbook migrate_volumes.yml as an operator runs it: wall seconds and the report's summary."""
    plan_file = workdir / "plan.json"
    plan_file.write_text(json.dumps({"safe_migration_plan": [{"volume": volume["id"], "destination": volume["destination"]["name"]}
                                                             for volume in volumes]}))
    env = dict(os.environ, **lab.env)
    env.update(ANSIBLE_COLLECTIONS_PATH=str(REPO / ".venv" / "collections"), ANSIBLE_PYTHON_INTERPRETER=sys.executable,
               ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_HOME=str(workdir / "ansible-home"))
    command = [str(Path(sys.executable).parent / "ansible-playbook"), str(REPO / "playbooks" / "migrate_volumes.yml"),
               "-e", "@%s" % plan_file, "-e", "safe_migration_report_dir=%s" % (workdir / "report"),
               "-e", "safe_migration_journal_path=%s" % (workdir / "journal.jsonl")]
    for name, value in settings.items():
        command += ["-e", "safe_migration_%s=%s" % (name, value)]
    started, started_at = time.perf_counter(), time.time()
    completed = subprocess.run(command, env=env, cwd=str(workdir), capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    report = workdir / "report" / "report.json"
    summary = json.loads(report.read_text())["summary"] if report.exists() else {}
    if completed.returncode != 0 or summary.get("migrated") != len(volumes):
        raise SystemExit("the playbook run failed (exit %d, summary %s):\n%s" % (
            completed.returncode, summary, (completed.stdout + completed.stderr)[-4000:]))
    return {"seconds": seconds, "summary": summary, "window": migration_window(workdir / "journal.jsonl"),
            "job_seconds_seen": lab_job_seconds(lab, started_at)}


def lab_job_seconds(lab, since):
    """How long the simulator's migrateVolume jobs queued since ``since`` (epoch seconds) lasted, started to ended,
    sorted: at least the job time asked for, more when its vCenter work took longer (vcsim's own cost)."""
    with urllib.request.urlopen("%s/control/job_log" % lab.env["LAB_CONTROL_URL"], timeout=30) as response:
        jobs = json.loads(response.read().decode())["jobs"]
    return sorted(job["ended"] - job["started"] for job in jobs if job["command"].lower() == "migratevolume"
                  and job["queued"] >= since and job["started"] and job["ended"])


def migration_window(journal_path):
    """Seconds from the first volume's plan to the last volume's outcome, by the journal (the preflight, in check mode,
    writes none of it): the part of the run that the jobs make."""
    stamps = {"plan": [], "outcome": []}
    for line in journal_path.read_text().splitlines():
        entry = json.loads(line)
        if entry.get("event") in stamps:
            stamps[entry["event"]].append(entry["ts"])
    return max(stamps["outcome"]) - min(stamps["plan"])


def per_added_volume(playbook_runs):
    """[(smaller run, larger run)] of runs alike but for their number of volumes: what each volume more costs."""
    pairs = []
    for larger in playbook_runs:
        alike = [run for run in playbook_runs if run["volumes"] < larger["volumes"] and all(
            run[key] == larger[key] for key in ("concurrency", "job_seconds", "settings"))]
        if alike:
            pairs.append((max(alike, key=lambda run: run["volumes"]), larger))
    return pairs


def parse_matrix(text):
    """'100:10:3,100:10:3:5,100:10:3::finish_wave' -> [(volumes, concurrency, job seconds, wave size or None,
    on_volume_failure or None), ...]"""
    rows = []
    for item in text.split(","):
        volumes, concurrency, job_seconds, *rest = item.split(":")
        wave_size, on_volume_failure = (rest + ["", ""])[:2]
        rows.append((int(volumes), int(concurrency), float(job_seconds), int(wave_size) if wave_size else None,
                     on_volume_failure or None))
    return rows


def _counts(by_name):
    return ", ".join("%s %d" % (name, count) for name, count in sorted(by_name.items(), key=lambda item: (-item[1], item[0])))


def _waves_of_jobs(run):
    """ceil(volumes / concurrency): how many jobs each place runs one after another."""
    return math.ceil(run["volumes"] / run["concurrency"])


def _ideal(run):
    """What the jobs alone need: ceil(volumes / concurrency) x job time."""
    return _waves_of_jobs(run) * run["job_seconds"]


def _settings(run):
    return ", ".join("%s=%s" % item for item in sorted(run["settings"].items()) if item[0] != "concurrency") or "defaults"


def render(args, service_runs, playbook_runs, lab_seconds, load, command):
    lines = [
        "# Benchmark: migration (migrate_volumes.yml and cs_volume_migrate_safe's service)",
        "",
        "Generated by `bench/migration.py`; do not edit by hand, re-run it (see below).",
        "",
        "The lab: %d VMs (1 ROOT and 1 data disk each) on %d NFS pools in 2 clusters; %d ms added to every SOAP call "
        "after the inventory was built; CloudStack jobs of the time given per row (a migrateVolume job of the simulator "
        "lasts that time at least, its vCenter work included: it waits that time less what the last migrations' vCenter "
        "work took, half of it before any, then after its work what is left of that time). Each run migrates data disks of "
        "distinct stopped VMs, each to another pool of its cluster, round robin over the pools. Every run below ended "
        "with every volume migrated and verified against vCenter (the benchmark stops otherwise)." % (
            args.vms, args.pools, args.delay_ms),
        "",
        "## How the calls grow with the plan (the service, in process)",
        "",
        "`VolumeMigrationService.run`, the code path of `cs_volume_migrate_safe`, with a vCenter login and logout; "
        "the module's defaults (poll interval 5 s growing 1.5x) and concurrency %d." % args.service_concurrency,
        "",
        "| volumes | job time | time | SOAP calls | SOAP calls per volume (over the smallest run) "
        "| inventory reads (CreateContainerView) | CloudStack requests | jobs in flight at peak |",
        "|--------:|---------:|-----:|-----------:|------:|------:|------:|------:|",
    ]
    smallest = service_runs[0]
    for run in service_runs:
        soap_total, api_total = sum(run["soap"].values()), sum(run["api"].values())
        extra = run["volumes"] - smallest["volumes"]
        per_volume = "%.1f" % ((soap_total - sum(smallest["soap"].values())) / extra) if extra else "-"
        lines.append("| %d | %.0f s | %.1f s | %d | %s | %d | %d | %d |" % (
            run["volumes"], args.service_job_seconds, run["seconds"], soap_total, per_volume,
            run["soap"].get("CreateContainerView", 0), api_total, run["peak"]))
    lines += ["", "By name, largest run (%d volumes): SOAP %s; CloudStack %s." % (
        service_runs[-1]["volumes"], _counts(service_runs[-1]["soap"]), _counts(service_runs[-1]["api"])), ""]
    lines += [
        "## The playbook, end to end",
        "",
        "`ansible-playbook playbooks/migrate_volumes.yml` (options check, preflight through CloudStack and vCenter, "
        "waves of `cs_volume_migrate_safe`, report), wall time of the whole command. Ideal: ceil(volumes / "
        "concurrency) x job time, what the jobs alone need. Settings not shown are the playbook's defaults "
        "(`wave_size` 100, `on_volume_failure` stop, `poll_interval` 5).",
        "",
        "| volumes | concurrency | job time | settings | time | ideal | time / ideal | overhead per volume "
        "| migration window | window / ideal | before and after the window | the lab's jobs lasted (median, max) "
        "| window / ideal by those jobs |",
        "|--------:|------------:|---------:|----------|-----:|------:|-------------:|--------------------:"
        "|-----------------:|---------------:|----------------------------:|------:|------:|",
    ]
    for run in playbook_runs:
        ideal = _ideal(run)
        seen = run["job_seconds_seen"]
        median_job = seen[len(seen) // 2]
        lines.append("| %d | %d | %.0f s | %s | %.1f s | %.0f s | %s | %.2f s | %.1f s | %s | %.1f s | %.1f s, %.1f s | %.2f |" % (
            run["volumes"], run["concurrency"], run["job_seconds"], _settings(run), run["seconds"], ideal,
            "%.2f" % (run["seconds"] / ideal) if ideal else "-", (run["seconds"] - ideal) / run["volumes"],
            run["window"], "%.2f" % (run["window"] / ideal) if ideal else "-", run["seconds"] - run["window"],
            median_job, seen[-1], run["window"] / (_waves_of_jobs(run) * median_job)))
    lines += [
        "",
        "Overhead per volume: (time - ideal) / volumes, the playbook's own cost spread over the plan (the preflight, "
        "the waits between waves and polls, the verification, the report). Migration window: from the first volume's "
        "plan to the last volume's outcome in the run's journal (the preflight runs in check mode and writes none); "
        "before and after it: the playbook's start, the preflight's three module runs, the migration module's start "
        "(login, inventory read, CloudStack lookups) and the report. The lab's jobs: how long the simulator's "
        "migrateVolume jobs of the run lasted, started to ended (its job log); a job lasts the job time at least, and "
        "longer when vcsim's relocation of the disk takes longer than that (a 0-s job is that relocation alone); "
        "window / ideal by those jobs: the window over ceil(volumes / concurrency) x their median.",
        "",
        "What one volume more costs, between runs alike but for their number of volumes (time less the ideal, and the "
        "window less the ideal, of the larger run less those of the smaller, over the volumes added):",
        "",
        "| concurrency | job time | settings | volumes | overhead per added volume | window overhead per added volume |",
        "|------------:|---------:|----------|--------:|--------------------------:|---------------------------------:|",
    ]
    for smaller, larger in per_added_volume(playbook_runs):
        added, ideal_added = larger["volumes"] - smaller["volumes"], _ideal(larger) - _ideal(smaller)
        lines.append("| %d | %.0f s | %s | %d to %d | %.2f s | %.2f s |" % (
            larger["concurrency"], larger["job_seconds"], _settings(larger), smaller["volumes"], larger["volumes"],
            (larger["seconds"] - smaller["seconds"] - ideal_added) / added,
            (larger["window"] - smaller["window"] - ideal_added) / added))
    lines += [
        "",
        "Goals (issue 13): time at most 1.15 x the ideal, an overhead of at most 0.2 s per volume, and calls that are a "
        "constant per run plus a constant per volume. How the playbook spends its time: the preflight (the plan "
        "resolved in CloudStack, one vCenter inventory check, every volume's checks in check mode), then each wave "
        "(`wave_size` volumes, at least `concurrency`) is one module run (a login, an inventory read, the CloudStack "
        "lookups, then a rolling window of `concurrency` volumes) that waits for its slowest volume before the next "
        "wave starts; the first jobs of a wave are polled every second up to the first backoff step (5 s), the "
        "later ones 0.25 s after their expected end (the mean time of the wave's succeeded jobs, in CloudStack's whole seconds), then "
        "every quarter second for a second, then at steps of a tenth of it (at least 1 s). With "
        "`on_volume_failure=finish_wave`, a volume whose job has ended leaves its place to the next volume's job while "
        "it is verified; with `stop` (the default) it keeps its place until verified, so that no volume starts before "
        "a failure of the one before is known.",
        "",
        "Bringing the lab up took %.0f s." % lab_seconds,
        "",
        machine(load),
        "",
        "Re-run (from the repository root):",
        "",
        "    %s" % command,
        "",
    ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--lab-dir", type=Path, default=DEFAULT_LAB_DIR)
    parser.add_argument("--vms", type=int, default=1000)
    parser.add_argument("--pools", type=int, default=20)
    parser.add_argument("--delay-ms", type=int, default=20)
    parser.add_argument("--service-volumes", default="10,100", help="plan sizes of the counted service runs")
    parser.add_argument("--service-concurrency", type=int, default=10)
    parser.add_argument("--service-job-seconds", type=float, default=3.0)
    parser.add_argument("--playbook-runs", default="10:10:3,100:10:3,100:20:3,100:10:0,100:10:3:5",
                        help="volumes:concurrency:job seconds[:wave size[:on_volume_failure]] of each playbook run")
    parser.add_argument("--wave-size", default="", help="safe_migration_wave_size for the playbook runs (default: the playbook's)")
    parser.add_argument("--on-volume-failure", default="", help="safe_migration_on_volume_failure (default: the playbook's)")
    parser.add_argument("--keep-lab", action="store_true", help="leave the lab running at the end")
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "benchmarks-migration.md")
    args = parser.parse_args(argv)
    load = {"before": os.getloadavg()[0]}
    started = time.perf_counter()
    lab = Lab.up(args.lab_dir, behaviour="legacy", vcenter_delay_ms=0, job_seconds=args.service_job_seconds, clusters=2,
                 hosts_per_cluster=2, pools=args.pools, vms=args.vms, data_disks_per_vm=1, detached_volumes=0)
    lab_seconds = time.perf_counter() - started
    service_runs, playbook_runs = [], []
    try:
        lab.vsphere.vsphere.set_delay(args.delay_ms)
        with tempfile.TemporaryDirectory(prefix="bench-migration-") as scratch:
            turn = 0
            for count in (int(size) for size in args.service_volumes.split(",")):
                workdir = Path(scratch) / ("service-%d" % turn)
                workdir.mkdir()
                run = run_service(lab, pick_volumes(lab, count, turn), args.service_concurrency, workdir)
                service_runs.append(dict(run, volumes=count))
                print("service, %d volumes: %.1f s, %d SOAP calls, %d CloudStack requests" % (
                    count, run["seconds"], sum(run["soap"].values()), sum(run["api"].values())), flush=True)
                turn += 1
            for count, concurrency, job_seconds, wave_size, on_volume_failure in parse_matrix(args.playbook_runs):
                lab.control("job_seconds", seconds=job_seconds)
                settings = {"concurrency": concurrency}
                if wave_size or args.wave_size:
                    settings["wave_size"] = wave_size or args.wave_size
                if on_volume_failure or args.on_volume_failure:
                    settings["on_volume_failure"] = on_volume_failure or args.on_volume_failure
                workdir = Path(scratch) / ("playbook-%d" % turn)
                workdir.mkdir()
                run = run_playbook(lab, pick_volumes(lab, count, turn), settings, workdir)
                playbook_runs.append(dict(run, volumes=count, concurrency=concurrency, job_seconds=job_seconds, settings=settings))
                print("playbook, %d volumes, concurrency %d, jobs %.0f s: %.1f s" % (count, concurrency, job_seconds, run["seconds"]),
                      flush=True)
                turn += 1
    finally:
        if not args.keep_lab:
            lab.down()
    load["after"] = os.getloadavg()[0]
    command = "PYTHONPATH=.venv/collections:tests .venv/bin/python bench/migration.py %s" % " ".join(
        argv if argv is not None else sys.argv[1:])
    args.output.write_text(render(args, service_runs, playbook_runs, lab_seconds, load, command.strip()))
    print("written to %s" % args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
