"""Benchmark of the drift audit (cs_vmware_drift_info) on the lab with about 10,000 volumes.

Run from the repository root (it starts its own lab in a dedicated directory under /tmp, or reuses one that
already runs there):

    PYTHONPATH=.venv/collections:tests .venv/bin/python bench/drift_audit.py

It brings the lab up with 2,500 VMs of 1 ROOT + 3 data disks and 5 NFS pools (10,000 attached volumes, plus the
seed's detached ones), then runs the module's own service (cs_vmware_drift_info.audit: connect to both, one
DriftAudit run, log out), the same code path as the module, and measures:
- wall time (time.perf_counter), the fastest of --repeat runs;
- CloudStack API calls: HTTP requests by command, counted by wrapping cs's CloudStack._send (benchmark only);
- SOAP calls by method, counted by wrapping pyVmomi's SoapStubAdapter.InvokeMethod (tests/integration/vcenter_lab.SoapCalls);
- peak memory: tracemalloc peak of Python allocations (a separate run, as tracing slows Python down) and the
  process's ru_maxrss.
The lab must be clean (no drift), or the run stops: a benchmark of a failing audit measures nothing.
Figures go to docs/benchmarks-drift.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
import tracemalloc
from collections import Counter
from importlib.metadata import version
from pathlib import Path

from cs import CloudStack

from ansible_collections.cloudstack_vmware.safe_migration.plugins.modules.cs_vmware_drift_info import audit
from integration.vcenter_lab import SoapCalls  # pylint: disable=import-error
from lab import labctl

REPO = Path(__file__).resolve().parents[1]
DEFAULT_LAB_DIR = Path("/tmp/safe-migration-bench-drift")


class CloudStackCalls:
    """Counts every HTTP request cs sends, by API command, while active (benchmark only, never the collection)."""

    def __init__(self):
        self.by_command = Counter()
        self._original = None

    def __enter__(self):
        original, by_command = CloudStack._send, self.by_command

        def counted(client, kind, params, *args, **kwargs):
            by_command[params.get("command", "?")] += 1
            return original(client, kind, params, *args, **kwargs)
        self._original, CloudStack._send = original, counted
        return self

    def __exit__(self, *exc_info):
        CloudStack._send = self._original
        return False

    @property
    def total(self):
        return sum(self.by_command.values())


def start_lab(lab_dir, options):
    """The lab's environment: the one already running in lab_dir, or a new one (and whether we started it)."""
    if labctl.status(lab_dir)["simulator"]:
        return labctl.read_env(lab_dir), False, 0.0
    started = time.perf_counter()
    env = labctl.up(lab_dir, options)
    return env, True, time.perf_counter() - started


def module_params(env):
    """The validated parameters cs_vmware_drift_info hands to its service, from the lab's environment."""
    return {"api_url": env["CLOUDSTACK_ENDPOINT"], "api_key": env["CLOUDSTACK_KEY"], "api_secret": env["CLOUDSTACK_SECRET"],
            "api_http_method": None, "api_timeout": None, "api_verify_ssl_cert": None, "api_region": "cloudstack",
            "hostname": env["VMWARE_HOST"], "port": int(env["VMWARE_PORT"]), "username": env["VMWARE_USER"],
            "password": env["VMWARE_PASSWORD"], "validate_certs": True, "ca_cert": env["VMWARE_CA_CERT"],
            "datacenter": None, "zone": None, "cluster": None, "pool": None, "fail_on_drift": False}


