"""cs_volume_record_sync through ansible-playbook against the lab: each drift is made for real, then synced or refused.

Every test proves its outcome by the lab's state afterwards: the volume row as the simulator stores it
(lab.records()) and where the VMDK really is on the datastores' directories (lab.vmdk_locations()).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from lab.cloudstack_sim.testing import SimLab
from integration.lab_queries import assert_no_traceback, datastore_of, other_pool, placement, stopped_vm_volumes  # pylint: disable=import-error

pytestmark = pytest.mark.lab

MODULE = "cs_volume_record_sync"
REPO = Path(__file__).resolve().parents[2]
FAST = {"poll_interval": 0.05, "job_timeout": 20}


# ---- helpers -----------------------------------------------------------------------------------

@pytest.fixture
def sync(fresh_lab, module_runner, tmp_path):
    """sync(check_mode=False, diff=False, env=None, **module args) -> result (never with a traceback)."""
    journal = tmp_path / "journal.jsonl"

    def run(check_mode=False, diff=False, env=None, **args):
        args = dict(FAST, journal_path=str(journal), **args)
        result = module_runner(MODULE, args, dict(fresh_lab.env, **(env or {})), check_mode=check_mode, diff=diff)
        assert_no_traceback(result["_output"])
        assert "module_stderr" not in result, result
        return result

    run.journal = journal
    return run


def audit(module_runner, env):
    result = module_runner("cs_vmware_drift_info", {}, env, check_mode=True)
    assert_no_traceback(result["_output"])
    assert result.get("failed") is not True, result
    return result


def journal_events(path):
    return [json.loads(line)["event"] for line in path.read_text().splitlines() if line.strip()]


def false_success(lab):
    """A data volume whose migrateVolume "succeeded" (fault false_success): record on the destination, disk on the source."""
    admin = lab.admin()
    data = stopped_vm_volumes(admin)[1][1]
    destination = other_pool(admin, data)
    lab.control("fault_next_job", mode="false_success")
    admin.migrateVolume(volumeid=data["id"], storageid=destination["id"])
    assert placement(lab, data["id"]) == (destination["id"], data["path"], "Ready")
    return data, destination


def past_9881(lab):
    """apache/cloudstack#9881 under legacy: the VM left the inventory, then plain migrateVolume "succeeded"."""
    admin = lab.admin()
    vm, (root, _data) = stopped_vm_volumes(admin)
    destination = other_pool(admin, root)
    lab.control("vcenter_unregister_vm", instance_name=vm["instancename"])
    admin.migrateVolume(volumeid=root["id"], storageid=destination["id"])
    assert placement(lab, root["id"]) == (destination["id"], None, "Ready")
    return vm, root, destination


# ---- (a) false success: repaired, then clean and idempotent -------------------------------------

def test_false_success_is_put_back_on_the_source_pool_then_audit_is_clean(fresh_lab, sync, module_runner):
    data, destination = false_success(fresh_lab)
    [disk] = fresh_lab.vmdk_locations(data["path"])

    planned = sync(volume=data["id"], check_mode=True, diff=True)
    assert planned["changed"] is True and planned["status"] == "planned", planned
    assert planned["would_write"] == {"storageid": data["storageid"]}
    assert planned["diff"]["before"]["pool_id"] == destination["id"] and planned["diff"]["after"]["pool_id"] == data["storageid"]
    assert placement(fresh_lab, data["id"]) == (destination["id"], data["path"], "Ready")  # check mode wrote nothing
    assert not sync.journal.exists()

    result = sync(volume=data["id"], expected_pool=data["storage"], expected_datastore_path=disk, diff=True)

    assert result["changed"] is True and not result.get("failed"), result
    assert result["status"] == "synced" and result["written"] == {"storageid": data["storageid"]}
    assert result["truth"]["file"] == disk and result["truth"]["pool_id"] == data["storageid"]
    assert result["diff"]["after"] == {"state": "Ready", "pool": data["storage"], "pool_id": data["storageid"], "path": data["path"]}
    assert placement(fresh_lab, data["id"]) == (data["storageid"], data["path"], "Ready")
    assert fresh_lab.vmdk_locations(data["path"]) == [disk]  # a record-only change: nothing moved
    assert journal_events(sync.journal) == ["record_sync", "restore_submitting", "restore", "outcome"]
    assert audit(module_runner, fresh_lab.env)["clean"] is True

    again = sync(volume=data["name"], vm=data["vmname"])
    assert again["changed"] is False and again["status"] == "in_sync" and not again.get("failed"), again
    assert placement(fresh_lab, data["id"]) == (data["storageid"], data["path"], "Ready")


