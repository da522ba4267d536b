"""Run the maintenance-window playbooks with ansible-playbook against the lab, as an operator runs them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PLAYBOOK = REPO / "playbooks" / "migrate_volumes.yml"
RECAP = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)


class PlayRun:
    def __init__(self, returncode, output, report_dir):
        self.returncode = returncode
        self.output = output
        recap = RECAP.findall(output.rsplit("PLAY RECAP", 1)[-1])
        assert recap, "no PLAY RECAP:\n%s" % output
        # Summed over the hosts (localhost, or one host per zone).
        self.changed, self.failed = sum(int(host[2]) for host in recap), sum(int(host[4]) for host in recap)
        self.report_dir = report_dir

    def report(self):
        return json.loads((self.report_dir / "report.json").read_text())


def run_playbook(lab, tmp_path, plan, *options, name="run", check=False, playbook=PLAYBOOK):
    """ansible-playbook <playbook> -e @plan.yml (migrate_volumes.yml by default), with short polls; the report in tmp_path/report."""
    command, env, report_dir = _playbook_command(lab, tmp_path, plan, options, name, check, playbook)
    completed = subprocess.run(command, env=env, cwd=str(tmp_path), capture_output=True, text=True, timeout=600, check=False)
    return PlayRun(completed.returncode, completed.stdout + completed.stderr, report_dir)


def run_playbook_timed(lab, tmp_path, plan, *options, name="run", playbook=PLAYBOOK):
    """As run_playbook, and when each line of the output arrived: (PlayRun, [(seconds since the start, line)])."""
    command, env, report_dir = _playbook_command(lab, tmp_path, plan, options, name, False, playbook)
    started, timed = time.monotonic(), []
    with subprocess.Popen(command, env=env, cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, bufsize=1) as process:
        for line in process.stdout:
            timed.append((time.monotonic() - started, line.rstrip("\n")))
        returncode = process.wait(timeout=600)
    return PlayRun(returncode, "\n".join(line for _seconds, line in timed), report_dir), timed


def _playbook_command(lab, tmp_path, plan, options, name, check, playbook):
    plan_file = tmp_path / ("%s-plan.json" % name)
    plan_file.write_text(json.dumps({"safe_migration_plan": plan}))
    report_dir = tmp_path / "report"
    env = dict(os.environ, **lab.env)
    env.update(ANSIBLE_COLLECTIONS_PATH=str(REPO / ".venv" / "collections"), ANSIBLE_PYTHON_INTERPRETER=sys.executable,
               ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
               ANSIBLE_HOME=str(tmp_path / "ansible-home"), PYTHONUNBUFFERED="1")
    command = [str(Path(sys.executable).parent / "ansible-playbook"), str(playbook), "-e", "@%s" % plan_file,
               "-e", "safe_migration_report_dir=%s" % report_dir, "-e", "safe_migration_journal_path=%s" % (tmp_path / "journal.jsonl"),
               "-e", "safe_migration_poll_interval=0.05", "-e", "safe_migration_job_timeout=60", *options]
    if check:
        command.append("--check")
    return command, env, report_dir


def stopped_vm_volumes(lab, count):
    """Volumes of `count` different stopped admin VMs, each with another NFS pool of its cluster as destination."""
    admin = lab.admin()
    pools = admin.listStoragePools()["storagepool"]
    chosen = []
    for vm in admin.listVirtualMachines(listall=True, state="Stopped")["virtualmachine"]:
        if vm["account"] != "admin":
            continue
        volume = admin.listVolumes(listall=True, virtualmachineid=vm["id"], type="DATADISK")["volume"][0]
        destination = next(pool for pool in sorted(pools, key=lambda pool: pool["name"])
                           if pool["clusterid"] == volume["clusterid"] and pool["id"] != volume["storageid"]
                           and pool["type"] == "NetworkFilesystem")
        chosen.append(dict(volume, vm=vm, destination=destination))
        if len(chosen) == count:
            return chosen
    raise AssertionError("the lab has fewer than %d stopped admin VMs" % count)


def lab_state(lab, volumes):
    """Each volume's record (pool, path, state) and where its VMDK files really are."""
    records = lab.records()
    return {volume["id"]: (records[volume["id"]]["storageid"], records[volume["id"]]["path"], records[volume["id"]]["state"],
                           tuple(lab.vmdk_locations(volume["path"]))) for volume in volumes}


def plan_of(volumes):
    return [{"volume": volume["name"], "vm": volume["vm"]["name"], "destination": volume["destination"]["name"]}
            for volume in volumes]
