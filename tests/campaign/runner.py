"""Run one campaign schedule against a lab, as operators run the collection, and gather the evidence.

The plan goes through migrate_volumes.yml with ansible-playbook (or, for a share of schedules, the module in a
one-task play); faults are queued in the simulator first; a disruption kills the controller at a random moment,
starts a second run at once, or restarts the management server or vCenter during the run. The evidence is the lab's
ground truth afterwards (records, VMDK files, the job log) and everything a user saw (exit codes, output, report
files, module results, the journal).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PLAYBOOK = REPO / "playbooks" / "migrate_volumes.yml"
JOB_TIMEOUT = 5
JOB_SECONDS = 0.3
RESTARTS = ("cloudstack_restart", "vcenter_restart")


# What a run refused by another run's lock says (run_lock.held): the operator waits for that run, then runs again.
REFUSED_BY_LOCK = "Another run is working on"


class Run:
    """One ansible-playbook run: what its user saw."""

    def __init__(self, name, workdir, returncode, output, killed=False, orphans=()):
        self.name, self.workdir, self.returncode, self.output, self.killed = name, workdir, returncode, output, killed
        self.orphans = list(orphans)  # processes of a killed command that went on (its workers, their modules)

    @property
    def report_dir(self):
        return self.workdir / "report"

    def report(self):
        path = self.report_dir / "report.json"
        return json.loads(path.read_text()) if path.exists() else None

    def module_result(self):
        path = self.workdir / "result.json"
        return json.loads(path.read_text()) if path.exists() else None


def resolve_volumes(lab, picks):
    """The schedule's volume picks as lab volumes, each with a destination: same picks, same volumes, every time."""
    admin = lab.admin()
    pools = sorted(admin.listStoragePools(fetch_list=True), key=lambda pool: pool["name"])
    vms = sorted((vm for vm in admin.listVirtualMachines(listall=True, state="Stopped", fetch_list=True)
                  if vm["account"] == "admin"), key=lambda vm: vm["name"])
    detached = sorted((volume for volume in admin.listVolumes(listall=True, type="DATADISK", fetch_list=True)
                       if not volume.get("virtualmachineid")), key=lambda volume: volume["name"])
    chosen, used_vms = [], set()
    for pick in picks:
        if pick["kind"] == "detached":
            volume = detached[pick["rank"] % len(detached)]
            if volume["id"] in {item["id"] for item in chosen}:
                continue
            destination = next(pool for pool in pools if pool["id"] != volume["storageid"] and pool["type"] == "NetworkFilesystem")
            chosen.append(dict(volume, kind="detached", vm=None, destination=destination))
            continue
        free = [vm for vm in vms if vm["id"] not in used_vms]
        vm = free[pick["rank"] % len(free)]
        used_vms.add(vm["id"])
        volumes = sorted(admin.listVolumes(listall=True, virtualmachineid=vm["id"], fetch_list=True),
                         key=lambda volume: (volume["type"] != "DATADISK", volume["name"]))
        for volume in volumes if pick["kind"] == "siblings" else volumes[:1]:
            destination = next(pool for pool in pools if pool["clusterid"] == volume["clusterid"]
                               and pool["id"] != volume["storageid"] and pool["type"] == "NetworkFilesystem")
            chosen.append(dict(volume, kind=pick["kind"], vm=vm, destination=destination))
    return chosen


def plan_entries(volumes):
    return [{"volume": volume["name"], "vm": volume["vm"]["name"], "destination": volume["destination"]["name"]}
            if volume["vm"] else {"volume": volume["id"], "destination": volume["destination"]["name"]} for volume in volumes]


def _environment(lab, workdir):
    env = dict(os.environ, **lab.env)
    env.update(ANSIBLE_COLLECTIONS_PATH=str(REPO / ".venv" / "collections"), ANSIBLE_PYTHON_INTERPRETER=sys.executable,
               ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
               ANSIBLE_DEPRECATION_WARNINGS="0", ANSIBLE_SHOW_CUSTOM_STATS="1", ANSIBLE_HOME=str(workdir / "ansible-home"))
    return env