# ---- (b) stuck Migrating after a simulator restart mid-job ------------------------------------

@pytest.fixture
def sim_lab(tmp_path):
    """A lab of its own: the test restarts its CloudStack simulator (the shared lab's env must not move)."""
    started = SimLab(tmp_path / "lab", clusters=1, hosts_per_cluster=2, vms=2, data_disks_per_vm=1,
                     detached_volumes=0).start()
    yield started
    started.stop()


def test_stuck_migrating_after_a_restart_mid_job_becomes_ready(sim_lab, module_runner, tmp_path):
    data = stopped_vm_volumes(sim_lab.client())[1][1]
    destination = other_pool(sim_lab.client(), data)
    sim_lab.control("fault_next_job", mode="hang")
    sim_lab.client(fetch_result=False).migrateVolume(volumeid=data["id"], storageid=destination["id"])
    time.sleep(0.3)
    sim_lab.restart_simulator(kill=True)
    record = sim_lab.records()[data["id"]]
    assert (record["state"], record["storageid"]) == ("Migrating", data["storageid"])
    env = sim_lab.module_env()

    result = module_runner(MODULE, dict(FAST, volume=data["id"], journal_path=str(tmp_path / "j.jsonl")), env)
    assert_no_traceback(result["_output"])

    assert result["changed"] is True and result["status"] == "synced", result
    assert result["written"] == {"state": "Ready"}
    record = sim_lab.records()[data["id"]]
    assert (record["state"], record["storageid"], record["path"]) == ("Ready", data["storageid"], data["path"])
    assert sim_lab.vmdk_locations(data["path"]) == [result["truth"]["file"]]


# ---- (c) ambiguous, (d) deleted: refused, record unchanged ------------------------------------

def test_disk_in_two_places_of_a_missing_vm_is_refused(fresh_lab, sync):
    vm, root, destination = past_9881(fresh_lab)
    [disk] = fresh_lab.vmdk_locations(root["path"])
    copy = "[%s] %s/%s.vmdk" % (datastore_of(destination), vm["instancename"], root["path"])
    fresh_lab.vsphere.create_detached_disk(datastore_of(destination), "%s/%s.vmdk" % (vm["instancename"], root["path"]), 1)
    assert sorted(fresh_lab.vmdk_locations(root["path"])) == sorted([disk, copy])

    result = sync(volume=root["id"], expected_path=root["path"])

    assert result["failed"] is True and result["changed"] is False, result
    assert result["status"] == "refused" and result["reason"] == "disk_in_several_places"
    assert disk in result["msg"] and copy in result["msg"] and "nothing was changed" in result["msg"]
    assert placement(fresh_lab, root["id"]) == (destination["id"], None, "Ready")
    assert journal_events(sync.journal) == ["outcome"]


def test_a_detached_volume_copied_to_a_second_datastore_is_refused(fresh_lab, sync):
    admin = fresh_lab.admin()
    volume = next(item for item in admin.listVolumes(listall=True, fetch_list=True)
                  if not item.get("virtualmachineid") and item["state"] == "Ready")
    [disk] = fresh_lab.vmdk_locations(volume["path"])
    assert sync(volume=volume["id"])["status"] == "in_sync"  # found once, on its own pool
    pool = next(pool for pool in admin.listStoragePools(fetch_list=True) if pool["id"] != volume["storageid"])
    fresh_lab.vsphere.create_detached_disk(datastore_of(pool), "copy/%s.vmdk" % volume["path"], 1)
    assert len(fresh_lab.vmdk_locations(volume["path"])) == 2

    result = sync(volume=volume["id"])

    assert result["failed"] is True and result["reason"] == "disk_in_several_places", result
    assert disk in result["msg"]
    assert placement(fresh_lab, volume["id"]) == (volume["storageid"], volume["path"], "Ready")


def test_deleted_disk_is_refused(fresh_lab, sync):
    data = stopped_vm_volumes(fresh_lab.admin())[1][1]
    fresh_lab.control("vcenter_delete_vmdk", volume_id=data["id"])
    assert fresh_lab.vmdk_locations(data["path"]) == []

    result = sync(volume=data["id"])

    assert result["failed"] is True and result["changed"] is False, result
    assert result["reason"] == "disk_file_missing" and "backup" in result["msg"]
    assert placement(fresh_lab, data["id"]) == (data["storageid"], data["path"], "Ready")


# ---- (e) #9881 past false success: the missing VM's folder holds the one file -------------------

