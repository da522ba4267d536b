"""The preflight checks in vCenter what makes a window fail (issue 11, sections 2 and 3), run as playbooks against the lab.

Each test makes the condition real in vcsim (no mock of vCenter), runs playbooks/preflight.yml or
migrate_volumes.yml, and asserts: the play fails (exit code != 0), the message names the pool by name and
its datastore, the VM by its CloudStack and vCenter names and what to do, and nothing changed in the lab
(no job submitted: records and VMDK files as before).
"""

from __future__ import annotations

import pytest

from integration.playbook_runner import REPO, lab_state, plan_of, run_playbook, stopped_vm_volumes  # pylint: disable=import-error

pytestmark = pytest.mark.lab

PREFLIGHT = REPO / "playbooks" / "preflight.yml"


def datastore_of(pool):
    """The datastore CloudStack names after an NFS pool: its UUID without dashes."""
    return pool["id"].replace("-", "")


def vm_names_in(output, volume):
    """The message names the VM by its CloudStack name and its vCenter (instance) name."""
    return volume["vm"]["name"] in output and volume["vm"]["instancename"] in output


def one_volume(lab, volume_type="DATADISK"):
    """A volume of a stopped admin VM (the ROOT one, next to the VM's .vmx, when asked), with a destination pool."""
    volume = stopped_vm_volumes(lab, 1)[0]
    if volume_type == "ROOT":
        root = lab.admin().listVolumes(listall=True, virtualmachineid=volume["vm"]["id"], type="ROOT")["volume"][0]
        pools = lab.admin().listStoragePools()["storagepool"]
        destination = next(pool for pool in sorted(pools, key=lambda pool: pool["name"])
                           if pool["clusterid"] == root["clusterid"] and pool["id"] != root["storageid"]
                           and pool["type"] == "NetworkFilesystem")
        volume = dict(root, vm=volume["vm"], destination=destination)
    return volume


def assert_stopped_before_any_change(run, lab, volumes, before):
    assert run.returncode != 0, run.output
    assert "Wave 1" not in run.output
    assert lab_state(lab, volumes) == before


# ---- 1. the destination datastore ---------------------------------------------------------------
@pytest.mark.parametrize("state, what, todo", [
    ({"maintenance": True}, "is in maintenance mode in vCenter", "end the datastore's maintenance"),
    ({"accessible": False}, "is not accessible in vCenter", "make the datastore accessible again"),
])
def test_a_destination_datastore_in_maintenance_or_inaccessible_stops_the_preflight(fresh_lab, tmp_path, state, what, todo):
    volume = one_volume(fresh_lab)
    destination = volume["destination"]
    fresh_lab.control("vcenter_datastore_state", pool_id=destination["id"], **state)
    before = lab_state(fresh_lab, [volume])

    run = run_playbook(fresh_lab, tmp_path, plan_of([volume]), playbook=PREFLIGHT)

    assert_stopped_before_any_change(run, fresh_lab, [volume], before)
    assert "destination pool %s (datastore %s) %s" % (destination["name"], datastore_of(destination), what) in run.output
    assert todo in run.output and vm_names_in(run.output, volume)


def test_a_destination_datastore_not_mounted_on_the_vms_host_stops_the_migration_play(fresh_lab, tmp_path):
    volume = one_volume(fresh_lab)
    destination = volume["destination"]
    host = fresh_lab.control("vcenter_unmount_datastore", pool_id=destination["id"],
                             instance_name=volume["vm"]["instancename"])["host"]
    before = lab_state(fresh_lab, [volume])

    run = run_playbook(fresh_lab, tmp_path, plan_of([volume]))

    assert_stopped_before_any_change(run, fresh_lab, [volume], before)
    assert "destination pool %s (datastore %s) is not usable from the VM's host %s" % (
        destination["name"], datastore_of(destination), host) in run.output
    assert "mount the datastore on host %s" % host in run.output and vm_names_in(run.output, volume)


# ---- 2. power state ------------------------------------------------------------------------------
def test_a_vm_powered_on_in_vcenter_but_stopped_in_cloudstack_is_drift_and_stops_the_preflight(fresh_lab, tmp_path):
    volume = one_volume(fresh_lab)
    fresh_lab.control("vcenter_power_vm", instance_name=volume["vm"]["instancename"], state="on")
    before = lab_state(fresh_lab, [volume])

    run = run_playbook(fresh_lab, tmp_path, plan_of([volume]), playbook=PREFLIGHT)

    assert_stopped_before_any_change(run, fresh_lab, [volume], before)
    assert "CloudStack says Stopped, vCenter says poweredOn" in run.output
    assert "safe_migration_allow_live_migration" in run.output and "allow_live_migration" in run.output
    assert "power the VM off in vCenter" in run.output and vm_names_in(run.output, volume)


