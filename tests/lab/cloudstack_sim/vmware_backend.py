"""The CloudStack simulator's VMware side: what a CloudStack agent would do in vCenter (vcsim).

The simulator calls this backend to deploy its seeded VMs and volumes into vcsim and to
carry out migrateVolume the way VmwareResource does (find the VM datacenter-wide, find the
target datastore by name or `cloud.uuid`, find the disk by its EXACT file base name, move
it). Errors carry the agent's texts (reference: cloudstack-api.md section 4.5).

The datastores are backed by directories under `datastore_root/<datastore name>/`, so
`vmdk_locations` can answer "where is this disk really?" from the files on disk,
independently of what vcsim's API says.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
import time
from pathlib import Path

from pyVmomi import vim, vmodl

try:  # imported as lab.cloudstack_sim (tests) or as cloudstack_sim with tests/lab on the path (the simulator)
    from lab.vsphere import INTERNAL_NAME_FIELD, POOL_UUID_FIELD, LabVSphere, VSphereError, disk_base_name
except ImportError:
    from vsphere import INTERNAL_NAME_FIELD, POOL_UUID_FIELD, LabVSphere, VSphereError, disk_base_name

VM_PROPERTIES = ["name", "customValue", "runtime.connectionState", "runtime.host", "config.hardware.device"]


class BackendError(Exception):
    """A VMware-side failure, with the text a CloudStack agent would report."""


class VmNotFound(BackendError):
    pass


class DatastoreNotFound(BackendError):
    pass


class DiskNotFound(BackendError):
    pass


class SessionUse:
    """Who may use the backend's one vCenter session: many disk moves at once, or one other call alone.

    CloudStack's job threads each work in vCenter at the same time (a context per job), so the calls that move one
    volume's disk share the session (pyVmomi's stub is thread-safe); building the inventory, making trouble and
    reconnecting have it alone. Re-entrant for the thread that has it alone. ``generation`` counts reconnections.
    """

    def __init__(self):
        self._condition = threading.Condition()
        self._sharing = 0
        self._owner, self._depth = None, 0
        self.generation = 0

    @contextlib.contextmanager
    def alone(self):
        me = threading.get_ident()
        with self._condition:
            if self._owner != me:
                self._condition.wait_for(lambda: self._owner is None and self._sharing == 0)
                self._owner = me
            self._depth += 1
        try:
            yield
        finally:
            with self._condition:
                self._depth -= 1
                if self._depth == 0:
                    self._owner = None
                    self._condition.notify_all()

    @contextlib.contextmanager
    def shared(self):
        me = threading.get_ident()
        with self._condition:
            mine = self._owner == me  # already alone: nothing more to take
            if not mine:
                self._condition.wait_for(lambda: self._owner is None)
                self._sharing += 1
        try:
            yield
        finally:
            if not mine:
                with self._condition:
                    self._sharing -= 1
                    self._condition.notify_all()


def serialised(method):
    """A call that has the session alone.

    A call that finds its session gone (vcsim restarted) reconnects and runs again once:
    nothing happened on the server in that case.
    """
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self._session.alone():  # pylint: disable=protected-access
            try:
                return method(self, *args, **kwargs)
            except vim.fault.NotAuthenticated:
                self.reconnect()
                return method(self, *args, **kwargs)
    return wrapper


def sharing(method):
    """A disk move, run beside the others (see ``SessionUse``); a session found gone is renewed once, by one of
    them, and the call runs again."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        session = self._session  # pylint: disable=protected-access
        with session.shared():
            generation = session.generation
            try:
                return method(self, *args, **kwargs)
            except vim.fault.NotAuthenticated:
                pass
        self.reconnect(unless_since=generation)
        with session.shared():
            return method(self, *args, **kwargs)
    return wrapper


def _fault_text(error):
    if isinstance(error, vmodl.MethodFault):
        return error.msg or type(error).__name__
    return str(error)


