"""migrateVolume's failure shapes on VMware, each selected through the control interface and checked against
ground truth: the volume record (admin API and the raw rows) and where the VMDK files really are."""
from __future__ import annotations

import pytest
from cs import CloudStackApiException

from lab.cloudstack_sim.testing import SimLab

pytestmark = pytest.mark.lab

FAILED_PREFIX = "Migrate volume failed: com.cloud.utils.exception.CloudRuntimeException: Unable to migrate volume: "


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    started = SimLab(tmp_path_factory.mktemp("shapes"), vms=8, data_disks_per_vm=1, detached_volumes=2).start()
    yield started
    started.stop()


@pytest.fixture
def fresh(lab):
    lab.reset()
    return lab


def _datastore(pool: dict) -> str:
    return pool["id"].replace("-", "")


def _stopped_volume(lab, volume_type="DATADISK"):
    """A stopped VM's volume and a pool of the same cluster to move it to."""
    admin = lab.client()
    vm = admin.listVirtualMachines(listall=True, state="Stopped")["virtualmachine"][0]
    volume = admin.listVolumes(listall=True, virtualmachineid=vm["id"], type=volume_type)["volume"][0]
    pools = admin.listStoragePools(clusterid=volume["clusterid"])["storagepool"]
    return vm, volume, next(pool for pool in pools if pool["id"] != volume["storageid"])


def _detached_volume(lab):
    admin = lab.client()
    volume = next(v for v in admin.listVolumes(listall=True, type="DATADISK", fetch_list=True) if "virtualmachineid" not in v)
    destination = next(p for p in admin.listStoragePools()["storagepool"] if p["id"] != volume["storageid"])
    return volume, destination


def _record(lab, volume_id: str) -> tuple:
    row = lab.records()[volume_id]
    return row["storageid"], row["path"], row["state"]


def _datastores_holding(lab, path: str) -> list[str]:
    return sorted(location.split("]")[0].lstrip("[") for location in lab.vmdk_locations(path))


def _job_error(call, **params) -> dict:
    with pytest.raises(CloudStackApiException) as failure:
        call(**params)
    return failure.value.error


# ---- 1. before PR #10707: any failed answer of the agent is taken for success ------------------------

def _unmount_destination(lab, vm, volume, destination):
    lab.control("vcenter_unmount_datastore", pool_id=destination["id"], instance_name=vm["instancename"])


def _record_names_another_disk(lab, vm, volume, destination):
    lab.client().updateVolume(id=volume["id"], path="no-such-disk")


def _delete_the_file(lab, vm, volume, destination):
    lab.control("vcenter_delete_vmdk", volume_id=volume["id"])


AGENT_FAILURES = {
    "datastore_not_mounted": (_unmount_destination, "Unable to find the mounted datastore with name: {datastore}"),
    "no_such_disk_device": (_record_names_another_disk, "No such disk device: no-such-disk.vmdk"),
    "file_not_found": (_delete_the_file, "Failed to migrate volume {path} of VM {instance}"),
}


@pytest.mark.parametrize("failure", list(AGENT_FAILURES))
def test_legacy_takes_any_failed_agent_answer_for_success(fresh, failure):
    vm, volume, destination = _stopped_volume(fresh)
    before = _datastores_holding(fresh, volume["path"])
    AGENT_FAILURES[failure][0](fresh, vm, volume, destination)

    result = fresh.client().migrateVolume(volumeid=volume["id"], storageid=destination["id"])

    assert result["volume"]["storageid"] == destination["id"] and "path" not in result["volume"]
    assert _record(fresh, volume["id"]) == (destination["id"], None, "Ready")
    assert _datastores_holding(fresh, volume["path"]) == (before if failure != "file_not_found" else [])


@pytest.mark.parametrize("failure", list(AGENT_FAILURES))
def test_fixed_fails_530_with_the_agent_text_and_keeps_the_record(fresh, failure):
    fresh.control("behaviour", behaviour="fixed")
    vm, volume, destination = _stopped_volume(fresh)
    AGENT_FAILURES[failure][0](fresh, vm, volume, destination)
    kept = _record(fresh, volume["id"])

    error = _job_error(fresh.client().migrateVolume, volumeid=volume["id"], storageid=destination["id"])

    detail = AGENT_FAILURES[failure][1].format(datastore=_datastore(destination), path=volume["path"],
                                               instance=vm["instancename"])
    assert error["errorcode"] == 530 and error["errortext"].startswith(f"{FAILED_PREFIX}{volume['name']} due to {detail}")
    assert _record(fresh, volume["id"]) == kept and kept[2] == "Ready"


# ---- 2. the detached path loses the disk (#8747, #3958) ------------------------------------------------