def test_past_9881_false_success_is_restored_from_the_reviewed_path(fresh_lab, sync, module_runner):
    vm, root, destination = past_9881(fresh_lab)
    [disk] = fresh_lab.vmdk_locations(root["path"])
    drift = next(item for item in audit(module_runner, fresh_lab.env)["drift"] if item["code"] == "volume_path_null")
    assert drift["fix"]["params"] == {"path": root["path"], "storageid": root["storageid"]}

    without_path = sync(volume=root["id"])
    assert without_path["failed"] is True and without_path["reason"] == "volume_path_null", without_path
    assert placement(fresh_lab, root["id"]) == (destination["id"], None, "Ready")

    result = sync(volume=root["id"], expected_path=drift["fix"]["params"]["path"],
                  expected_pool=drift["fix"]["params"]["storageid"])

    assert result["changed"] is True and result["status"] == "synced", result
    assert result["vcenter"]["vm_found"] is False and result["truth"]["file"] == disk
    assert placement(fresh_lab, root["id"]) == (root["storageid"], root["path"], "Ready")
    assert fresh_lab.vmdk_locations(root["path"]) == [disk]
    # what is left is the VM itself (vcsim cannot register it again: RegisterVM panics)
    assert {item["code"] for item in audit(module_runner, fresh_lab.env)["drift"]} == {"vm_not_found"}


# ---- (f) the reviewed facts no longer hold ------------------------------------------------------

def test_a_review_that_no_longer_matches_vcenter_is_refused(fresh_lab, sync):
    data, destination = false_success(fresh_lab)

    result = sync(volume=data["id"], expected_pool=destination["name"])

    assert result["failed"] is True and result["changed"] is False, result
    assert result["reason"] == "expectation_mismatch" and destination["name"] in result["msg"]
    assert placement(fresh_lab, data["id"]) == (destination["id"], data["path"], "Ready")


# ---- the playbook ---------------------------------------------------------------------------------

def test_repair_records_playbook_applies_reviewed_items_and_fails_on_a_refusal(fresh_lab, module_runner, tmp_path):
    data, destination = false_success(fresh_lab)
    other = [volume for volume in stopped_vm_volumes(fresh_lab.admin())[1] if volume["id"] != data["id"]][0]
    drift = [item for item in audit(module_runner, fresh_lab.env)["drift"] if item["code"] == "disk_on_other_datastore"]
    assert [item["volume_id"] for item in drift] == [data["id"]]

    def play(items, *options):
        vars_file = tmp_path / "approved.yml"
        vars_file.write_text(yaml.safe_dump({"safe_migration_repair_items": items,
                                             "safe_migration_repair_journal_path": str(tmp_path / "journal.jsonl"),
                                             "safe_migration_repair_job_timeout": 20, "safe_migration_repair_poll_interval": 0.05}))
        env = dict(os.environ, **fresh_lab.env)
        env.update(ANSIBLE_COLLECTIONS_PATH=str(REPO / ".venv" / "collections"), ANSIBLE_PYTHON_INTERPRETER=sys.executable,
                   ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
                   ANSIBLE_HOME=str(tmp_path / "ansible-home"))
        completed = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"),
                                    str(REPO / "playbooks" / "repair_records.yml"), "-e", "@%s" % vars_file, *options],
                                   env=env, capture_output=True, text=True, timeout=300, check=False)
        output = completed.stdout + completed.stderr
        assert_no_traceback(output)
        return completed.returncode, output

    code, output = play(drift, "--check")
    assert code == 0, output
    assert "storageid=%s" % data["storageid"] in output and "would" in output
    assert placement(fresh_lab, data["id"]) == (destination["id"], data["path"], "Ready")

    code, output = play(drift)
    assert code == 0, output
    assert placement(fresh_lab, data["id"]) == (data["storageid"], data["path"], "Ready")

    # a reviewed item that vCenter no longer supports: refused, and the play fails after reporting every item
    stale = {"volume": other["id"], "expected_pool": other_pool(fresh_lab.admin(), other)["id"]}
    not_a_record_fix = {"code": "vm_not_found", "volume_id": other["id"], "fix": {"action": "register_vm"},
                        "suggested_fix": "Register the VM in vCenter again"}
    code, output = play(drift + [stale, not_a_record_fix])
    assert code != 0, output
    assert "in_sync" in output and "refused [expectation_mismatch]" in output and "refused [not_a_record_fix]" in output
    assert "2 of 3 item(s) were not repaired" in output
    assert placement(fresh_lab, other["id"]) == (other["storageid"], other["path"], "Ready")
