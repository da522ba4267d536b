"""Benchmark of vmware_inventory_assert against a per-VM lookup loop, on the lab's vcsim.

Run from the repository root (nothing else needs to run; it starts its own vcsim):

    PYTHONPATH=.venv/collections:tests .venv/bin/python bench/inventory_assert.py

For each inventory size it builds a vcsim with that many CloudStack-like VMs (i-2-<n>-VM, ROOT-<n>
on ds1 or ds2) without delay, then adds a fixed latency to every SOAP call and measures:
- ours: the module's service (vmware_inventory_assert.assert_inventory: connect, check, log out)
  asserting every VM with its disk and datastore, verify_files on;
- the loop: what a script without the property collector does, per VM: SearchIndex.FindByInventoryPath,
  property reads through pyVmomi attributes (each one a SOAP call), one datastore search for the disk.
SOAP calls are counted by wrapping pyVmomi's SoapStubAdapter.InvokeMethod (here only), wall time with
time.perf_counter, peak Python memory with tracemalloc (in a second run, as tracing slows Python down).
The loop is measured on a sample of VMs and extrapolated linearly unless --loop-sample 0.
Figures go to docs/benchmarks-inventory.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
import tracemalloc
from importlib.metadata import version
from pathlib import Path

from pyVmomi import vim

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter import client as vcenter_client
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.client import VCenterClient
from ansible_collections.cloudstack_vmware.safe_migration.plugins.modules.vmware_inventory_assert import assert_inventory
from integration.vcenter_lab import PASSWORD, USER, InventoryLab, SoapCalls, scale_expectations  # pylint: disable=import-error
from lab.vsphere import LabVSphere

REPO = Path(__file__).resolve().parents[1]
DATACENTER = "DC0"


class PhaseTimer:
    """Seconds spent in the client's inventory read and datastore searches (wraps the class; benchmark only)."""

    PHASES = ("read_vm_identities", "read_vms", "read_inventory", "search_datastore")

    def __init__(self):
        self.seconds = dict.fromkeys(self.PHASES, 0.0)
        self._originals = {}

    def __enter__(self):
        for name in self.PHASES:
            self._originals[name] = original = getattr(VCenterClient, name)
            setattr(VCenterClient, name, self._timed(name, original))
        return self

    def _timed(self, name, original):
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - started
        return timed

    def __exit__(self, *exc_info):
        for name, original in self._originals.items():
            setattr(VCenterClient, name, original)
        return False


def measure_ours(lab, count, repeat):
    """(SOAP calls by method, seconds, {phase: seconds}, peak bytes) of the module's service asserting ``count`` VMs
    (the first ones of the inventory).

    The fastest of ``repeat`` runs: the machine is shared, and noise only ever adds time.
    """
    params = lab.module_params(scale_expectations(0, count))
    runs = []
    for unused_run in range(repeat):
        with SoapCalls() as calls, PhaseTimer() as phases:
            started = time.perf_counter()
            report = assert_inventory(params)
            seconds = time.perf_counter() - started
        if not report.ok or len(report.vms) != count or not all(d.verified for vm in report.vms for d in vm.disks):
            raise SystemExit("the module did not confirm the %d VMs: %s" % (count, report.problems[:3]))
        runs.append((seconds, calls.by_method, phases.seconds))
    seconds, by_method, phase_seconds = min(runs, key=lambda run: run[0])
    tracemalloc.start()
    assert_inventory(params)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return by_method, seconds, phase_seconds, peak


def measure_exact_searches(lab, count):
    """Seconds our datastore searches take when they list every exact file name (no "*.vmdk" above the limit)."""
    limit, vcenter_client.EXACT_PATTERNS_LIMIT = vcenter_client.EXACT_PATTERNS_LIMIT, count + 1
    try:
        with PhaseTimer() as phases:
            assert_inventory(lab.module_params(scale_expectations(0, count)))
    finally:
        vcenter_client.EXACT_PATTERNS_LIMIT = limit
    return phases.seconds["search_datastore"]


