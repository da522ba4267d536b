"""cs_vmware_drift_info through ansible-playbook against the lab: each kind of drift is made for real, then found.

Each test makes one kind of drift in a freshly reset lab (vcsim + the CloudStack simulator, legacy behaviour)
and asserts the exact drift codes the audit reports, checked against the lab's ground truth (the records as the
simulator stores them, the VMDK files as they are on disk).
"""

from __future__ import annotations

import time

import pytest

from lab.cloudstack_sim.testing import SimLab
from integration.lab_queries import datastore_of, other_pool, stopped_vm_volumes  # pylint: disable=import-error

pytestmark = pytest.mark.lab

MODULE = "cs_vmware_drift_info"
SEEDED_VOLUMES = 51  # 24 VMs with a ROOT and a data disk, and 3 detached volumes


def audit(module_runner, env, **args):
    result = module_runner(MODULE, args, env, check_mode=True)
    assert result.get("failed") is not True, result
    assert result["changed"] is False
    return result


def found(result):
    """Sorted (code, volume id or file) of every drift item."""
    return sorted((item["code"], item["volume_id"] or item["datastore_path"]) for item in result["drift"])


def item(result, code, volume_id=None):
    matches = [entry for entry in result["drift"] if entry["code"] == code and entry["volume_id"] == volume_id]
    assert len(matches) == 1, found(result)
    return matches[0]


def test_a_clean_lab_audits_clean(fresh_lab, module_runner):
    result = audit(module_runner, fresh_lab.env)
    assert result["clean"] is True and result["drift"] == []
    assert result["summary"] == {"volumes": SEEDED_VOLUMES, "vcenter_vms": 24, "datastores_listed": 5,
                                 "datastore_searches": 0, "drift": 0, "by_code": {}}
    assert result["scope"]["kind"] == "all" and len(result["scope"]["pools"]) == 5


def test_past_false_success_under_legacy_is_a_missing_vm_and_a_null_path(fresh_lab, module_runner):
    """apache/cloudstack#9881: the VM left the inventory, then plain migrateVolume "succeeded"."""
    admin = fresh_lab.admin()
    vm, (root, data) = stopped_vm_volumes(admin)
    source_datastore = fresh_lab.records()[root["id"]]["datastore"]
    destination = other_pool(admin, root)
    fresh_lab.control("vcenter_unregister_vm", instance_name=vm["instancename"])
    answer = admin.migrateVolume(volumeid=root["id"], storageid=destination["id"])
    record = fresh_lab.records()[root["id"]]
    assert answer["volume"]["storageid"] == destination["id"] and (record["storageid"], record["path"]) == (destination["id"], None)
    disk = "[%s] %s/%s.vmdk" % (source_datastore, vm["instancename"], root["path"])
    assert fresh_lab.vmdk_locations(root["path"]) == [disk]  # nothing moved

    result = audit(module_runner, fresh_lab.env)
    assert found(result) == sorted([("vm_not_found", root["id"]), ("vm_not_found", data["id"]), ("volume_path_null", root["id"])])
    null = item(result, "volume_path_null", root["id"])
    assert null["vcenter"]["candidates"] == [disk]
    assert null["fix"] == {"action": "update_volume", "volume_id": root["id"],
                           "params": {"path": root["path"], "storageid": root["storageid"]}}
    vmx = "[%s] %s/%s.vmx" % (source_datastore, vm["instancename"], vm["instancename"])
    assert item(result, "vm_not_found", root["id"])["fix"] == {"action": "register_vm", "vmx": vmx}


def test_unregistered_vm_says_where_its_files_are(fresh_lab, module_runner):
    admin = fresh_lab.admin()
    vm, volumes = stopped_vm_volumes(admin)
    fresh_lab.control("vcenter_unregister_vm", instance_name=vm["instancename"])
    result = audit(module_runner, fresh_lab.env)
    assert found(result) == sorted(("vm_not_found", volume["id"]) for volume in volumes)
    for volume in volumes:
        facts = item(result, "vm_not_found", volume["id"])["vcenter"]
        assert facts["vm_found"] is False and [facts["file"]] == fresh_lab.vmdk_locations(volume["path"])
        assert any(path.endswith("/%s.vmx" % vm["instancename"]) for path in facts["leftovers"])


def test_deleted_vmdk_is_a_missing_disk_file(fresh_lab, module_runner):
    admin = fresh_lab.admin()
    data = stopped_vm_volumes(admin)[1][1]
    deleted = fresh_lab.control("vcenter_delete_vmdk", volume_id=data["id"])
    assert fresh_lab.vmdk_locations(data["path"]) == []
    result = audit(module_runner, fresh_lab.env)
    assert found(result) == [("disk_file_missing", data["id"])]
    drift = item(result, "disk_file_missing", data["id"])
    assert drift["vcenter"]["file"] == "[%s] %s" % (deleted["datastore"], deleted["file"])
    assert drift["fix"] == {"action": "restore_disk"}


