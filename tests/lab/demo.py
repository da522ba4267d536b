"""The README's demo, against a running lab: why the collection exists, in five steps.

    python tests/lab/demo.py [--lab-dir DIR]     (scripts/demo.sh brings the lab up first)

1. A stopped VM is removed from the vCenter inventory (its files stay on the datastore).
2. playbooks/migrate_volumes.yml on a plan including that VM's volume: the play stops at
   preflight with the exact reason, and nothing changed (records and VMDK files compared).
3. The same plan without that volume: the rest migrates, is verified, the report is shown;
   a second run changes nothing.
4. What a plain migrateVolume call (the `cs` client) does to the removed VM's volume under the
   `legacy` behaviour: success reported, record rewritten (pool = destination, path null), VMDK
   not moved: apache/cloudstack#9881.
5. The playbook on that volume afterwards: it finds the damage and touches nothing.
6. Where the report files, the journal and the logs are.

Exits 0 when every step went as expected, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

LAB_PACKAGE_DIR = Path(__file__).resolve().parent
if str(LAB_PACKAGE_DIR.parent) not in sys.path:  # run as a script: make `lab` importable
    sys.path.insert(0, str(LAB_PACKAGE_DIR.parent))

import cs  # noqa: E402  pylint: disable=wrong-import-position

from lab import labctl  # noqa: E402  pylint: disable=wrong-import-position

REPO = LAB_PACKAGE_DIR.parents[1]
PLAYBOOK = REPO / "playbooks" / "migrate_volumes.yml"
HEALTHY_VOLUMES = 3
RECAP = re.compile(r"^localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)


class DemoFailed(Exception):
    """Something did not go as the demo expects."""


# ---- output --------------------------------------------------------------------------------

def heading(number, text):
    print("\n\033[1m== %s. %s\033[0m" % (number, text))


def say(text=""):
    print("   " + text if text else "")


def say_wrapped(text, bullet="  - "):
    """A long message (a preflight reason) on several short lines."""
    lines = textwrap.wrap(text, width=100, break_on_hyphens=False)
    for number, line in enumerate(lines):
        say((bullet if number == 0 else " " * len(bullet)) + line)


def good(text):
    print("   \033[32mOK\033[0m  " + text)


def expect(condition, text):
    if not condition:
        raise DemoFailed(text)
    good(text)


# ---- the lab -------------------------------------------------------------------------------

class DemoLab:
    """The running lab seen by the demo: the admin `cs` client, the control API, the datastore directories."""

    def __init__(self, lab_dir):
        self.lab_dir = Path(lab_dir).resolve()
        self.env = labctl.read_env(self.lab_dir)
        self.api = cs.CloudStack(self.env["CLOUDSTACK_ENDPOINT"], self.env["CLOUDSTACK_KEY"], self.env["CLOUDSTACK_SECRET"],
                                 fetch_result=True, poll_interval=0.1, job_timeout=120)

    def control(self, action, **payload):
        return labctl.control(self.env["LAB_CONTROL_URL"], action, payload)

    def record(self, volume_id):
        """The volume row as the simulator's database holds it."""
        rows = self.api.listVolumes(id=volume_id, listall=True).get("volume", [])
        return rows[0] if rows else None

    def vmdk_files(self, path):
        """Where <path>.vmdk really is: the datastore directories on disk, not the API."""
        root = self.lab_dir / "datastores"
        return sorted("[%s] %s" % (found.relative_to(root).parts[0], "/".join(found.relative_to(root).parts[1:]))
                      for found in root.glob("*/*/%s.vmdk" % path))

    def state_of(self, volumes):
        """Record (pool, path, state) and VMDK files of each volume: what 'nothing changed' compares."""
        state = {}
        for volume in volumes:
            record = self.record(volume["id"])
            state[volume["id"]] = (record.get("storageid"), record.get("path"), record.get("state"),
                                   tuple(self.vmdk_files(volume["path"])))
        return state

    def choose_volumes(self):
        """A stopped VM's data disk to break, and healthy volumes of other stopped VMs; each with a destination."""
        pools = self.api.listStoragePools().get("storagepool", [])
        chosen = []
        vms = self.api.listVirtualMachines(listall=True, state="Stopped").get("virtualmachine", [])
        for vm in sorted((vm for vm in vms if vm.get("account") == "admin"), key=lambda vm: vm["name"]):
            volumes = self.api.listVolumes(listall=True, virtualmachineid=vm["id"]).get("volume", [])
            wanted = "DATADISK" if len(chosen) % 2 == 0 else "ROOT"
            volume = next((vol for vol in volumes if vol["type"] == wanted), volumes[0])
            destination = next((pool for pool in sorted(pools, key=lambda pool: pool["name"])
                                if pool.get("clusterid") == volume.get("clusterid") and pool["id"] != volume["storageid"]
                                and pool["type"] == "NetworkFilesystem" and pool.get("state") == "Up"), None)
            if destination is not None:
                chosen.append(dict(volume, vm=vm, destination=destination))
            if len(chosen) == HEALTHY_VOLUMES + 1:
                return chosen[0], chosen[1:]
        raise DemoFailed("the lab has too few stopped VMs for the demo; run ./scripts/lab.sh reset")


