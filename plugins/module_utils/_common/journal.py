# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Append-only JSON-lines journal of volume migrations.

One line per event (plan, job id before submission, job result, verification,
restore, outcome). It lets a crashed or timed-out run resume waiting for the job it
submitted instead of submitting a second one, and it is what a maintenance-window
report is built from. Lines are flushed and fsynced before the call returns.
Secrets never reach it: keys that name a secret are dropped at any depth.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import InvalidInput

DEFAULT_JOURNAL_PATH = "~/.ansible/safe_migration/journal.jsonl"
SECRET_KEYS = frozenset(("api_key", "api_secret", "apikey", "secret", "password", "signature", "token"))

JOB_SUBMITTING = "job_submitting"
# A job this run did not submit but waits for: a migrateVolume CloudStack shows on the volume, or a
# submission CloudStack answered "job already exists" (a late first attempt). Open until its job_result.
JOB_ADOPTED = "job_adopted"
JOB_RESULT = "job_result"
JOB_ABANDONED = "job_abandoned"
OUTCOME = "outcome"


def without_secrets(value):
    """A copy of ``value`` without any mapping key that names a secret."""
    if isinstance(value, dict):
        return {key: without_secrets(item) for key, item in value.items() if str(key).lower() not in SECRET_KEYS}
    if isinstance(value, (list, tuple)):
        return [without_secrets(item) for item in value]
    return value


class Journal:
    """An append-only JSON-lines file; safe to share between the threads of one run."""

    def __init__(self, path=DEFAULT_JOURNAL_PATH, clock=time.time, run_id=None):
        self.path = os.path.expanduser(path)
        self.run_id = run_id or str(uuid.uuid4())
        self._clock = clock
        self._lock = threading.Lock()

    def record(self, volume_id, event, **data):
        """Append one event about a volume and return it."""
        entry = {"ts": round(self._clock(), 3), "run": self.run_id, "volume": volume_id, "event": event}
        entry.update(without_secrets(data))
        line = json.dumps(entry, sort_keys=True, default=str)
        with self._lock:
            self._append(line)
        return entry

    def entries(self, volume_id=None):
        """Every event (of one volume, when given), oldest first; unreadable lines are skipped."""
        if not os.path.exists(self.path):
            return []
        with self._lock, open(self.path, encoding="utf-8") as handle:
            lines = handle.readlines()
        found = []
        for line in lines:
            entry = _parse(line)
            if entry is not None and (volume_id is None or entry.get("volume") == volume_id):
                found.append(entry)
        return found

    def unfinished_job(self, volume_id):
        """The last job submission of a volume whose result was never recorded, or None."""
        open_jobs = {}
        for entry in self.entries(volume_id):
            job_id = entry.get("job_id")
            if entry["event"] in (JOB_SUBMITTING, JOB_ADOPTED):
                open_jobs[job_id] = entry
            elif entry["event"] in (JOB_RESULT, JOB_ABANDONED):
                open_jobs.pop(job_id, None)
        if not open_jobs:
            return None
        return max(open_jobs.values(), key=lambda entry: entry["ts"])

    def _append(self, line):
        directory = os.path.dirname(self.path)
        try:
            if directory and not os.path.isdir(directory):
                os.makedirs(directory, mode=0o700)
            descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
                handle.write(line + "\n")
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as error:
            raise InvalidInput("Cannot write the migration journal %s: %s; set journal_path to a writable file"
                               % (self.path, error.strerror or error), journal_path=self.path) from None


def _parse(line):
    line = line.strip()
    if not line:
        return None
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    return entry if isinstance(entry, dict) and "event" in entry else None


def read_damaged(path, max_bytes=64 * 1024 * 1024):
    """Every readable event of a journal that may be damaged, oldest first, for reports.

    Returns ``{"events": [...], "skipped": n, "truncated": bool}``. A line that is not UTF-8, not JSON or not an
    event (a half-written last line, invalid bytes) is skipped and counted, never raised; only the last
    ``max_bytes`` bytes are read (``truncated``: older lines were left out). A missing file has no events.
    """
    found = {"events": [], "skipped": 0, "truncated": False}
    try:
        with open(os.path.expanduser(path), "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            found["truncated"] = size > max_bytes
            handle.seek(max(0, size - max_bytes))
            data = handle.read(max_bytes)
    except (OSError, ValueError):
        return found
    lines = data.split(b"\n")
    if found["truncated"]:
        lines = lines[1:]  # the first line was cut by the bound, not damaged
    for raw in lines:
        try:
            entry = _parse(raw.decode("utf-8"))
        except UnicodeDecodeError:
            entry = None
        if entry is not None:
            found["events"].append(entry)
        elif raw.strip():
            found["skipped"] += 1
    return found
