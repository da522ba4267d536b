"""Run the lab: vcsim (HTTPS) + the CloudStack simulator on free loopback ports, in the background.

    python tests/lab/labctl.py up [--behaviour legacy|fixed] [--vcenter-delay-ms N] [--zones N] [scale options]
    python tests/lab/labctl.py env | status | reset | down
    [--lab-dir DIR]   default: <repo>/.lab, or $SAFE_MIGRATION_LAB_DIR

`up` writes <lab dir>/lab.env (export lines) and <lab dir>/lab_vars.yml (the same values as
inventory variables). `reset` restarts vcsim on the same port (an empty inventory) and asks
the simulator to restore its seeded records and deploy them again. With `--zones N` every zone
has a vcsim of its own (a vCenter with its own login; zone N's files in <lab dir>/zoneN), and
lab.env names zone N's with the suffix _ZONE<N> (VMWARE_HOST_ZONE2...).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

LAB_PACKAGE_DIR = Path(__file__).resolve().parent
if str(LAB_PACKAGE_DIR.parent) not in sys.path:  # run as a script: make `lab` importable
    sys.path.insert(0, str(LAB_PACKAGE_DIR.parent))

from lab.vcsim_process import VcsimError, VcsimProcess, build_vcsim, process_alive  # noqa: E402  pylint: disable=wrong-import-position

REPO = LAB_PACKAGE_DIR.parents[1]
VCENTER_USER = "administrator@vsphere.local"
SIM_PID_FILE, SIM_LOG, SIM_INFO = "cloudstack-sim.pid", "cloudstack-sim.log", "cloudstack.json"
SECRETS_FILE = "lab-secrets.json"
SIM_STATE = ("cloudstack.sqlite", "cloudstack.seed.sqlite", SIM_INFO, "datastores")
SCALE_OPTIONS = ("pools", "vms", "data_disks_per_vm", "detached_volumes")


class LabError(Exception):
    """The lab could not be brought up, reset or down."""


def default_lab_dir():
    return Path(os.environ.get("SAFE_MIGRATION_LAB_DIR") or REPO / ".lab")


# ---- the simulator process ---------------------------------------------------------------

def _read_pid(lab_dir):
    try:
        return int((lab_dir / SIM_PID_FILE).read_text().strip())
    except (OSError, ValueError):
        return None


def zone_dir(lab_dir, zone_id):
    """Where a zone's vcsim keeps its files: the lab dir for the first zone, <lab dir>/zoneN for the others."""
    return Path(lab_dir) if zone_id == 1 else Path(lab_dir) / ("zone%d" % zone_id)


def zone_vcsims(lab_dir):
    """The vcsim of each zone (started by any process), first zone first; [] when there is none."""
    vcsims, zone_id = [], 1
    while True:
        vcsim = VcsimProcess.from_lab_dir(zone_dir(lab_dir, zone_id))
        if vcsim is None:
            return vcsims
        vcsims.append(vcsim)
        zone_id += 1


def _simulator_command(lab_dir, vcsims, options, ports=(0, 0)):
    first = vcsims[0]
    args = [sys.executable, "-m", "cloudstack_sim", "--listen", "127.0.0.1", "--port", str(ports[0]),
            "--control-port", str(ports[1]),
            "--state-dir", str(lab_dir), "--vcenter-host", first.host, "--vcenter-port", str(first.port),
            "--vcenter-user", VCENTER_USER, "--vcenter-ca-file", str(first.ca_file),
            "--behaviour", options["behaviour"], "--job-seconds", str(options["job_seconds"]), "--seed", "default"]
    for vcsim in vcsims[1:]:
        args += ["--zone-vcenter", "%s:%d:%s" % (vcsim.host, vcsim.port, vcsim.ca_file)]
    for name in ("clusters", "hosts_per_cluster") + SCALE_OPTIONS:
        if options.get(name) is not None:
            args += ["--" + name.replace("_", "-"), str(options[name])]
    return args


