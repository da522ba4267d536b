# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One read of the vCenter inventory for a whole run, kept true where a migration changes it.

Reading the inventory is one property-collector pass over every VM, host and datastore: about 10 s at 5,000 VMs
with 20 ms per call. A run reads it once (per datacenter) and shares it between the planning and the verification
of every volume. What a migration changes is the one VM whose disk moved: before its disks are looked at, that
VM's properties are read again, by moref, in one retrieval (``refresh_vm``). A VM the shared read does not hold
(registered since, or gone) makes the next look read the whole inventory again: a missing VM is never concluded
from an old read.
"""

from __future__ import annotations

import threading

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.inventory import InventoryIndex
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.inventory_facts import VmExpectation


class SharedInventory:
    """The client's reads, with ``read_inventory`` answered from the run's one read; thread-safe.

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
                self._inventories[datacenter] = _indexed(self._client.read_inventory(datacenter))
            return self._inventories[datacenter]

    def refresh_vm(self, instance_name, datacenter=None):
        """Read again the VMs that are CloudStack VM ``instance_name``, before their disks are looked at; the whole
        inventory when the shared read holds none of them."""
        inventory, index = self._read(datacenter)
        matches = index.find(VmExpectation(ref=instance_name, ref_type="instance_name"))
        fresh = None
        if matches:
            fresh = self._client.read_vms([vm["moid"] for vm in matches], inventory.get("hosts") or {},
                                          inventory.get("custom_fields") or {})
        with self._lock:
            if fresh is None:
                self._inventories[datacenter] = _indexed(self._client.read_inventory(datacenter))
                return
            current, current_index = self._inventories[datacenter]
            by_moid = {vm["moid"]: vm for vm in fresh}
            refreshed = dict(current, vms=[by_moid.get(vm["moid"], vm) for vm in current["vms"]])
            self._inventories[datacenter] = (refreshed, current_index.with_vms(refreshed, fresh))


def _indexed(inventory):
    return inventory, InventoryIndex(inventory)
