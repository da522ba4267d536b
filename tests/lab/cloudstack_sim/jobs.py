"""Async jobs: a row per job, worker threads, sync queues with a size (as CloudStack's sync queues), a job log.

A job's work is a function returning (result_type, result) or raising ApiError; the runner
records IN_PROGRESS(0) -> SUCCEEDED(1) / FAILED(2) as CloudStack does. A job names the sync
queues it belongs to (e.g. its VM's work queue, size 1); it starts once every one of them has
room, first come first served within a queue. The job log keeps, per job, when it was queued,
started and ended and how it ended, and the peak number of migrateVolume jobs seen running at
once per destination pool and per VM.
"""
from __future__ import annotations

import json
import threading
import time
import uuid as uuidlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from .protocol import INTERNAL_ERROR, ApiError, now_text

RESTART_TEXT = "Job cancelled because of management server restart or shutdown"
RESET_TEXT = "Job cancelled because the lab was reset"
MIGRATION_COMMAND = "migrateVolume"


@dataclass(frozen=True)
class Queue:
    """A sync object and how many of its jobs may run at once (0: unlimited, i.e. not synchronised)."""
    key: str
    size: int = 1


@dataclass
class _Pending:
    job: dict
    queues: tuple
    work: object
    entry: dict


class JobRunner:
    def __init__(self, store, workers: int = 32):
        self.store = store
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cs-job")
        self.lock = threading.Lock()
        self.generation = 0
        self._reset_state()

    def _reset_state(self) -> None:
        self.pending: list[_Pending] = []
        self.running: dict[str, int] = {}
        self.migrations_running: dict[tuple, int] = {}
        self.peaks: dict[tuple, int] = {}
        self.log: list[dict] = []

    def create(self, account_id: int, cmd: str, command: str, params: dict, instance_type: str | None,
               instance_id: int | None, job_uuid: str | None = None) -> dict:
        row = {"uuid": job_uuid or str(uuidlib.uuid4()), "account_id": account_id, "cmd": cmd, "command": command,
               "params": json.dumps(params), "instance_type": instance_type, "instance_id": instance_id,
               "status": 0, "result_code": 0, "created": now_text()}
        row["id"] = self.store.insert("jobs", row)
        return row

    def start(self, job: dict, queues, work, subjects: dict | None = None) -> None:
        """Queue work(job) behind the jobs of its sync queues; subjects (volumeid, storageid...) go into the log."""
        entry = {"jobid": job["uuid"], "command": job["command"], "volumeid": None, "storageid": None,
                 "virtualmachineid": None, **(subjects or {}), "queued": time.time(), "started": None, "ended": None,
                 "jobstatus": 0, "jobresultcode": 0, "errortext": None}
        with self.lock:
            self.log.append(entry)
            self.pending.append(_Pending(job, tuple(queues), work, entry))
            self._schedule()

    def _schedule(self) -> None:
        """Start every pending job whose queues have room; a job waiting in a queue holds back the later ones."""
        held = set()
        for item in list(self.pending):
            keys = {queue.key for queue in item.queues}
            if keys & held or not all(self._has_room(queue) for queue in item.queues):
                held |= keys
                continue
            self.pending.remove(item)
            for queue in item.queues:
                self.running[queue.key] = self.running.get(queue.key, 0) + 1
            self._count_migration(item.entry, +1)
            item.entry["started"] = time.time()
            self.pool.submit(self._execute, item, self.generation)

    def _has_room(self, queue: Queue) -> bool:
        return queue.size <= 0 or self.running.get(queue.key, 0) < queue.size

    def _count_migration(self, entry: dict, step: int) -> None:
        if entry["command"] != MIGRATION_COMMAND:
            return
        for subject in ("storageid", "virtualmachineid"):
            if entry[subject] is None:
                continue
            key = (subject, entry[subject])
            self.migrations_running[key] = self.migrations_running.get(key, 0) + step
            self.peaks[key] = max(self.peaks.get(key, 0), self.migrations_running[key])

    def _execute(self, item: _Pending, generation: int) -> None:
        self._run(item.job, item.work, generation)
        with self.lock:
            if generation != self.generation:
                return
            for queue in item.queues:
                self.running[queue.key] -= 1
            self._count_migration(item.entry, -1)
            item.entry["ended"] = time.time()
            self._schedule()

    def _run(self, job: dict, work, generation: int) -> None:
        job["generation"] = generation
        try:
            result_type, result = work(job)
        except ApiError as error:
            self._finish(job, generation, 2, error.code, "object", {"errorcode": error.code, "errortext": error.text})
        except Exception as error:  # anything else is a 530, as ApiAsyncJobDispatcher does
            self._finish(job, generation, 2, INTERNAL_ERROR, "object", {"errorcode": INTERNAL_ERROR, "errortext": str(error)})
        else:
            self._finish(job, generation, 1, 0, result_type, result)

    def _finish(self, job, generation, status, code, result_type, result) -> None:
        with self.lock:
            if generation != self.generation:
                return  # the lab was reset while this job ran: its row no longer exists
            self.store.update("jobs", job["id"], status=status, result_code=code, result_type=result_type,
                              result=json.dumps(result), completed=now_text())
            entry = next((e for e in self.log if e["jobid"] == job["uuid"]), None)
            if entry is not None:
                entry.update(jobstatus=status, jobresultcode=code,
                             errortext=result.get("errortext") if status != 1 and isinstance(result, dict) else None)

    def job_log(self) -> dict:
        """Every job since the start (or the last reset), oldest first, and the peaks of concurrent migrations."""
        with self.lock:
            peaks = {"per_pool": {}, "per_vm": {}}
            for (subject, value), peak in self.peaks.items():
                peaks["per_pool" if subject == "storageid" else "per_vm"][value] = peak
            return {"jobs": [dict(entry) for entry in self.log], "peak_concurrent_migrations": peaks}

    def fail_pending(self, text: str) -> int:
        """Pending jobs (e.g. cut off by a restart) are marked failed; their instances are left as they are."""
        result = json.dumps({"errorcode": INTERNAL_ERROR, "errortext": text})
        with self.store.lock:
            cursor = self.store.db.execute(
                "UPDATE jobs SET status = 2, result_code = ?, result_type = 'object', result = ?, completed = ? "
                "WHERE status = 0", (INTERNAL_ERROR, result, now_text()))
            return cursor.rowcount

    def abandon_all(self) -> None:
        """Forget the queued jobs and the log (reset); running workers notice the new generation and stop writing."""
        with self.lock:
            self.generation += 1
            self._reset_state()

    def is_current(self, generation: int) -> bool:
        return generation == self.generation

    def shutdown(self) -> None:
        self.abandon_all()
        self.pool.shutdown(wait=False, cancel_futures=True)