# ---- the playbook --------------------------------------------------------------------------

class PlayOutcome:
    """What one run of the playbook gave: its exit code, its changed count, its report.json (None: not written)."""

    def __init__(self, code, changed, report):
        self.code = code
        self.changed = changed
        self.report = report


class PlaybookRunner:
    """Runs playbooks/migrate_volumes.yml as an operator would, output to a log file."""

    def __init__(self, lab, work_dir):
        self.lab = lab
        self.work_dir = work_dir
        self.journal = work_dir / "journal.jsonl"
        self.runs = 0

    def run(self, name, plan, report_dir):
        self.runs += 1
        plan_file = self.work_dir / ("%s.plan.yml" % name)
        plan_file.write_text(json.dumps({"safe_migration_plan": plan}, indent=2) + "\n")
        log = self.work_dir / ("%s.log" % name)
        venv_bin = Path(sys.executable).parent
        env = dict(os.environ, **self.lab.env)
        env.update(ANSIBLE_COLLECTIONS_PATH=str(REPO / ".venv" / "collections"), ANSIBLE_PYTHON_INTERPRETER=sys.executable,
                   ANSIBLE_CALLBACK_RESULT_FORMAT="yaml", ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0",
                   ANSIBLE_INVENTORY_UNPARSED_WARNING="0", PATH="%s%s%s" % (venv_bin, os.pathsep, os.environ.get("PATH", "")))
        command = [str(venv_bin / "ansible-playbook"), str(PLAYBOOK), "-e", "@%s" % plan_file,
                   "-e", "safe_migration_report_dir=%s" % report_dir, "-e", "safe_migration_journal_path=%s" % self.journal,
                   "-e", "safe_migration_wave_size=2", "-e", "safe_migration_poll_interval=0.2"]
        say("$ ansible-playbook playbooks/migrate_volumes.yml -e @%s" % _short(plan_file))
        started = time.monotonic()
        with open(log, "w", encoding="utf-8") as output:
            completed = subprocess.run(command, env=env, cwd=str(self.work_dir), stdout=output, stderr=subprocess.STDOUT,
                                       check=False, timeout=900)
        text = log.read_text(encoding="utf-8")
        recap = RECAP.search(text)
        say("exit code %d after %.0f s; full output: %s" % (completed.returncode, time.monotonic() - started, _short(log)))
        if recap is None:
            raise DemoFailed("the play did not finish (no PLAY RECAP); see %s" % log)
        report_file = Path(report_dir) / "report.json"
        report = json.loads(report_file.read_text()) if report_file.exists() else None
        return PlayOutcome(completed.returncode, int(recap.group(2)), report)


def _short(path):
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def plan_item(volume):
    return {"volume": volume["id"], "destination": volume["destination"]["name"]}


def describe(volume):
    return "%s of %s (%s): %s -> %s" % (volume["name"], volume["vm"]["name"], volume["vm"]["instancename"],
                                        volume["storage"], volume["destination"]["name"])


# ---- the steps -----------------------------------------------------------------------------

def remove_vm(lab, victim):
    heading(1, "A stopped VM disappears from the vCenter inventory")
    say("It happens: someone unregisters a powered-off VM in vCenter; its files stay on the datastore.")
    lab.control("vcenter_unregister_vm", instance_name=victim["vm"]["instancename"])
    say("removed from the inventory: %s (CloudStack VM %s, still 'Stopped' in CloudStack)"
        % (victim["vm"]["instancename"], victim["vm"]["name"]))
    say("its volume %s stays at %s" % (victim["name"], ", ".join(lab.vmdk_files(victim["path"]))))


def preflight_stops(lab, runner, victim, healthy):
    heading(2, "The playbook, on a plan that includes that VM's volume")
    volumes = [victim] + healthy
    for volume in volumes:
        say("plan: " + describe(volume))
    before = lab.state_of(volumes)
    outcome = runner.run("1-with-removed-vm", [plan_item(volume) for volume in volumes], runner.work_dir / "report-1-with-removed-vm")
    report = outcome.report
    expect(outcome.code != 0, "the play failed (exit code %d)" % outcome.code)
    expect(report is not None and report["status"] == "preflight_failed", "it stopped at preflight")
    say("the exact reason, as the play printed it:")
    for problem in report["preflight"]["problems"]:
        say_wrapped(problem)
    expect(any(victim["vm"]["instancename"] in problem for problem in report["preflight"]["problems"]),
           "the reason names the VM missing from vCenter and where its disk is")
    expect(lab.state_of(volumes) == before, "nothing changed: every record and VMDK file is as before (%d volumes)" % len(volumes))