class VMwareBackend:
    """The simulator's handle on vcsim (one reused session, batched reads, cached lookups)."""

    def __init__(self, host, port, user, password, ca_file=None, datastore_root="datastores", protocol=None,
                 verify=True):
        self.datastore_root = Path(datastore_root)
        protocol = protocol or ("https" if ca_file else "http")
        self.vsphere = LabVSphere(host, port, user, password, protocol=protocol, ca_file=ca_file, verify=verify)
        self._session = SessionUse()
        self._vms = {}
        self._hosts = None

    # ---- session -------------------------------------------------------------------------

    def reconnect(self, timeout=15.0, unless_since=None):
        """Start a new session (after vcsim was restarted) and forget every cached object; not when another call
        renewed it since ``unless_since`` (a generation of the session)."""
        with self._session.alone():
            if unless_since is not None and self._session.generation != unless_since:
                return
            self._session.generation += 1
            self.vsphere.disconnect()
            self._vms, self._hosts = {}, None
            deadline = time.monotonic() + timeout
            while True:
                try:
                    self.vsphere.connect()
                    return
                except (OSError, vim.fault.VimFault) as error:
                    if time.monotonic() > deadline:
                        raise BackendError("cannot connect to vCenter: %s" % _fault_text(error)) from error
                    time.sleep(0.1)

    def close(self):
        with self._session.alone():
            self.vsphere.disconnect()

    @serialised
    def restart_vcenter(self, seconds):
        """The lab's vCenter restart (LabVSphere.restart_vcenter), this session kept."""
        return self.vsphere.restart_vcenter(seconds)

    @serialised
    def topology(self):
        return self.vsphere.topology()

    # ---- building the inventory ----------------------------------------------------------

    def _host(self, host_name):
        if self._hosts is None or host_name not in self._hosts:
            self._hosts = self.vsphere.hosts_by_name()
        if host_name not in self._hosts:
            raise BackendError("no host named %s in vCenter" % host_name)
        return self._hosts[host_name]

    @serialised
    def create_datastore(self, name, cluster_name, cloud_uuid=None):
        """A datastore named `name`, backed by datastore_root/name, mounted on every host of the cluster."""
        hosts = self.vsphere.cluster_hosts(cluster_name)[1]
        directory = self.datastore_root / name
        datastore = self.vsphere.create_datastore(name, str(directory.resolve()), hosts, cloud_uuid=cloud_uuid)
        return {"name": name, "moid": datastore._moId, "directory": str(directory)}

    @serialised
    def create_vm(self, instance_name, vcenter_name, host_name, disks, powered_on):
        return self._create_vms([{"instance_name": instance_name, "vcenter_name": vcenter_name, "host_name": host_name,
                                  "disks": disks, "powered_on": powered_on}])[0]

    @serialised
    def create_vms(self, specs):
        """Many create_vm at once, in few round trips: [{instance_name, vcenter_name, host_name, disks, powered_on}]."""
        return self._create_vms(specs)

    def _create_vms(self, specs):
        requests = [{"name": s["vcenter_name"], "host": self._host(s["host_name"]), "disks": s["disks"],
                     "internal_name": s["instance_name"], "powered_on": s["powered_on"]} for s in specs]
        try:
            vms = self.vsphere.create_vms(requests)
        except (VSphereError, vmodl.MethodFault) as error:
            raise BackendError("VM creation failed: %s" % _fault_text(error)) from error
        uuids = self.vsphere.retrieve_objects(vms, vim.VirtualMachine, ["config.instanceUuid", "config.uuid"])
        created = []
        for spec, vm in zip(specs, vms):
            self._vms[spec["instance_name"].lower()] = vm
            props = uuids[vm._moId]
            created.append({"moid": vm._moId, "instance_uuid": props["config.instanceUuid"], "bios_uuid": props["config.uuid"]})
        return created

    @serialised
    def create_detached_disk(self, datastore, file, size_mb):
        self.vsphere.create_detached_disk("[%s] %s" % (datastore, file), size_mb)

    # ---- lookups as the agent does them ---------------------------------------------------

    def _vm_props(self, vm):
        try:
            return self.vsphere.retrieve_objects([vm], vim.VirtualMachine, VM_PROPERTIES).get(vm._moId)
        except vmodl.fault.ManagedObjectNotFound:
            return None

    def _matches(self, props, instance_name):
        wanted = instance_name.lower()
        values = self.vsphere.custom_values(props.get("customValue"))
        return props.get("name", "").lower() == wanted or values.get(INTERNAL_NAME_FIELD, "").lower() == wanted

    def _find_vm(self, instance_name):
        """(vm, its properties), found by name or cloud.vm.internal.name datacenter-wide; VmNotFound otherwise."""
        cached = self._vms.get(instance_name.lower())
        if cached is not None:
            props = self._vm_props(cached)
            if props is not None and self._matches(props, instance_name):
                return cached, props
        for vm in self.vsphere.find_vms(instance_name):
            props = self._vm_props(vm)
            if props is not None:
                self._vms[instance_name.lower()] = vm
                return vm, props
        self._vms.pop(instance_name.lower(), None)
        raise VmNotFound("VM %s does not exist in VMware datacenter %s" % (instance_name, self.vsphere.datacenter._moId))

    def _find_datastore(self, pool_name, candidates=None):
        """The datastore whose name or cloud.uuid is pool_name (dashes removed first, then as given)."""
        rows = self.vsphere.retrieve(vim.Datastore, ["name", "customValue", "summary.accessible",
                                                     "summary.maintenanceMode"], self.vsphere.datacenter)
        wanted = [pool_name.replace("-", ""), pool_name]
        for name in wanted:
            for datastore, props in rows:
                if candidates is not None and datastore._moId not in candidates:
                    continue
                uuid = self.vsphere.custom_values(props.get("customValue")).get(POOL_UUID_FIELD)
                if name in (props["name"], uuid):
                    return datastore, props
        return None, None

    def _usable_datastore(self, pool_name, host):
        mounted = {ds._moId for ds in self.vsphere.retrieve_objects([host], vim.HostSystem, ["datastore", "name"])
                   [host._moId].get("datastore", [])}
        datastore, props = self._find_datastore(pool_name, mounted)
        if datastore is None:
            host_name = self.vsphere.retrieve_objects([host], vim.HostSystem, ["name"])[host._moId]["name"]
            raise DatastoreNotFound("Unable to find the mounted datastore with name: %s on source host: %s to execute "
                                    "MigrateVolumeCommand" % (pool_name, host_name))
        self._check_datastore_usable(props)
        return datastore

    @staticmethod
    def _check_datastore_usable(props):
        if not props.get("summary.accessible", True):
            raise BackendError("Datastore %s is not accessible" % props["name"])
        if props.get("summary.maintenanceMode", "normal") != "normal":
            raise BackendError("Datastore %s is in maintenance mode (%s)" % (props["name"], props["summary.maintenanceMode"]))

    # ---- migrations ----------------------------------------------------------------------

    @sharing
    def migrate_attached_volume(self, instance_name, volume_path, dest_datastore):
        """Move the VM's disk whose base name is exactly volume_path to dest_datastore; return the new base name."""
        vm, props = self._find_vm(instance_name)
        state = props.get("runtime.connectionState")
        if state != "connected":
            raise BackendError("VM %s is %s in vCenter" % (instance_name, state))
        datastore = self._usable_datastore(dest_datastore, props["runtime.host"])
        wanted = disk_base_name(volume_path)
        disks = [d for d in props.get("config.hardware.device", [])
                 if isinstance(d, vim.vm.device.VirtualDisk) and disk_base_name(d.backing.fileName) == wanted]
        if not disks:
            raise DiskNotFound("No such disk device: %s.vmdk" % wanted)
        disk = disks[0]
        if disk.backing.datastore is not None and disk.backing.datastore._moId == datastore._moId:
            return wanted
        try:
            self.vsphere.move_disk(vm, disk, datastore)
        except (VSphereError, vmodl.MethodFault) as error:
            raise BackendError("Failed to migrate volume %s of VM %s: %s" % (wanted, instance_name, _fault_text(error))) from error
        return wanted

    @sharing
    def migrate_detached_volume(self, volume_path, src_datastore, dest_datastore):
        """Move a detached VMDK at the root of src_datastore to the root of dest_datastore; return its base name."""
        source = self._find_datastore(src_datastore)[0]
        if source is None:
            raise DatastoreNotFound("Unable to find the mounted datastore with name: %s to execute MigrateVolumeCommand"
                                    % src_datastore)
        dest, dest_props = self._find_datastore(dest_datastore)
        if dest is None:
            raise DatastoreNotFound("Unable to find the mounted datastore with name: %s to execute MigrateVolumeCommand"
                                    % dest_datastore)
        self._check_datastore_usable(dest_props)
        base = disk_base_name(volume_path)
        source_path = "[%s] %s.vmdk" % (source.name, base)
        dest_path = "[%s] %s.vmdk" % (dest.name, base)
        try:
            self.vsphere.move_file(source_path, dest_path)
        except (VSphereError, vmodl.MethodFault) as error:
            raise BackendError("Migration of volume '%s' failed; file (%s) not found as path '%s'"
                               % (base, source_path, dest_path) if isinstance(getattr(error, "fault", error), vim.fault.FileNotFound)
                               else "Migration of volume '%s' failed: %s" % (base, _fault_text(error))) from error
        return base

    def _detached_paths(self, volume_path, src_datastore, dest_datastore):
        """The detached VMDK's path at the root of the source and of the destination datastore."""
        source = self._find_datastore(src_datastore)[0]
        if source is None:
            raise DatastoreNotFound("Unable to find the mounted datastore with name: %s to execute MigrateVolumeCommand"
                                    % src_datastore)
        dest, dest_props = self._find_datastore(dest_datastore)
        if dest is None:
            raise DatastoreNotFound("Unable to find the mounted datastore with name: %s to execute MigrateVolumeCommand"
                                    % dest_datastore)
        self._check_datastore_usable(dest_props)
        base = disk_base_name(volume_path)
        return base, "[%s] %s.vmdk" % (source.name, base), "[%s] %s.vmdk" % (dest.name, base)

    @sharing
    def copy_detached_volume(self, volume_path, src_datastore, dest_datastore):
        """Copy a detached VMDK from the root of src_datastore to the root of dest_datastore (the source stays)."""
        base, source_path, dest_path = self._detached_paths(volume_path, src_datastore, dest_datastore)
        manager = self.vsphere.content.virtualDiskManager
        try:
            self.vsphere.wait_task(manager.CopyVirtualDisk_Task(
                sourceName=source_path, sourceDatacenter=self.vsphere.datacenter, destName=dest_path,
                destDatacenter=self.vsphere.datacenter, force=False))
        except (VSphereError, vmodl.MethodFault) as error:
            raise BackendError("Migration of volume '%s' failed; file (%s) not found as path '%s'"
                               % (base, source_path, dest_path) if isinstance(getattr(error, "fault", error), vim.fault.FileNotFound)
                               else "Migration of volume '%s' failed: %s" % (base, _fault_text(error))) from error
        return base

    @serialised
    def delete_detached_volume(self, volume_path, datastore):
        """Delete a detached VMDK at the root of ``datastore`` (what expunging its volume row does)."""
        self.delete_vmdk(datastore, "%s.vmdk" % disk_base_name(volume_path))

    # ---- making trouble (what tests and scenarios need) -----------------------------------

    @serialised
    def power_on(self, instance_name):
        self.vsphere.power_on(self._find_vm(instance_name)[0])

    @serialised
    def power_off(self, instance_name):
        self.vsphere.power_off(self._find_vm(instance_name)[0])

    @serialised
    def unregister_vm(self, instance_name):
        """Remove the VM from the inventory (as in issue #9881); its files stay on the datastore."""
        vm = self._find_vm(instance_name)[0]
        self.vsphere.unregister(vm)
        self._vms.pop(instance_name.lower(), None)

    @serialised
    def rename_vm(self, instance_name, new_name):
        self.vsphere.rename(self._find_vm(instance_name)[0], new_name)

    @serialised
    def disguise_vm(self, instance_name, new_name, extra_config=None, annotation=None):
        """Rename the VM in vCenter and clear its cloud.vm.internal.name attribute (CloudStack can no longer find
        it by name), optionally leaving the internal name in its extraConfig or annotation."""
        vm = self._find_vm(instance_name)[0]
        self.vsphere.rename(vm, new_name)
        self.vsphere.set_custom_value(vm, INTERNAL_NAME_FIELD, "")
        if extra_config or annotation is not None:
            self.vsphere.set_vm_notes(vm, extra_config=extra_config, annotation=annotation)
        self._vms.pop(instance_name.lower(), None)
        return {"moid": vm._moId, "name": new_name}

    @serialised
    def unmount_datastore_from_vm_host(self, datastore, instance_name):
        """Unmount ``datastore`` from the host the VM runs on; return that host's name."""
        props = self._find_vm(instance_name)[1]
        host = props["runtime.host"]
        host_name = self.vsphere.retrieve_objects([host], vim.HostSystem, ["name"])[host._moId]["name"]
        try:
            self.vsphere.unmount_datastore(datastore, host_name)
        except VSphereError as error:
            raise DatastoreNotFound(str(error)) from error
        return host_name

    @serialised
    def vm_host_name(self, instance_name):
        host = self._find_vm(instance_name)[1]["runtime.host"]
        return self.vsphere.retrieve_objects([host], vim.HostSystem, ["name"])[host._moId]["name"]

    @serialised
    def place_vmdk(self, datastore, file, size_mb=1):
        """A VMDK at "[datastore] file" (a stale copy, as an earlier failed migration leaves one)."""
        try:
            self.vsphere.create_detached_disk("[%s] %s" % (datastore, file), size_mb)
        except (VSphereError, vmodl.MethodFault) as error:
            raise BackendError("cannot create [%s] %s: %s" % (datastore, file, _fault_text(error))) from error

    @serialised
    def delete_vmdk(self, datastore, file):
        path = "[%s] %s" % (datastore, file)
        try:
            self.vsphere.delete_disk(path)
        except (VSphereError, vmodl.MethodFault) as error:
            raise BackendError("cannot delete %s: %s" % (path, _fault_text(error))) from error

    @serialised
    def set_datastore_state(self, name, accessible=None, maintenance=None):
        """maintenance: True/False or a vSphere mode (normal, enteringMaintenance, inMaintenance)."""
        if isinstance(maintenance, bool):
            maintenance = "inMaintenance" if maintenance else "normal"
        try:
            return self.vsphere.set_datastore_flags(name, accessible=accessible, maintenance=maintenance)
        except VSphereError as error:
            raise DatastoreNotFound(str(error)) from error

    @serialised
    def set_vm_connection_state(self, instance_name, state):
        props = self._find_vm(instance_name)[1]
        self.vsphere.set_vm_connection_state(props["name"], state)

    # ---- ground truth --------------------------------------------------------------------

    def vmdk_locations(self, base_name):
        """Where the VMDK descriptor named base_name.vmdk really is, read from the datastore directories on disk."""
        file_name = disk_base_name(base_name) + ".vmdk"
        locations = []
        if not self.datastore_root.is_dir():
            return locations
        for datastore_dir in sorted(p for p in self.datastore_root.iterdir() if p.is_dir()):
            for directory, _subdirectories, files in os.walk(datastore_dir):
                if file_name in files:
                    relative = Path(directory, file_name).relative_to(datastore_dir).as_posix()
                    locations.append("[%s] %s" % (datastore_dir.name, relative))
        return locations
