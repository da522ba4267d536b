# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

import random

import pytest

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import WaitTimeout
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.waiter import Backoff, wait_for


class FakeClock:
    """A monotonic clock that only moves when the waiter sleeps."""

    def __init__(self):
        self.now = 100.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def scripted(states):
    states = iter(states)
    return lambda: next(states)


def test_returns_the_first_state_that_is_done_without_sleeping_after_it():
    clock = FakeClock()
    state = wait_for(scripted([0, 0, 1]), lambda s: s == 1, timeout=60,
                     backoff=Backoff(first=1, factor=2, cap=8, jitter=0), clock=clock, sleep=clock.sleep)
    assert state == 1
    assert clock.sleeps == [1, 2]


def test_backoff_grows_and_is_capped():
    delays = Backoff(first=1, factor=2, cap=5, jitter=0).delays()
    assert [next(delays) for _step in range(5)] == [1, 2, 4, 5, 5]


def test_jitter_stays_within_its_spread():
    delays = Backoff(first=10, factor=1, cap=10, jitter=0.1, rng=random.Random(7)).delays()
    values = [next(delays) for _step in range(50)]
    assert all(9.0 <= value <= 11.0 for value in values)
    assert len(set(values)) > 1


def test_timeout_carries_the_last_state_and_never_overshoots_the_deadline():
    clock = FakeClock()
    with pytest.raises(WaitTimeout) as raised:
        wait_for(lambda: {"jobstatus": 0}, lambda s: s["jobstatus"] != 0, timeout=10,
                 backoff=Backoff(first=4, factor=1, cap=4, jitter=0), what="job 42",
                 clock=clock, sleep=clock.sleep)
    assert raised.value.facts["last_state"] == {"jobstatus": 0}
    assert raised.value.facts["elapsed"] == 10
    assert "job 42" in raised.value.message and "unknown" in raised.value.message
    assert clock.sleeps == [4, 4, 2]


def test_on_poll_sees_every_state_with_its_elapsed_time():
    clock = FakeClock()
    seen = []
    wait_for(scripted(["a", "b"]), lambda s: s == "b", timeout=30,
             backoff=Backoff(first=3, factor=1, cap=3, jitter=0), clock=clock, sleep=clock.sleep,
             on_poll=lambda state, elapsed: seen.append((state, elapsed)))
    assert seen == [("a", 0), ("b", 3)]


@pytest.mark.parametrize("kwargs", [{"first": 0}, {"factor": 0.5}, {"first": 5, "cap": 1}])
def test_backoff_rejects_settings_that_would_spin_or_shrink(kwargs):
    with pytest.raises(ValueError):
        Backoff(**kwargs)


def test_errors_give_fail_json_arguments_without_empty_facts():
    error = WaitTimeout("late", job_id="j-1", volume=None)
    assert error.to_fail_kwargs() == {"msg": "late", "job_id": "j-1"}


def test_a_poll_is_made_when_the_operation_is_expected_to_end():
    clock = FakeClock()
    wait_for(scripted([0, 1]), lambda s: s == 1, timeout=60, backoff=Backoff(first=5, factor=1.5, cap=30, jitter=0),
             clock=clock, sleep=clock.sleep, expected=3.0)
    assert clock.sleeps == [3.25]


def test_a_little_after_the_expected_end_the_polls_come_at_short_steps_then_the_backoff_goes_on():
    clock = FakeClock()
    wait_for(scripted([0] * 9 + [1]), lambda s: s == 1, timeout=60,
             backoff=Backoff(first=2, factor=2, cap=30, jitter=0), clock=clock, sleep=clock.sleep, expected=3.0)
    # the backoff's 2 s first, then the 1.25 s left to the expected end (3 s + the margin), quarter seconds through the
    # second after it (CloudStack's times are whole seconds), 1-second steps until twice the expected time (6.25 s),
    # then the backoff again (its 9th step, 30 s at the cap)
    assert clock.sleeps == [2, 1.25, 0.25, 0.25, 0.25, 0.25, 1, 1, 30]


def test_a_long_expected_time_steps_by_a_tenth_of_it_once_overdue():
    clock = FakeClock()
    wait_for(scripted([0] * 9 + [1]), lambda s: s == 1, timeout=3600, backoff=Backoff(first=60, factor=1.5, cap=120, jitter=0),
             clock=clock, sleep=clock.sleep, expected=300.0)
    # the backoff (60, 90, 120 s), the 30.25 s left to the expected end, quarter seconds for a second, then a tenth
    # of 300 s, not the backoff's 120 s
    assert clock.sleeps == [60, 90, 120, pytest.approx(30.25), 0.25, 0.25, 0.25, 0.25, 30]


@pytest.mark.parametrize("first, probe, delays", [
    (5, 1, [1, 1, 1, 1, 1, 7.5, 11.25]),   # the first delay reached second by second, then the backoff
    (2.5, 1, [1, 1, 0.5, 3.75, 5.625]),
    (5, 0, [5, 7.5, 11.25]),              # no probe: the backoff as it is
    (1, 2, [1, 1.5, 2.25]),               # a probe longer than the first delay changes nothing
])
def test_a_probe_reaches_the_first_delay_in_short_steps(first, probe, delays):
    backoff = Backoff(first=first, factor=1.5, cap=30, jitter=0, probe=probe).delays()
    assert [next(backoff) for unused in delays] == delays
