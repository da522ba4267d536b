"""apache/cloudstack#9881 end to end: a stopped VM removed from vCenter, then migrateVolume.

legacy (before PR #10707): the job succeeds, the record claims the destination with a null
path, and the VMDK has not moved. fixed: the job fails with the wrapped agent text and the
record is unchanged. Both against the real vcsim, through the real `cs` client.
"""
from __future__ import annotations

import pytest
from cs import CloudStackApiException

from lab.cloudstack_sim.testing import SimLab

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    started = SimLab(tmp_path_factory.mktemp("lab9881"), vms=8, data_disks_per_vm=1, detached_volumes=1).start()
    yield started
    started.stop()


def _stopped_vm_volume(lab, volume_type: str):
    admin = lab.client()
    vm = admin.listVirtualMachines(listall=True, state="Stopped")["virtualmachine"][0]
    volume = admin.listVolumes(listall=True, virtualmachineid=vm["id"], type=volume_type)["volume"][0]
    pools = admin.listStoragePools(clusterid=volume["clusterid"])["storagepool"]
    destination = next(pool for pool in pools if pool["id"] != volume["storageid"])
    return vm, volume, destination


def _vmdk_at(lab, volume: dict) -> list[str]:
    return lab.vmdk_locations(volume["path"])


def test_legacy_reports_success_and_rewrites_the_record_although_nothing_moved(lab):
    lab.reset()
    vm, volume, destination = _stopped_vm_volume(lab, "DATADISK")
    before = _vmdk_at(lab, volume)
    lab.control("vcenter_unregister_vm", instance_name=vm["instancename"])

    result = lab.client().migrateVolume(volumeid=volume["id"], storageid=destination["id"])

    assert result["volume"]["storageid"] == destination["id"]
    assert "path" not in result["volume"]
    record = lab.records()[volume["id"]]
    assert (record["storageid"], record["path"], record["state"]) == (destination["id"], None, "Ready")
    assert _vmdk_at(lab, volume) == before
    assert before and before[0].startswith(f"[{volume['storageid'].replace('-', '')}]")


def test_fixed_fails_the_job_with_the_agent_text_and_keeps_the_record(lab):
    lab.reset()
    lab.control("behaviour", behaviour="fixed")
    vm, volume, destination = _stopped_vm_volume(lab, "ROOT")
    before = _vmdk_at(lab, volume)
    lab.control("vcenter_unregister_vm", instance_name=vm["instancename"])

    with pytest.raises(CloudStackApiException) as failure:
        lab.client().migrateVolume(volumeid=volume["id"], storageid=destination["id"])

    error = failure.value.error
    assert error["errorcode"] == 530
    datacenter_moid = error["errortext"].rsplit(" ", 1)[-1]
    assert error["errortext"] == (
        "Migrate volume failed: com.cloud.utils.exception.CloudRuntimeException: Unable to migrate volume: "
        f"{volume['name']} due to VM {vm['instancename']} does not exist in VMware datacenter {datacenter_moid}")
    assert datacenter_moid.startswith("datacenter-")
    record = lab.records()[volume["id"]]
    assert (record["storageid"], record["path"], record["state"]) == (volume["storageid"], volume["path"], "Ready")
    assert _vmdk_at(lab, volume) == before


def test_a_registered_vm_volume_really_moves(lab):
    lab.reset()
    vm, volume, destination = _stopped_vm_volume(lab, "DATADISK")
    lab.client().migrateVolume(volumeid=volume["id"], storageid=destination["id"])
    record = lab.records()[volume["id"]]
    assert (record["storageid"], record["state"]) == (destination["id"], "Ready")
    expected = f"[{destination['id'].replace('-', '')}] {vm['instancename']}/{record['path']}.vmdk"
    assert lab.vmdk_locations(record["path"]) == [expected]
    assert (lab.datastore_root / destination["id"].replace("-", "") / vm["instancename"] / f"{record['path']}.vmdk").is_file()