def start_simulator(lab_dir, vcsims, options, passwords, timeout, ports=(0, 0)):
    """Start `python -m cloudstack_sim` detached; wait until it has written cloudstack.json (it seeds first).
    ``vcsims`` and ``passwords``: each zone's vCenter and its password, first zone first."""
    (lab_dir / SIM_INFO).unlink(missing_ok=True)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(LAB_PACKAGE_DIR), os.environ.get("PYTHONPATH")])),
               CLOUDSTACK_SIM_VCENTER_PASSWORD=passwords[0])  # not on the command line: ps shows it
    env.update({"CLOUDSTACK_SIM_VCENTER_PASSWORD_%d" % zone_id: password
                for zone_id, password in enumerate(passwords[1:], start=2)})
    with open(lab_dir / SIM_LOG, "ab") as log:
        child = subprocess.Popen(_simulator_command(lab_dir, vcsims, options, ports), env=env, stdout=log,  # pylint: disable=consider-using-with
                                 stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    (lab_dir / SIM_PID_FILE).write_text("%d\n" % child.pid)
    deadline = time.monotonic() + timeout
    while not (lab_dir / SIM_INFO).exists():
        if child.poll() is not None:
            raise LabError("the CloudStack simulator exited with %s; see %s" % (child.returncode, lab_dir / SIM_LOG))
        if time.monotonic() > deadline:
            stop_simulator(lab_dir)
            raise LabError("the CloudStack simulator was not ready after %.0f s; see %s" % (timeout, lab_dir / SIM_LOG))
        time.sleep(0.05)
    return json.loads((lab_dir / SIM_INFO).read_text())


def stop_simulator(lab_dir, timeout=10.0, kill=False):
    pid = _read_pid(lab_dir)
    if pid and process_alive(pid):
        os.kill(pid, signal.SIGKILL if kill else signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while process_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if process_alive(pid):
            os.kill(pid, signal.SIGKILL)
    (lab_dir / SIM_PID_FILE).unlink(missing_ok=True)


# ---- env files ---------------------------------------------------------------------------

def lab_environment(lab_dir, vcsims, info, passwords):
    """The first zone's vCenter as VMWARE_*; zone N's (N > 1) with the suffix _ZONE<N>."""
    env = {
        "CLOUDSTACK_ENDPOINT": info["endpoint"], "CLOUDSTACK_KEY": info["admin"]["key"],
        "CLOUDSTACK_SECRET": info["admin"]["secret"],
        "VMWARE_HOST": vcsims[0].host, "VMWARE_PORT": str(vcsims[0].port), "VMWARE_USER": VCENTER_USER,
        "VMWARE_PASSWORD": passwords[0], "VMWARE_VALIDATE_CERTS": "true", "VMWARE_CA_CERT": str(vcsims[0].ca_file),
        "LAB_CONTROL_URL": info["control_url"], "LAB_USER_KEY": info["user"]["key"],
        "LAB_USER_SECRET": info["user"]["secret"], "LAB_DIR": str(lab_dir), "LAB_ZONES": str(len(vcsims)),
    }
    for zone_id, (vcsim, password) in enumerate(zip(vcsims[1:], passwords[1:]), start=2):
        env.update({"VMWARE_HOST_ZONE%d" % zone_id: vcsim.host, "VMWARE_PORT_ZONE%d" % zone_id: str(vcsim.port),
                    "VMWARE_PASSWORD_ZONE%d" % zone_id: password, "VMWARE_CA_CERT_ZONE%d" % zone_id: str(vcsim.ca_file)})
    return env


def _write_private(path, text):
    path.write_text(text)
    os.chmod(path, 0o600)


def write_env_files(lab_dir, env):
    """lab.env (shell export lines) and lab_vars.yml (inventory variables): the same values."""
    _write_private(lab_dir / "lab.env", "".join("export %s=%s\n" % (k, _shell_quote(v)) for k, v in env.items()))
    _write_private(lab_dir / "lab_vars.yml", "---\n" + "".join("%s: %s\n" % (k.lower(), json.dumps(v)) for k, v in env.items()))


def _shell_quote(value):
    return "'" + str(value).replace("'", "'\"'\"'") + "'"


def read_env(lab_dir):
    """lab.env as a dict (what `env` prints)."""
    env = {}
    for line in (Path(lab_dir) / "lab.env").read_text().splitlines():
        name, value = line[len("export "):].split("=", 1)
        env[name] = value[1:-1].replace("'\"'\"'", "'")
    return env


# ---- commands ----------------------------------------------------------------------------

def _clean_simulator_state(lab_dir):
    """A new lab starts from a new seed: the old database and datastore files would not match a fresh vcsim, and
    the zones of an earlier lab are gone."""
    for path in Path(lab_dir).glob("zone[0-9]*"):
        shutil.rmtree(path)
    for name in SIM_STATE:
        path = lab_dir / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def up(lab_dir, options, timeout=600.0):
    """Build, start and seed the lab; return the environment written to lab.env."""
    lab_dir = Path(lab_dir).resolve()
    if status(lab_dir)["vcsim"] or status(lab_dir)["simulator"]:
        raise LabError("the lab in %s already runs; run `down` first" % lab_dir)
    lab_dir.mkdir(parents=True, exist_ok=True)
    _clean_simulator_state(lab_dir)
    binary, vcsims, passwords = build_vcsim(lab_dir), [], []
    try:
        for zone_id in range(1, (options.get("zones") or 1) + 1):
            # each vcsim accepts only its own login, as a vCenter would: wrong-password cases are then real
            passwords.append(secrets.token_urlsafe(16))
            vcsims.append(VcsimProcess(zone_dir(lab_dir, zone_id), binary=binary, use_tls=True, clusters=options["clusters"],
                                       hosts_per_cluster=options["hosts_per_cluster"], delay_ms=options["vcenter_delay_ms"],
                                       credentials=(VCENTER_USER, passwords[-1])).start())
        _write_private(lab_dir / SECRETS_FILE, json.dumps({"vcenter_password": passwords[0], "zone_passwords": passwords}))
        info = start_simulator(lab_dir, vcsims, options, passwords, timeout)
    except (LabError, VcsimError):
        for vcsim in vcsims:
            vcsim.stop()
        raise
    env = lab_environment(lab_dir, vcsims, info, passwords)
    write_env_files(lab_dir, env)
    return env


def down(lab_dir):
    lab_dir = Path(lab_dir)
    stop_simulator(lab_dir)
    for vcsim in zone_vcsims(lab_dir):
        vcsim.stop()


def status(lab_dir):
    lab_dir = Path(lab_dir)
    vcsims = zone_vcsims(lab_dir)
    sim_pid = _read_pid(lab_dir)
    return {"lab_dir": str(lab_dir), "vcsim": any(vcsim.running for vcsim in vcsims),
            "vcsim_url": vcsims[0].url if vcsims else None, "vcsim_urls": [vcsim.url for vcsim in vcsims],
            "simulator": bool(sim_pid and process_alive(sim_pid)), "simulator_pid": sim_pid}


def control(control_url, action, payload=None, timeout=600.0):
    """POST <control_url>/control/<action> with a JSON body; the JSON answer."""
    request = urllib.request.Request("%s/control/%s" % (control_url, action), data=json.dumps(payload or {}).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read().decode() or "{}")
    except urllib.error.HTTPError as error:
        raise LabError("control %s failed: %s %s" % (action, error.code, error.read().decode(errors="replace"))) from error


def restart_simulator(lab_dir, down_seconds=0.0, timeout=60.0):
    """A management-server crash and restart: SIGKILL, ``down_seconds`` with nothing listening, then the same
    ports, database and settings (behaviour, job time) again; the jobs it cut off end failed, as CloudStack's do."""
    lab_dir = Path(lab_dir)
    env = read_env(lab_dir)
    with urllib.request.urlopen("%s/control/status" % env["LAB_CONTROL_URL"], timeout=30) as response:
        state = json.loads(response.read().decode())
    ports = (urllib.parse.urlsplit(env["CLOUDSTACK_ENDPOINT"]).port, urllib.parse.urlsplit(env["LAB_CONTROL_URL"]).port)
    vcsims = zone_vcsims(lab_dir)
    stop_simulator(lab_dir, kill=True)
    time.sleep(down_seconds)
    options = {"behaviour": state["behaviour"], "job_seconds": state["job_seconds"]}  # the rest is in the database
    return start_simulator(lab_dir, vcsims, options, _passwords(lab_dir), timeout, ports=ports)


def _passwords(lab_dir):
    """Each zone's vCenter password, first zone first."""
    saved = json.loads((Path(lab_dir) / SECRETS_FILE).read_text())
    return saved.get("zone_passwords") or [saved["vcenter_password"]]


def reset(lab_dir):
    """A fresh vcsim on the same port, then the simulator restores its seeded records and deploys them again."""
    lab_dir = Path(lab_dir)
    vcsims = zone_vcsims(lab_dir)
    if not vcsims or not status(lab_dir)["simulator"]:
        raise LabError("the lab in %s does not run; run `up` first" % lab_dir)
    for vcsim in vcsims:
        vcsim.restart()
    return control(read_env(lab_dir)["LAB_CONTROL_URL"], "reset")


# ---- command line ------------------------------------------------------------------------

def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="labctl", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("up", "down", "status", "env", "reset"))
    parser.add_argument("--lab-dir", type=Path, default=None, help="default: <repo>/.lab or $SAFE_MIGRATION_LAB_DIR")
    parser.add_argument("--behaviour", choices=("legacy", "fixed"), default="legacy")
    parser.add_argument("--vcenter-delay-ms", type=int, default=0, help="delay added to every SOAP call")
    parser.add_argument("--job-seconds", type=float, default=0.2, help="how long a simulated job runs")
    parser.add_argument("--clusters", type=int, default=2)
    parser.add_argument("--hosts-per-cluster", type=int, default=2)
    parser.add_argument("--zones", type=int, default=1, help="zones, each with a vcsim (a vCenter) of its own")
    for name in SCALE_OPTIONS:
        parser.add_argument("--" + name.replace("_", "-"), type=int, default=None)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the simulator to seed")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    lab_dir = args.lab_dir or default_lab_dir()
    try:
        if args.command == "up":
            started = time.monotonic()
            up(lab_dir, vars(args), timeout=args.timeout)
            print("lab up in %.1f s; environment: %s" % (time.monotonic() - started, Path(lab_dir) / "lab.env"))
        elif args.command == "env":
            print((Path(lab_dir) / "lab.env").read_text(), end="")
        elif args.command == "status":
            print(json.dumps(status(lab_dir), indent=1))
        elif args.command == "reset":
            started = time.monotonic()
            reset(lab_dir)
            print("lab reset in %.1f s" % (time.monotonic() - started))
        else:
            down(lab_dir)
            print("lab down")
    except (LabError, VcsimError, OSError) as error:
        print("labctl %s: %s" % (args.command, error), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
