"""Build the lab's vcsim (cached) and run it as a process that can be restarted on the same port.

Restarting vcsim is how the lab resets vCenter: a fresh process has an empty inventory
(only the topology of datacenter, clusters and hosts), on the same URL, so clients and
the CloudStack simulator only have to log in again.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

SOURCE = Path(__file__).resolve().parent / "vcsim" / "main.go"
GOVMOMI_SIMULATOR = Path("/usr/share/gocode/src/github.com/vmware/govmomi/simulator")
APT_HINT = "apt-get install -y golang-go golang-github-vmware-govmomi-dev"
STATE_FILE = "vcsim.json"


class VcsimError(Exception):
    """vcsim could not be built, started or stopped."""


def _source_digest():
    return hashlib.sha256(SOURCE.read_bytes()).hexdigest()


def _build_cache_dir():
    """Binaries shared by every lab dir of this user (a temporary lab must not rebuild for 10 s)."""
    return Path(os.environ.get("SAFE_MIGRATION_BUILD_CACHE", Path.home() / ".cache" / "safe-migration-lab"))


def _go_build(output, cache_dir):
    go = shutil.which("go")
    if go is None:
        raise VcsimError("the Go compiler is missing; install it with: %s" % APT_HINT)
    if not GOVMOMI_SIMULATOR.is_dir():
        raise VcsimError("govmomi's simulator source is missing (%s); install it with: %s" % (GOVMOMI_SIMULATOR, APT_HINT))
    env = dict(os.environ, GOPATH="/usr/share/gocode", GO111MODULE="off", GOFLAGS="",
               GOCACHE=str(cache_dir / "go-build"))
    partial = output.with_name(output.name + ".partial")
    completed = subprocess.run([go, "build", "-o", str(partial), "."], cwd=str(SOURCE.parent), env=env,
                               capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise VcsimError("go build of %s failed:\n%s" % (SOURCE, completed.stderr.strip()))
    partial.replace(output)


def build_vcsim(lab_dir):
    """Return <lab_dir>/bin/vcsim, building it only when main.go changed (sha256 stamp)."""
    bin_dir = Path(lab_dir) / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    binary, stamp = bin_dir / "vcsim", bin_dir / "vcsim.sha256"
    digest = _source_digest()
    with open(bin_dir / ".build.lock", "w", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel test workers share one build
        if binary.exists() and stamp.exists() and stamp.read_text().strip() == digest:
            return binary
        cache_dir = _build_cache_dir()
        cache_dir.mkdir(parents=True, exist_ok=True)
        cached = cache_dir / ("vcsim-" + digest[:16])
        with open(cache_dir / ".build.lock", "w", encoding="utf-8") as cache_lock:
            fcntl.flock(cache_lock, fcntl.LOCK_EX)
            if not cached.exists():
                _go_build(cached, cache_dir)
        shutil.copy2(cached, binary.with_name("vcsim.partial"))
        binary.with_name("vcsim.partial").replace(binary)
        stamp.write_text(digest + "\n")
    return binary


def process_alive(pid):
    """Whether pid runs; reaps it first when it is an exited child of this process (no zombie counts)."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass  # not our child: started by another labctl run
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class VcsimProcess:
    """vcsim in the background, described by <lab_dir>/vcsim.json so another process can stop or restart it."""

    def __init__(self, lab_dir, binary=None, port=0, use_tls=True, clusters=1, hosts_per_cluster=2,
                 standalone_hosts=0, delay_ms=0, method_delay=None, credentials=None, datacenters=1):
        self.lab_dir = Path(lab_dir)
        self.binary = Path(binary) if binary else self.lab_dir / "bin" / "vcsim"
        self.port, self.use_tls = int(port), use_tls
        self.topology = {"clusters": clusters, "hosts_per_cluster": hosts_per_cluster, "standalone_hosts": standalone_hosts,
                         "datacenters": datacenters}
        self.delay_ms, self.method_delay = delay_ms, method_delay or {}
        # (user, password): the only login vcsim accepts; None accepts any (vcsim's default)
        self.credentials = tuple(credentials) if credentials else None
        self.pid = None
        self.url = None
        self._child = None

    # ---- files ---------------------------------------------------------------------------

    @property
    def ca_file(self):
        return self.lab_dir / "vcsim-ca.pem" if self.use_tls else None

    @property
    def key_file(self):
        return self.lab_dir / "vcsim-key.pem" if self.use_tls else None

    @property
    def url_file(self):
        return self.lab_dir / "vcsim.url"

    @property
    def log_file(self):
        return self.lab_dir / "vcsim.log"

    @property
    def host(self):
        return urlsplit(self.url).hostname if self.url else None

    def _save(self):
        state = {"binary": str(self.binary), "port": self.port, "use_tls": self.use_tls, "delay_ms": self.delay_ms,
                 "method_delay": self.method_delay, "pid": self.pid, "url": self.url,
                 "credentials": list(self.credentials) if self.credentials else None, **self.topology}
        path = self.lab_dir / STATE_FILE
        path.touch(mode=0o600)  # it may hold the lab's vCenter password, as lab.env does
        path.chmod(0o600)
        path.write_text(json.dumps(state, indent=1))

    @classmethod
    def from_lab_dir(cls, lab_dir):
        """The vcsim described by a lab dir (started by another process); None if there is none."""
        path = Path(lab_dir) / STATE_FILE
        if not path.exists():
            return None
        state = json.loads(path.read_text())
        process = cls(lab_dir, binary=state["binary"], port=state["port"], use_tls=state["use_tls"],
                      clusters=state["clusters"], hosts_per_cluster=state["hosts_per_cluster"],
                      standalone_hosts=state["standalone_hosts"], delay_ms=state["delay_ms"],
                      method_delay=state["method_delay"], credentials=state.get("credentials"),
                      datacenters=state.get("datacenters", 1))
        process.pid, process.url = state.get("pid"), state.get("url")
        return process

    # ---- life cycle ----------------------------------------------------------------------

    def command(self):
        args = [str(self.binary), "-listen", "127.0.0.1:%d" % self.port, "-url-file", str(self.url_file),
                "-dc", str(self.topology["datacenters"]),
                "-cluster", str(self.topology["clusters"]), "-host-per-cluster", str(self.topology["hosts_per_cluster"]),
                "-standalone-host", str(self.topology["standalone_hosts"]), "-delay", str(self.delay_ms)]
        if self.method_delay:
            args += ["-method-delay", json.dumps(self.method_delay)]
        if self.credentials:
            args += ["-username", self.credentials[0]]  # the password goes in the environment, out of ps
        if self.use_tls:
            args += ["-tls", "-ca-file", str(self.ca_file), "-key-file", str(self.key_file)]
        return args

    @property
    def running(self):
        if self._child is not None:
            return self._child.poll() is None
        return bool(self.pid) and process_alive(self.pid)

    def start(self, timeout=30.0):
        """Start vcsim and wait until it serves (its URL file appears); the port is kept for restarts."""
        if self.running:
            raise VcsimError("vcsim already runs (pid %s)" % self.pid)
        self.lab_dir.mkdir(parents=True, exist_ok=True)
        self.url_file.unlink(missing_ok=True)
        with open(self.log_file, "ab") as log:
            env = dict(os.environ, VCSIM_PASSWORD=self.credentials[1]) if self.credentials else None
            self._child = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,  # pylint: disable=consider-using-with
                                           stdin=subprocess.DEVNULL, start_new_session=True, env=env)
        self.pid = self._child.pid
        self._wait_ready(timeout)
        self.port = urlsplit(self.url).port
        self._save()
        return self

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while not self.url_file.exists():
            if self._child.poll() is not None:
                raise VcsimError("vcsim exited with %s; see %s:\n%s" % (self._child.returncode, self.log_file, self._log_tail()))
            if time.monotonic() > deadline:
                self.stop()
                raise VcsimError("vcsim not ready after %.0f s; see %s" % (timeout, self.log_file))
            time.sleep(0.02)
        self.url = self.url_file.read_text().strip()

    def _log_tail(self):
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-10:])

    def stop(self, timeout=10.0):
        """SIGTERM (vcsim closes its server and removes its model), SIGKILL after the timeout."""
        if self.pid and self.running:
            os.kill(self.pid, signal.SIGTERM)
            if not self._wait_exit(timeout):
                os.kill(self.pid, signal.SIGKILL)
                self._wait_exit(timeout)
        self._child, self.pid = None, None
        self.url_file.unlink(missing_ok=True)
        if (self.lab_dir / STATE_FILE).exists():
            self._save()

    def _wait_exit(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._child is not None:
                try:
                    self._child.wait(timeout=0.05)
                    return True
                except subprocess.TimeoutExpired:
                    continue
            if not process_alive(self.pid):
                return True
            time.sleep(0.02)
        return False

    def restart(self, timeout=30.0):
        """Stop and start again on the same port: an empty inventory at the same URL."""
        self.stop()
        return self.start(timeout)


if __name__ == "__main__":
    # scripts/setup.sh: "python -m lab.vcsim_process build" warms the build cache before any lab starts.
    import sys

    if sys.argv[1:] != ["build"]:
        sys.exit("usage: python -m lab.vcsim_process build")
    try:
        print(build_vcsim(os.environ.get("SAFE_MIGRATION_LAB_DIR") or Path(__file__).resolve().parents[2] / ".lab"))
    except VcsimError as error:
        sys.exit("vcsim build failed: %s" % error)
