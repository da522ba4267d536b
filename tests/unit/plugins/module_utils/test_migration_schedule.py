# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The migration service's schedule: the window's end, and the limit per destination pool (the option and CloudStack's
own setting). The scheduler itself: test_scheduler.py; the limits kept in the lab: integration/test_schedule_limits.py."""

import threading
from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import (
    CloudStackApiError,
    InvalidInput,
    SafeMigrationError,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.migration import VolumeMigrationService
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.options import (
    MigrationOptions,
    MigrationRequest,
    window_end_time,
)
from unit.plugins.module_utils.test_volume_migration import (  # pylint: disable=import-error,unused-import
    DST,
    SRC_DS,
    VM,
    VOL,
    VOL2,
    lock_directory_of,
    world,  # noqa: F401  (a pytest fixture, used by name)
)

NOW = datetime(2026, 12, 2, 3, 0, tzinfo=timezone.utc)
SETTING = "concurrent.migrations.per.target.datastore"


def service(world, **options):  # pylint: disable=redefined-outer-name
    cloudstack, vcenter, journal, clock = world
    ids = iter("job-%d" % n for n in range(1, 100))
    options = dict(dict(poll_interval=1.0, job_timeout=60, now=NOW), **options)
    return VolumeMigrationService(cloudstack, vcenter, journal, MigrationOptions(**options), clock=clock, sleep=clock.sleep,
                                  new_job_id=lambda: next(ids), lock_directory=lock_directory_of(journal),
                                  wall_clock=lambda: NOW)


def second_volume(world):  # pylint: disable=redefined-outer-name
    cloudstack, vcenter = world[0], world[1]
    cloudstack.volumes[VOL2] = dict(cloudstack.volumes[VOL], id=VOL2, name="DATA-8", path="DATA-8")
    vcenter.vms["i-2-7-VM"]["DATA-8"] = SRC_DS


def watch_verification_of_the_first_volume(world, patience):  # pylint: disable=redefined-outer-name
    """Whether the second volume was submitted while the first one was being verified (its job ended), waited for up to
    ``patience`` seconds from the start of that verification: [True or False]."""
    cloudstack, vcenter = world[0], world[1]
    second_submitted, seen = threading.Event(), []
    migrate, locate = cloudstack.migrate_volume, vcenter.locate

    def migrate_volume(volume_id, *args, **kwargs):
        if volume_id == VOL2:
            second_submitted.set()
        return migrate(volume_id, *args, **kwargs)

    def located(instance_name, path, datastores=None):
        first_job_ended = any(job.get("volume_id") == VOL and job.get("done") for job in cloudstack.jobs.values())
        if path == "DATA-7" and first_job_ended and not seen:
            seen.append(second_submitted.wait(patience))
        return locate(instance_name, path, datastores)
    cloudstack.migrate_volume, vcenter.locate = migrate_volume, located
    return seen


@pytest.mark.parametrize("policy, patience, next_started", [
    ("continue", 10, True),   # its job ended: the next volume's job starts beside the verification
    ("stop", 0.5, False),     # a volume keeps its place until verified: a failure is known before the next starts
])
def test_a_volume_being_verified_leaves_its_job_slot_to_the_next_volume_unless_stopping_on_failure(
        world, policy, patience, next_started):  # pylint: disable=redefined-outer-name
    cloudstack, vcenter = world[0], world[1]
    vm2 = VM.replace("c", "e")
    cloudstack.vms[vm2] = dict(id=vm2, name="web-8", state="Stopped", instancename="i-2-8-VM")
    cloudstack.volumes[VOL2] = dict(cloudstack.volumes[VOL], id=VOL2, name="DATA-8", path="DATA-8", virtualmachineid=vm2,
                                    vmname="web-8")
    vcenter.vms["i-2-8-VM"] = {"DATA-8": SRC_DS}
    seen = watch_verification_of_the_first_volume(world, patience)
    result = service(world, concurrency=1, on_volume_failure=policy).run([MigrationRequest(VOL, DST), MigrationRequest(VOL2, DST)])
    assert seen == [next_started]
    assert [entry["status"] for entry in result["volumes"]] == ["migrated", "migrated"]
    assert result["schedule"]["peak"]["overall"] == 1, "never two CloudStack jobs at once"


def test_a_volume_being_verified_keeps_its_vm_busy(world):  # pylint: disable=redefined-outer-name
    second_volume(world)   # DATA-8 of the same VM
    seen = watch_verification_of_the_first_volume(world, patience=0.5)
    result = service(world, concurrency=2).run([MigrationRequest(VOL, DST), MigrationRequest(VOL2, DST)])
    assert seen == [False], "nothing submitted for the VM while its first volume was verified"
    assert [entry["status"] for entry in result["volumes"]] == ["migrated", "migrated"]


@pytest.mark.parametrize("value, end", [
    ("90m", NOW + timedelta(minutes=90)), ("2h", NOW + timedelta(hours=2)), ("1h30m", NOW + timedelta(minutes=90)),
    ("45s", NOW + timedelta(seconds=45)), ("2026-12-02T05:30:00+01:00", datetime(2026, 12, 2, 4, 30, tzinfo=timezone.utc)),
    ("2026-12-02T04:30:00Z", datetime(2026, 12, 2, 4, 30, tzinfo=timezone.utc)), ("", None), (None, None),
])
def test_the_window_end_is_a_time_with_its_timezone_or_a_length(value, end):
    assert window_end_time(value, NOW) == end


@pytest.mark.parametrize("value", ["2026-12-02T05:30:00", "tomorrow", "90", "1d", "m"])
def test_a_window_end_without_timezone_or_of_another_shape_is_refused_before_anything(value):
    with pytest.raises(InvalidInput, match="Invalid window_end \\(playbook: safe_migration_window_end\\): .* give a time with "
                                           "its timezone .* or a length from now \\(90m, 2h, 1h30m\\)"):
        MigrationOptions(window_end=value, now=NOW)


def test_nothing_starts_after_the_window_end_and_the_rest_is_not_started(world):  # pylint: disable=redefined-outer-name
    cloudstack, journal = world[0], world[2]
    second_volume(world)
    with pytest.raises(SafeMigrationError) as caught:
        # the first job's polls take more than the second the window has left
        service(world, window_end="1s").run([MigrationRequest(VOL, DST), MigrationRequest(VOL2, DST)])
    facts = caught.value.facts
    assert [entry["status"] for entry in facts["volumes"]] == ["migrated", "not_started"]
    assert facts["summary"]["migrated"] == 1 and facts["summary"]["not_started"] == 1 and facts["summary"]["failed"] == 0
    assert caught.value.message == ("1 of 2 not started: the maintenance window ended at 2026-12-02T03:00:01+00:00 (%s); run "
                                    "the same plan again to go on" % VOL2)
    assert [submission[0] for submission in cloudstack.submissions] == [VOL], "nothing submitted after the window's end"
    assert VOL2 not in {entry.get("volume_id") for entry in journal.entries() if entry["event"] == "job_submitting"}
    assert facts["schedule"]["window_end"] == "2026-12-02T03:00:01+00:00"


def test_a_window_that_has_ended_starts_nothing(world):  # pylint: disable=redefined-outer-name
    with pytest.raises(SafeMigrationError, match="Not started: the maintenance window ended at 2026-12-02T02:00:00\\+00:00 "
                                                 "before its turn; nothing was done to volume DATA-7") as caught:
        service(world, window_end="2026-12-02T02:00:00Z").run([MigrationRequest(VOL, DST)])
    assert caught.value.facts["volumes"][0]["status"] == "not_started" and world[0].submissions == []


def test_after_a_failure_on_volume_failure_stop_starts_no_other_volume(world):  # pylint: disable=redefined-outer-name
    cloudstack, journal = world[0], world[2]
    second_volume(world)
    cloudstack.outcome = "false_success"
    with pytest.raises(SafeMigrationError) as caught:
        service(world, on_volume_failure="stop").run([MigrationRequest(VOL, DST), MigrationRequest(VOL2, DST)])
    facts = caught.value.facts
    assert [entry["status"] for entry in facts["volumes"]] == ["failed", "not_started"]
    assert facts["volumes"][1]["not_started_reason"] == "volume_failed"
    assert facts["volumes"][1]["msg"].startswith("Not started: volume DATA-7 (%s) failed and on_volume_failure=stop starts "
                                                 "no other; nothing was done to volume DATA-8 (%s)" % (VOL, VOL2))
    assert "1 of 2 not started: a volume failed and on_volume_failure=stop starts no other (%s)" % VOL2 in caught.value.message
    assert [submission[0] for submission in cloudstack.submissions] == [VOL], "nothing submitted after the failure"
    assert VOL2 not in {entry.get("volume") for entry in journal.entries()}


def test_on_volume_failure_continue_starts_every_volume(world):  # pylint: disable=redefined-outer-name
    cloudstack = world[0]
    second_volume(world)
    cloudstack.outcome = "false_success"
    with pytest.raises(SafeMigrationError) as caught:
        service(world).run([MigrationRequest(VOL, DST), MigrationRequest(VOL2, DST)])
    assert [entry["status"] for entry in caught.value.facts["volumes"]] == ["failed", "failed"]
    assert [submission[0] for submission in cloudstack.submissions] == [VOL, VOL2]


def test_a_window_end_is_named_as_the_reason_a_volume_was_not_started(world):  # pylint: disable=redefined-outer-name
    with pytest.raises(SafeMigrationError) as caught:
        service(world, window_end="2026-12-02T02:00:00Z", on_volume_failure="stop").run([MigrationRequest(VOL, DST)])
    assert caught.value.facts["volumes"][0]["not_started_reason"] == "window_ended"


def test_a_failure_after_the_window_end_leaves_the_window_as_the_reason(world):  # pylint: disable=redefined-outer-name
    second_volume(world)
    world[0].outcome = "false_success"
    with pytest.raises(SafeMigrationError) as caught:
        # the first job's polls take more than the second the window has: it fails after the window has ended
        service(world, window_end="1s", on_volume_failure="stop").run([MigrationRequest(VOL, DST), MigrationRequest(VOL2, DST)])
    facts = caught.value.facts
    assert [entry["status"] for entry in facts["volumes"]] == ["failed", "not_started"]
    assert facts["volumes"][1]["not_started_reason"] == "window_ended"
    assert "not started: the maintenance window ended at 2026-12-02T03:00:01+00:00" in caught.value.message


def test_on_volume_failure_is_checked_before_anything():
    with pytest.raises(InvalidInput, match="Invalid on_volume_failure: 'halt'; it must be one of continue, stop"):
        MigrationOptions(on_volume_failure="halt", now=NOW)


def test_check_mode_plans_every_volume_whatever_the_window(world):  # pylint: disable=redefined-outer-name
    result = service(world, window_end="2026-12-02T02:00:00Z", check_mode=True).run([MigrationRequest(VOL, DST)])
    assert result["volumes"][0]["status"] == "planned"


@pytest.mark.parametrize("option, setting, limit", [(0, "0", 0), (0, "2", 2), (3, "2", 2), (1, "4", 1), (2, None, 2)])
def test_the_limit_per_destination_is_the_tighter_of_the_option_and_cloudstacks_setting(world, option, setting, limit):  # pylint: disable=redefined-outer-name
    world[0].configurations[SETTING] = setting
    result = service(world, max_per_destination=option, concurrency=4).run([MigrationRequest(VOL, DST)])
    schedule = result["schedule"]
    assert (schedule["per_destination"], schedule[SETTING], schedule["per_vm"]) == (limit, setting and int(setting), 1)
    assert schedule["peak"]["overall"] == 1


def test_a_setting_this_account_cannot_read_leaves_the_option_alone(world):  # pylint: disable=redefined-outer-name
    def refused(name):
        raise CloudStackApiError("Failed to read the setting %s: not allowed" % name, errorcode=432)
    world[0].get_configuration = refused
    result = service(world, max_per_destination=2).run([MigrationRequest(VOL, DST)])
    assert (result["schedule"]["per_destination"], result["schedule"][SETTING]) == (2, None)


def test_a_negative_limit_is_refused():
    with pytest.raises(InvalidInput, match="Invalid max_per_destination \\(playbook: safe_migration_max_per_destination\\): -1"):
        MigrationOptions(max_per_destination=-1)