def measure(params, repeat):
    """The fastest of ``repeat`` counted runs, then one traced run for the memory peak."""
    runs = []
    for unused_run in range(repeat):
        with CloudStackCalls() as api, SoapCalls() as soap:
            started = time.perf_counter()
            report = audit(params)
            seconds = time.perf_counter() - started
        if not report.clean:
            raise SystemExit("the lab is not clean (%s): reset it before measuring" % report.summary()["by_code"])
        runs.append({"seconds": seconds, "api": dict(api.by_command), "api_total": api.total,
                     "soap": dict(soap.by_method), "soap_total": soap.total, "summary": report.summary()})
    best = min(runs, key=lambda run: run["seconds"])
    best["all_seconds"] = [run["seconds"] for run in runs]
    tracemalloc.start()
    audit(params)
    best["traced_peak"] = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    best["maxrss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return best


def machine(load):
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown CPU")
    share = max(load["before"], load["after"]) / (os.cpu_count() or 1)
    busy = "quiet" if share < 0.5 else "partly busy: other jobs ran on it" if share < 1 else "busy: other jobs ran on it"
    return ("Machine: %s, %d CPU(s), %s, Python %s, pyVmomi %s, cs %s; the benchmark, vcsim and the CloudStack "
            "simulator on the same machine. Load average (1 min) %.1f before and %.1f after the run (%s)." % (
                cpu, os.cpu_count(), platform.platform(), platform.python_version(), version("pyvmomi"), version("cs"),
                load["before"], load["after"], busy))


def _counts(by_name):
    return ", ".join("%s %d" % (name, count) for name, count in sorted(by_name.items()))


def render(run, options, lab_seconds, command, load):
    summary = run["summary"]
    lines = [
        "# Benchmark: drift audit (cs_vmware_drift_info)",
        "",
        "Generated by `bench/drift_audit.py`; do not edit by hand, re-run it (see below).",
        "",
        "What is measured: the module's service (`cs_vmware_drift_info.audit`: log in to both, one `DriftAudit` run",
        "over every VMware pool, log out), the code path of the module, on the lab: vcsim and the CloudStack",
        "simulator with %d VMs of 1 ROOT and %d data disks on %d NFS pools and the VMFS pool, no added latency." % (
            options["vms"], options["data_disks_per_vm"], options["pools"]),
        "The lab is clean (the audit must find no drift), so every volume is compared in full.",
        "",
        "- Time: wall clock of the whole call, the fastest of %d runs (%s)." % (
            len(run["all_seconds"]), ", ".join("%.1f s" % seconds for seconds in run["all_seconds"])),
        "- CloudStack API calls: HTTP requests by command, counted by wrapping `cs`'s `CloudStack._send` (a paged",
        "  list is one request per page of 500).",
        "- SOAP calls: counted by wrapping pyVmomi's `SoapStubAdapter.InvokeMethod`, login and logout included.",
        "- Peak memory: `tracemalloc` peak of Python allocations in a separate run (tracing slows Python down), and",
        "  the benchmark process's `ru_maxrss` (the process, not only the audit: interpreter and libraries included).",
        "",
        "| volumes | vCenter VMs | datastores listed | time | CloudStack calls | SOAP calls | peak Python memory | max RSS |",
        "|--------:|------------:|------------------:|-----:|-----------------:|-----------:|-------------------:|--------:|",
        "| %d | %d | %d | %.1f s | %d | %d | %.0f MiB | %.0f MiB |" % (
            summary["volumes"], summary["vcenter_vms"], summary["datastores_listed"], run["seconds"], run["api_total"],
            run["soap_total"], run["traced_peak"] / 2 ** 20, run["maxrss"] / 2 ** 20),
        "",
        "Details: CloudStack requests by command: %s. SOAP calls by method: %s. Other datastore searches: %d." % (
            _counts(run["api"]), _counts(run["soap"]), summary["datastore_searches"]),
        "Bringing this lab up took %s." % ("%.0f s" % lab_seconds if lab_seconds else "no time here (it already ran)"),
        "",
        "Reading: the CloudStack side is one paged pass per list, so its requests grow with the number of objects",
        "divided by the page size (500); the vCenter side is one container view with its property-collector",
        "retrievals (vcsim answers in several `RetrievePropertiesEx` calls here) and one listing per datastore of a",
        "pool in scope, with no search per volume or per VM. Only this one scale is measured here.",
        "",
        machine(load),
        "",
        "Re-run (from the repository root; the lab dir is created, or reused when a lab already runs there, and",
        "stopped at the end unless it already ran or `--keep-lab` is given):",
        "",
        "    %s" % command,
        "",
    ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--lab-dir", type=Path, default=DEFAULT_LAB_DIR)
    parser.add_argument("--vms", type=int, default=2500)
    parser.add_argument("--data-disks-per-vm", type=int, default=3)
    parser.add_argument("--pools", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep-lab", action="store_true", help="leave the lab running at the end")
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "benchmarks-drift.md")
    args = parser.parse_args(argv)
    options = {"behaviour": "legacy", "vcenter_delay_ms": 0, "job_seconds": 0.05, "clusters": 2, "hosts_per_cluster": 2,
               "pools": args.pools, "vms": args.vms, "data_disks_per_vm": args.data_disks_per_vm, "detached_volumes": None}
    load = {"before": os.getloadavg()[0]}
    env, started, lab_seconds = start_lab(args.lab_dir, options)
    try:
        run = measure(module_params(env), args.repeat)
    finally:
        if started and not args.keep_lab:
            labctl.down(args.lab_dir)
    load["after"] = os.getloadavg()[0]
    command = "PYTHONPATH=.venv/collections:tests .venv/bin/python bench/drift_audit.py %s" % " ".join(
        argv if argv is not None else sys.argv[1:])
    args.output.write_text(render(run, options, lab_seconds, command.strip(), load))
    print("%d volumes: %.1f s, %d CloudStack calls, %d SOAP calls, peak %.0f MiB (traced), max RSS %.0f MiB; written to %s" % (
        run["summary"]["volumes"], run["seconds"], run["api_total"], run["soap_total"], run["traced_peak"] / 2 ** 20,
        run["maxrss"] / 2 ** 20, args.output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
