# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The vCenter checks of the preflight, over facts as the vCenter client returns them (issue 11, sections 2 and 3).

The destination datastore (present, accessible, not in maintenance, mounted on the VM's host), a stale file at the
destination path, power-state drift, several copies of a disk, and a VM registered under another name: the pure
logic of vcenter_inventory, volume_vcenter and the Planner, with a fake client (no vCenter here: the lab tests in
tests/integration/test_preflight_vcenter.py make each condition real in vcsim).
"""

import pytest

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common import problems as problem_codes
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter import datastore_paths
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter import inventory_facts
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import PreflightFailed, VCenterError
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.inventory import check_inventory
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.inventory_facts import (
    DiskExpectation,
    VmExpectation,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.options import MigrationRequest
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.plan import Planner
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.disks import VCenterDisks
from unit.plugins.module_utils.identity_read import IdentityRead  # pylint: disable=import-error

SRC_UUID = "6cc2d876-a615-5589-aa54-6fdd6d139f44"
DST_UUID = "e18ab0ba-7bc8-53a0-8f40-dd7d33dfb46d"
SRC, DST = SRC_UUID.replace("-", ""), DST_UUID.replace("-", "")
DISK = "[%s] i-2-4-VM/DATA-4.vmdk" % SRC
AT_DESTINATION = "[%s] i-2-4-VM/DATA-4.vmdk" % DST


def datastore(moid, name, accessible=True, maintenance_mode="normal", mounts="all"):
    if mounts == "all":
        mounts = {"host-1": {"mounted": True, "accessible": True}, "host-2": {"mounted": True, "accessible": True}}
    return {"moid": moid, "name": name, "browser": "browser-" + moid, "cloud_uuid": None, "accessible": accessible,
            "maintenance_mode": maintenance_mode, "url": "/ds/" + name, "mounts": mounts}


def vm(moid="vm-4", name="i-2-4-VM", internal_name="i-2-4-VM", power_state="poweredOff", host_moid="host-1",
       vmx_path="[%s] i-2-4-VM/i-2-4-VM.vmx" % SRC, annotation=None, disks=(DISK,)):
    return {"moid": moid, "name": name, "instance_uuid": "inst-" + moid, "bios_uuid": "bios-" + moid,
            "internal_name": internal_name, "connection_state": "connected", "power_state": power_state,
            "host": {"host-1": "esx-1", "host-2": "esx-2"}.get(host_moid), "host_moid": host_moid, "vmx_path": vmx_path,
            "annotation": annotation, "has_snapshots": False,
            "disks": [{"key": 2000 + index, "file": file, "datastore_moid": "ds-src", "parent_files": []}
                      for index, file in enumerate(disks)]}


class FakeClient(IdentityRead):
    """Canned facts; searches answered from a set of files; every call recorded."""

    def __init__(self, vms, datastores=None, files=(DISK,), refused=(), extra_config=None):
        datastores = datastores or [datastore("ds-src", SRC), datastore("ds-dst", DST)]
        self.inventory = {"vms": vms, "datastores": {ds["moid"]: ds for ds in datastores},
                          "hosts": {"host-1": "esx-1", "host-2": "esx-2"}}
        self.files = set(files)
        self.refused = set(refused)
        self.extra_config = extra_config
        self.searches = []
        self.extra_config_reads = 0

    def read_inventory(self, datacenter=None):
        return self.inventory

    def read_vms(self, moids, hosts, field_names):
        return [vm for vm in self.inventory["vms"] if vm["moid"] in moids]

    def search_datastore(self, ds, file_names):
        self.searches.append((ds["name"], sorted(file_names)))
        if ds["name"] in self.refused:
            raise VCenterError("Failed to search datastore %s: CannotAccessFile" % ds["name"])
        prefix = "[%s] " % ds["name"]
        return [path for path in sorted(self.files) if path.startswith(prefix) and path.rsplit("/", 1)[-1] in file_names]

    def read_extra_config(self, key, datacenter=None):
        self.extra_config_reads += 1
        assert key == "cloud.vm.internal.name"
        return dict(self.extra_config or {})


def check(client, ref="i-2-4-VM", destination=(DST,)):
    expectation = VmExpectation(ref, disks=[DiskExpectation("DATA-4", [SRC], list(destination) if destination else None)])
    return check_inventory(client, [expectation])


def codes(report):
    return [problem.code for problem in report.problems]


# ---- the destination datastore --------------------------------------------------------------------
def test_a_healthy_destination_is_searched_with_the_source_and_proven_free():
    client = FakeClient([vm()])
    report = check(client)
    assert report.ok, report.problems
    destination = report.vms[0].disks[0].destination
    assert (destination.datastore, destination.path, destination.status) == (DST, AT_DESTINATION, inventory_facts.DESTINATION_FREE)
    # one search per datastore, the destination's included
    assert sorted(client.searches) == sorted([(DST, ["DATA-4.vmdk"]), (SRC, ["DATA-4.vmdk"])])


def test_the_destination_facts_stay_out_of_the_documented_shape_of_vmware_inventory_assert():
    report = check(FakeClient([vm()]))
    assert "destination" not in report.as_dict()["vms"][0]["disks"][0]
    assert "registered_as" not in report.as_dict()["vms"][0]


@pytest.mark.parametrize("dest, code", [
    (datastore("ds-dst", DST, accessible=False), problem_codes.DESTINATION_DATASTORE_INACCESSIBLE),
    (datastore("ds-dst", DST, maintenance_mode="inMaintenance"), problem_codes.DESTINATION_DATASTORE_IN_MAINTENANCE),
    (datastore("ds-dst", DST, maintenance_mode="enteringMaintenance"), problem_codes.DESTINATION_DATASTORE_IN_MAINTENANCE),
])
def test_an_inaccessible_or_in_maintenance_destination_is_a_problem_and_explains_the_missing_search(dest, code):
    client = FakeClient([vm()], datastores=[datastore("ds-src", SRC), dest])
    report = check(client)
    assert codes(report) == [code]
    assert report.problems[0].facts["datastore"] == DST
    assert (DST, ["DATA-4.vmdk"]) not in client.searches  # not searched: its state says why, once
    assert report.vms[0].disks[0].destination.status == inventory_facts.FILE_NOT_SEARCHED


@pytest.mark.parametrize("mounts, reason", [
    ({"host-2": {"mounted": True, "accessible": True}}, "it is not mounted on host esx-1"),
    ({"host-1": {"mounted": False, "accessible": False}}, "its mount on host esx-1 is unmounted"),
    ({"host-1": {"mounted": True, "accessible": False}}, "it is mounted on host esx-1 but not accessible from it"),
    (None, "the datastore's host mounts could not be read"),
    ({}, "it is not mounted on host esx-1"),
])
def test_a_destination_not_mounted_and_accessible_on_the_vms_host_is_a_problem(mounts, reason):
    client = FakeClient([vm()], datastores=[datastore("ds-src", SRC), datastore("ds-dst", DST, mounts=mounts)])
    report = check(client)
    assert codes(report) == [problem_codes.DESTINATION_DATASTORE_NOT_MOUNTED]
    assert report.problems[0].facts["reason"] == reason and report.problems[0].facts["host"] == "esx-1"


def test_an_unset_mounted_flag_counts_as_mounted_as_vsphere_documents():
    mounts = {"host-1": {"mounted": None, "accessible": None}}
    report = check(FakeClient([vm()], datastores=[datastore("ds-src", SRC), datastore("ds-dst", DST, mounts=mounts)]))
    assert report.ok


def test_a_destination_not_in_the_inventory_is_a_problem():
    report = check(FakeClient([vm()], datastores=[datastore("ds-src", SRC)]))
    assert codes(report) == [problem_codes.DESTINATION_DATASTORE_NOT_FOUND]


def test_the_destination_is_found_by_its_cloud_uuid_too():
    dest = dict(datastore("ds-dst", "renamed-datastore"), cloud_uuid=DST_UUID)
    report = check(FakeClient([vm()], datastores=[datastore("ds-src", SRC), dest]), destination=[DST_UUID, DST])
    assert report.ok and report.vms[0].disks[0].destination.datastore == "renamed-datastore"


# ---- a stale file at the destination path ----------------------------------------------------------
def test_a_file_already_at_the_destination_path_is_a_problem_naming_both_files():
    client = FakeClient([vm()], files=[DISK, AT_DESTINATION, "[%s] elsewhere/DATA-4.vmdk" % DST])
    report = check(client)
    assert codes(report) == [problem_codes.DESTINATION_FILE_EXISTS]
    facts = report.problems[0].facts
    assert (facts["existing"], facts["file"]) == (AT_DESTINATION, DISK)
    assert facts["copies"] == ["[%s] elsewhere/DATA-4.vmdk" % DST, AT_DESTINATION]
    assert report.vms[0].disks[0].destination.status == inventory_facts.DESTINATION_TAKEN


def test_the_same_file_name_in_another_folder_of_the_destination_does_not_block():
    report = check(FakeClient([vm()], files=[DISK, "[%s] other-vm/DATA-4.vmdk" % DST]))
    assert report.ok
    assert report.vms[0].disks[0].destination.copies == ["[%s] other-vm/DATA-4.vmdk" % DST]


def test_a_file_in_the_vms_folder_on_the_destination_blocks_when_the_disk_lives_elsewhere():
    disk = "[%s] volumes/DATA-4.vmdk" % SRC
    client = FakeClient([vm(disks=(disk,))], files=[disk, AT_DESTINATION])
    report = check(client)
    assert codes(report) == [problem_codes.DESTINATION_FILE_EXISTS] and report.problems[0].facts["existing"] == AT_DESTINATION


def test_a_destination_that_cannot_be_searched_is_no_proof_that_the_path_is_free():
    report = check(FakeClient([vm()], refused=[DST]))
    assert codes(report) == [problem_codes.DESTINATION_FILE_UNVERIFIED]
    assert "CannotAccessFile" in report.problems[0].facts["reason"]


def test_without_a_destination_nothing_of_it_is_checked_or_searched():
    client = FakeClient([vm()], datastores=[datastore("ds-src", SRC)])
    report = check(client, destination=None)
    assert report.ok and client.searches == [(SRC, ["DATA-4.vmdk"])]
    assert report.vms[0].disks[0].destination is None


# ---- a VM registered under another name ---------------------------------------------------------------
def test_a_vm_renamed_without_its_internal_name_is_found_by_its_vmx_path():
    client = FakeClient([vm(name="web-prod", internal_name=None)])
    report = check(client)
    assert codes(report) == [problem_codes.VM_REGISTERED_AS_OTHER_NAME]
    assert "i-2-4-VM is registered in vCenter as web-prod (vm-4, found by its configuration file" in report.problems[0].message
    assert "re-register" not in report.problems[0].message
    assert client.extra_config_reads == 0  # the .vmx path in the inventory read was enough


def test_a_vm_found_by_its_annotation():
    moved = vm(name="web-prod", internal_name=None, vmx_path="[%s] web-prod/web-prod.vmx" % SRC,
               annotation="Managed by CloudStack: i-2-4-VM (do not rename)")
    report = check(FakeClient([moved]))
    assert codes(report) == [problem_codes.VM_REGISTERED_AS_OTHER_NAME] and "found by its annotation" in report.problems[0].message


def test_an_annotation_naming_another_vm_with_a_longer_name_is_no_clue():
    moved = vm(name="web-prod", internal_name=None, vmx_path="[%s] web-prod/web-prod.vmx" % SRC, annotation="i-2-44-VM")
    report = check(FakeClient([moved], extra_config={}))
    assert codes(report) == [problem_codes.VM_NOT_FOUND]


def test_a_vm_found_by_the_internal_name_in_its_extra_config_read_only_when_needed():
    moved = vm(name="web-prod", internal_name=None, vmx_path="[%s] web-prod/web-prod.vmx" % SRC)
    client = FakeClient([moved], extra_config={"vm-4": "i-2-4-VM"})
    report = check(client)
    assert codes(report) == [problem_codes.VM_REGISTERED_AS_OTHER_NAME]
    assert "found by its extraConfig cloud.vm.internal.name = i-2-4-VM" in report.problems[0].message
    assert client.extra_config_reads == 1


def test_a_vm_found_by_name_never_reads_extra_config():
    client = FakeClient([vm()])
    check(client)
    assert client.extra_config_reads == 0


def test_a_vm_with_no_clue_is_still_not_in_the_inventory():
    client = FakeClient([], files=[], extra_config={})
    report = check(client)
    assert codes(report) == [problem_codes.VM_NOT_FOUND] and client.extra_config_reads == 1


# ---- several copies of a disk ----------------------------------------------------------------------------
def test_several_copies_name_the_one_next_to_the_configuration_first():
    vmx = "[%s] i-2-4-VM/i-2-4-VM.vmx" % SRC
    copy = "[%s] i-2-4-VM/DATA-4.vmdk" % "0aaa"
    client = FakeClient([], datastores=[datastore("ds-0", "0aaa"), datastore("ds-src", SRC)], files=[DISK, copy, vmx])
    report = check(client, destination=None)
    message = report.problems[0].message
    assert "its disk DATA-4.vmdk is still at %s, next to its configuration, with copies at %s" % (DISK, copy) in message
    assert report.vms[0].disks[0].file == DISK
    location = VCenterDisks(client).locate("i-2-4-VM", "DATA-4", None)
    assert location.copies == [DISK, copy] and not location.stranded


def test_several_copies_and_none_next_to_the_configuration_name_no_place_as_the_place():
    first, second = "[%s] a/DATA-4.vmdk" % SRC, "[%s] b/DATA-4.vmdk" % SRC
    report = check(FakeClient([], files=[first, second]), destination=None)
    message = report.problems[0].message
    assert "was found in 2 places, none next to its configuration (no single place): %s, %s" % (first, second) in message
    assert "is still at" not in message


def test_order_copies_puts_the_home_of_the_vmx_first():
    vmx = ["[b] vm/vm.vmx"]
    assert datastore_paths.order_copies(["[a] vm/d.vmdk", "[b] vm/d.vmdk", "[b] old/d.vmdk"], vmx) == [
        "[b] vm/d.vmdk", "[a] vm/d.vmdk", "[b] old/d.vmdk"]
    assert datastore_paths.destination_paths("[a] x/d.vmdk", "b", "[a] vm/vm.vmx") == ["[b] x/d.vmdk", "[b] vm/d.vmdk"]
    assert datastore_paths.destination_paths("[a] vm/d.vmdk", "b", "[a] vm/vm.vmx") == ["[b] vm/d.vmdk"]


# ---- the Planner: blockers with stable codes and messages that name everything ---------------------------------
VOLUME = {"id": "4080ebaa-3a9a-52bf-b060-fca72d3113d5", "name": "DATA-4", "state": "Ready", "hypervisor": "VMware",
          "virtualmachineid": "vm-uuid-4", "storageid": SRC_UUID, "storage": "nfs-primary-4", "path": "DATA-4",
          "zoneid": "zone-1", "size": 1024}
SOURCE = {"id": SRC_UUID, "name": "nfs-primary-4", "type": "NetworkFilesystem", "state": "Up", "zoneid": "zone-1"}
DESTINATION = {"id": DST_UUID, "name": "nfs-primary-2", "type": "NetworkFilesystem", "state": "Up", "zoneid": "zone-1",
               "disksizetotal": 10 ** 12, "disksizeallocated": 0}


class FakeCloudStack:
    def __init__(self, state="Stopped"):
        self.vm = {"id": "vm-uuid-4", "name": "vm-0004", "instancename": "i-2-4-VM", "state": state}

    def get_virtual_machine(self, vm_id):
        return dict(self.vm)

    def get_storage_pool(self, pool_id):
        return dict(SOURCE)

    def find_storage_pools_for_migration(self, volume_id):
        return [dict(DESTINATION, suitableformigration=True)]


def plan(client, state="Stopped", allow_live=False):
    return Planner(FakeCloudStack(state), VCenterDisks(client), allow_live_migration=allow_live).plan(dict(VOLUME), dict(DESTINATION))


def blocker(result):
    assert len(result.blockers) == 1, [b.as_dict() for b in result.blockers]
    return result.blockers[0].code, result.blockers[0].message


def test_a_healthy_plan_has_no_blocker_and_shows_the_destination():
    result = plan(FakeClient([vm()]))
    assert result.blockers == [] and result.action == "migrate"
    assert result.as_dict()["vcenter"]["destination"]["status"] == "free"
    assert result.as_dict()["vcenter"]["vm_name"] == "i-2-4-VM"


@pytest.mark.parametrize("dest, code, words", [
    (datastore("ds-dst", DST, maintenance_mode="inMaintenance"), "destination_datastore_in_maintenance",
     "is in maintenance mode in vCenter (inMaintenance): end the datastore's maintenance, or choose another pool"),
    (datastore("ds-dst", DST, accessible=False), "destination_datastore_inaccessible",
     "is not accessible in vCenter: make the datastore accessible again"),
    (datastore("ds-dst", DST, mounts={"host-2": {"mounted": True}}), "destination_datastore_not_mounted",
     "is not usable from the VM's host esx-1 (it is not mounted on host esx-1): mount the datastore on host esx-1"),
])
def test_destination_blockers_name_the_pool_its_datastore_both_vm_names_and_what_to_do(dest, code, words):
    code_seen, message = blocker(plan(FakeClient([vm(name="web-prod")], datastores=[datastore("ds-src", SRC), dest])))
    assert code_seen == code
    assert message.startswith("volume DATA-4 (%s) of VM vm-0004 (i-2-4-VM), in vCenter web-prod: the destination pool "
                              "nfs-primary-2 (datastore %s) " % (VOLUME["id"], DST))
    assert words in message


def test_a_stale_file_blocker_names_the_stale_file_and_the_attached_disk():
    code, message = blocker(plan(FakeClient([vm()], files=[DISK, AT_DESTINATION])))
    assert code == "destination_file_exists"
    assert "a file already exists at the destination path %s on the destination pool nfs-primary-2 (datastore %s)" % (
        AT_DESTINATION, DST) in message
    assert "the VM's disk is the attached one, %s on the source pool nfs-primary-4 (datastore %s)" % (DISK, SRC) in message
    assert "FileAlreadyExists" in message and "remove or rename it" in message


def test_a_vm_registered_under_another_name_blocks_with_its_own_code():
    code, message = blocker(plan(FakeClient([vm(name="web-prod", internal_name=None)])))
    assert code == "vm_registered_as_other_name"
    assert "registered in vCenter as web-prod" in message and "rename web-prod back to i-2-4-VM" in message
    assert "source pool nfs-primary-4 (datastore %s)" % SRC in message and "re-register" not in message


@pytest.mark.parametrize("allow_live", [False, True])
def test_powered_on_in_vcenter_but_stopped_in_cloudstack_is_drift(allow_live):
    code, message = blocker(plan(FakeClient([vm(power_state="poweredOn")]), allow_live=allow_live))
    assert code == "power_state_drift"
    assert "VM vm-0004 (i-2-4-VM), in vCenter i-2-4-VM" in message
    assert "CloudStack says Stopped, vCenter says poweredOn" in message and "power the VM off in vCenter" in message
    if not allow_live:
        assert "allow_live_migration (playbook: safe_migration_allow_live_migration) is false" in message


def test_running_in_cloudstack_but_off_in_vcenter_is_drift():
    code, message = blocker(plan(FakeClient([vm(power_state="poweredOff")]), state="Running", allow_live=True))
    assert code == "power_state_drift" and "CloudStack says Running, vCenter says poweredOff" in message


def test_agreeing_power_states_and_an_unknown_vcenter_state_are_no_drift():
    assert plan(FakeClient([vm(power_state="poweredOn")]), state="Running", allow_live=True).blockers == []
    assert plan(FakeClient([vm(power_state=None)])).blockers == []


def test_a_locator_without_the_destination_check_still_plans():
    class OldLocator:
        def __init__(self, client):
            self._disks = VCenterDisks(client)

        def locate(self, instance_name, path, datastores=None):
            return self._disks.locate(instance_name, path, datastores)

    result = Planner(FakeCloudStack(), OldLocator(FakeClient([vm()], files=[DISK, AT_DESTINATION]))).plan(
        dict(VOLUME), dict(DESTINATION))
    assert result.blockers == []


def test_cloudstack_and_vcenter_reasons_against_the_destination_are_both_listed():
    class PoolInMaintenance(FakeCloudStack):
        def find_storage_pools_for_migration(self, volume_id):
            return []

    dest = datastore("ds-dst", DST, maintenance_mode="inMaintenance")
    result = Planner(PoolInMaintenance(), VCenterDisks(FakeClient([vm()], datastores=[datastore("ds-src", SRC), dest]))).plan(
        dict(VOLUME), dict(DESTINATION, state="Maintenance"))
    assert [b.code for b in result.blockers] == ["pool_not_up", "destination_datastore_in_maintenance"]


class CountingCloudStack(FakeCloudStack):
    """Every volume of the plan on the source pool; counts the pool reads."""

    def __init__(self):
        super().__init__()
        self.pool_reads = []

    def get_volume(self, volume_id):
        return dict(VOLUME, id=volume_id)

    def get_storage_pool(self, pool_id):
        self.pool_reads.append(("id", pool_id))
        return dict(SOURCE if pool_id == SRC_UUID else DESTINATION)

    def list_storage_pools(self, name=None):
        self.pool_reads.append(("name", name))
        return [dict(DESTINATION)] if name == DESTINATION["name"] else []


def test_a_plan_reads_each_pool_once_however_many_volumes_go_there():
    cloudstack = CountingCloudStack()
    planner = Planner(cloudstack, VCenterDisks(FakeClient([vm()])))
    volume_ids = ["4080ebaa-3a9a-52bf-b060-fca72d3113d%d" % number for number in range(5)]
    requests = [MigrationRequest(volume_id, DESTINATION["name"] if number % 2 else DST_UUID)
                for number, volume_id in enumerate(volume_ids)]
    plans = [planner.plan(*planner.resolve(request)) for request in requests]
    assert [plan.destination["id"] for plan in plans] == [DST_UUID] * 5 and all(plan.action == "migrate" for plan in plans)
    assert sorted(cloudstack.pool_reads) == sorted([("id", DST_UUID), ("name", DESTINATION["name"]), ("id", SRC_UUID)])
    with pytest.raises(PreflightFailed, match="Destination storage pool nfs-missing was not found"):
        planner.resolve(MigrationRequest(volume_ids[0], "nfs-missing"))
