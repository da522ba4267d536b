# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Polling that follows the run's job time: the run's ended migrateVolume jobs say when the next one should end."""

import pytest

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.jobs import JobRunner, job_seconds
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.options import MigrationOptions
from unit.plugins.module_utils.test_waiter import FakeClock as Clock  # pylint: disable=import-error

MIGRATE = "org.apache.cloudstack.api.command.admin.volume.MigrateVolumeCmdByAdmin"


class Jobs:
    """queryAsyncJobResult of jobs that end ``seconds`` after they start (on the test's clock)."""

    def __init__(self, clock, seconds, cmd=MIGRATE):
        self.clock, self.seconds, self.cmd = clock, seconds, cmd
        self.started = {}

    def query_job(self, job_id):
        started = self.started.setdefault(job_id, self.clock())
        if self.clock() - started < self.seconds:
            return {"jobid": job_id, "jobstatus": 0, "cmd": self.cmd, "created": "2026-12-01T05:00:00+0000"}
        return {"jobid": job_id, "jobstatus": 1, "cmd": self.cmd, "created": "2026-12-01T05:00:00+0000",
                "completed": "2026-12-01T05:00:%02d+0000" % self.seconds}


def runner(jobs, clock):
    return JobRunner(jobs, MigrationOptions(poll_interval=5, job_timeout=600), clock=clock, sleep=clock.sleep)


def test_after_the_first_migration_the_next_is_polled_when_it_should_end():
    clock = Clock()
    jobs = Jobs(clock, 3)
    waiting = runner(jobs, clock)
    assert waiting.expected_seconds() is None

    waiting.wait("job-1", "job 1")
    assert clock.sleeps == [1, 1, 1], "the first job: polled every second up to the backoff's first delay (5 s)"
    clock.sleeps.clear()
    waiting.wait("job-2", "job 2")

    assert waiting.expected_seconds() == 3
    assert clock.sleeps == [pytest.approx(3.25)], "seen 0.25 s after its expected end, not at the backoff's 5 s"


def test_jobs_of_other_commands_teach_nothing():
    clock = Clock()
    waiting = runner(Jobs(clock, 1, cmd="org.apache.cloudstack.api.command.admin.volume.UpdateVolumeCmd"), clock)
    waiting.wait("job-1", "job 1")
    assert waiting.expected_seconds() is None


class RefusedJobs(Jobs):
    """migrateVolume jobs that fail at once (a refusal): they say nothing of how long a migration takes."""

    def query_job(self, job_id):
        job = super().query_job(job_id)
        if job["jobstatus"] == 1:
            job["jobstatus"] = 2
        return job


def test_failed_jobs_teach_nothing():
    clock = Clock()
    waiting = runner(RefusedJobs(clock, 0), clock)
    waiting.wait("job-1", "job 1")
    assert waiting.expected_seconds() is None


@pytest.mark.parametrize("job, seconds", [
    ({"created": "2026-12-01T05:00:00+0000", "completed": "2026-12-01T05:02:07+0000"}, 127),
    ({"created": "2026-12-01T05:00:00+0000"}, None),
    ({"created": "2026-12-01T05:00:09+0000", "completed": "2026-12-01T05:00:00+0000"}, None),
    ({"created": "yesterday", "completed": "2026-12-01T05:00:00+0000"}, None),
    ({"created": None, "completed": None}, None),
])
def test_a_job_s_own_times_give_how_long_it_ran(job, seconds):
    assert job_seconds(job) == seconds


class WholeSecondJobs(Jobs):
    """Jobs that end ``seconds`` after they start, each reading the next of ``reported`` in CloudStack's whole-second
    times (a 3.6-s job reads 3 s or 4 s, as the fractions of its start and end are cut off)."""

    def __init__(self, clock, seconds, reported):
        super().__init__(clock, seconds)
        self.reported = list(reported)
        self.read = {}

    def query_job(self, job_id):
        job = super().query_job(job_id)
        if job["jobstatus"] == 1:
            reported = self.read.setdefault(job_id, self.reported.pop(0))
            job["completed"] = "2026-12-01T05:00:%02d+0000" % reported
        return job


def test_whole_second_times_are_averaged_so_a_job_is_polled_as_it_ends_not_at_the_next_whole_second():
    clock = Clock()
    # a 3.6-s job reads 4 s six times in ten and 3 s four times; one more waited in a queue (40 s)
    jobs = WholeSecondJobs(clock, 3.6, [4, 3, 4, 4, 3, 4, 3, 4, 3, 4, 40])
    waiting = runner(jobs, clock)
    for number in range(11):
        waiting.wait("job-%d" % number, "job %d" % number)
    assert waiting.expected_seconds() == pytest.approx(3.6), "the mean of the times near the median, the 40 s left out"
    clock.sleeps.clear()
    jobs.reported = [4]
    waiting.wait("job-next", "the next job")
    assert clock.sleeps == [pytest.approx(3.85)], "seen 0.25 s after 3.6 s, not at 4.25 s (the median's 4 s)"


def test_two_job_times_far_apart_give_an_expected_time_of_one_of_them():
    clock = Clock()
    jobs = WholeSecondJobs(clock, 3, [3, 10])
    waiting = runner(jobs, clock)
    waiting.wait("job-1", "job 1")
    jobs.seconds = 10
    waiting.wait("job-2", "job 2")
    assert waiting.expected_seconds() == 3, "no time lies within a second of their median (6.5 s): the lower one"