def _playbook_command(schedule, volumes, workdir, journal):
    plan_file = workdir / "plan.json"
    plan_file.write_text(json.dumps({"safe_migration_plan": plan_entries(volumes)}))
    return [str(Path(sys.executable).parent / "ansible-playbook"), str(PLAYBOOK), "-e", "@%s" % plan_file,
            "-e", "safe_migration_report_dir=%s" % (workdir / "report"), "-e", "safe_migration_journal_path=%s" % journal,
            "-e", "safe_migration_poll_interval=0.05", "-e", "safe_migration_job_timeout=%d" % JOB_TIMEOUT,
            "-e", "safe_migration_on_false_success=%s" % schedule["policy"],
            "-e", "safe_migration_concurrency=%d" % schedule["concurrency"]]


def _module_command(schedule, volumes, workdir, journal):
    args = {"volumes": [{"volume": volume["id"], "destination": volume["destination"]["id"]} for volume in volumes],
            "on_false_success": schedule["policy"], "concurrency": schedule["concurrency"], "journal_path": str(journal),
            "poll_interval": 0.05, "job_timeout": JOB_TIMEOUT}
    play = [{"name": "Campaign", "hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": [
        {"name": "Migrate", "cloudstack_vmware.safe_migration.cs_volume_migrate_safe": args, "register": "result",
         "ignore_errors": True},
        {"name": "Save the result", "ansible.builtin.copy": {"content": "{{ result | to_json }}",
                                                             "dest": str(workdir / "result.json")}}]}]
    playbook = workdir / "play.json"
    playbook.write_text(json.dumps(play))
    return [str(Path(sys.executable).parent / "ansible-playbook"), str(playbook)]


