# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a CloudStack volume's disk really is, seen from vCenter.

A thin adapter over the shared inventory check (vcenter_inventory.check_inventory,
the same code vmware_inventory_assert runs): the migration service asks one
question, "is this volume's disk attached to this VM and on one of these
datastores?", and gets a ``DiskLocation``.
"""

from __future__ import annotations

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils.vcenter_inventory import (
    DiskExpectation,
    VmExpectation,
    check_inventory,
)


class DiskLocation:
    """The answer for one disk: facts, and the problems found against the expectation."""

    def __init__(self, vm_found, problems, connection_state=None, power_state=None, file=None, datastore=None,
                 attached=False, exists=None):
        self.vm_found = vm_found
        self.problems = problems
        self.connection_state = connection_state
        self.power_state = power_state
        self.file = file
        self.datastore = datastore
        self.attached = attached
        self.exists = exists

    @property
    def ok(self):
        return self.vm_found and not self.problems

    def as_dict(self):
        return {"vm_found": self.vm_found, "connection_state": self.connection_state, "power_state": self.power_state,
                "attached": self.attached, "file": self.file, "datastore": self.datastore, "exists": self.exists,
                "problems": list(self.problems)}


class VCenterDisks:
    """Locates volume disks through the shared inventory check."""

    def __init__(self, client, datacenter=None, check=check_inventory):
        self._client = client
        self._datacenter = datacenter
        self._check = check

    def locate(self, instance_name, path, datastores=None):
        """Is disk ``path`` attached to VM ``instance_name`` (exact match), on one of ``datastores``?"""
        expectation = VmExpectation(ref=instance_name, ref_type="instance_name",
                                    disks=[DiskExpectation(path=path, datastores=list(datastores) if datastores else None)])
        report = self._check(self._client, [expectation], datacenter=self._datacenter)
        problems = [problem.message for problem in report.problems]
        vm = report.vms[0] if report.vms else None
        if vm is None or not vm.found:
            return DiskLocation(False, problems or ["VM %s is not in the vCenter inventory" % instance_name])
        disk = _disk_named(vm.disks, path)
        return DiskLocation(
            True, problems, connection_state=vm.connection_state, power_state=vm.power_state,
            file=getattr(disk, "file", None), datastore=getattr(disk, "datastore", None),
            attached=bool(getattr(disk, "attached", False)), exists=getattr(disk, "exists", None),
        )


def _disk_named(disks, path):
    for disk in disks or []:
        if getattr(disk, "path", None) == path:
            return disk
    return disks[0] if disks else None
