# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The vCenter client's identity read, for fake clients that answer ``read_inventory``."""

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.shared_inventory import VM_DETAILS

UUIDS = ("instance_uuid", "bios_uuid")


def identities_of(inventory, uuids=False):
    """``inventory`` as the real client's ``read_vm_identities`` gives it: what finds each VM (names, custom attributes,
    and the UUIDs with ``uuids``), every other fact of a VM None, and ``vm_clues`` False."""
    left_out = [name for name in VM_DETAILS if not (uuids and name in UUIDS)]
    return dict(inventory, vm_clues=False, vms=[dict(vm, **{name: None for name in left_out}) for vm in inventory["vms"]])


def clues_of(inventory):
    """``read_vm_clues`` of ``inventory``: every VM's .vmx path and notes."""
    return {vm["moid"]: {"vmx_path": vm.get("vmx_path"), "annotation": vm.get("annotation")} for vm in inventory["vms"]}


class IdentityRead:
    """``read_vm_identities`` and ``read_vm_clues`` as the real client gives them, from ``read_inventory``."""

    def read_vm_identities(self, datacenter=None, uuids=False):
        return identities_of(self.read_inventory(datacenter), uuids)  # pylint: disable=no-member

    def read_vm_clues(self, datacenter=None):
        return clues_of(self.read_inventory(datacenter))  # pylint: disable=no-member
