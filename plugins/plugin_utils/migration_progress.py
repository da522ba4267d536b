# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Live progress of a ``cs_volume_migrate_safe`` run, read from its journal while the module runs.

A module cannot print while it runs; its journal is written as each volume starts and ends (one fsynced line per
event). The action follows the lines of its own run (``run``, the id it gave the module) and prints a line per
volume as it starts and as it ends, with a running total and an estimate of the time left. The journal stays the
record: these lines only show it.
"""

from __future__ import annotations

import json
import os
import threading
import time

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._cloudstack.records import gib_text

# How often the journal is looked at; a line shows at most this late.
FOLLOW_INTERVAL = 1.0
# A long message is cut in a progress line (the report and the task's result keep it whole).
MESSAGE_LENGTH = 240
NOT_STARTED_REASONS = {"volume_failed": "a volume failed (on_volume_failure=stop)",
                       "window_ended": "the maintenance window ended"}


class ProgressBook:
    """Turns a run's journal events into progress lines; knows the plan's size and what ended so far."""

    def __init__(self, total, clock=time.monotonic):
        self._total = total
        self._clock = clock
        self._started_at = clock()
        self._names = {}
        self._ended = {}

    def lines(self, event):
        """The lines one journal event shows (none for the steps between a volume's start and end)."""
        kind = event.get("event")
        if kind == "plan":
            return [self._started(event)]
        if kind == "job_adopted":
            return ["%s: waiting for job %s, which was already running" % (self._label(event), event.get("job_id"))]
        if kind == "outcome":
            return [self._ended_line(event)]
        return []

    def _started(self, event):
        plan = event.get("plan") or {}
        volume = event.get("volume")
        self._names[volume] = plan.get("volume_name")
        size = plan.get("volume_size")
        return "started %s%s: %s -> %s" % (
            self._label(event), ", %s" % gib_text(int(size)) if size else "",
            (plan.get("source") or {}).get("pool_name") or "?", (plan.get("destination") or {}).get("pool_name") or "?")

    def _ended_line(self, event):
        self._ended[event.get("volume")] = event.get("status")
        status = event.get("status")
        text = "%s %s after %s" % (self._label(event), status, _duration(event.get("duration")))
        if status not in ("migrated", "unchanged") and event.get("msg"):
            text += ": %s" % _cut(event["msg"])
        return "[%s] %s" % (self._totals(), text)

    def _totals(self, estimate=True):
        done = len(self._ended)
        failed = sum(1 for status in self._ended.values() if status not in ("migrated", "unchanged"))
        text = "%d/%d done" % (done, self._total)
        if failed:
            text += ", %d not verified" % failed
        left = self._total - done
        if estimate and left > 0 and done:
            text += ", about %s left" % _duration((self._clock() - self._started_at) / done * left)
        return text

    def closing_lines(self, volumes):
        """After the run: the volumes it did not start, and why (no journal line says so)."""
        not_started = [volume for volume in volumes or [] if isinstance(volume, dict) and volume.get("status") == "not_started"]
        if not not_started:
            return []
        reasons = sorted({NOT_STARTED_REASONS.get(volume.get("not_started_reason"), "see the report")
                          for volume in not_started})
        return ["[%s] %d not started: %s; run the same plan again to go on"
                % (self._totals(estimate=False), len(not_started), ", ".join(reasons))]

    def _label(self, event):
        volume = event.get("volume")
        name = self._names.get(volume)
        return "%s (%s)" % (name, volume) if name else str(volume)


class JournalFollower:
    """Reads the lines a run appends to a journal, from where the file ended when following started."""

    def __init__(self, path, run_id):
        self._path = path
        self._run_id = run_id
        self._offset = _size(self._path)
        self._partial = b""

    def new_events(self):
        """The events of the run appended since the last call; a half-written line waits for its end."""
        try:
            with open(self._path, "rb") as handle:
                handle.seek(self._offset)
                data = handle.read()
        except OSError:
            return []
        self._offset += len(data)
        complete, _newline, self._partial = (self._partial + data).rpartition(b"\n")
        events = []
        for raw in complete.split(b"\n") if complete else []:
            event = _event(raw)
            if event is not None and event.get("run") == self._run_id:
                events.append(event)
        return events


class ProgressPrinter:
    """Follows a journal on a thread and shows each progress line with ``show``, until ``stop``."""

    def __init__(self, follower, book, show, interval=FOLLOW_INTERVAL, on_error=None):
        self._follower = follower
        self._book = book
        self._show = show
        self._on_error = on_error
        self._interval = interval
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="migration-progress", daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        """Show what the journal got last, then stop following."""
        self._stopped.set()
        self._thread.join()

    def _follow(self):
        while not self._stopped.wait(self._interval):
            self._show_new()
        self._show_new()

    def _show_new(self):
        for event in self._follower.new_events():
            try:
                lines = self._book.lines(event)
            except Exception as error:
                # a line of an unexpected shape must not end the progress of the lines after it
                if self._on_error is not None:
                    self._on_error("%s: %s" % (type(error).__name__, error))
                continue
            for line in lines:
                self._show(line)


def _event(raw):
    try:
        event = json.loads(raw.decode("utf-8"))
    except ValueError:  # a damaged line (UnicodeDecodeError is a ValueError): the journal's reader counts it
        return None
    return event if isinstance(event, dict) else None


def _size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _duration(seconds):
    if seconds is None:
        return "?"
    seconds = int(round(float(seconds)))
    if seconds < 60:
        return "%d s" % seconds
    if seconds < 3600:
        return "%d min %02d s" % divmod(seconds, 60)
    return "%d h %02d min" % (seconds // 3600, seconds % 3600 // 60)


def _cut(text):
    text = " ".join(str(text).split())
    return text if len(text) <= MESSAGE_LENGTH else text[:MESSAGE_LENGTH - 3] + "..."
