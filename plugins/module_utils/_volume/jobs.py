# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Waiting for CloudStack async jobs, through the collection's one waiter."""

from __future__ import annotations

import statistics
import threading
import time
from datetime import datetime

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import SafeMigrationError, WaitTimeout
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.options import option_text
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.waiter import Backoff, wait_for

JOB_STATUS_NAMES = {0: "in progress", 1: "succeeded", 2: "failed", 3: "cancelled"}
MAX_POLL_DELAY = 30.0
# Before the run knows how long a migration takes: polls this far apart up to the first backoff delay (the first
# jobs of a run are otherwise seen to end only at that delay, 5 s by default, whatever their length).
PROBE_STEP = 1.0
MIGRATE_COMMANDS = ("MigrateVolumeCmd", "MigrateVolumeCmdByAdmin")
# CloudStack's time format in API answers (2026-12-01T05:02:11+0000).
CLOUDSTACK_TIME = "%Y-%m-%dT%H:%M:%S%z"


def is_migration_of(job, volume_id):
    """Whether a queryAsyncJobResult record is a migrateVolume of this volume (cmd, jobinstancetype, jobinstanceid)."""
    job = job or {}
    command = str(job.get("cmd") or "").rsplit(".", 1)[-1]
    return (command in MIGRATE_COMMANDS and str(job.get("jobinstancetype") or "").lower() == "volume"
            and job.get("jobinstanceid") == volume_id)


def job_status_name(status):
    return JOB_STATUS_NAMES.get(status, "unknown to CloudStack" if status is None else str(status))


def job_error_text(job):
    """CloudStack's error text of a failed job (reference section 2.2: only errorcode and errortext)."""
    result = job.get("jobresult")
    if isinstance(result, dict):
        return result.get("errortext") or "error code %s" % result.get("errorcode", job.get("jobresultcode"))
    return str(result) if result else "no error text (job status %s)" % job_status_name(job.get("jobstatus"))


def job_seconds(job):
    """How long CloudStack says an ended job ran (``completed`` - ``created``, whole seconds), or None."""
    try:
        created, completed = (datetime.strptime(job[key], CLOUDSTACK_TIME) for key in ("created", "completed"))
    except (KeyError, TypeError, ValueError):
        return None
    seconds = (completed - created).total_seconds()
    return seconds if seconds >= 0 else None


class JobRunner:
    """Polls a job until it ends, with the task's timeout and a capped backoff.

    The run's succeeded migrateVolume jobs teach it how long one takes (``expected_seconds``, from CloudStack's own
    times): each wait also polls when a job is expected to end, so a job is seen to end soon after it does, not a
    backoff step later.
    """

    def __init__(self, cloudstack, options, clock=time.monotonic, sleep=time.sleep):
        self._cs = cloudstack
        self._options = options
        self._clock = clock
        self._sleep = sleep
        self._migration_seconds = []
        self._lock = threading.Lock()

    def expected_seconds(self):
        """How long the run's succeeded migrateVolume jobs take, or None before the first one: the mean of their times
        within a second of the median. CloudStack's times are whole seconds (a job of 3.3 s reads 3 s or 4 s, 4 s three
        times in ten): their mean comes to the true time, their median to the nearest whole second, up to half a second
        off it (and the polls then late by as much). Times further from the median (a job that waited in a queue) are
        left out."""
        with self._lock:
            if not self._migration_seconds:
                return None
            median = statistics.median_low(self._migration_seconds)  # one of the times: the mean below is never empty
            return statistics.mean(seconds for seconds in self._migration_seconds if abs(seconds - median) <= 1)

    def _learn(self, job):
        # only jobs that succeeded: a refusal ends at once and would make the run poll early ever after
        seconds = job_seconds(job) if job.get("jobstatus") == 1 else None
        if seconds is not None and str(job.get("cmd") or "").rsplit(".", 1)[-1] in MIGRATE_COMMANDS:
            with self._lock:
                self._migration_seconds.append(seconds)

    def backoff(self, probe=0.0):
        first = float(self._options.poll_interval)
        return Backoff(first=first, factor=1.5, cap=max(first, min(MAX_POLL_DELAY, first * 8)), probe=probe)

    def wait(self, job_id, what, **facts):
        """The ended job's record. On timeout or lost contact: the outcome is unknown, say how to resume."""
        expected = self.expected_seconds()
        try:
            ended = wait_for(
                poll=lambda: self._cs.query_job(job_id) or {"jobid": job_id, "jobstatus": None},
                is_done=lambda job: job.get("jobstatus") in (1, 2, 3),
                timeout=self._options.job_timeout, backoff=self.backoff(probe=PROBE_STEP if expected is None else 0.0),
                what=what, clock=self._clock, sleep=self._sleep, expected=expected,
            )
        except WaitTimeout as timeout:
            last = timeout.facts.get("last_state") or {}
            raise WaitTimeout(
                "Timed out after %s s waiting for %s (last state: %s); the outcome is unknown. The job id is in the "
                "journal, and CloudStack shows it on the volume while it runs: run the task again to resume waiting for "
                "the same job (no second submission), with a larger %s if the job is just slow"
                % (timeout.facts.get("elapsed"), what, job_status_name(last.get("jobstatus")), option_text("job_timeout")),
                job_id=job_id, job_status=last.get("jobstatus"), elapsed=timeout.facts.get("elapsed"),
                timeout=self._options.job_timeout, **facts) from None
        except SafeMigrationError as error:
            raise type(error)(
                "%s while waiting for %s; the outcome is unknown. Run the task again to resume waiting for the same job"
                % (error.message, what), **dict(error.facts, job_id=job_id, **facts)) from None
        self._learn(ended)
        return ended