def test_a_vm_running_in_cloudstack_but_powered_off_in_vcenter_is_drift_even_with_live_migration(fresh_lab, tmp_path):
    admin = fresh_lab.admin()
    vm = next(vm for vm in admin.listVirtualMachines(listall=True, state="Running")["virtualmachine"] if vm["account"] == "admin")
    data = admin.listVolumes(listall=True, virtualmachineid=vm["id"], type="DATADISK")["volume"][0]
    pools = admin.listStoragePools()["storagepool"]
    destination = next(pool for pool in sorted(pools, key=lambda pool: pool["name"]) if pool["clusterid"] == data["clusterid"]
                       and pool["id"] != data["storageid"] and pool["type"] == "NetworkFilesystem")
    volume = dict(data, vm=vm, destination=destination)
    fresh_lab.control("vcenter_power_vm", instance_name=vm["instancename"], state="off")
    before = lab_state(fresh_lab, [volume])

    run = run_playbook(fresh_lab, tmp_path, plan_of([volume]), "-e", "safe_migration_allow_live_migration=true",
                       playbook=PREFLIGHT)

    assert_stopped_before_any_change(run, fresh_lab, [volume], before)
    assert "CloudStack says Running, vCenter says poweredOff" in run.output and vm_names_in(run.output, volume)
    assert "make both agree" in run.output


# ---- 3. a stale file at the destination path --------------------------------------------------------
def test_a_stale_file_at_the_destination_path_is_found_before_any_job(fresh_lab, tmp_path):
    volume = one_volume(fresh_lab)
    destination = volume["destination"]
    placed = fresh_lab.control("vcenter_place_vmdk", pool_id=destination["id"], volume_id=volume["id"])["path"]
    source_file = "[%s] %s/%s.vmdk" % (volume["storageid"].replace("-", ""), volume["vm"]["instancename"], volume["path"])
    assert sorted(fresh_lab.vmdk_locations(volume["path"])) == sorted([source_file, placed])
    before = lab_state(fresh_lab, [volume])

    run = run_playbook(fresh_lab, tmp_path, plan_of([volume]))

    assert_stopped_before_any_change(run, fresh_lab, [volume], before)
    assert "a file already exists at the destination path %s on the destination pool %s (datastore %s)" % (
        placed, destination["name"], datastore_of(destination)) in run.output
    assert "the VM's disk is the attached one, %s" % source_file in run.output
    assert "remove or rename it" in run.output and vm_names_in(run.output, volume)


# ---- 4. several copies of a disk --------------------------------------------------------------------
def test_several_copies_name_the_one_next_to_the_vms_configuration_first(fresh_lab, tmp_path):
    volume = one_volume(fresh_lab, "ROOT")
    instance = volume["vm"]["instancename"]
    home = "[%s] %s/%s.vmdk" % (volume["storageid"].replace("-", ""), instance, volume["path"])
    # a copy sorting before the real one, on another datastore
    other = sorted(fresh_lab.admin().listStoragePools()["storagepool"], key=datastore_of)[0]
    assert datastore_of(other) != volume["storageid"].replace("-", "")
    copy = fresh_lab.control("vcenter_place_vmdk", pool_id=other["id"], file="%s/%s.vmdk" % (instance, volume["path"]))["path"]
    fresh_lab.control("vcenter_unregister_vm", instance_name=instance)
    before = lab_state(fresh_lab, [volume])

    run = run_playbook(fresh_lab, tmp_path, plan_of([volume]), playbook=PREFLIGHT)

    assert_stopped_before_any_change(run, fresh_lab, [volume], before)
    assert "its disk %s.vmdk is still at %s, next to its configuration, with copies at %s" % (volume["path"], home, copy) \
        in run.output
    assert "no single place" not in run.output


# ---- 5. a VM registered in vCenter under another name -------------------------------------------------
def test_a_vm_registered_under_another_name_is_reported_as_such_not_as_missing(fresh_lab, tmp_path):
    volume = one_volume(fresh_lab)
    instance = volume["vm"]["instancename"]
    fresh_lab.control("vcenter_disguise_vm", instance_name=instance, new_name="renamed-by-hand")
    before = lab_state(fresh_lab, [volume])

    run = run_playbook(fresh_lab, tmp_path, plan_of([volume]), playbook=PREFLIGHT)

    assert_stopped_before_any_change(run, fresh_lab, [volume], before)
    assert "%s is registered in vCenter as renamed-by-hand" % instance in run.output
    assert "found by its configuration file" in run.output
    assert "rename the VM renamed-by-hand back to %s" % instance in run.output
    assert "re-register" not in run.output
    window = run_playbook(fresh_lab, tmp_path, plan_of([volume]), name="window")
    listed = [problem for problem in window.report()["preflight"]["problems"] if "is registered in vCenter as" in str(problem)]
    assert window.returncode != 0 and len(listed) == 1, listed  # the inventory check's fact, not again as a blocker
