# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Append-only JSON-lines journal of volume migrations.

One line per event (plan, job id before submission, job result, verification,
restore, outcome). It lets a crashed or timed-out run resume waiting for the job it
submitted instead of submitting a second one, and it is what a maintenance-window
report is built from. Lines are appended (O_APPEND) and fsynced before the call returns.
Secrets never reach it: keys that name a secret are dropped at any depth.

The path is checked before anything runs: a regular file (or none yet) in an existing
directory, never a device, a directory or a system file. The file is read once per run,
through the same tolerant reader the reports use.
"""

from __future__ import annotations

import json
import os
import stat
import threading
import time
import uuid

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import InvalidInput

DEFAULT_JOURNAL_PATH = "~/.ansible/safe_migration/journal.jsonl"
SECRET_KEYS = frozenset(("api_key", "api_secret", "apikey", "secret", "password", "signature", "token"))
# Never a journal: the system's own trees (a typo'd journal_path must not append to /etc/passwd).
SYSTEM_DIRECTORIES = ("/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/proc", "/run", "/sbin", "/sys",
                      "/usr")
# A journal larger than this is read from its end: a run only needs its recent events.
MAX_READ_BYTES = 64 * 1024 * 1024

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


def resolved_path(path):
    """The journal file a ``journal_path`` names: user expanded, absolute, symlinks followed."""
    return os.path.realpath(os.path.abspath(os.path.expanduser(path)))


def checked_path(path, create_directory=False):
    """The absolute journal path, or InvalidInput saying what is wrong with it and what to do; nothing is written.

    The directory of the default path is created (mode 0700); another directory only with ``create_directory``.
    """
    wanted = os.path.abspath(os.path.expanduser(path))
    real = resolved_path(path)
    if any(real == system or real.startswith(system + "/") for system in SYSTEM_DIRECTORIES):
        raise _refused(path, "it is in the system directory %s" % _system_directory(real))
    if os.path.lexists(real):
        kind = _file_kind(real)
        if kind != "regular file":
            raise _refused(path, "it is a %s, not a regular file" % kind)
    directory = os.path.dirname(real)
    if not os.path.isdir(directory):
        if os.path.lexists(directory):
            raise _refused(path, "%s is not a directory" % directory)
        if not (create_directory or wanted == os.path.abspath(os.path.expanduser(DEFAULT_JOURNAL_PATH))):
            raise _refused(path, "its directory %s does not exist; create it, or set journal_create_directory=true "
                                 "(playbook: safe_migration_journal_create_directory)" % directory)
    return real


class Journal:
    """An append-only JSON-lines file; safe to share between the threads of one run."""

    def __init__(self, path=DEFAULT_JOURNAL_PATH, clock=time.time, run_id=None, create_directory=False):
        self.path = checked_path(path, create_directory)
        self.run_id = run_id or str(uuid.uuid4())
        self.skipped_lines = 0
        self._clock = clock
        self._lock = threading.Lock()
        self._events = None
        self._tail_checked = False

    def record(self, volume_id, event, **data):
        """Append one event about a volume and return it."""
        entry = {"ts": round(self._clock(), 3), "run": self.run_id, "volume": volume_id, "event": event}
        entry.update(without_secrets(data))
        line = json.dumps(entry, sort_keys=True, default=str)
        with self._lock:
            self._append(line)
            if self._events is not None:
                self._events.append(json.loads(line))
        return entry

    def entries(self, volume_id=None):
        """Every event (of one volume, when given), oldest first. The file is read once; damaged lines are skipped
        and counted in ``skipped_lines``."""
        with self._lock:
            if self._events is None:
                read = read_damaged(self.path, MAX_READ_BYTES)
                self._events, self.skipped_lines = read["events"], read["skipped"]
            events = list(self._events)
        return [entry for entry in events if volume_id is None or entry.get("volume") == volume_id]

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

    def unjudged_failure(self, volume_id):
        """The last job of a volume when it failed and no outcome followed its result (the run that waited for it
        ended before it could say where the disk is), as ``(submission, result)``; else None."""
        submissions, last = {}, None
        for entry in self.entries(volume_id):
            if entry["event"] in (JOB_SUBMITTING, JOB_ADOPTED):
                submissions[entry.get("job_id")] = entry
            elif entry["event"] in (JOB_RESULT, JOB_ABANDONED, OUTCOME):
                last = entry
        if last is None or last["event"] != JOB_RESULT or last.get("superseded_by") or last.get("job_status") == 1:
            return None
        submission = submissions.get(last.get("job_id"))
        return (submission, last) if submission is not None and submission.get("plan") else None

    def _append(self, line):
        data = (line + "\n").encode("utf-8")
        try:
            directory = os.path.dirname(self.path)
            if not os.path.isdir(directory):
                os.makedirs(directory, mode=0o700)
            # O_NOFOLLOW and the check after opening: the path cannot be swapped for a device or a link meanwhile.
            descriptor = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
            try:
                if not stat.S_ISREG(os.fstat(descriptor).st_mode):
                    raise _refused(self.path, "it is not a regular file")
                if not self._tail_checked:
                    data = self._after_torn_line(descriptor) + data
                    self._tail_checked = True
                os.write(descriptor, data)
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
        except OSError as error:
            raise InvalidInput("Cannot write the migration journal %s: %s; set journal_path to a writable file"
                               % (self.path, error.strerror or error), journal_path=self.path) from None

    @staticmethod
    def _after_torn_line(descriptor):
        """A newline when the file ends in a half-written line (a run killed mid-write), so that line stays alone."""
        size = os.fstat(descriptor).st_size
        if not size:
            return b""
        return b"" if os.pread(descriptor, 1, size - 1) == b"\n" else b"\n"


def _parse(line):
    line = line.strip()
    if not line:
        return None
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    return entry if isinstance(entry, dict) and "event" in entry else None


def read_damaged(path, max_bytes=MAX_READ_BYTES):
    """Every readable event of a journal that may be damaged, oldest first, for runs and reports.

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


def _refused(path, why):
    return InvalidInput("journal_path %s cannot be the migration journal: %s. Nothing was changed; set journal_path "
                        "(playbook: safe_migration_journal_path) to a file in a directory of your own, e.g. %s"
                        % (path, why, DEFAULT_JOURNAL_PATH), journal_path=path)


def _system_directory(real):
    return next(system for system in SYSTEM_DIRECTORIES if real == system or real.startswith(system + "/"))


def _file_kind(path):
    mode = os.stat(path).st_mode
    kinds = ((stat.S_ISREG, "regular file"), (stat.S_ISDIR, "directory"), (stat.S_ISCHR, "character device"),
             (stat.S_ISBLK, "block device"), (stat.S_ISFIFO, "named pipe"), (stat.S_ISSOCK, "socket"))
    return next((name for test, name in kinds if test(mode)), "special file")
