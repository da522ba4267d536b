"""Async jobs: a row per job, worker threads, one queue per sync object (e.g. destination pool).

A job's work is a function returning (result_type, result) or raising ApiError; the runner
records IN_PROGRESS(0) -> SUCCEEDED(1) / FAILED(2) as CloudStack does.
"""
from __future__ import annotations

import json
import threading
import uuid as uuidlib
from collections import deque
from concurrent.futures import ThreadPoolExecutor

from .protocol import INTERNAL_ERROR, ApiError, now_text

RESTART_TEXT = "Job cancelled because of management server restart or shutdown"
RESET_TEXT = "Job cancelled because the lab was reset"


class JobRunner:
    def __init__(self, store, workers: int = 16):
        self.store = store
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cs-job")
        self.lock = threading.Lock()
        self.queues: dict[str, deque] = {}
        self.generation = 0

    def create(self, account_id: int, cmd: str, command: str, params: dict, instance_type: str | None,
               instance_id: int | None, job_uuid: str | None = None) -> dict:
        row = {"uuid": job_uuid or str(uuidlib.uuid4()), "account_id": account_id, "cmd": cmd, "command": command,
               "params": json.dumps(params), "instance_type": instance_type, "instance_id": instance_id,
               "status": 0, "result_code": 0, "created": now_text()}
        row["id"] = self.store.insert("jobs", row)
        return row

    def start(self, job: dict, sync_key: str, work) -> None:
        """Queue work(job) behind the other jobs of the same sync object."""
        with self.lock:
            generation = self.generation
            queue = self.queues.setdefault(sync_key, deque())
            queue.append((job, work))
            if len(queue) == 1:
                self.pool.submit(self._drain, sync_key, generation)

    def _drain(self, sync_key: str, generation: int) -> None:
        while True:
            with self.lock:
                queue = self.queues.get(sync_key)
                if generation != self.generation or not queue:
                    return
                job, work = queue[0]
            self._run(job, work, generation)
            with self.lock:
                if generation != self.generation:
                    return
                queue.popleft()
                if not queue:
                    del self.queues[sync_key]
                    return

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

    def fail_pending(self, text: str) -> int:
        """Pending jobs (e.g. cut off by a restart) are marked failed; their instances are left as they are."""
        result = json.dumps({"errorcode": INTERNAL_ERROR, "errortext": text})
        with self.store.lock:
            cursor = self.store.db.execute(
                "UPDATE jobs SET status = 2, result_code = ?, result_type = 'object', result = ?, completed = ? "
                "WHERE status = 0", (INTERNAL_ERROR, result, now_text()))
            return cursor.rowcount

    def abandon_all(self) -> None:
        """Forget the queued jobs (reset); running workers notice the new generation and stop writing."""
        with self.lock:
            self.generation += 1
            self.queues.clear()

    def is_current(self, generation: int) -> bool:
        return generation == self.generation

    def shutdown(self) -> None:
        self.abandon_all()
        self.pool.shutdown(wait=False, cancel_futures=True)
