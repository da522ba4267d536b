"""Disk-level work beyond migrateVolume: copying an attached disk (a move that leaves its source behind),
and detaching/attaching a volume as CloudStack's VMware resource does it.

Detach removes the disk device from the VM and keeps the file, which moves to the datastore's root
(the "legacy" layout detached volumes have, syncVolumeToRootFolder); attach moves it back into the
VM's folder and adds the device (syncVolumeToVmDefaultFolder).
"""
from __future__ import annotations

import posixpath

from pyVmomi import vim, vmodl

from .vmware_backend import BackendError, DiskNotFound, VMwareBackend, serialised, sharing

try:  # imported as lab.cloudstack_sim (tests) or as cloudstack_sim with tests/lab on the path (the simulator)
    from lab.vsphere import VSphereError, disk_base_name, split_datastore_path
except ImportError:
    from vsphere import VSphereError, disk_base_name, split_datastore_path

SCSI_CONTROLLER_KEY = 1000  # the controller every lab VM is created with
SCSI_RESERVED_UNIT = 7


class VMwareDiskBackend(VMwareBackend):
    """The simulator's backend, with the disk operations its fault shapes and attach/detach need."""

    def _disk(self, props, volume_path):
        wanted = disk_base_name(volume_path)
        for device in props.get("config.hardware.device", []):
            if isinstance(device, vim.vm.device.VirtualDisk) and disk_base_name(device.backing.fileName) == wanted:
                return device
        raise DiskNotFound("No such disk device: %s.vmdk" % wanted)

    def _reconfigure(self, vm, change, what):
        try:
            self.vsphere.wait_task(vm.ReconfigVM_Task(spec=vim.vm.ConfigSpec(deviceChange=[change])))
        except (VSphereError, vmodl.MethodFault) as error:
            raise BackendError("Failed to %s: %s" % (what, getattr(error, "msg", None) or error)) from error

    def _move(self, source_path, dest_path):
        try:
            self.vsphere.move_file(source_path, dest_path)
        except (VSphereError, vmodl.MethodFault) as error:
            raise BackendError("Failed to move %s to %s: %s" % (source_path, dest_path, getattr(error, "msg", None) or error)) from error

    @sharing
    def copy_attached_volume(self, instance_name, volume_path, dest_datastore):
        """Copy the VM's disk to dest_datastore (same folder and file) and point the VM at the copy; the source file
        stays where it was. Returns the disk's base name."""
        vm, props = self._find_vm(instance_name)
        datastore = self._usable_datastore(dest_datastore, props["runtime.host"])
        disk = self._disk(props, volume_path)
        relative = split_datastore_path(disk.backing.fileName)[1]
        dest_path = "[%s] %s" % (datastore.name, relative)
        if posixpath.dirname(relative):
            self.vsphere.make_directory("[%s] %s" % (datastore.name, posixpath.dirname(relative)))
        manager = self.vsphere.content.virtualDiskManager
        try:
            self.vsphere.wait_task(manager.CopyVirtualDisk_Task(
                sourceName=disk.backing.fileName, sourceDatacenter=self.vsphere.datacenter, destName=dest_path,
                destDatacenter=self.vsphere.datacenter, force=False))
        except (VSphereError, vmodl.MethodFault) as error:
            raise BackendError("Failed to copy %s: %s" % (disk.backing.fileName, getattr(error, "msg", None) or error)) from error
        disk.backing.fileName, disk.backing.datastore = dest_path, datastore
        self._reconfigure(vm, vim.vm.device.VirtualDeviceSpec(operation="edit", device=disk), "repoint the disk")
        return disk_base_name(volume_path)

    @serialised
    def detach_volume(self, instance_name, volume_path):
        """Remove the disk device (the file stays) and move the file to its datastore's root; returns its new path."""
        vm, props = self._find_vm(instance_name)
        disk = self._disk(props, volume_path)
        self._reconfigure(vm, vim.vm.device.VirtualDeviceSpec(operation="remove", device=disk), "detach the disk")
        datastore = split_datastore_path(disk.backing.fileName)[0]
        root_path = "[%s] %s.vmdk" % (datastore, disk_base_name(volume_path))
        if root_path != disk.backing.fileName:
            self._move(disk.backing.fileName, root_path)
        return root_path

    @serialised
    def attach_volume(self, instance_name, datastore, volume_path):
        """Move the file from the datastore's root into the VM's folder and add it to the VM; returns its new path."""
        vm, props = self._find_vm(instance_name)
        base = disk_base_name(volume_path)
        root_path = "[%s] %s.vmdk" % (datastore, base)
        vm_path = "[%s] %s/%s.vmdk" % (datastore, instance_name, base)
        self._move(root_path, vm_path)
        used = {device.unitNumber for device in props.get("config.hardware.device", [])
                if getattr(device, "controllerKey", None) == SCSI_CONTROLLER_KEY}
        unit = next(number for number in range(64) if number not in used and number != SCSI_RESERVED_UNIT)
        backing = vim.vm.device.VirtualDisk.FlatVer2BackingInfo(fileName=vm_path, diskMode="persistent",
                                                                thinProvisioned=True)
        disk = vim.vm.device.VirtualDisk(key=-1, controllerKey=SCSI_CONTROLLER_KEY, unitNumber=unit,
                                         capacityInKB=1024, backing=backing)
        self._reconfigure(vm, vim.vm.device.VirtualDeviceSpec(operation="add", device=disk), "attach the disk")
        return vm_path
