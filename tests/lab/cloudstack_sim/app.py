"""The simulator's state that outlives a request: database, backend, jobs, behaviour and faults."""
from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from .jobs import RESET_TEXT, RESTART_TEXT, JobRunner
from .store import Store

BEHAVIOURS = ("legacy", "fixed")
MIGRATION_WORK_SAMPLES = 20


@dataclass
class Settings:
    state_dir: Path
    behaviour: str = "legacy"
    job_seconds: float = 0.5
    seed: str = "default"
    scale: dict = field(default_factory=dict)
    vcenter: dict = field(default_factory=dict)


@dataclass
class CallFault:
    """fault_next_calls: the next `count` API calls (optionally only `command`) answer `status`."""
    count: int
    status: object
    command: str | None = None


class Simulator:
    def __init__(self, settings: Settings, backend_factories=None):
        """``backend_factories``: zone id -> a function that makes that zone's connected vCenter backend."""
        self.settings = settings
        self.store = Store(settings.state_dir / "cloudstack.sqlite")
        self.backend_factories = dict(backend_factories or {})
        self.backends = {zone_id: factory() for zone_id, factory in self.backend_factories.items()}
        self.runner = JobRunner(self.store)
        self.lock = threading.Lock()
        self.behaviour = settings.behaviour
        self.job_seconds = settings.job_seconds
        # how long the vCenter work of the last migrations took: a migration job lasts job_seconds in all
        self.migration_work_seconds: deque[float] = deque(maxlen=MIGRATION_WORK_SAMPLES)
        self.migration_work_lock = threading.Lock()
        self.job_faults: list[dict] = []
        self.call_faults: list[CallFault] = []
        self.release = threading.Event()
        self.reset_event = threading.Event()
        self.cut_off_jobs = self.runner.fail_pending(RESTART_TEXT)

    @property
    def backend(self):
        """The first zone's vCenter backend (None without a vCenter)."""
        return self.backends.get(1)

    def backend_of(self, zone_id: int):
        """The vCenter backend of a zone (None without a vCenter)."""
        return self.backends.get(zone_id)

    @property
    def snapshot_path(self) -> Path:
        return self.settings.state_dir / "cloudstack.seed.sqlite"

    # --- faults -------------------------------------------------------------------------------
    def take_job_fault(self) -> dict | None:
        with self.lock:
            return self.job_faults.pop(0) if self.job_faults else None

    def take_call_fault(self, command: str) -> CallFault | None:
        with self.lock:
            for fault in self.call_faults:
                if fault.command and fault.command.lower() != command.lower():
                    continue
                fault.count -= 1
                if fault.count <= 0:
                    self.call_faults.remove(fault)
                return fault
        return None

    def wait(self, seconds: float) -> bool:
        """Sleep for a job; False when a reset interrupted it."""
        return not self.reset_event.wait(max(0.0, seconds))

    def migration_pause(self) -> float:
        """The wait before a migration's vCenter work: job_seconds less what that work took lately (the median), or
        less half of it before any migration (the rest of job_seconds is waited after the work: ``rest_of_job``)."""
        with self.migration_work_lock:
            work = sorted(self.migration_work_seconds)
        return max(0.0, self.job_seconds - (work[len(work) // 2] if work else self.job_seconds / 2))

    def rest_of_job(self, started: float) -> float:
        """What is left of job_seconds since the job's pause began (monotonic ``started``): a job lasts at least that."""
        return max(0.0, self.job_seconds - (time.monotonic() - started))

    def note_migration_work(self, seconds: float) -> None:
        with self.migration_work_lock:
            self.migration_work_seconds.append(seconds)

    def wait_for_release(self) -> bool:
        """A hung job waits until release_jobs or reset; False on reset."""
        release, reset = self.release, self.reset_event
        while not release.wait(0.05):
            if reset.is_set():
                return False
        return not reset.is_set()

    def release_jobs(self) -> None:
        self.release.set()

    # --- reset --------------------------------------------------------------------------------
    def reset(self, redeploy) -> None:
        """Back to the seeded state: jobs dropped, faults cleared, behaviour restored, vcsim re-deployed."""
        self.reset_event.set()
        self.release.set()
        self.runner.abandon_all()
        with self.lock:
            self.job_faults.clear()
            self.call_faults.clear()
            self.behaviour = self.settings.behaviour
            self.job_seconds = self.settings.job_seconds
        if self.snapshot_path.exists():
            self.store.restore(self.snapshot_path)
        self.runner.fail_pending(RESET_TEXT)
        if self.backends:
            # New backends, not reconnect(): a restarted vcsim has a new certificate.
            for zone_id, backend in self.backends.items():
                backend.close()
                self.backends[zone_id] = self.backend_factories[zone_id]()
            redeploy(self)
        self.reset_event = threading.Event()
        self.release = threading.Event()

    def close(self) -> None:
        self.reset_event.set()
        self.runner.shutdown()
        self.store.close()