def migrate_the_rest(lab, runner, healthy):
    heading(3, "The same plan without that volume: migrate, verify, report")
    report_dir = runner.work_dir / "report"
    outcome = runner.run("2-migrate", [plan_item(volume) for volume in healthy], report_dir)
    report = outcome.report
    expect(outcome.code == 0 and report is not None and report["status"] == "succeeded", "the play succeeded")
    expect(report["summary"]["migrated"] == len(healthy), "%d volumes migrated and verified, in %d waves"
           % (report["summary"]["migrated"], report["summary"]["waves"]))
    say("checked in the lab, independently of the collection:")
    for volume in healthy:
        record = lab.record(volume["id"])
        datastore = volume["destination"]["id"].replace("-", "")
        files = lab.vmdk_files(record.get("path") or volume["path"])
        moved = record["storageid"] == volume["destination"]["id"] and files and all(f.startswith("[%s]" % datastore) for f in files)
        expect(moved, "%s: record on %s, VMDK at %s" % (volume["name"], record.get("storage"), ", ".join(files)))
    say("the report (%s):" % _short(report_dir / "report.md"))
    for line in (report_dir / "report.md").read_text().splitlines():
        if line.startswith("|") or line.startswith("- Status"):
            say("  " + line)
    again = runner.run("3-again", [plan_item(volume) for volume in healthy], runner.work_dir / "report-3-again")
    expect(again.code == 0 and again.changed == 0, "run again: nothing to do (changed=0), each volume confirmed in place in vCenter")
    return report_dir


def plain_migrate_volume(lab, victim):
    heading(4, "Meanwhile, what a plain migrateVolume does to the removed VM's volume (behaviour: legacy)")
    lab.control("behaviour", behaviour="legacy")
    destination = victim["destination"]
    before = lab.vmdk_files(victim["path"])
    say("$ cs migrateVolume volumeid=%s storageid=%s   (%s -> %s)"
        % (victim["id"], destination["id"], victim["storage"], destination["name"]))
    answer = lab.api.migrateVolume(volumeid=victim["id"], storageid=destination["id"])
    expect("volume" in answer, "CloudStack reports SUCCESS: the job ended with jobstatus 1")
    record = lab.record(victim["id"])
    expect(record["storageid"] == destination["id"] and not record.get("path"),
           "the record now says pool=%s, path=%s" % (record.get("storage"), record.get("path") or "null"))
    after = lab.vmdk_files(victim["path"])
    expect(after == before, "but the VMDK did not move: still at %s" % ", ".join(after))
    say("CloudStack's database and the storage now disagree (apache/cloudstack#9881). The playbook refused")
    say("in step 2 because vmware_inventory_assert proved the VM missing before anything was touched.")


def damage_is_found(lab, runner, victim):
    heading(5, "After the fact, the playbook finds that damage too")
    before = lab.state_of([victim])
    outcome = runner.run("4-after-plain-migrate", [plan_item(victim)], runner.work_dir / "report-4-after-plain-migrate")
    report = outcome.report
    expect(outcome.code != 0 and report is not None and report["status"] == "preflight_failed",
           "the play refuses the volume CloudStack now misplaces, with its reasons:")
    for problem in report["preflight"]["problems"]:
        say_wrapped(problem)
    expect(lab.state_of([victim]) == before, "and touches nothing")


def where_things_are(runner, report_dir):
    heading(6, "Where things are")
    say("report files:  %s/{report.md,report.json,junit.xml}" % _short(report_dir))
    say("journal:       %s (JSON lines: plan, job id before submission, job result, verification)" % _short(runner.journal))
    say("play outputs:  %s/*.log, plans: %s/*.plan.yml" % (_short(runner.work_dir), _short(runner.work_dir)))
    say("the lab:       source %s; ./scripts/lab.sh down to stop it" % _short(Path(runner.lab.lab_dir) / "lab.env"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lab-dir", type=Path, default=None, help="default: <repo>/.lab or $SAFE_MIGRATION_LAB_DIR")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        lab = DemoLab(args.lab_dir or labctl.default_lab_dir())
        work_dir = lab.lab_dir / "demo"
        work_dir.mkdir(exist_ok=True)
        for old in work_dir.iterdir():  # a previous demo's outputs would mislead
            shutil.rmtree(old) if old.is_dir() else old.unlink()
        runner = PlaybookRunner(lab, work_dir)
        victim, healthy = lab.choose_volumes()
        remove_vm(lab, victim)
        preflight_stops(lab, runner, victim, healthy)
        report_dir = migrate_the_rest(lab, runner, healthy)
        plain_migrate_volume(lab, victim)
        damage_is_found(lab, runner, victim)
        where_things_are(runner, report_dir)
    except (DemoFailed, labctl.LabError, cs.CloudStackException, OSError, subprocess.SubprocessError) as error:
        print("\n\033[31mDEMO FAILED\033[0m: %s" % error)
        return 1
    print("\n\033[1mDemo complete in %.0f s: every step went as expected.\033[0m" % (time.monotonic() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
