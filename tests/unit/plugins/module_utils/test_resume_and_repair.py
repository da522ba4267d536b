# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options checked before any call, repair of damaged records, adoption of running jobs, failures after success.

The fakes are those of test_volume_migration.py: a scripted CloudStack and a vCenter inventory.
"""

import json

import pytest

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import (
    CloudStackApiError,
    ConnectionFailed,
    DriftDetected,
    InvalidInput,
    PreflightFailed,
    VCenterError,
    VerificationFailed,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.journal import Journal
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.options import MigrationOptions
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.verification import path_from_chaininfo
from unit.plugins.module_utils.test_volume_migration import (  # pylint: disable=import-error,unused-import
    DST,
    DST_DS,
    SRC,
    SRC_DS,
    VOL,
    run_one,
    world,  # noqa: F401  (a pytest fixture, used by name)
)

MIGRATE_CMD = "org.apache.cloudstack.api.command.admin.volume.MigrateVolumeCmdByAdmin"


# ---- 1. options -------------------------------------------------------------------------------------
@pytest.mark.parametrize("option, value, variable", [
    ("job_timeout", 0, "safe_migration_job_timeout"),
    ("job_timeout", -5, "safe_migration_job_timeout"),
    ("poll_interval", 0, "safe_migration_poll_interval"),
    ("poll_interval", -0.5, "safe_migration_poll_interval"),
    ("concurrency", 0, "safe_migration_concurrency"),
    ("concurrency", -1, "safe_migration_concurrency"),
    ("on_false_success", "restor", "safe_migration_on_false_success"),
])
def test_bad_options_are_refused_with_the_option_the_variable_and_the_allowed_values(option, value, variable):
    with pytest.raises(InvalidInput) as caught:
        MigrationOptions(**{option: value})
    message = caught.value.message
    assert option in message and variable in message and repr(value) in message
    assert "\n" not in message
    assert caught.value.facts["option"] == option


def test_good_options_pass():
    options = MigrationOptions(job_timeout=1, poll_interval=0.05, concurrency=3, on_false_success="restore")
    assert (options.job_timeout, options.poll_interval, options.concurrency) == (1, 0.05, 3)


def test_a_bad_option_stops_before_any_api_call(world):
    cloudstack = world[0]
    with pytest.raises(InvalidInput):
        run_one(world, job_timeout=0)
    assert cloudstack.submissions == []


# ---- 3. messages name the playbook variable -----------------------------------------------------------
def test_live_migration_refusal_names_the_playbook_variable(world):
    cloudstack = world[0]
    cloudstack.vms[next(iter(cloudstack.vms))]["state"] = "Running"
    with pytest.raises(Exception) as caught:
        run_one(world)
    assert "allow_live_migration=true (playbook: safe_migration_allow_live_migration)" in caught.value.message


# ---- 2. a record damaged by an earlier false success --------------------------------------------------
def _damage(cloudstack, path=None):
    """What #9881 leaves: the record on the destination, path NULL (or kept); the disk still at the source."""
    cloudstack.volumes[VOL].update(storageid=DST, storage="pool-dst", path=path)


def test_damaged_record_with_fail_policy_names_the_option_and_the_variable(world):
    cloudstack = world[0]
    _damage(cloudstack, path="DATA-7")
    with pytest.raises(DriftDetected) as caught:
        run_one(world)
    assert "on_false_success=restore (playbook: safe_migration_on_false_success)" in caught.value.message
    assert caught.value.facts["restore"]["reason"] == "on_false_success (playbook: safe_migration_on_false_success) is fail"
    assert cloudstack.updates == [] and cloudstack.submissions == []


def test_no_path_blocker_names_the_option_and_the_variable(world):
    cloudstack = world[0]
    cloudstack.volumes[VOL].update(path=None)  # on the source, no path: the volume_path_null blocker
    with pytest.raises(PreflightFailed) as caught:
        run_one(world)
    assert [blocker["code"] for blocker in caught.value.facts["blockers"]] == ["volume_path_null"]
    assert "on_false_success=restore (playbook: safe_migration_on_false_success)" in caught.value.message


