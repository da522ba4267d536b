"""Start and stop `python -m cloudstack_sim` as a child process (tests and labctl)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

LAB_DIR = Path(__file__).resolve().parent.parent


class SimulatorError(Exception):
    pass


class SimulatorProcess:
    def __init__(self, state_dir, options: dict | None = None):
        self.state_dir = Path(state_dir)
        self.options = dict(options or {})
        self.child = None
        self.info = None

    def command(self) -> list[str]:
        args = [sys.executable, "-m", "cloudstack_sim", "--state-dir", str(self.state_dir)]
        for name, value in self.options.items():
            if value is not None:
                args += [f"--{name.replace('_', '-')}", str(value)]
        return args

    def start(self) -> dict:
        """Start and wait for the READY line; returns cloudstack.json's content."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(LAB_DIR), os.environ.get("PYTHONPATH")])))
        log = open(self.state_dir / "cloudstack-sim.log", "ab")  # pylint: disable=consider-using-with
        self.child = subprocess.Popen(self.command(), env=env, stdout=subprocess.PIPE, stderr=log,  # pylint: disable=consider-using-with
                                      stdin=subprocess.DEVNULL, text=True, start_new_session=True)
        log.close()
        line = self.child.stdout.readline()  # the child prints READY, or exits (empty line)
        if not line.startswith("READY"):
            self.stop()
            raise SimulatorError(f"simulator did not start; see {self.state_dir / 'cloudstack-sim.log'}")
        self.info = json.loads((self.state_dir / "cloudstack.json").read_text())
        return self.info

    def stop(self, timeout: float = 10.0, kill: bool = False) -> None:
        """SIGTERM (or SIGKILL, to simulate a crash) and wait."""
        if self.child is None:
            return
        if self.child.poll() is None:
            os.kill(self.child.pid, signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.child.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.child.pid, signal.SIGKILL)
                self.child.wait(timeout)
        self.child.stdout.close()
        self.child = None