def test_detached_disk_lost_under_legacy_succeeds_with_a_null_path_and_no_file_anywhere(fresh):
    volume, destination = _detached_volume(fresh)
    fresh.control("fault_next_job", mode="detached_disk_lost")

    result = fresh.client().migrateVolume(volumeid=volume["id"], storageid=destination["id"])

    assert (result["volume"]["id"], result["volume"]["storageid"]) == (volume["id"], destination["id"])
    assert _record(fresh, volume["id"]) == (destination["id"], None, "Ready")
    assert _datastores_holding(fresh, volume["path"]) == []


def test_detached_disk_lost_under_fixed_fails_and_the_uuid_lists_nothing(fresh):
    fresh.control("behaviour", behaviour="fixed")
    volume, destination = _detached_volume(fresh)
    fresh.control("fault_next_job", mode="detached_disk_lost")

    error = _job_error(fresh.client().migrateVolume, volumeid=volume["id"], storageid=destination["id"])

    assert error["errorcode"] == 530 and "retrieved 'null' as new path" in error["errortext"]
    assert fresh.client().listVolumes(id=volume["id"], listall=True) == {}
    assert _datastores_holding(fresh, volume["path"]) == []


# ---- 3. false failure: vCenter moved the disk, the job failed, the record stayed ------------------------

@pytest.mark.parametrize("reason, text, state", [
    ("cancelled", "Job is cancelled as it has been blocking others for too long", "Migrating"),
    ("session_timeout", "due to The session is not authenticated.", "Ready"),
    ("restart", "Job cancelled because of management server restart or shutdown", "Migrating"),
])
def test_false_failure_moves_the_disk_but_keeps_the_record(fresh, reason, text, state):
    vm, volume, destination = _stopped_volume(fresh)
    fresh.control("fault_next_job", mode="false_failure", reason=reason)

    error = _job_error(fresh.client().migrateVolume, volumeid=volume["id"], storageid=destination["id"])

    assert error["errorcode"] == 530 and error["errortext"].endswith(text)
    assert _record(fresh, volume["id"]) == (volume["storageid"], volume["path"], state)
    assert fresh.vmdk_locations(volume["path"]) == [f"[{_datastore(destination)}] {vm['instancename']}/{volume['path']}.vmdk"]


def test_false_failure_of_a_detached_volume_leaves_the_file_only_at_the_destination(fresh):
    volume, destination = _detached_volume(fresh)
    fresh.control("fault_next_job", mode="false_failure", reason="session_timeout")

    _job_error(fresh.client().migrateVolume, volumeid=volume["id"], storageid=destination["id"])

    assert _record(fresh, volume["id"]) == (volume["storageid"], volume["path"], "Ready")
    assert fresh.vmdk_locations(volume["path"]) == [f"[{_datastore(destination)}] {volume['path']}.vmdk"]


# ---- 4. the source left behind, or removed --------------------------------------------------------------

def test_source_left_behind_succeeds_with_two_copies(fresh):
    vm, volume, destination = _stopped_volume(fresh)
    fresh.control("fault_next_job", mode="source_left_behind")

    result = fresh.client().migrateVolume(volumeid=volume["id"], storageid=destination["id"])

    assert result["volume"]["storageid"] == destination["id"]
    assert _record(fresh, volume["id"]) == (destination["id"], volume["path"], "Ready")
    assert _datastores_holding(fresh, volume["path"]) == sorted([_datastore(destination), volume["storageid"].replace("-", "")])


def test_source_left_behind_of_a_detached_volume_keeps_the_source_file(fresh):
    volume, destination = _detached_volume(fresh)
    fresh.control("fault_next_job", mode="source_left_behind")

    fresh.client().migrateVolume(volumeid=volume["id"], storageid=destination["id"])

    assert _record(fresh, volume["id"]) == (destination["id"], volume["path"], "Ready")
    assert _datastores_holding(fresh, volume["path"]) == sorted([_datastore(destination), volume["storageid"].replace("-", "")])


def test_source_removed_fails_and_the_disk_is_nowhere(fresh):
    vm, volume, destination = _stopped_volume(fresh)
    fresh.control("fault_next_job", mode="source_removed")

    error = _job_error(fresh.client().migrateVolume, volumeid=volume["id"], storageid=destination["id"])

    assert error["errorcode"] == 530 and error["errortext"].endswith(
        f"[{volume['storageid'].replace('-', '')}] {vm['instancename']}/{volume['path']}.vmdk was not found")
    assert _record(fresh, volume["id"]) == (volume["storageid"], volume["path"], "Ready")
    assert fresh.vmdk_locations(volume["path"]) == []


def test_source_removed_of_a_detached_volume_fails_and_the_disk_is_nowhere(fresh):
    volume, destination = _detached_volume(fresh)
    fresh.control("fault_next_job", mode="source_removed")

    error = _job_error(fresh.client().migrateVolume, volumeid=volume["id"], storageid=destination["id"])

    assert f"Migration of volume '{volume['path']}' failed; file (" in error["errortext"]
    assert _record(fresh, volume["id"]) == (volume["storageid"], volume["path"], "Ready")
    assert fresh.vmdk_locations(volume["path"]) == []
