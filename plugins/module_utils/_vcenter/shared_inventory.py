# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One read of the vCenter inventory for a whole run, kept true where a migration changes it.

A run reads what finds every VM once (per datacenter): names and custom attributes, with the hosts and datastores;
not the VMs' devices, state or anything else, which make most of a full read's size and time (4 s against 0.35 s
at 2,000 VMs with 20 ms per call). The read is shared between the planning and the
verification of every volume. Before a VM's disks are looked at, that VM is read again, in full, by moref, in one
retrieval (``refresh_vm``): the only disks a run looks at are those it has just read. A VM the shared read does
not hold (registered since, or gone) makes the next look read the identities again: a missing VM is never
concluded from an old read.
"""

from __future__ import annotations

import threading

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.inventory import InventoryIndex
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.inventory_facts import VmExpectation

# what a full read of one VM adds to what finds it (read_vm_identities leaves them None)
VM_DETAILS = ("disks", "has_snapshots", "connection_state", "power_state", "host", "host_moid", "vmx_path", "annotation",
              "instance_uuid", "bios_uuid")


class SharedInventory:
    """The client's reads, with ``read_inventory`` answered from the run's one read; thread-safe.

    A VM's ``disks`` are those of its last ``refresh_vm`` (None before it): refresh a VM before looking at them.
    Everything else (datastore searches, extraConfig, closing) goes to the client as it is.
    """

    def __init__(self, client):
        self._client = client
        self._lock = threading.Lock()
        # datacenter (None: all) -> (the inventory dict, its InventoryIndex), replaced whole, never edited in place
        self._inventories = {}

    def __getattr__(self, name):
        return getattr(self._client, name)

    def read_inventory(self, datacenter=None):
        return self._read(datacenter)[0]

    def index_of(self, inventory):
        """The lookups over an inventory this object handed out, kept with it (built once per read, redone only for the
        VMs read again): a look at one VM does not rebuild the index of a 5,000-VM inventory. Any other: built now."""
        with self._lock:
            for held, index in self._inventories.values():
                if held is inventory:
                    return index
        return InventoryIndex(inventory)

    def _read(self, datacenter):
        with self._lock:
            if datacenter not in self._inventories:
                self._inventories[datacenter] = _indexed(self._client.read_vm_identities(datacenter))
            return self._inventories[datacenter]

    def _read_again(self, datacenter):
        """The identities read again; the VMs refreshed before keep the details of their refresh (a thread between
        its refresh and its look must find the disks it read)."""
        with self._lock:
            current = self._inventories.get(datacenter, ({}, None))[0]
            refreshed = {vm["moid"]: vm for vm in current.get("vms") or [] if vm.get("disks") is not None}
            identities = self._client.read_vm_identities(datacenter)
            vms = [dict(vm, **{name: refreshed[vm["moid"]].get(name) for name in VM_DETAILS}) if vm["moid"] in refreshed else vm
                   for vm in identities.get("vms") or []]
            self._inventories[datacenter] = _indexed(dict(identities, vms=vms))
            return self._inventories[datacenter]

    def refresh_vm(self, instance_name, datacenter=None):
        """Read again, in full, the VMs that are CloudStack VM ``instance_name``, before their disks are looked at;
        the identities of the whole inventory first when the shared read holds none of them."""
        wanted = VmExpectation(ref=instance_name, ref_type="instance_name")
        inventory, index = self._read(datacenter)
        matches = index.find(wanted)
        if not matches:
            inventory, index = self._read_again(datacenter)
            matches = index.find(wanted)
            if not matches:
                return
        fresh = self._client.read_vms([vm["moid"] for vm in matches], inventory.get("hosts") or {},
                                      inventory.get("custom_fields") or {})
        with self._lock:
            if fresh is None:  # one of them left vCenter since: every VM read again, with its details
                self._inventories[datacenter] = _indexed(self._client.read_inventory(datacenter))
                return
            current, current_index = self._inventories[datacenter]
            by_moid = {vm["moid"]: vm for vm in fresh}
            refreshed = dict(current, vms=[by_moid.get(vm["moid"], vm) for vm in current["vms"]])
            self._inventories[datacenter] = (refreshed, current_index.with_vms(refreshed, fresh))


def _indexed(inventory):
    return inventory, InventoryIndex(inventory)
