# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""in_parallel: read-only lookups side by side, results in the callers' order."""

import threading
import time

import pytest

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.parallel import alongside, in_parallel


def test_the_results_keep_the_order_of_the_items_whatever_ends_first():
    def late_for_small(number):
        time.sleep(0.01 * (5 - number))
        return number * 10

    assert in_parallel(late_for_small, range(5), workers=5) == [0, 10, 20, 30, 40]


def test_the_calls_overlap_up_to_the_number_of_workers():
    running, peak, lock = [0], [0], threading.Lock()
    three_in = threading.Barrier(3, timeout=5)

    def lookup(number):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        if number < 3:
            three_in.wait()  # the first three must be in flight together
        time.sleep(0.01)
        with lock:
            running[0] -= 1
        return number

    assert in_parallel(lookup, range(9), workers=3) == list(range(9))
    assert peak[0] == 3


def test_one_worker_runs_in_the_callers_thread_one_after_the_other():
    threads = in_parallel(lambda _item: threading.get_ident(), range(3), workers=1)

    assert threads == [threading.get_ident()] * 3


def test_the_first_error_in_item_order_is_raised():
    def lookup(number):
        if number in (1, 3):
            raise ValueError("item %d" % number)
        return number

    with pytest.raises(ValueError, match="item 1"):
        in_parallel(lookup, range(5), workers=4)


def test_alongside_runs_the_side_work_during_the_main_work_and_ends_it_first():
    side_started, order = threading.Event(), []

    def side():
        side_started.set()
        time.sleep(0.05)
        order.append("side ended")

    def main():
        assert side_started.wait(5), "the side work runs while the main work does"
        order.append("main ended")
        return "resolved"
    assert alongside(side, main) == "resolved"
    assert order == ["main ended", "side ended"], "the side work ended before alongside returned"


def test_alongside_without_side_work_is_the_main_work_alone():
    assert alongside(None, lambda: 42) == 42
