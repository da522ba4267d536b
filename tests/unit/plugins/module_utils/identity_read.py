# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The vCenter client's identity read, for fake clients that answer ``read_inventory``."""


class IdentityRead:
    """``read_vm_identities`` as the real client gives it: ``read_inventory`` without the VMs' devices and snapshots."""

    def read_vm_identities(self, datacenter=None):
        inventory = self.read_inventory(datacenter)  # pylint: disable=no-member
        return dict(inventory, vms=[dict(vm, disks=None, has_snapshots=None) for vm in inventory["vms"]])
