# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One read of the VMs' identities per run; a VM's disks come from its own read by moref, just before a look at them; a
VM the read does not hold reads the identities again."""

import pytest

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import VCenterError
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.disks import VCenterDisks
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.inventory import InventoryIndex
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.inventory_facts import VmExpectation
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.shared_inventory import SharedInventory
from unit.plugins.module_utils.identity_read import identities_of  # pylint: disable=import-error


def vm(moid, name, file):
    return {"moid": moid, "name": name, "internal_name": name, "disks": [{"key": 2000, "file": file}], "has_snapshots": False}


class Client:
    """vCenter as it is now (``vms``); counts the full reads, the identity reads and the VM reads."""

    def __init__(self):
        self.vms = {"vm-1": vm("vm-1", "i-2-1-VM", "[ds1] a.vmdk"), "vm-2": vm("vm-2", "i-2-2-VM", "[ds1] b.vmdk")}
        self.full_reads, self.identity_reads, self.vm_reads = 0, 0, []

    def read_inventory(self, datacenter=None):
        self.full_reads += 1
        return {"vms": [dict(item) for item in self.vms.values()], "datastores": {}, "hosts": {"host-1": "esx-1"},
                "custom_fields": {101: "cloud.vm.internal.name"}}

    def read_vm_identities(self, datacenter=None, uuids=False):
        self.identity_reads += 1
        return identities_of({"vms": [dict(item) for item in self.vms.values()], "datastores": {}, "hosts": {"host-1": "esx-1"},
                              "custom_fields": {101: "cloud.vm.internal.name"}}, uuids)

    def read_vms(self, moids, hosts, field_names):
        self.vm_reads.append((list(moids), dict(hosts), dict(field_names)))
        if any(moid not in self.vms for moid in moids):
            return None
        return [dict(self.vms[moid]) for moid in moids]

    def search_datastore(self, datastore, names):
        return ["searched %s" % datastore]


def files_of(inventory):
    return {item["moid"]: item["disks"] and item["disks"][0]["file"] for item in inventory["vms"]}


def test_the_identities_are_read_once_and_the_vm_asked_about_in_full_by_itself():
    client = Client()
    shared = SharedInventory(client)
    assert files_of(shared.read_inventory()) == {"vm-1": None, "vm-2": None}  # no devices in the shared read
    client.vms["vm-1"] = vm("vm-1", "i-2-1-VM", "[ds2] a.vmdk")   # a migration moved its disk
    client.vms["vm-2"] = vm("vm-2", "i-2-2-VM", "[ds3] b.vmdk")   # not asked about: not read
    shared.refresh_vm("i-2-1-VM")
    assert files_of(shared.read_inventory()) == {"vm-1": "[ds2] a.vmdk", "vm-2": None}
    assert (client.identity_reads, client.full_reads) == (1, 0)
    assert client.vm_reads == [(["vm-1"], {"host-1": "esx-1"}, {101: "cloud.vm.internal.name"})]


def test_a_vm_the_shared_read_does_not_hold_reads_the_whole_inventory_again():
    client = Client()
    shared = SharedInventory(client)
    shared.read_inventory()
    shared.refresh_vm("i-2-1-VM")
    client.vms["vm-3"] = vm("vm-3", "i-2-3-VM", "[ds1] c.vmdk")   # registered since the read
    shared.refresh_vm("i-2-3-VM")
    assert (client.identity_reads, client.full_reads) == (2, 0)
    assert [moids for moids, unused_hosts, unused_fields in client.vm_reads] == [["vm-1"], ["vm-3"]]
    # vm-1 keeps the disks of its refresh: a look between its refresh and another VM's read again finds them
    assert files_of(shared.read_inventory()) == {"vm-1": "[ds1] a.vmdk", "vm-2": None, "vm-3": "[ds1] c.vmdk"}


def test_a_vm_registered_nowhere_reads_the_identities_again_and_nothing_more():
    client = Client()
    shared = SharedInventory(client)
    shared.read_inventory()
    shared.refresh_vm("i-2-8-VM")   # removed from the inventory (apache/cloudstack#9881)
    assert (client.identity_reads, client.full_reads, client.vm_reads) == (2, 0, [])


def test_a_vm_gone_since_the_read_reads_the_whole_inventory_again():
    client = Client()
    shared = SharedInventory(client)
    shared.read_inventory()
    del client.vms["vm-2"]   # removed from the inventory (apache/cloudstack#9881)
    shared.refresh_vm("i-2-2-VM")
    assert (client.identity_reads, client.full_reads) == (1, 1)   # every VM read again, in full
    assert files_of(shared.read_inventory()) == {"vm-1": "[ds1] a.vmdk"}


def test_each_datacenter_is_read_once_and_other_calls_go_to_the_client():
    client = Client()
    shared = SharedInventory(client)
    shared.read_inventory("DC1")
    shared.read_inventory("DC1")
    shared.read_inventory("DC2")
    assert (client.identity_reads, client.full_reads) == (2, 0)
    assert shared.search_datastore("ds1", ["a.vmdk"]) == ["searched ds1"]


def lookups(index, names):
    """What a full index build would answer for each name: the morefs and disk files found."""
    return {name: [(item["moid"], item["disks"] and item["disks"][0]["file"]) for item in index.find(VmExpectation(ref=name, ref_type="instance_name"))]
            for name in names}


def test_the_index_is_kept_with_the_read_and_redone_only_for_the_vm_read_again():
    client = Client()
    client.vms["vm-3"] = dict(vm("vm-3", "i-2-3-VM", "[ds1] c.vmdk"), internal_name="i-2-1-VM")  # a second i-2-1-VM
    shared = SharedInventory(client)
    first = shared.index_of(shared.read_inventory())
    assert shared.index_of(shared.read_inventory()) is first  # not rebuilt for the next look
    client.vms["vm-1"] = vm("vm-1", "i-2-9-VM", "[ds2] a.vmdk")   # renamed, and its disk moved
    shared.refresh_vm("i-2-1-VM")
    inventory = shared.read_inventory()
    kept, rebuilt = shared.index_of(inventory), InventoryIndex(inventory)
    names = ["i-2-1-vm", "i-2-9-VM", "i-2-2-VM", "i-2-3-VM"]
    assert lookups(kept, names) == lookups(rebuilt, names) == {
        "i-2-1-vm": [("vm-3", "[ds1] c.vmdk")], "i-2-9-VM": [("vm-1", "[ds2] a.vmdk")],
        "i-2-2-VM": [("vm-2", None)], "i-2-3-VM": [("vm-3", "[ds1] c.vmdk")]}
    assert lookups(first, ["i-2-1-VM"]) == {"i-2-1-VM": [("vm-1", None), ("vm-3", None)]}  # left as it was
    assert (client.identity_reads, client.full_reads) == (1, 0)
    assert shared.index_of({"vms": [vm("vm-7", "i-2-7-VM", "[ds1] g.vmdk")]}).find(
        VmExpectation(ref="i-2-7-VM", ref_type="instance_name"))[0]["moid"] == "vm-7"  # an inventory it did not read: built


def test_a_vms_disk_files_come_from_its_last_read_unless_read_again_is_asked():
    client = Client()
    disks = VCenterDisks(client)
    assert disks.attached_disk_files("i-2-1-VM") == ["[ds1] a.vmdk"]
    client.vms["vm-1"] = vm("vm-1", "i-2-1-VM", "[ds2] a.vmdk")
    assert disks.attached_disk_files("i-2-1-VM", read_again=False) == ["[ds1] a.vmdk"], "the last read's files, no read"
    assert len(client.vm_reads) == 1
    assert disks.attached_disk_files("i-2-1-VM") == ["[ds2] a.vmdk"]
    assert len(client.vm_reads) == 2


class UnreachableClient(Client):
    """A vCenter whose inventory read fails (the run's first read of it)."""

    def read_vm_identities(self, datacenter=None, uuids=False):
        self.identity_reads += 1
        raise VCenterError("Failed to read the vCenter inventory: connection reset")


def test_the_inventory_read_ahead_is_the_one_every_look_uses():
    client = Client()
    disks = VCenterDisks(client)
    disks.read_ahead()
    assert client.identity_reads == 1
    assert disks.attached_disk_files("i-2-2-VM") == ["[ds1] b.vmdk"]
    assert (client.identity_reads, len(client.vm_reads)) == (1, 1), "no second inventory read, one read of the VM"


def test_a_read_ahead_that_fails_leaves_the_error_to_the_first_look():
    client = UnreachableClient()
    disks = VCenterDisks(client)
    disks.read_ahead()  # nothing raised here: no volume to name yet
    with pytest.raises(VCenterError, match="connection reset"):
        disks.attached_disk_files("i-2-1-VM")
    assert client.identity_reads == 2, "the look read again, and reported the failure itself"
