"""cs_volume_plan_info against the lab: the resolved plan must match the simulator's records and vcsim's files."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.lab


def _stopped_admin_volume(lab, volume_type="DATADISK"):
    records = lab.records()
    admin = lab.admin()
    vm = next(vm for vm in admin.listVirtualMachines(listall=True, state="Stopped")["virtualmachine"] if vm["account"] == "admin")
    record = next(row for row in records.values() if row["virtualmachineid"] == vm["id"] and row["type"] == volume_type)
    return vm, record


def _other_pool_in_cluster(lab, volume_id):
    volume = lab.admin().listVolumes(id=volume_id, listall=True)["volume"][0]
    pools = lab.admin().listStoragePools(clusterid=volume["clusterid"])["storagepool"]
    return next(pool for pool in sorted(pools, key=lambda pool: pool["name"]) if pool["id"] != volume["storageid"])


def test_a_volume_by_name_resolves_to_the_lab_record_and_where_its_vmdk_really_is(fresh_lab, module_runner):
    vm, record = _stopped_admin_volume(fresh_lab)
    destination = _other_pool_in_cluster(fresh_lab, record["id"])

    result = module_runner("cs_volume_plan_info", {"plan": [{"volume": record["name"], "vm": vm["name"],
                                                            "destination": destination["name"]}]}, fresh_lab.env)

    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is False
    [volume] = result["volumes"]
    assert (volume["volume_id"], volume["path"], volume["source_pool_id"]) == (record["id"], record["path"], record["storageid"])
    assert (volume["vm_id"], volume["instance_name"], volume["vm_state"]) == (vm["id"], vm["instancename"], "Stopped")
    assert volume["destination_pool_id"] == destination["id"] and volume["already_on_destination"] is False
    assert volume["migration"] == {"volume": record["id"], "destination": destination["id"]}
    # The datastore identities must name the datastore the VMDK really is on (ground truth: the directories).
    [location] = fresh_lab.vmdk_locations(record["path"])
    assert location.split("]")[0].lstrip("[") in volume["source_datastores"]
    assert destination["id"].replace("-", "") in volume["destination_datastores"]
    assert result["vms"] == [{"name": vm["instancename"], "disks": [{"path": record["path"],
                                                                     "datastores": volume["source_datastores"]}]}]


def test_a_source_pool_expands_to_exactly_the_volumes_the_records_put_on_it(fresh_lab, module_runner):
    records = fresh_lab.records()
    pool = fresh_lab.admin().listStoragePools(name="nfs-primary-3")["storagepool"][0]
    destination = next(p for p in fresh_lab.admin().listStoragePools(clusterid=pool["clusterid"])["storagepool"]
                       if p["id"] != pool["id"] and p["type"] == "NetworkFilesystem")
    expected = {row["id"] for row in records.values() if row["storageid"] == pool["id"] and not row["removed"]}

    result = module_runner("cs_volume_plan_info", {"plan": [{"source_pool": pool["name"], "destination": destination["id"]}]},
                           fresh_lab.env, check_mode=True)

    assert not result.get("failed"), result.get("msg")
    assert expected and {volume["volume_id"] for volume in result["volumes"]} == expected
    detached = {row["id"] for row in records.values() if row["id"] in expected and not row["virtualmachineid"]}
    assert {volume["volume_id"] for volume in result["volumes"] if not volume["attached"]} == detached
    assert result["summary"]["volumes"] == len(expected) and result["summary"]["detached"] == len(detached)
    assert all(volume["destination_pool_id"] == destination["id"] for volume in result["volumes"])


def test_the_vms_it_returns_pass_vmware_inventory_assert_and_catch_a_removed_vm(fresh_lab, module_runner):
    vm, record = _stopped_admin_volume(fresh_lab)
    destination = _other_pool_in_cluster(fresh_lab, record["id"])
    plan = module_runner("cs_volume_plan_info", {"plan": [{"volume": record["id"], "destination": destination["id"]}]},
                         fresh_lab.env)

    passed = module_runner("vmware_inventory_assert", {"vms": plan["vms"]}, fresh_lab.env)
    fresh_lab.control("vcenter_unregister_vm", instance_name=vm["instancename"])
    failed = module_runner("vmware_inventory_assert", {"vms": plan["vms"], "fail_on_problems": False}, fresh_lab.env)

    assert passed["ok"] is True, passed.get("msg")
    assert [problem["code"] for problem in failed["problems"]] == ["vm_not_found"]


def test_a_volume_already_on_its_destination_is_expected_there(fresh_lab, module_runner):
    record = _stopped_admin_volume(fresh_lab, "ROOT")[1]
    pool = fresh_lab.admin().listStoragePools(id=record["storageid"])["storagepool"][0]

    result = module_runner("cs_volume_plan_info", {"plan": [{"volume": record["id"], "destination": pool["name"]}]}, fresh_lab.env)

    assert result["volumes"][0]["already_on_destination"] is True
    assert result["summary"]["to_migrate"] == 0
    assert result["vms"][0]["disks"][0]["datastores"] == result["volumes"][0]["destination_datastores"]


def test_an_unknown_volume_fails_with_the_reason_and_changes_nothing(fresh_lab, module_runner):
    before = fresh_lab.records()
    destination = fresh_lab.admin().listStoragePools()["storagepool"][0]

    missing = module_runner("cs_volume_plan_info", {"plan": [{"volume": "no-such-volume", "destination": destination["name"]}]},
                            fresh_lab.env)

    assert missing["failed"] and "no-such-volume" in missing["msg"] and "not found" in missing["msg"]
    assert "Traceback" not in missing["_output"]
    assert fresh_lab.records() == before