def run_once(lab, schedule, volumes, workdir, journal, kill_after=None, name=None):
    """One run of the schedule's runner; killed with SIGKILL after ``kill_after`` s, as the schedule's kill_scope says
    (the controller: every process of the run; the command: its process group, the workers going on)."""
    workdir.mkdir(parents=True, exist_ok=True)
    build = _module_command if schedule["runner"] == "module" else _playbook_command
    process = subprocess.Popen(build(schedule, volumes, workdir, journal), env=_environment(lab, workdir), cwd=str(workdir),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    killed, orphans = False, []
    try:
        output = process.communicate(timeout=kill_after if kill_after else 600)[0]
    except subprocess.TimeoutExpired:
        killed = kill_after is not None
        if schedule.get("kill_scope", "controller") == "controller":
            _kill_tree(process.pid)
        else:
            orphans = [pid for pid in _descendants(process.pid) if _group(pid) not in (process.pid, None)]
            os.killpg(process.pid, signal.SIGKILL)
        output = process.communicate()[0]
    return Run(name or workdir.name, workdir, process.returncode, output, killed=killed, orphans=orphans)


def _children():
    """{parent pid: [child pids]} of every process now (from /proc)."""
    children = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat(entry.name)
        if fields:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def _stat(pid):
    """The fields of /proc/PID/stat after "(comm)" (state, ppid, ...), or None when the process is gone."""
    try:
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def alive(pid):
    """Whether the process runs (a zombie has ended)."""
    fields = _stat(pid)
    return bool(fields) and fields[0] != "Z"


def _descendants(pid):
    children, found, todo = _children(), [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _kill_tree(pid):
    """SIGKILL a process and every process below it, however they detached their sessions: the controller dies.
    Stopped first, so that none of them starts another process meanwhile."""
    tree = [pid] + _descendants(pid)
    for member in tree:
        _signal(member, signal.SIGSTOP)
    for member in set(tree + [child for member in tree for child in _descendants(member)]):
        _signal(member, signal.SIGKILL)


def _group(pid):
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def _signal(pid, number):
    try:
        os.kill(pid, number)
    except ProcessLookupError:
        pass


def _wait_for_orphans(pids, timeout=300):
    """Until the orphaned processes of a killed command have ended (a zombie has ended)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(alive(pid) for pid in pids):
            return
        time.sleep(0.1)
    raise RuntimeError("the orphaned processes %s of a killed run did not end within %d s" % (pids, timeout))


def run_schedule(lab, schedule, workdir):
    """Reset the lab, queue the faults, run (disrupted as the schedule says, then a re-run when needed); evidence."""
    lab.reset()
    lab.control("behaviour", behaviour=schedule["behaviour"])
    lab.control("job_seconds", seconds=JOB_SECONDS)
    volumes = resolve_volumes(lab, schedule["volumes"])
    pools = lab.admin().listStoragePools(fetch_list=True)  # read before the faults: they answer any caller
    before = {volume["id"]: lab.vmdk_locations(volume["path"]) for volume in volumes}
    for fault in schedule["job_faults"]:
        lab.control("fault_next_job", **fault)
    for fault in schedule["call_faults"]:
        lab.control("fault_next_calls", **fault)
    journal = workdir / "journal.jsonl"
    runs, earlier_jobs = [], []
    if schedule["disruption"] == "concurrent":
        journals = [journal, journal if schedule["shared_journal"] else workdir / "journal-b.jsonl"]
        runs = _at_once(lab, schedule, volumes, [workdir / "run-a", workdir / "run-b"], journals)
    elif schedule["disruption"] in RESTARTS:
        run, earlier_jobs = _restarted_during(lab, schedule, volumes, workdir / "run-1", journal)
        runs.append(run)
    else:
        kill_after = schedule["kill_after"] if schedule["disruption"] == "kill" else None
        runs.append(run_once(lab, schedule, volumes, workdir / "run-1", journal, kill_after=kill_after))
    hung = any(fault["mode"] == "hang" for fault in schedule["job_faults"])
    if schedule["disruption"] == "kill" or hung or (schedule["disruption"] in RESTARTS and runs[0].returncode != 0):
        # the operator's next move: let hanging jobs end, then run the same plan again
        lab.control("release_jobs")
        _wait_for_jobs(lab)
        runs.append(run_once(lab, schedule, volumes, workdir / "run-again", journal))
        if REFUSED_BY_LOCK in runs[-1].output:
            # as the refusal says: wait for that run (a killed command's orphaned module) to end, then run again
            _wait_for_orphans([pid for run in runs for pid in run.orphans])
            runs.append(run_once(lab, schedule, volumes, workdir / "run-again-2", journal, name="run-again"))
    _wait_for_jobs(lab)
    job_log = _control_get(lab, "job_log")
    job_log["jobs"] = earlier_jobs + job_log["jobs"]
    return {"schedule": schedule, "volumes": volumes, "files_before": before, "runs": runs,
            "records": lab.records(), "files": {volume["id"]: _files_of(lab, volume) for volume in volumes},
            "job_log": job_log, "pools": pools, "journals": sorted(workdir.glob("journal*.jsonl"))}


def _restarted_during(lab, schedule, volumes, workdir, journal):
    """One run, with the management server or vCenter restarted ``kill_after`` s into it.

    A management-server restart loses the simulator's in-memory job log: the jobs logged before it are returned,
    those it cut off marked as CloudStack ends them (failed, at the restart)."""
    result, earlier_jobs = [], []
    thread = threading.Thread(target=lambda: result.append(run_once(lab, schedule, volumes, workdir, journal)))
    thread.start()
    thread.join(schedule["kill_after"])
    if schedule["disruption"] == "cloudstack_restart":
        earlier_jobs = lab.restart_simulator(down_seconds=schedule["restart_seconds"])["jobs"]
        restarted = time.time()
        for job in earlier_jobs:
            if job["ended"] is None:
                job.update(ended=restarted, jobstatus=2, fault=job.get("fault") or "cut_off_by_restart")
    else:
        lab.restart_vcenter(schedule["restart_seconds"])
    thread.join()
    return result[0], earlier_jobs


def _files_of(lab, volume):
    """Every VMDK named like the volume's disk, under its old path and its path now."""
    record = lab.records().get(volume["id"]) or {}
    names = {volume["path"], record.get("path")} - {None}
    return sorted({file for name in names for file in lab.vmdk_locations(name)})


def _at_once(lab, schedule, volumes, workdirs, journals):
    runs = [None, None]

    def start(index):
        runs[index] = run_once(lab, schedule, volumes, workdirs[index], journals[index])
    threads = [threading.Thread(target=start, args=(index,)) for index in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return runs


def _control_get(lab, what):
    with urllib.request.urlopen("%s/control/%s" % (lab.env["LAB_CONTROL_URL"], what), timeout=30) as response:
        return json.loads(response.read().decode())


def _wait_for_jobs(lab, timeout=30):
    """Until no job of the lab runs (a killed run's job still ends, and its effect is part of the truth)."""
    deadline = time.monotonic() + timeout
    while any(job["ended"] is None for job in _control_get(lab, "job_log")["jobs"]) and time.monotonic() < deadline:
        time.sleep(0.1)