def test_false_success_that_kept_the_path_is_a_disk_on_another_datastore(fresh_lab, module_runner):
    admin = fresh_lab.admin()
    data = stopped_vm_volumes(admin)[1][1]
    destination = other_pool(admin, data)
    fresh_lab.control("fault_next_job", mode="false_success")
    admin.migrateVolume(volumeid=data["id"], storageid=destination["id"])
    assert fresh_lab.records()[data["id"]]["storageid"] == destination["id"]
    [location] = fresh_lab.vmdk_locations(data["path"])
    result = audit(module_runner, fresh_lab.env)
    assert found(result) == [("disk_on_other_datastore", data["id"])]
    drift = item(result, "disk_on_other_datastore", data["id"])
    assert drift["vcenter"]["file"] == location and drift["vcenter"]["pool_id"] == data["storageid"]
    assert drift["fix"] == {"action": "update_volume", "volume_id": data["id"], "params": {"storageid": data["storageid"]}}


def test_orphan_vmdk_is_found_on_its_pool_only(fresh_lab, module_runner):
    admin = fresh_lab.admin()
    pools = sorted(admin.listStoragePools(fetch_list=True), key=lambda pool: pool["name"])
    datastore = datastore_of(pools[0])
    fresh_lab.vsphere.create_detached_disk(datastore, "lost/lost-disk.vmdk", 1)
    assert fresh_lab.vmdk_locations("lost-disk") == ["[%s] lost/lost-disk.vmdk" % datastore]
    result = audit(module_runner, fresh_lab.env, pool=pools[0]["name"])
    assert found(result) == [("orphan_vmdk", "[%s] lost/lost-disk.vmdk" % datastore)]
    assert result["scope"]["kind"] == "pool" and result["summary"]["datastores_listed"] == 1
    assert item(result, "orphan_vmdk")["cloudstack"] == {"pool_id": pools[0]["id"], "pool_name": pools[0]["name"]}
    assert audit(module_runner, fresh_lab.env, pool=pools[1]["id"])["clean"] is True


def test_vm_that_looks_like_an_instance_without_a_record(fresh_lab, module_runner):
    host = fresh_lab.vsphere.topology()["clusters"][0]["hosts"][0]["name"]
    datastore = datastore_of(fresh_lab.admin().listStoragePools(fetch_list=True)[0])
    fresh_lab.vsphere.create_vm("i-2-999-VM", "i-2-999-VM", host,
                                [{"datastore": datastore, "file": "i-2-999-VM/extra.vmdk", "size_mb": 1}], False)
    result = audit(module_runner, fresh_lab.env)
    # its disk is used by a VM, so it is no orphan
    assert found(result) == [("unrecorded_vm", "[%s] i-2-999-VM/i-2-999-VM.vmx" % datastore)]
    assert item(result, "unrecorded_vm")["vcenter"]["disks"] == ["[%s] i-2-999-VM/extra.vmdk" % datastore]


@pytest.fixture
def sim_lab(tmp_path):
    """A lab of its own: the test restarts its CloudStack simulator."""
    started = SimLab(tmp_path / "lab", clusters=1, hosts_per_cluster=2, vms=4, data_disks_per_vm=1,
                     detached_volumes=1).start()
    yield started
    started.stop()


def test_stuck_migrating_after_a_restart_mid_job_then_clean_once_repaired(sim_lab, module_runner):
    admin = sim_lab.client(fetch_result=False)
    data = stopped_vm_volumes(sim_lab.client())[1][1]
    destination = other_pool(sim_lab.client(), data)
    sim_lab.control("fault_next_job", mode="hang")
    admin.migrateVolume(volumeid=data["id"], storageid=destination["id"])
    time.sleep(0.3)
    sim_lab.restart_simulator(kill=True)
    record = sim_lab.records()[data["id"]]
    assert (record["state"], record["storageid"]) == ("Migrating", data["storageid"])
    env = sim_lab.module_env()

    result = audit(module_runner, env)
    assert found(result) == [("volume_stuck_migrating", data["id"])]
    drift = item(result, "volume_stuck_migrating", data["id"])
    assert [drift["vcenter"]["file"]] == sim_lab.vmdk_locations(data["path"]) and drift["vcenter"]["pool_id"] == data["storageid"]
    assert drift["fix"] == {"action": "update_volume", "volume_id": data["id"], "params": {"state": "Ready"}}
    sim_lab.client().updateVolume(id=data["id"], **drift["fix"]["params"])
    assert audit(module_runner, env)["clean"] is True