def loop_check(content, browsers, number):
    """The per-VM lookup a script without the property collector makes; True when VM and disk are confirmed."""
    vm = content.searchIndex.FindByInventoryPath("%s/vm/i-2-%d-VM" % (DATACENTER, number))
    if vm is None or vm.runtime.connectionState != "connected" or vm.rootSnapshot:
        return False
    disks = [d for d in vm.config.hardware.device if isinstance(d, vim.vm.device.VirtualDisk)
             and d.backing.fileName.endswith("/ROOT-%d.vmdk" % number)]
    if len(disks) != 1:
        return False
    datastore = disks[0].backing.datastore
    summary = datastore.summary
    if not summary.accessible or summary.maintenanceMode != "normal":
        return False
    if datastore._moId not in browsers:  # the one thing it caches: 2 datastores, not one browser read per VM
        browsers[datastore._moId] = datastore.browser
    spec = vim.host.DatastoreBrowser.SearchSpec(matchPattern=["ROOT-%d.vmdk" % number])
    folder = disks[0].backing.fileName.rsplit("/", 1)[0]
    task = browsers[datastore._moId].SearchDatastore_Task(folder, spec)
    info = task.info
    while info.state not in ("success", "error"):
        time.sleep(0.01)
        info = task.info
    return info.state == "success" and bool(info.result.file)


def measure_loop(lab, numbers):
    """(SOAP calls by method, seconds) of the per-VM loop over ``numbers``, login and logout included."""
    with SoapCalls() as calls:
        started = time.perf_counter()
        session = LabVSphere(lab.vcsim.host, lab.vcsim.port, USER, PASSWORD, ca_file=str(lab.vcsim.ca_file)).connect()
        content, browsers = session.content, {}
        confirmed = sum(loop_check(content, browsers, number) for number in numbers)
        session.disconnect()
        seconds = time.perf_counter() - started
    if confirmed != len(numbers):
        raise SystemExit("the loop confirmed %d of %d VMs" % (confirmed, len(numbers)))
    return calls.by_method, seconds


