# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which migration starts next: a rolling window that fits CloudStack's queues.

CloudStack runs one VM's work one item at a time (its VM work queue) and, when
``concurrent.migrations.per.target.datastore`` is above 0, refuses more migrations to one pool than that. The
scheduler never asks for more: at most ``concurrency`` migrations at once, at most ``per_destination`` to one
destination pool, one per VM; the next eligible item of the plan starts as soon as one ends (a later item to an
idle pool goes before an earlier one to a busy pool, which spreads the work across destinations). The overall
and per-destination limits count CloudStack's jobs in flight: once an item's job has ended (``job_ended``), its
verification goes on outside them, and its VM stays busy until the item is done. After ``deadline`` (the window's
end), or once ``stop`` was called, nothing new starts: the items left are returned by ``not_started``.
"""

from __future__ import annotations

import threading
import time


class ScheduledItem:
    """One piece of work: ``key`` (what it is), its destination pool and VM (None: a detached volume)."""

    def __init__(self, key, destination, vm=None):
        self.key = key
        self.destination = destination
        self.vm = vm


class Scheduler:
    """Hands out items in plan order within the limits; thread-safe (one worker thread per concurrent slot)."""

    def __init__(self, items, concurrency, per_destination=0, deadline=None, clock=time.monotonic):
        if concurrency < 1 or per_destination < 0:
            raise ValueError("concurrency must be at least 1 and per_destination at least 0")
        self._pending = list(items)
        self._concurrency = concurrency
        self._per_destination = per_destination
        self._deadline = deadline
        self._clock = clock
        self._running = []
        self._verifying = []  # their job ended: outside the limits, their VM still busy
        self._stopped_at = None
        self._condition = threading.Condition()
        self.peak = {"overall": 0, "per_destination": {}, "per_vm": {}}

    def next(self):
        """The next item that may start (blocking while the limits are full), or None: nothing left, or the window
        has ended (a waiting worker wakes when the deadline passes, not only when an item ends)."""
        with self._condition:
            while True:
                if not self._pending or self._stopped_at is not None or self._window_ended():
                    return None
                item = self._first_eligible()
                if item is not None:
                    self._pending.remove(item)
                    self._running.append(item)
                    self._note_peaks()
                    return item
                self._condition.wait(self._time_to_deadline())

    def job_ended(self, item):
        """The item's CloudStack job has ended: its slot goes to the next item; its VM stays busy until ``done``."""
        with self._condition:
            if item in self._running:
                self._running.remove(item)
                self._verifying.append(item)
                self._condition.notify_all()

    def done(self, item):
        with self._condition:
            for held in (self._running, self._verifying):
                if item in held:
                    held.remove(item)
            self._condition.notify_all()

    def stop(self):
        """Hand out nothing more; the items running go on to their end."""
        with self._condition:
            if self._stopped_at is None:
                self._stopped_at = self._clock()
            self._condition.notify_all()

    def stopped_first(self):
        """Whether ``stop`` came before the window's end: what kept the items left from starting."""
        with self._condition:
            return self._stopped_at is not None and (self._deadline is None or self._stopped_at < self._deadline)

    def not_started(self):
        """The items never handed out (stopped, or the window ended first), in plan order."""
        with self._condition:
            return list(self._pending)

    def _window_ended(self):
        return self._deadline is not None and self._clock() >= self._deadline

    def _time_to_deadline(self):
        return None if self._deadline is None else max(0.0, self._deadline - self._clock())

    def _first_eligible(self):
        if len(self._running) >= self._concurrency:
            return None
        busy_vms = {item.vm for item in self._running + self._verifying if item.vm is not None}
        for item in self._pending:
            if item.vm is not None and item.vm in busy_vms:
                continue
            if self._per_destination and self._count(item.destination) >= self._per_destination:
                continue
            return item
        return None

    def _count(self, destination):
        return sum(1 for item in self._running if item.destination == destination)

    def _note_peaks(self):
        self.peak["overall"] = max(self.peak["overall"], len(self._running))
        for scope, values in (("per_destination", [item.destination for item in self._running]),
                              ("per_vm", [item.vm for item in self._running if item.vm is not None])):
            for value in set(values):
                self.peak[scope][value] = max(self.peak[scope].get(value, 0), values.count(value))


def run_scheduled(scheduler, work, workers):
    """Run ``work(item)`` for every item the scheduler hands out, on ``workers`` threads; the results in the order the
    work ended. ``work`` must not raise (it returns its failure as a result)."""
    results, lock = [], threading.Lock()

    def worker():
        while True:
            item = scheduler.next()
            if item is None:
                return
            try:
                result = work(item)
            finally:
                scheduler.done(item)
            with lock:
                results.append((item, result))
    threads = [threading.Thread(target=worker, name="migration-%d" % number) for number in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
