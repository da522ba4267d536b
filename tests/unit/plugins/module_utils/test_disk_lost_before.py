# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A DISK LOST alarm stands in the journal until a later job or verified outcome replaces it (integration:
test_job_end_truth.py runs it in the lab)."""

from types import SimpleNamespace

import pytest

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common import problems as problem_codes
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.failed_job import disk_lost_before

ALARM = {"event": "outcome", "run": "run-1", "ts": 1796209515.6, "job_id": "job-1", "status": "failed",
         "msg": "DISK LOST: CloudStack's migrateVolume job job-1 ..."}
REFUSED = {"event": "outcome", "run": "run-2", "job_id": None, "status": "failed", "msg": "Preflight of volume ... failed"}


def plan(code=problem_codes.DISK_FILE_MISSING):
    blocker = SimpleNamespace(code=code, message="vCenter: disk [ds1] i-2-7-VM/DATA-7.vmdk is not on datastore ds1")
    return SimpleNamespace(blockers=[blocker], volume={"id": "vol-7", "name": "DATA-7"}, disk=None, as_dict=lambda: {})


@pytest.mark.parametrize("entries", [[ALARM], [ALARM, REFUSED], [{"event": "job_result", "job_id": "job-1"}, ALARM]])
def test_the_alarm_stands_through_runs_that_did_nothing(entries):
    error = disk_lost_before(plan(), entries)
    assert error is not None and error.facts["disk_lost"] is True and error.facts["job_id"] == "job-1"
    assert error.message.startswith("DISK LOST: volume DATA-7 (vol-7): the run run-1 said at 2026-12-02T")


@pytest.mark.parametrize("later", [
    {"event": "outcome", "job_id": "job-2", "status": "failed", "msg": "Job failed: ..."},
    {"event": "outcome", "job_id": None, "status": "unchanged", "msg": None},
])
def test_a_later_job_or_verified_outcome_ends_the_alarm(later):
    assert disk_lost_before(plan(), [ALARM, later]) is None


def test_no_alarm_when_the_file_is_not_what_blocks_or_nothing_was_lost():
    assert disk_lost_before(plan(problem_codes.VOLUME_PATH_NULL), [ALARM]) is None
    assert disk_lost_before(plan(), [REFUSED]) is None