def run_size(count, latency_ms, loop_sample, repeat, work_dir, plan_vms):
    lab = InventoryLab(Path(tempfile.mkdtemp(prefix="bench-%d-" % count, dir=work_dir)), hosts=2)
    try:
        started = time.perf_counter()
        lab.start()
        lab.add_scale_vms(0, count)
        build_seconds = time.perf_counter() - started
        lab.vsphere.set_delay(latency_ms)
        ours_calls, ours_seconds, phases, peak = measure_ours(lab, count, repeat)
        plan_calls, plan_seconds, unused_phases, unused_peak = measure_ours(lab, min(plan_vms, count), repeat)
        exact_search_seconds = measure_exact_searches(lab, count)
        sample = count if loop_sample <= 0 else min(count, loop_sample)
        step = max(1, count // sample)
        loop_calls, loop_seconds = measure_loop(lab, list(range(0, count, step))[:sample])
    finally:
        lab.stop()
    scale = count / sample
    # login/logout are paid once; everything else per VM
    fixed = {"RetrieveServiceContent", "Login", "Logout"}
    fixed_calls = sum(n for method, n in loop_calls.items() if method in fixed)
    return {
        "vms": count, "latency_ms": latency_ms, "build_seconds": build_seconds,
        "ours_calls": sum(ours_calls.values()), "ours_by_method": dict(ours_calls), "ours_seconds": ours_seconds,
        "read_seconds": phases["read_vm_identities"] + phases["read_vms"] + phases["read_inventory"],
        "search_seconds": phases["search_datastore"],
        "plan_vms": min(plan_vms, count), "plan_calls": sum(plan_calls.values()), "plan_seconds": plan_seconds,
        "exact_search_seconds": exact_search_seconds,
        "peak_bytes": peak, "loop_sample": sample, "loop_sample_calls": sum(loop_calls.values()),
        "loop_sample_seconds": loop_seconds, "loop_by_method": dict(loop_calls),
        "loop_calls": round(fixed_calls + (sum(loop_calls.values()) - fixed_calls) * scale),
        "loop_seconds": loop_seconds * scale,
    }


def machine(load):
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown CPU")
    return ("%s, %d CPUs, %s; Python %s, pyVmomi %s; vcsim built from Debian's govmomi 0.24.2 (tests/lab/vcsim), "
            "client and vcsim on the same machine. Load average (1 min) %.1f before and %.1f after the run: the machine "
            "is shared, so times carry noise (ours: fastest of %d runs)." % (
                cpu, os.cpu_count(), platform.platform(), platform.python_version(), version("pyvmomi"),
                load["before"], load["after"], load["repeat"]))


def duration(seconds):
    return "%.2f s" % seconds if seconds < 60 else "%.0f s (%.1f min)" % (seconds, seconds / 60)


def render(rows, command, load):
    lines = [
        "# Benchmark: vmware_inventory_assert",
        "",
        "Generated by `bench/inventory_assert.py`; do not edit by hand, re-run it (see below).",
        "",
        "What is measured, on the lab's vcsim with a fixed latency added to every SOAP call:",
        "",
        "- **ours**: the module's service (`vmware_inventory_assert.assert_inventory`: log in, one container view,",
        "  one `RetrievePropertiesEx` of what finds every VM (name, custom values), every host, datastore and the",
        "  custom field names, one `RetrievePropertiesEx` of the VMs asserted in full, by moref, one",
        "  `SearchDatastoreSubFolders_Task` per datastore holding an expected disk, up to 8 at a time, log out), asserting every VM",
        "  by its CloudStack name with its ROOT disk and datastore, `verify_files` on; and the same asserting a",
        "  plan of a few VMs (**ours, plan**). The report had to be ok with every disk file found, or the run stops.",
        "- **loop**: what a per-VM script does with pyVmomi attributes: `SearchIndex.FindByInventoryPath` per VM,",
        "  then `runtime`, `rootSnapshot`, `config`, the datastore's `summary` and one `SearchDatastore_Task` per disk",
        "  with its `info` reads (each attribute read is one SOAP `Fetch`). It checks less than ours: it cannot",
        "  find a VM by `cloud.vm.internal.name`, nor see a duplicate.",
        "- SOAP calls: counted by wrapping pyVmomi's `SoapStubAdapter.InvokeMethod` (in the benchmark only),",
        "  login and logout included. Time: wall clock of the whole call. Peak memory: `tracemalloc` peak of",
        "  Python allocations during our run (a second run, as tracing slows Python down).",
        "",
        "| VMs | latency per call | our calls | our time | ours, plan: VMs, calls, time | loop calls | loop time | our peak memory |",
        "|----:|-----------------:|----------:|---------:|-----------------------------:|-----------:|----------:|----------------:|",
    ]
    for row in rows:
        extrapolated = row["loop_sample"] < row["vms"]
        lines.append("| %d | %d ms | %d | %s | %d, %d, %s | %s%d | %s%s | %.1f MiB |" % (
            row["vms"], row["latency_ms"], row["ours_calls"], duration(row["ours_seconds"]),
            row["plan_vms"], row["plan_calls"], duration(row["plan_seconds"]),
            "~" if extrapolated else "", row["loop_calls"], "~" if extrapolated else "", duration(row["loop_seconds"]),
            row["peak_bytes"] / 2 ** 20))
    lines += ["", "Details:", ""]
    for row in rows:
        lines.append("- %d VMs: our calls by method %s; of our time, %s in the inventory read (two retrievals: vcsim "
                     "answering and pyVmomi parsing the answers), %s in the datastore searches (%s when they list every "
                     "exact file name instead of `*.vmdk`). Loop measured on %s: "
                     "%d calls in %s (%s), by method %s. Building this inventory (without latency) took %s." % (
                         row["vms"], _methods(row["ours_by_method"]), duration(row["read_seconds"]),
                         duration(row["search_seconds"]), duration(row["exact_search_seconds"]),
                         "every VM" if row["loop_sample"] == row["vms"] else "a sample of %d VMs spread over the inventory, "
                         "then extrapolated linearly to %d (its calls are per VM, plus login and logout once)" % (
                             row["loop_sample"], row["vms"]),
                         row["loop_sample_calls"], duration(row["loop_sample_seconds"]),
                         "%.0f ms per VM" % (1000 * row["loop_sample_seconds"] / row["loop_sample"]),
                         _methods(row["loop_by_method"]), duration(row["build_seconds"])))
    lines += [
        "",
        "Reading: our calls do not grow with the inventory (the same calls at 1,000 and 5,000 VMs; the",
        "integration test `tests/integration/test_inventory_scaling.py` asserts it at 10 and 200 VMs), so at a",
        "real vCenter's latency our time is a handful of round trips plus the time vcsim and pyVmomi take to",
        "produce and parse one large answer; the loop pays the latency several times per VM. A plan of a few VMs",
        "costs the first pass over every VM (their names and custom values only) and the devices of its own",
        "VMs only (`tests/integration/test_inventory_scaling.py` asserts which properties and VMs are read).",
        "",
        "A search for more than `EXACT_PATTERNS_LIMIT` (100) file names asks the datastore browser for every",
        "file of their extensions (`*.vmdk`, `*.vmx`) and keeps the exact names on our side: the browser matches",
        "each file against each pattern, so thousands of exact names cost files x patterns on the server (compare",
        "the two search times above). Matching stays exact either way.",
        "",
        "## Machine",
        "",
        machine(load),
        "",
        "## Re-run",
        "",
        "    %s" % command,
        "",
        "Options: `--vms 1000 5000` (sizes), `--latency-ms 20`, `--loop-sample 200` (0 measures the loop on",
        "every VM), `--repeat 3`, `--plan-vms 100`, `--output docs/benchmarks-inventory.md`. Needs what the lab needs (Go and Debian's govmomi",
        "to build vcsim; see docs/lab.md).",
        "",
    ]
    return "\n".join(lines)


def _methods(by_method):
    return ", ".join("%s %d" % (method, n) for method, n in sorted(by_method.items(), key=lambda item: (-item[1], item[0])))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--vms", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--loop-sample", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3, help="runs of ours per size; the fastest is kept")
    parser.add_argument("--plan-vms", type=int, default=100, help="VMs of the plan in the 'ours, plan' runs")
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "benchmarks-inventory.md")
    args = parser.parse_args(argv)
    rows = []
    load = {"before": os.getloadavg()[0], "repeat": args.repeat}
    with tempfile.TemporaryDirectory(prefix="bench-inventory-") as work_dir:
        for count in args.vms:
            row = run_size(count, args.latency_ms, args.loop_sample, args.repeat, work_dir, args.plan_vms)
            print("%(vms)d VMs: ours %(ours_calls)d calls %(ours_seconds).2f s; plan of %(plan_vms)d VMs %(plan_seconds).2f s; "
                  "loop %(loop_calls)d calls %(loop_seconds).1f s" % row, flush=True)
            rows.append(row)
    load["after"] = os.getloadavg()[0]
    command = "PYTHONPATH=.venv/collections:tests .venv/bin/python bench/inventory_assert.py %s" % " ".join(
        ["--vms"] + [str(n) for n in args.vms]
        + ["--latency-ms", str(args.latency_ms), "--loop-sample", str(args.loop_sample), "--plan-vms", str(args.plan_vms)])
    args.output.write_text(render(rows, command, load))
    print("wrote %s" % args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