def test_damaged_record_in_check_mode_is_planned_as_a_repair(world):
    cloudstack, vcenter, journal, clock = world
    _damage(cloudstack, path="DATA-7")
    result = run_one(world, on_false_success="restore", check_mode=True)
    entry = result["volumes"][0]
    assert result["changed"] is True and entry["status"] == "planned"
    assert entry["plan"]["action"] == "repair_then_migrate" and entry["plan"]["blockers"] == []
    assert entry["restore"]["would_restore"]["pool_id"] == SRC
    diff = result["diff"]
    assert diff["before"]["DATA-7"]["record"] == {"pool": "pool-dst", "path": "DATA-7", "state": "Ready"}
    assert diff["before"]["DATA-7"]["datastore_path"] == "[%s] i-2-7-VM/DATA-7.vmdk" % SRC_DS
    assert diff["after"]["DATA-7"]["pool"] == "pool-dst"
    assert diff["after"]["DATA-7"]["datastore_path"] == "[%s] i-2-7-VM/DATA-7.vmdk" % DST_DS
    assert cloudstack.updates == [] and cloudstack.submissions == [] and journal.entries() == []


def test_null_path_record_is_repaired_from_the_journal_then_migrated(world):
    cloudstack, vcenter, journal, clock = world
    cloudstack.outcome = "false_success"
    with pytest.raises(VerificationFailed):
        run_one(world)                                   # the earlier false success, policy fail
    assert cloudstack.volumes[VOL]["path"] is None and cloudstack.volumes[VOL]["storageid"] == DST
    cloudstack.outcome = "moves"

    result = run_one(world, on_false_success="restore")

    entry = result["volumes"][0]
    assert entry["status"] == "migrated" and entry["repaired"] is True and result["changed"] is True
    assert entry["restore"]["verified"] is True and entry["restore"]["after"]["pool_id"] == SRC
    assert not entry.get("false_success")
    assert cloudstack.updates[0] == dict(volume_id=VOL, storage_id=SRC, path="DATA-7", state="Ready")
    assert cloudstack.volumes[VOL]["storageid"] == DST and cloudstack.volumes[VOL]["path"] == "DATA-7"
    assert vcenter.vms["i-2-7-VM"]["DATA-7"] == DST_DS
    assert len(cloudstack.submissions) == 2
    events = [item["event"] for item in journal.entries(VOL)]
    assert events.index("restore") < events.index("repair") < len(events) - events[::-1].index("job_submitting") - 1


def test_null_path_record_is_repaired_from_chaininfo_without_a_journal(world, tmp_path):
    cloudstack, vcenter, journal, clock = world
    _damage(cloudstack)
    cloudstack.volumes[VOL]["chaininfo"] = json.dumps({"diskDeviceBusName": "scsi0:1",
                                                       "diskChain": ["[%s] i-2-7-VM/DATA-7.vmdk" % SRC_DS]})
    result = run_one(world, on_false_success="restore")
    entry = result["volumes"][0]
    assert entry["status"] == "migrated" and entry["restore"]["verified"] is True
    assert cloudstack.volumes[VOL]["storageid"] == DST and vcenter.vms["i-2-7-VM"]["DATA-7"] == DST_DS


def test_repair_to_a_truth_that_is_the_destination_changes_only_the_record(world):
    cloudstack, vcenter, journal, clock = world
    # the record lost its path on the source pool, and the user asks for the source pool: the disk is there
    cloudstack.volumes[VOL].update(path=None, chaininfo=json.dumps({"diskChain": ["[%s] i-2-7-VM/DATA-7.vmdk" % SRC_DS]}))
    result = run_one(world, destination=SRC, on_false_success="restore")
    entry = result["volumes"][0]
    assert entry["status"] == "unchanged" and entry["changed"] is True and entry["repaired"] is True
    assert cloudstack.volumes[VOL]["path"] == "DATA-7" and cloudstack.submissions == []


def test_null_path_without_any_source_of_the_path_is_refused_with_what_to_do(world):
    cloudstack, vcenter = world[0], world[1]
    cloudstack.volumes[VOL].update(path=None)
    vcenter.vms["i-2-7-VM"]["DATA-8"] = SRC_DS  # two unclaimed disks on the VM: never a guess
    with pytest.raises(DriftDetected) as caught:
        run_one(world, on_false_success="restore")
    assert "no single place" in caught.value.message or "repair the record by hand" in caught.value.message
    assert cloudstack.updates == [] and cloudstack.submissions == []


