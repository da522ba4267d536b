# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place that waits: poll until a condition holds, with a deadline.

Every wait of the collection (CloudStack jobs, vCenter tasks) goes through
``wait_for``. The clock and the sleep are injectable so unit tests never sleep.
"""

from __future__ import annotations

import random
import time

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import WaitTimeout

# How long after the expected end the poll is made.
EXPECTED_MARGIN = 0.25
# Whole-second times put the true end within about a second of the expected one: through that second, polls this
# far apart (a 3-second job missed at 3.25 s is seen by 3.5 s or 3.75 s, not at 4.5 s).
FINE_STEP = 0.25
WHOLE_SECOND = 1.0
# After that, until twice the expected time: polls this share of the expected time apart (at least OVERDUE_MIN_STEP),
# not a backoff step (a 3-second job missed at 4.25 s was otherwise seen at 11 s).
OVERDUE_STEP = 0.1
OVERDUE_MIN_STEP = 1.0


class Backoff:
    """Capped exponential backoff with jitter: first, first*factor, ... up to cap; ``probe`` > 0: that first delay
    reached in steps of ``probe`` seconds (without jitter), then first*factor, ..."""

    def __init__(self, first=1.0, factor=1.5, cap=15.0, jitter=0.1, rng=None, probe=0.0):
        if first <= 0 or factor < 1 or cap < first or probe < 0:
            raise ValueError("backoff needs first > 0, factor >= 1, cap >= first and probe >= 0")
        self.first = first
        self.factor = factor
        self.cap = cap
        self.jitter = jitter
        self.probe = probe
        self._rng = rng or random.Random()

    def delays(self):
        """Yield the successive delays, forever."""
        delay = self.first
        if 0 < self.probe < self.first:
            probed = 0.0
            while probed < self.first:
                step = min(self.probe, self.first - probed)
                probed += step
                yield step
            delay = min(self.cap, self.first * self.factor)
        while True:
            spread = delay * self.jitter
            yield max(0.0, delay + self._rng.uniform(-spread, spread))
            delay = min(self.cap, delay * self.factor)


def wait_for(poll, is_done, timeout, backoff=None, what="the operation",
             clock=time.monotonic, sleep=time.sleep, on_poll=None, expected=None):
    """Call ``poll()`` until ``is_done(state)`` is true, and return that state.

    ``timeout`` is in seconds, measured on a monotonic clock from the call.
    The last sleep is shortened so that the deadline is never overshot by more
    than one poll. On timeout raise ``WaitTimeout`` carrying the last observed
    state and the elapsed time. ``on_poll(state, elapsed)`` observes each poll.
    ``expected``: seconds after which the condition is expected to hold; a poll is
    made then (``EXPECTED_MARGIN`` later) even when the backoff would sleep longer,
    at quarter seconds through the second after it (``FINE_STEP``), then at short
    steps until twice that time (``OVERDUE_STEP``).
    """
    if timeout <= 0:
        raise ValueError("timeout must be positive")
    backoff = backoff or Backoff()
    start = clock()
    deadline = start + timeout
    delays = backoff.delays()
    while True:
        state = poll()
        elapsed = clock() - start
        if on_poll is not None:
            on_poll(state, elapsed)
        if is_done(state):
            return state
        remaining = deadline - clock()
        if remaining <= 0:
            raise WaitTimeout(
                "Timed out after %.0f s waiting for %s; its outcome is unknown" % (elapsed, what),
                last_state=state, elapsed=round(elapsed, 3), timeout=timeout,
            )
        delay = next(delays)
        if expected is not None:
            delay = min(delay, _until_next_expected_poll(clock() - start, expected))
        sleep(min(delay, remaining))


def _until_next_expected_poll(elapsed, expected):
    """Seconds to the next poll that the expected end asks for (infinite when it asks for none)."""
    to_expected = expected + EXPECTED_MARGIN - elapsed
    if to_expected > 0:
        return to_expected
    if elapsed < expected + EXPECTED_MARGIN + WHOLE_SECOND:
        return FINE_STEP
    if elapsed < 2 * expected + EXPECTED_MARGIN:
        return max(OVERDUE_MIN_STEP, expected * OVERDUE_STEP)
    return float("inf")
