"""The lab's own pyVmomi toolkit: builds and changes the vCenter (vcsim) side of the lab.

Independent of plugins/ on purpose: a bug in the collection's vCenter client must not
hide itself in the lab that tests it. Reads go through the PropertyCollector in batches
(one round trip for many objects); tasks are waited for by reading only info.state,
info.error and info.result (vcsim 0.24.2 sets a VirtualDiskManager task's entity to the
disk manager, which pyVmomi cannot deserialize as a ManagedEntity).
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request

from pyVim.connect import Disconnect, SmartConnect
from pyVmomi import vim, vmodl

INTERNAL_NAME_FIELD = "cloud.vm.internal.name"
POOL_UUID_FIELD = "cloud.uuid"
TASK_PROPERTIES = ["info.state", "info.error", "info.result"]
DATASTORE_PATH = re.compile(r"^\[(?P<datastore>[^\]]+)\]\s*(?P<path>.*)$")


class VSphereError(Exception):
    """Something the lab asked of vcsim did not happen."""


class TaskFailed(VSphereError):
    """A vSphere task ended in error."""

    def __init__(self, fault):
        self.fault = fault
        message = getattr(fault, "msg", None) or type(fault).__name__
        super().__init__("task failed: %s (%s)" % (message, type(fault).__name__))


def split_datastore_path(datastore_path):
    """"[ds] dir/file.vmdk" -> ("ds", "dir/file.vmdk")."""
    match = DATASTORE_PATH.match(datastore_path or "")
    if not match:
        raise VSphereError("not a datastore path: %r" % datastore_path)
    return match.group("datastore"), match.group("path")


def disk_base_name(file_name):
    """"[ds] i-2-34-VM/ROOT-34.vmdk" -> "ROOT-34" (the CloudStack volume path)."""
    base = posixpath.basename(file_name.split("]", 1)[-1].strip())
    return base[:-len(".vmdk")] if base.endswith(".vmdk") else base


def ssl_context(ca_file=None, verify=True):
    """A client TLS context: validate against ca_file (or the system store) unless verify is off."""
    if not verify:
        return ssl._create_unverified_context()  # pylint: disable=protected-access
    return ssl.create_default_context(cafile=ca_file)


class LabVSphere:
    """One pyVmomi session to the lab's vCenter, reused for every call."""

    def __init__(self, host, port, user, password, protocol="https", ca_file=None, verify=True):
        self.host, self.port, self.protocol = host, int(port), protocol
        self._user, self._password = user, password
        self._ssl = ssl_context(ca_file, verify) if protocol == "https" else None
        self.si = None
        self._datacenter = None
        self._field_keys = {}
        self._pools = {}

    # ---- session -------------------------------------------------------------------------

    def connect(self):
        kwargs = {"host": self.host, "port": self.port, "user": self._user, "pwd": self._password,
                  "protocol": self.protocol}
        if self._ssl is not None:
            kwargs["sslContext"] = self._ssl
        self.si = SmartConnect(**kwargs)
        self._datacenter = None
        self._field_keys = {}
        self._pools = {}
        return self

    def disconnect(self):
        if self.si is not None:
            try:
                Disconnect(self.si)
            except Exception:  # pylint: disable=broad-except
                pass  # the server may already be gone (lab reset)
            self.si = None

    @property
    def content(self):
        if self.si is None:
            self.connect()
        return self.si.content

    @property
    def datacenter(self):
        if self._datacenter is None:
            datacenters = [dc for dc in self.content.rootFolder.childEntity if isinstance(dc, vim.Datacenter)]
            if not datacenters:
                raise VSphereError("vCenter has no datacenter")
            self._datacenter = datacenters[0]
        return self._datacenter

    def use_datacenter(self, name):
        """Work in the datacenter ``name`` from now on (the first one by default)."""
        found = [dc for dc in self.content.rootFolder.childEntity if isinstance(dc, vim.Datacenter) and dc.name == name]
        if not found:
            raise VSphereError("no datacenter named %s" % name)
        self._datacenter = found[0]
        return self

    # ---- batched reads -------------------------------------------------------------------

    def _retrieve(self, object_specs, obj_type, properties):
        spec = vmodl.query.PropertyCollector.FilterSpec(
            objectSet=object_specs,
            propSet=[vmodl.query.PropertyCollector.PropertySpec(type=obj_type, pathSet=list(properties))])
        collector = self.content.propertyCollector
        rows = []
        result = collector.RetrievePropertiesEx([spec], vmodl.query.PropertyCollector.RetrieveOptions())
        while result is not None:
            for item in result.objects:
                rows.append((item.obj, {prop.name: prop.val for prop in item.propSet}))
            result = collector.ContinueRetrievePropertiesEx(result.token) if result.token else None
        return rows

    def retrieve(self, obj_type, properties, root=None):
        """[(object, {property: value})] for every object of obj_type under root, in one call."""
        view = self.content.viewManager.CreateContainerView(root or self.content.rootFolder, [obj_type], True)
        try:
            traversal = vmodl.query.PropertyCollector.TraversalSpec(name="view", path="view", skip=False,
                                                                    type=vim.view.ContainerView)
            start = vmodl.query.PropertyCollector.ObjectSpec(obj=view, skip=True, selectSet=[traversal])
            return self._retrieve([start], obj_type, properties)
        finally:
            view.DestroyView()

    def retrieve_objects(self, objects, obj_type, properties):
        """{object moid: {property: value}} for the given objects, in one call."""
        if not objects:
            return {}
        specs = [vmodl.query.PropertyCollector.ObjectSpec(obj=obj, skip=False) for obj in objects]
        return {obj._moId: props for obj, props in self._retrieve(specs, obj_type, properties)}

    # ---- tasks ---------------------------------------------------------------------------

    def wait_tasks(self, tasks, timeout=120.0, poll=0.05):
        """Wait for tasks; return their results in order, raise TaskFailed on the first error."""
        deadline = time.monotonic() + timeout
        pending = list(tasks)
        while True:
            states = self.retrieve_objects(pending, vim.Task, TASK_PROPERTIES)
            if all(states[t._moId]["info.state"] in ("success", "error") for t in pending):
                break
            if time.monotonic() > deadline:
                raise VSphereError("tasks still running after %.0f s" % timeout)
            time.sleep(poll)
        for task in pending:
            if states[task._moId]["info.state"] == "error":
                raise TaskFailed(states[task._moId].get("info.error"))
        return [states[t._moId].get("info.result") for t in pending]

    def wait_task(self, task, timeout=120.0):
        return self.wait_tasks([task], timeout)[0]

    # ---- inventory -----------------------------------------------------------------------

    def topology(self):
        """{"datacenter", "datacenter_moid", "clusters": [{"name", "moid", "hosts": [{"name", "moid"}]}]}."""
        hosts = {h._moId: props["name"] for h, props in self.retrieve(vim.HostSystem, ["name"], self.datacenter)}
        clusters = []
        for cluster, props in self.retrieve(vim.ClusterComputeResource, ["name", "host"], self.datacenter):
            members = [{"name": hosts[h._moId], "moid": h._moId} for h in props.get("host", []) if h._moId in hosts]
            clusters.append({"name": props["name"], "moid": cluster._moId, "hosts": members})
        clusters.sort(key=lambda c: c["name"])
        return {"datacenter": self.datacenter.name, "datacenter_moid": self.datacenter._moId, "clusters": clusters}

    def hosts_by_name(self):
        return {props["name"]: host for host, props in self.retrieve(vim.HostSystem, ["name"], self.datacenter)}

    def cluster_hosts(self, cluster_name):
        for cluster, props in self.retrieve(vim.ClusterComputeResource, ["name", "host"], self.datacenter):
            if props["name"] == cluster_name:
                return cluster, list(props.get("host", []))
        raise VSphereError("no cluster named %s" % cluster_name)

    def datastores_by_name(self):
        return {props["name"]: ds for ds, props in self.retrieve(vim.Datastore, ["name"], self.datacenter)}

    def datastore(self, name):
        found = self.datastores_by_name().get(name)
        if found is None:
            raise VSphereError("no datastore named %s" % name)
        return found

    # ---- custom values -------------------------------------------------------------------

    def custom_field_key(self, name, mo_type):
        """The key of a custom field definition, created on first use (as CloudStack does)."""
        cache_key = (name, mo_type)
        if cache_key not in self._field_keys:
            manager = self.content.customFieldsManager
            existing = [f.key for f in manager.field or [] if f.name == name and f.managedObjectType == mo_type]
            self._field_keys[cache_key] = existing[0] if existing else manager.AddCustomFieldDef(name=name, moType=mo_type).key
        return self._field_keys[cache_key]

    def set_custom_value(self, entity, name, value):
        key = self.custom_field_key(name, type(entity))
        self.content.customFieldsManager.SetField(entity=entity, key=key, value=value)

    def custom_values(self, custom_value_list):
        """customValue property -> {field name: value}."""
        names = {f.key: f.name for f in self.content.customFieldsManager.field or []}
        return {names.get(v.key, str(v.key)): v.value for v in custom_value_list or []}

    # ---- datastores ----------------------------------------------------------------------

    def create_datastore(self, name, directory, hosts, cloud_uuid=None):
        """A datastore backed by directory, mounted on every given host (a cluster-wide pool)."""
        os.makedirs(directory, exist_ok=True)
        systems = self.retrieve_objects(hosts, vim.HostSystem, ["configManager.datastoreSystem"])
        datastore = None
        for host in hosts:
            system = systems[host._moId]["configManager.datastoreSystem"]
            datastore = system.CreateLocalDatastore(name=name, path=directory)
        if len(hosts) > 1:
            self.lab_control("/lab/datastore/mounts", name=name)
        if cloud_uuid:
            self.set_custom_value(datastore, POOL_UUID_FIELD, cloud_uuid)
        return datastore

    def set_datastore_flags(self, name, accessible=None, maintenance=None):
        params = {"name": name}
        if accessible is not None:
            params["accessible"] = "true" if accessible else "false"
        if maintenance is not None:
            params["maintenance"] = maintenance
        return self.lab_control("/lab/datastore", **params)

    def unmount_datastore(self, name, host_name):
        """Unmount datastore ``name`` from host ``host_name`` (its mount stays listed, mounted=false)."""
        return self.lab_control("/lab/datastore/unmount", name=name, host=host_name)

    def set_vm_connection_state(self, name, state):
        return self.lab_control("/lab/vm", name=name, connectionState=state)

    def set_delay(self, milliseconds):
        """The delay vcsim adds to every SOAP call from now on (build a big inventory fast, then measure it slow)."""
        return self.lab_control("/lab/delay", ms=int(milliseconds))

    # ---- VMs -----------------------------------------------------------------------------

    @staticmethod
    def disk_specs(disks):
        """Device changes for a SCSI controller and disks [{"datastore", "file", "size_mb"}] created on disk."""
        controller = vim.vm.device.ParaVirtualSCSIController(key=1000, busNumber=0, sharedBus="noSharing")
        changes = [vim.vm.device.VirtualDeviceSpec(operation="add", device=controller)]
        for unit, disk in enumerate(disks):
            backing = vim.vm.device.VirtualDisk.FlatVer2BackingInfo(
                fileName="[%s] %s" % (disk["datastore"], disk["file"]), diskMode="persistent", thinProvisioned=True)
            device = vim.vm.device.VirtualDisk(key=2000 + unit, controllerKey=1000, unitNumber=unit if unit < 7 else unit + 1,
                                               capacityInKB=int(disk.get("size_mb", 1)) * 1024, backing=backing)
            changes.append(vim.vm.device.VirtualDeviceSpec(operation="add", fileOperation="create", device=device))
        return changes

    def _create_vm_task(self, name, host, disks):
        first = disks[0]
        directory = posixpath.dirname(first["file"]) or name
        config = vim.vm.ConfigSpec(name=name, guestId="otherGuest64", numCPUs=1, memoryMB=64,
                                   files=vim.vm.FileInfo(vmPathName="[%s] %s/%s.vmx" % (first["datastore"], directory, name)),
                                   deviceChange=self.disk_specs(disks))
        # vcsim creates the .vmx directory; disks elsewhere need theirs made first
        for disk in disks:
            disk_dir = posixpath.dirname(disk["file"])
            if disk_dir and (disk["datastore"], disk_dir) != (first["datastore"], directory):
                self.make_directory("[%s] %s" % (disk["datastore"], disk_dir))
        return self.datacenter.vmFolder.CreateVM_Task(config=config, pool=self.resource_pool(host), host=host)

    def resource_pool(self, host):
        """The root resource pool of the host's cluster (cached: two round trips otherwise)."""
        if host._moId not in self._pools:
            self._pools[host._moId] = host.parent.resourcePool
        return self._pools[host._moId]

    def create_vms(self, specs):
        """Create many VMs with few round trips: [{"name", "host", "disks", "internal_name", "powered_on"}] -> [vm]."""
        tasks = [self._create_vm_task(s["name"], s["host"], s["disks"]) for s in specs]
        vms = self.wait_tasks(tasks)
        for spec, vm in zip(specs, vms):
            if spec.get("internal_name"):
                self.set_custom_value(vm, INTERNAL_NAME_FIELD, spec["internal_name"])
        power_tasks = [vm.PowerOnVM_Task() for spec, vm in zip(specs, vms) if spec.get("powered_on")]
        self.wait_tasks(power_tasks)
        return vms

    def create_vm(self, name, host, disks, internal_name=None, powered_on=False):
        return self.create_vms([{"name": name, "host": host, "disks": disks, "internal_name": internal_name,
                                 "powered_on": powered_on}])[0]

    def find_vms(self, name):
        """VMs whose name or cloud.vm.internal.name equals name, case-insensitively, datacenter-wide."""
        wanted = name.lower()
        names = {f.key: f.name for f in self.content.customFieldsManager.field or []}
        found = []
        for vm, props in self.retrieve(vim.VirtualMachine, ["name", "customValue"], self.datacenter):
            internal = [v.value for v in props.get("customValue", []) if names.get(v.key) == INTERNAL_NAME_FIELD]
            if props.get("name", "").lower() == wanted or any(value.lower() == wanted for value in internal):
                found.append(vm)
        return found

    def vm_disks(self, vm):
        props = self.retrieve_objects([vm], vim.VirtualMachine, ["config.hardware.device"])
        devices = props.get(vm._moId, {}).get("config.hardware.device", [])
        return [d for d in devices if isinstance(d, vim.vm.device.VirtualDisk)]

    def find_disk(self, vm, base_name):
        """The VM's disk whose file base name is EXACTLY base_name ("ROOT-3" never matches ROOT-34.vmdk)."""
        wanted = disk_base_name(base_name)
        matches = [d for d in self.vm_disks(vm) if disk_base_name(d.backing.fileName) == wanted]
        return matches[0] if matches else None

    def make_directory(self, datastore_path):
        try:
            self.content.fileManager.MakeDirectory(name=datastore_path, datacenter=self.datacenter,
                                                   createParentDirectories=True)
        except vim.fault.FileAlreadyExists:
            pass

    def move_file(self, source_path, dest_path):
        """Move a VMDK (descriptor and extent) between datastore paths."""
        dest_ds, dest_rel = split_datastore_path(dest_path)
        if posixpath.dirname(dest_rel):
            self.make_directory("[%s] %s" % (dest_ds, posixpath.dirname(dest_rel)))
        manager = self.content.virtualDiskManager
        self.wait_task(manager.MoveVirtualDisk_Task(sourceName=source_path, sourceDatacenter=self.datacenter,
                                                    destName=dest_path, destDatacenter=self.datacenter, force=False))

    def move_disk(self, vm, disk, dest_datastore):
        """Move one attached disk to dest_datastore (same relative path) and repoint the VM at it."""
        relative = split_datastore_path(disk.backing.fileName)[1]
        dest_path = "[%s] %s" % (dest_datastore.name, relative)
        self.move_file(disk.backing.fileName, dest_path)
        disk.backing.fileName = dest_path
        disk.backing.datastore = dest_datastore
        change = vim.vm.device.VirtualDeviceSpec(operation="edit", device=disk)
        self.wait_task(vm.ReconfigVM_Task(spec=vim.vm.ConfigSpec(deviceChange=[change])))
        return dest_path

    def create_detached_disk(self, datastore_path, size_mb):
        dest_ds, relative = split_datastore_path(datastore_path)
        if posixpath.dirname(relative):
            self.make_directory("[%s] %s" % (dest_ds, posixpath.dirname(relative)))
        spec = vim.VirtualDiskManager.FileBackedVirtualDiskSpec(diskType="thin", adapterType="lsiLogic",
                                                                capacityKb=int(size_mb) * 1024)
        self.wait_task(self.content.virtualDiskManager.CreateVirtualDisk_Task(
            name=datastore_path, datacenter=self.datacenter, spec=spec))

    def delete_disk(self, datastore_path):
        """Delete a VMDK (descriptor and extent)."""
        self.wait_task(self.content.virtualDiskManager.DeleteVirtualDisk_Task(name=datastore_path, datacenter=self.datacenter))

    def power_state(self, vm):
        return self.retrieve_objects([vm], vim.VirtualMachine, ["runtime.powerState"])[vm._moId]["runtime.powerState"]

    def power_on(self, vm):
        if self.power_state(vm) != "poweredOn":
            self.wait_task(vm.PowerOnVM_Task())

    def power_off(self, vm):
        if self.power_state(vm) == "poweredOn":
            self.wait_task(vm.PowerOffVM_Task())

    def unregister(self, vm):
        """Remove the VM from the inventory (powering it off first); its files stay on the datastore."""
        self.power_off(vm)
        vm.UnregisterVM()

    def register(self, vmx_path, name, host):
        return self.wait_task(self.datacenter.vmFolder.RegisterVM_Task(
            path=vmx_path, name=name, asTemplate=False, pool=self.resource_pool(host), host=host))

    def rename(self, vm, new_name):
        self.wait_task(vm.Rename_Task(newName=new_name))

    def set_vm_notes(self, vm, extra_config=None, annotation=None):
        """Set extraConfig entries ({key: value}) and the annotation (notes) of a VM."""
        spec = vim.vm.ConfigSpec()
        if extra_config:
            spec.extraConfig = [vim.option.OptionValue(key=key, value=value) for key, value in extra_config.items()]
        if annotation is not None:
            spec.annotation = annotation
        self.wait_task(vm.ReconfigVM_Task(spec=spec))

    def delete_file(self, datastore_path):
        self.wait_task(self.content.fileManager.DeleteDatastoreFile_Task(name=datastore_path, datacenter=self.datacenter))

    def create_snapshot(self, vm, name):
        return self.wait_task(vm.CreateSnapshot_Task(name=name, description="lab", memory=False, quiesce=False))

    # ---- lab control endpoint ------------------------------------------------------------

    def restart_vcenter(self, seconds):
        """vCenter restarting, as its clients see it: every session but ours ends (vpxd forgets them), then for
        ``seconds`` every SOAP call is answered 503 by the reverse proxy. The inventory stays (vcsim cannot restart
        with it); our own session goes on, as the lab must read the truth meanwhile."""
        manager = self.content.sessionManager
        own = manager.currentSession.key
        others = [session.key for session in manager.sessionList or [] if session.key != own]
        if others:
            manager.TerminateSession(sessionId=others)
        return dict(self.lab_control("/lab/outage", seconds=seconds), sessions_ended=len(others))

    def lab_control(self, path, **params):
        """POST to vcsim's /lab/ endpoint (states the SOAP API cannot set); returns its JSON answer."""
        url = "%s://%s:%d%s?%s" % (self.protocol, self.host, self.port, path, urllib.parse.urlencode(params))
        request = urllib.request.Request(url, data=b"", method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30, context=self._ssl) as response:
                return json.loads(response.read().decode())
        except urllib.error.HTTPError as error:
            raise VSphereError("%s: %s" % (path, error.read().decode(errors="replace").strip())) from error