def test_null_path_and_no_journal_the_one_disk_no_other_volume_claims_is_the_path(world):
    """#9881 as it is found in the field: destination pool, path NULL, no journal, no chaininfo."""
    cloudstack, vcenter = world[0], world[1]
    _damage(cloudstack, path=None)
    vcenter.vms["i-2-7-VM"]["ROOT-7"] = SRC_DS
    cloudstack.volumes["root-7"] = dict(cloudstack.volumes[VOL], id="root-7", name="ROOT-7", path="ROOT-7", storageid=SRC)
    result = run_one(world, on_false_success="restore")
    entry = result["volumes"][0]
    assert entry["repaired"] is True and entry["status"] == "migrated"
    assert cloudstack.updates[0]["path"] == "DATA-7" and cloudstack.updates[0]["storage_id"] == SRC


def test_a_repair_that_does_not_take_stops_before_migrating(world):
    cloudstack = world[0]
    _damage(cloudstack, path="DATA-7")
    cloudstack.update_error = "Failed to update volume: simulated"
    with pytest.raises(VerificationFailed) as caught:
        run_one(world, on_false_success="restore")
    assert "did not take" in caught.value.message and caught.value.facts["changed"] is True
    assert cloudstack.submissions == []


# ---- 4. a job that CloudStack shows on the volume ------------------------------------------------------
def _running_job(cloudstack, job_id="job-earlier", cmd=MIGRATE_CMD, volume_id=VOL):
    cloudstack._register(job_id, VOL, DST)  # pylint: disable=protected-access
    cloudstack.jobs[job_id].update(cmd=cmd, jobinstancetype="Volume", jobinstanceid=volume_id)
    cloudstack.volumes[VOL].update(jobid=job_id, jobstatus=0, state="Migrating")
    complete = cloudstack._complete  # pylint: disable=protected-access

    def ended(done_id, status):  # as CloudStack does: Ready again and no job shown on the volume
        complete(done_id, status)
        cloudstack.volumes[VOL].update(state="Ready")
        cloudstack.volumes[VOL].pop("jobid", None)
        cloudstack.volumes[VOL].pop("jobstatus", None)

    cloudstack._complete = ended  # pylint: disable=protected-access


def test_running_migration_is_adopted_without_the_journal(world):
    cloudstack, vcenter, journal, clock = world
    _running_job(cloudstack)
    result = run_one(world)
    entry = result["volumes"][0]
    assert entry["status"] == "migrated" and entry["adopted"] is True and entry["resumed"] is True
    assert entry["job_id"] == "job-earlier" and entry["verification"]["ok"] is True
    assert cloudstack.submissions == []
    assert [item["event"] for item in journal.entries(VOL)][:2] == ["job_adopted", "job_result"]
    assert journal.unfinished_job(VOL) is None


def test_adoption_survives_a_timeout_then_the_journal_resumes_it(world):
    cloudstack, vcenter, journal, clock = world
    _running_job(cloudstack)
    cloudstack.job_script["job-earlier"] = [0] * 200 + [1]
    with pytest.raises(Exception) as caught:
        run_one(world, job_timeout=5)
    assert "job-earlier" in caught.value.message
    assert journal.unfinished_job(VOL)["job_id"] == "job-earlier"
    cloudstack.job_script["job-earlier"] = [1]
    result = run_one(world)
    assert result["volumes"][0]["status"] == "migrated" and cloudstack.submissions == []


@pytest.mark.parametrize("cmd, instance", [
    ("org.apache.cloudstack.api.command.admin.volume.ResizeVolumeCmd", VOL),
    (MIGRATE_CMD, "99999999-9999-4999-8999-999999999999"),
])
def test_a_job_that_is_not_this_volumes_migration_stays_a_blocker(world, cmd, instance):
    cloudstack = world[0]
    _running_job(cloudstack, cmd=cmd, volume_id=instance)
    with pytest.raises(PreflightFailed) as caught:
        run_one(world)
    assert "job_pending" in [blocker["code"] for blocker in caught.value.facts["blockers"]]
    assert cloudstack.submissions == []


