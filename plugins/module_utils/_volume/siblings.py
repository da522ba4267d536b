# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The other disks of the VM whose volume migrates: seen before the job and after it, so that a migration that
disturbed a sibling disk (its record, or its file attached to the VM) is reported, never passed over
(CLOUDSTACK-8598: the wrong disk matched)."""

from __future__ import annotations

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import VerificationFailed
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._cloudstack.records import labelled
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.datastore_paths import disk_file_name


class Siblings:
    """The VM's other volumes (record pool and path) and the files of their disks attached to the VM, at one moment."""

    def __init__(self, cloudstack, vcenter, vm_id, instance_name, volume_id, migrating=(), vm_just_read=False):
        """``vm_just_read``: the VM's disks were read from vCenter a moment ago (the plan's look), no job since."""
        self._cs, self._vcenter = cloudstack, vcenter
        self.vm_id, self.instance_name, self.volume_id = vm_id, instance_name, volume_id
        self._migrating = set(migrating)
        self.records, self.files = self._read(read_vm_again=not vm_just_read)

    @classmethod
    def of(cls, cloudstack, vcenter, plan, migrating=()):
        """The siblings of a plan's volume before its job; None without a VM or without other volumes. ``migrating``:
        the volumes (ids or names) this run migrates, whose changes are the run's own, not a disturbance."""
        vm = plan.vm or {}
        if not vm.get("id") or not vm.get("instancename"):
            return None
        # a plan with a located disk has just read the VM in vCenter: its disk files are those of that read
        siblings = cls(cloudstack, vcenter, vm["id"], vm["instancename"], plan.volume["id"], migrating,
                       vm_just_read=plan.disk is not None)
        return siblings if siblings.records else None

    def _read(self, read_vm_again=True):
        records = {volume["id"]: {"name": volume.get("name"), "pool_id": volume.get("storageid"), "path": volume.get("path")}
                   for volume in self._cs.list_volumes(virtualmachineid=self.vm_id)
                   if volume["id"] != self.volume_id and not {volume["id"], volume.get("name")} & self._migrating}
        attached = self._vcenter.attached_disk_files(self.instance_name, read_again=read_vm_again) or []
        files = {volume_id: sorted(file for file in attached if record["path"]
                                   and disk_file_name(file) == disk_file_name(record["path"]))
                 for volume_id, record in records.items()}
        return records, files

    def changes_since(self, vm_just_read=False):
        """What changed for each sibling since this snapshot: [text], empty when nothing did. ``vm_just_read``: the VM
        was read in vCenter after the job ended (by the verification)."""
        records, files = self._read(read_vm_again=not vm_just_read)
        changes = []
        for volume_id, before in self.records.items():
            now = records.get(volume_id)
            label = labelled(before["name"], volume_id)
            if now is None:
                changes.append("volume %s is no longer listed on the VM" % label)
                continue
            if (now["pool_id"], now["path"]) != (before["pool_id"], before["path"]):
                changes.append("volume %s: record pool %s path %s became pool %s path %s" % (
                    label, before["pool_id"], before["path"], now["pool_id"], now["path"]))
            if files.get(volume_id) != self.files[volume_id]:
                changes.append("volume %s: the VM's disk files %s became %s" % (
                    label, self.files[volume_id] or "none", files.get(volume_id) or "none"))
        return changes

    def check_after(self, result):
        """``result`` when no sibling changed; otherwise a VerificationFailed naming every change, with the result."""
        # every verification located the disk through the VM, read after the job ended
        changes = self.changes_since(vm_just_read="verification" in result)
        if not changes:
            return result
        raise VerificationFailed(
            "The migration of volume %s to its destination ended as %s, but it disturbed other disks of VM %s: %s. "
            "Check those volumes and the VM's disks in vCenter before anything else (the drift audit compares every "
            "record with vCenter)" % (self.volume_id, result.get("status"), self.instance_name, "; ".join(changes)),
            **dict(result, siblings_disturbed=changes, failed=True, changed=bool(result.get("changed"))))
