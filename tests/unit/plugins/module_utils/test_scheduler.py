# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rolling scheduler: CloudStack's limits per destination and per VM, the overall concurrency, the window end."""

import threading
import time

import pytest

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.scheduler import (
    ScheduledItem,
    Scheduler,
    run_scheduled,
)


class Watch:
    """Counts what really runs at once (independently of the scheduler's own peaks)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.running = []
        self.peak_destination, self.peak_vm, self.peak_overall = {}, {}, 0
        self.ran = []

    def work(self, item, seconds=0.01):
        with self.lock:
            self.running.append(item)
            self.peak_overall = max(self.peak_overall, len(self.running))
            for peaks, value in ((self.peak_destination, item.destination), (self.peak_vm, item.vm)):
                if value is not None:
                    count = sum(1 for other in self.running if value in (other.destination, other.vm))
                    peaks[value] = max(peaks.get(value, 0), count)
        time.sleep(seconds)
        with self.lock:
            self.running.remove(item)
            self.ran.append(item.key)
        return item.key


def test_every_item_runs_once_within_the_destination_vm_and_overall_limits():
    items = [ScheduledItem("vol-%02d" % number, "pool-%d" % (number % 3), vm="vm-%d" % (number % 5) if number % 4 else None)
             for number in range(30)]
    watch = Watch()
    scheduler = Scheduler(items, concurrency=4, per_destination=2)
    results = run_scheduled(scheduler, watch.work, 4)
    assert sorted(watch.ran) == sorted(item.key for item in items) and len(results) == 30
    assert watch.peak_overall <= 4 and max(watch.peak_destination[pool] for pool in ("pool-0", "pool-1", "pool-2")) <= 2
    assert max(count for vm, count in watch.peak_vm.items() if vm.startswith("vm-")) == 1
    assert scheduler.peak["overall"] == watch.peak_overall
    assert scheduler.not_started() == []


def test_the_volumes_of_one_vm_never_move_at_once():
    items = [ScheduledItem("vol-%d" % number, "pool-%d" % number, vm="vm-1") for number in range(4)]
    watch = Watch()
    run_scheduled(Scheduler(items, concurrency=4), watch.work, 4)
    assert watch.peak_vm["vm-1"] == 1 and len(watch.ran) == 4


def test_a_later_item_to_an_idle_pool_goes_before_an_earlier_one_to_a_busy_pool():
    items = [ScheduledItem("a", "pool-1"), ScheduledItem("b", "pool-1"), ScheduledItem("c", "pool-2")]
    scheduler = Scheduler(items, concurrency=2, per_destination=1)
    first, second = scheduler.next(), scheduler.next()
    assert (first.key, second.key) == ("a", "c")
    scheduler.done(first)
    assert scheduler.next().key == "b"


def test_nothing_starts_after_the_window_end_and_the_rest_is_listed_in_plan_order():
    now = [0.0]
    items = [ScheduledItem("vol-%d" % number, "pool-1") for number in range(4)]
    scheduler = Scheduler(items, concurrency=1, deadline=10.0, clock=lambda: now[0])
    assert scheduler.next().key == "vol-0"
    scheduler.done(items[0])
    now[0] = 10.0
    assert scheduler.next() is None
    assert [item.key for item in scheduler.not_started()] == ["vol-1", "vol-2", "vol-3"]


def test_an_ended_job_frees_its_slot_and_destination_but_its_vm_stays_busy_until_done():
    items = [ScheduledItem("a", "pool-1", vm="vm-1"), ScheduledItem("b", "pool-1", vm="vm-1"),
             ScheduledItem("c", "pool-1", vm="vm-2")]
    scheduler = Scheduler(items, concurrency=1, per_destination=1)
    first = scheduler.next()
    scheduler.job_ended(first)   # being verified: no longer a CloudStack job in flight
    second = scheduler.next()
    assert (first.key, second.key) == ("a", "c"), "b waits: its VM is busy until a is done"
    scheduler.job_ended(second)
    scheduler.done(second)
    scheduler.done(first)
    assert scheduler.next().key == "b"
    assert scheduler.peak["overall"] == 1 and scheduler.peak["per_destination"] == {"pool-1": 1}


def test_a_worker_waiting_for_a_busy_vm_stops_waiting_when_the_window_ends():
    items = [ScheduledItem("root", "pool-1", vm="vm-1"), ScheduledItem("data", "pool-2", vm="vm-1")]
    scheduler = Scheduler(items, concurrency=2, deadline=time.monotonic() + 0.3)
    assert scheduler.next().key == "root"  # and it runs past the window's end
    started = time.monotonic()
    assert scheduler.next() is None
    assert time.monotonic() - started < 2, "woke at the deadline, not when the running item ended"
    assert [item.key for item in scheduler.not_started()] == ["data"]


def test_after_stop_nothing_starts_the_running_items_end_and_the_rest_is_listed():
    items = [ScheduledItem("vol-%d" % number, "pool-%d" % number) for number in range(4)]
    scheduler = Scheduler(items, concurrency=2)
    first, second = scheduler.next(), scheduler.next()
    scheduler.stop()
    assert scheduler.next() is None
    scheduler.done(first)
    scheduler.done(second)
    assert [item.key for item in scheduler.not_started()] == ["vol-2", "vol-3"]


@pytest.mark.parametrize("stopped_at, stopped_first", [(5.0, True), (12.0, False)])
def test_what_came_first_a_stop_or_the_window_end_says_why_the_rest_did_not_start(stopped_at, stopped_first):
    now = [0.0]
    items = [ScheduledItem("vol-%d" % number, "pool-%d" % number) for number in range(3)]
    scheduler = Scheduler(items, concurrency=1, deadline=10.0, clock=lambda: now[0])
    scheduler.done(scheduler.next())
    now[0] = stopped_at
    scheduler.stop()
    now[0] = 20.0  # both have happened by the time the run looks
    assert scheduler.next() is None
    assert scheduler.stopped_first() is stopped_first


def test_without_a_stop_the_window_end_is_why():
    scheduler = Scheduler([ScheduledItem("vol-0", "pool-1")], concurrency=1, deadline=0.0, clock=lambda: 1.0)
    assert scheduler.next() is None
    assert scheduler.stopped_first() is False


def test_a_worker_waiting_for_a_free_slot_stops_waiting_when_stopped():
    items = [ScheduledItem("root", "pool-1", vm="vm-1"), ScheduledItem("data", "pool-2", vm="vm-1")]
    scheduler = Scheduler(items, concurrency=2)
    assert scheduler.next().key == "root"
    waiter = threading.Timer(0.2, scheduler.stop)
    waiter.start()
    started = time.monotonic()
    assert scheduler.next() is None
    assert time.monotonic() - started < 2, "woke when stopped, not when the running item ended"
    assert [item.key for item in scheduler.not_started()] == ["data"]


@pytest.mark.parametrize("concurrency, per_destination", [(0, 0), (1, -1)])
def test_limits_are_checked(concurrency, per_destination):
    with pytest.raises(ValueError):
        Scheduler([], concurrency=concurrency, per_destination=per_destination)