def test_check_mode_with_a_running_migration_plans_to_wait_for_it(world):
    cloudstack = world[0]
    _running_job(cloudstack)
    result = run_one(world, check_mode=True)
    entry = result["volumes"][0]
    assert entry["status"] == "planned" and entry["adopted"] is True and entry["job_id"] == "job-earlier"
    assert cloudstack.submissions == []


# ---- 5. 431 "job already exists" for our own customjobid ------------------------------------------------
def test_job_already_exists_answer_is_adopted_not_abandoned(world):
    cloudstack, vcenter, journal, clock = world
    lost = ConnectionFailed("connection dropped")
    lost.transient = True
    exists = CloudStackApiError("Failed to migrate volume: A job with id job-1 already exists, customjobid must be unique",
                                errorcode=431)
    # the first attempt's answer is lost and the lookup does not see it yet; the retry is told it exists
    cloudstack.migrate_errors = [(lost, False), (exists, True)]
    result = run_one(world)
    entry = result["volumes"][0]
    assert entry["status"] == "migrated" and entry["job_id"] == "job-1"
    assert [submission[2] for submission in cloudstack.submissions] == ["job-1", "job-1"]
    events = [item["event"] for item in journal.entries(VOL)]
    assert "job_abandoned" not in events and "job_found" in events


def test_lookup_failing_after_a_lost_answer_resubmits_the_same_id(world):
    cloudstack = world[0]
    lost = ConnectionFailed("connection dropped")
    lost.transient = True
    unreachable = ConnectionFailed("cannot reach CloudStack")
    unreachable.transient = True
    cloudstack.migrate_errors = [(lost, False)]
    cloudstack.query_errors = [unreachable]
    result = run_one(world)
    assert result["volumes"][0]["status"] == "migrated"
    assert [submission[2] for submission in cloudstack.submissions] == ["job-1", "job-1"]


# ---- 6. failures after a job succeeded -------------------------------------------------------------------
def test_vcenter_lost_during_verification_says_the_job_succeeded(world):
    cloudstack, vcenter, journal, clock = world
    original = vcenter.locate
    calls = []

    def locate(*args, **kwargs):
        calls.append(args)
        if cloudstack.volumes[VOL]["storageid"] == DST:
            raise VCenterError("vCenter vc:443 cannot be reached")
        return original(*args, **kwargs)

    vcenter.locate = locate
    with pytest.raises(VCenterError) as caught:
        run_one(world)
    message, facts = caught.value.message, caught.value.facts
    assert "job-1" in message and "succeeded" in message and "cannot be reached" in message
    assert "pool-dst" in message
    assert facts["changed"] is True and facts["job_succeeded"] is True and facts["job_id"] == "job-1"
    assert facts["record"]["pool_id"] == DST


def test_journal_unwritable_after_the_job_says_the_job_succeeded(world, tmp_path):
    cloudstack, vcenter, journal, clock = world

    class BrokenAfterSubmit(Journal):
        def record(self, volume_id, event, **data):
            if event in ("job_result", "outcome"):
                raise InvalidInput("Cannot write the migration journal %s: No space left on device" % self.path)
            return super().record(volume_id, event, **data)

    from unit.plugins.module_utils.test_volume_migration import service_for  # pylint: disable=import-error
    from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.options import MigrationRequest
    broken = BrokenAfterSubmit(str(tmp_path / "broken.jsonl"), clock=clock)
    service = service_for((cloudstack, vcenter, broken, clock))
    with pytest.raises(InvalidInput) as caught:
        service.run([MigrationRequest(VOL, DST)])
    message, facts = caught.value.message, caught.value.facts
    assert "succeeded" in message and "job-1" in message and "No space left" in message
    assert facts["changed"] is True and facts["record"]["pool_id"] == DST
    assert facts["volumes"][0]["journal_error"].startswith("Cannot write the migration journal")


def test_path_from_chaininfo():
    assert path_from_chaininfo(json.dumps({"diskChain": ["[ds1] i-2-7-VM/abc.vmdk"]})) == "abc"
    assert path_from_chaininfo(None) is None
    assert path_from_chaininfo("not json") is None
    assert path_from_chaininfo(json.dumps({"diskChain": []})) is None
