# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place of the collection that imports pyVmomi.

``connect(settings)`` logs in and returns a ``VCenterClient``, whose reads return
plain dicts (no pyVmomi objects leak out), so that the inventory check is pure
logic. The whole inventory is read with one container view and one
property-collector retrieval, whatever the number of VMs: attribute access on
pyVmomi managed objects would cost one SOAP round trip per property and VM.
Every pyVmomi fault is translated into a ``SafeMigrationError``.
"""

from __future__ import annotations

import posixpath
import socket
import ssl

from ansible.module_utils.common.warnings import warn as ansible_warn

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import (
    ConnectionFailed,
    SafeMigrationError,
    VCenterError,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.waiter import Backoff, wait_for

try:
    from pyVim.connect import Disconnect, SmartConnect
    from pyVmomi import vim, vmodl
    HAS_PYVMOMI = True
except ImportError:
    HAS_PYVMOMI = False

PYVMOMI_LIBRARY = "pyvmomi"
# What a datastore listing looks for: disks and VM configurations (orphans, a missing VM's files).
DISK_AND_CONFIG_PATTERNS = ("*.vmdk", "*.vmx")
INTERNAL_NAME_FIELD = "cloud.vm.internal.name"
POOL_UUID_FIELD = "cloud.uuid"
HTTP_TIMEOUT = 120
TASK_TIMEOUT = 600
# Above this many file names, a search asks for every file of their extensions and filters here: the datastore
# browser matches each file against each pattern (files x patterns), so thousands of exact names cost far more
# on the server than one "*.vmdk" and a longer answer (measured: docs/benchmarks-inventory.md).
EXACT_PATTERNS_LIMIT = 100

VM_PROPERTIES = [
    "name", "config.instanceUuid", "config.uuid", "config.hardware.device", "runtime.connectionState",
    "runtime.powerState", "runtime.host", "customValue", "snapshot", "summary.config.vmPathName", "config.annotation",
]
HOST_PROPERTIES = ["name"]
# "host": the datastore's mounts (DatastoreHostMount: host, mountInfo.mounted/accessible), for "is it mounted on the VM's host?"
DATASTORE_PROPERTIES = ["name", "browser", "summary.accessible", "summary.maintenanceMode", "summary.url", "customValue", "host"]


def connect(settings, smart_connect=None, warn=None):
    """Log in to vCenter with ``settings`` (a VCenterSettings); return a VCenterClient.

    ``warn`` (default: Ansible's module warning, what ``module.warn`` calls) receives a warning when the
    certificate is not validated.
    """
    missing = settings.missing()
    if missing:
        raise ConnectionFailed("Missing vCenter connection options: %s" % ", ".join(missing), missing=missing)
    for reason in settings.insecure():
        (warn or ansible_warn)(reason)
    smart_connect = smart_connect or SmartConnect
    where = "%s:%s" % (settings.hostname, settings.port)
    proxy_host, proxy_port = settings.proxy()
    proxy = {"httpProxyHost": proxy_host, "httpProxyPort": proxy_port} if proxy_host else {}
    if proxy_host:
        where = "%s (through the proxy %s:%s)" % (where, proxy_host, proxy_port)
    try:
        service_instance = smart_connect(
            host=settings.hostname, port=settings.port, user=settings.username, pwd=settings.password,
            sslContext=ssl_context(settings), httpConnectionTimeout=HTTP_TIMEOUT, **proxy
        )
    except vim.fault.InvalidLogin:
        raise ConnectionFailed("vCenter %s refused the login of user %s: check username and password"
                               % (where, settings.username), vcenter=where, reason="invalid_login") from None
    except ssl.SSLCertVerificationError as error:
        raise ConnectionFailed("The TLS certificate of vCenter %s could not be verified (%s): give the CA that signed its "
                               "certificate in ca_cert (or VMWARE_CA_CERT), or set validate_certs=false on a trusted network"
                               % (where, getattr(error, "verify_message", None) or _reason(error)),
                               vcenter=where, reason="tls") from None
    except ssl.SSLError as error:
        raise ConnectionFailed("TLS with vCenter %s failed (%s): check that hostname and port are vCenter's HTTPS API"
                               % (where, _reason(error)), vcenter=where, reason="tls") from None
    except (OSError, socket.error) as error:
        raise ConnectionFailed("Cannot reach vCenter %s: %s" % (where, _reason(error)), vcenter=where, reason="unreachable") from None
    except vmodl.MethodFault as error:
        raise ConnectionFailed("vCenter %s refused the connection: %s" % (where, _fault_text(error)), vcenter=where) from None
    return VCenterClient(service_instance)


def ssl_context(settings):
    """The TLS context: the system CAs, or ``ca_cert`` only, or no verification when validate_certs is off."""
    if not settings.validate_certs:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=settings.ca_cert) if settings.ca_cert else ssl.create_default_context()


class VCenterClient:
    """Reads of the vCenter inventory, as plain dicts."""

    def __init__(self, service_instance, clock=None, sleep=None):
        self._si = service_instance
        self._content = service_instance.RetrieveContent()
        self._wait_options = {key: value for key, value in (("clock", clock), ("sleep", sleep)) if value is not None}

    def close(self):
        """Log out; a failure to log out is not an error of the task."""
        try:
            Disconnect(self._si)
        except Exception:  # pylint: disable=broad-except
            pass

    # ---- the inventory ------------------------------------------------------------------------
    def read_inventory(self, datacenter=None):
        """All VMs, hosts and datastores under ``datacenter`` (or everywhere), in one retrieval.

        Returns {"vms": [vm dict], "datastores": {moid: datastore dict}}.
        """
        with _translated("read the vCenter inventory"):
            root = self._datacenter(datacenter) if datacenter else self._content.rootFolder
            view = self._content.viewManager.CreateContainerView(
                root, [vim.VirtualMachine, vim.HostSystem, vim.Datastore], True)
            try:
                objects = self._retrieve(self._inventory_spec(view))
            finally:
                view.DestroyView()
        return _inventory_from(objects)

    def read_extra_config(self, key, datacenter=None):
        """{VM moid: value} of extraConfig entry ``key`` for every VM that has it, in one retrieval.

        Read only when needed (a VM not found by name or custom attribute): extraConfig is large on real VMs,
        so it is not part of the inventory read.
        """
        with _translated("read the extraConfig of the VMs"):
            root = self._datacenter(datacenter) if datacenter else self._content.rootFolder
            view = self._content.viewManager.CreateContainerView(root, [vim.VirtualMachine], True)
            try:
                traversal = vmodl.query.PropertyCollector.TraversalSpec(
                    name="view", path="view", skip=False, type=vim.view.ContainerView)
                spec = vmodl.query.PropertyCollector.FilterSpec(
                    objectSet=[vmodl.query.PropertyCollector.ObjectSpec(obj=view, skip=True, selectSet=[traversal])],
                    propSet=[vmodl.query.PropertyCollector.PropertySpec(type=vim.VirtualMachine, pathSet=["config.extraConfig"])])
                objects = self._retrieve(spec)
            finally:
                view.DestroyView()
        values = {}
        for ref, props in objects:
            for option in props.get("config.extraConfig") or []:
                if getattr(option, "key", None) == key and getattr(option, "value", None) not in (None, ""):
                    values[ref._moId] = str(option.value)
        return values

    def _datacenter(self, name):
        found = self._content.searchIndex.FindByInventoryPath(name)
        if not isinstance(found, vim.Datacenter):
            raise VCenterError("Datacenter %s is not in the vCenter inventory" % name, datacenter=name)
        return found

    def _inventory_spec(self, view):
        traversal = vmodl.query.PropertyCollector.TraversalSpec(
            name="view", path="view", skip=False, type=vim.view.ContainerView)
        object_specs = [vmodl.query.PropertyCollector.ObjectSpec(obj=view, skip=True, selectSet=[traversal])]
        property_specs = [
            vmodl.query.PropertyCollector.PropertySpec(type=vim.VirtualMachine, pathSet=VM_PROPERTIES),
            vmodl.query.PropertyCollector.PropertySpec(type=vim.HostSystem, pathSet=HOST_PROPERTIES),
            vmodl.query.PropertyCollector.PropertySpec(type=vim.Datastore, pathSet=DATASTORE_PROPERTIES),
        ]
        fields_manager = self._content.customFieldsManager
        if fields_manager is not None:
            # the custom field names ride along in the same retrieval
            object_specs.append(vmodl.query.PropertyCollector.ObjectSpec(obj=fields_manager, skip=False))
            property_specs.append(vmodl.query.PropertyCollector.PropertySpec(type=vim.CustomFieldsManager, pathSet=["field"]))
        return vmodl.query.PropertyCollector.FilterSpec(objectSet=object_specs, propSet=property_specs)

    def _retrieve(self, spec):
        """RetrievePropertiesEx, following continuation tokens; returns [(moref, {path: value})]."""
        collector = self._content.propertyCollector
        result = collector.RetrievePropertiesEx([spec], vmodl.query.PropertyCollector.RetrieveOptions())
        objects = []
        while result is not None:
            objects.extend((item.obj, {prop.name: prop.val for prop in item.propSet or []}) for item in result.objects or [])
            result = collector.ContinueRetrievePropertiesEx(result.token) if result.token else None
        return objects

    # ---- datastore searches -------------------------------------------------------------------
    def search_datastore(self, datastore, file_names, timeout=TASK_TIMEOUT):
        """Full datastore paths ("[ds] dir/file") of files named exactly one of ``file_names``, in any folder.

        ``datastore`` is a datastore dict of ``read_inventory`` (its name and browser are known: no extra reads).
        """
        with _translated("search datastore %s" % datastore["name"]):
            browser = vim.host.DatastoreBrowser(datastore["browser"], self._si._stub)  # pylint: disable=protected-access
            spec = vim.host.DatastoreBrowser.SearchSpec(matchPattern=match_patterns(file_names))
            task = browser.SearchDatastoreSubFolders_Task("[%s]" % datastore["name"], spec)
            results = self.wait_task(task, "the search of datastore %s" % datastore["name"], timeout)
        wanted = set(file_names)
        return [join_datastore_path(result.folderPath, found.path) for result in results or [] for found in result.file or []
                if found.path in wanted]

    def list_datastore_files(self, datastore, patterns=DISK_AND_CONFIG_PATTERNS, timeout=TASK_TIMEOUT):
        """Full datastore paths of every file matching ``patterns`` (in any folder): what a datastore holds."""
        with _translated("list datastore %s" % datastore["name"]):
            browser = vim.host.DatastoreBrowser(datastore["browser"], self._si._stub)  # pylint: disable=protected-access
            spec = vim.host.DatastoreBrowser.SearchSpec(matchPattern=list(patterns))
            task = browser.SearchDatastoreSubFolders_Task("[%s]" % datastore["name"], spec)
            results = self.wait_task(task, "the listing of datastore %s" % datastore["name"], timeout)
        return [join_datastore_path(result.folderPath, found.path) for result in results or [] for found in result.file or []]

    def wait_task(self, task, what, timeout=TASK_TIMEOUT):
        """Wait for a vCenter task through the waiter; return its result or raise VCenterError.

        Only info.state/error/result are read, through the property collector (vcsim cannot
        serialise the whole info of some tasks).
        """
        spec = vmodl.query.PropertyCollector.FilterSpec(
            objectSet=[vmodl.query.PropertyCollector.ObjectSpec(obj=task)],
            propSet=[vmodl.query.PropertyCollector.PropertySpec(type=vim.Task,
                                                                pathSet=["info.state", "info.error", "info.result"])])

        def poll():
            return self._retrieve(spec)[0][1]

        state = wait_for(poll, lambda info: info.get("info.state") in ("success", "error"), timeout,
                         backoff=Backoff(first=0.1, factor=2.0, cap=2.0), what=what, **self._wait_options)
        if state.get("info.state") == "error":
            raise VCenterError("vCenter failed %s: %s" % (what, _fault_text(state.get("info.error"))), task=task._moId)
        return state.get("info.result")


def match_patterns(file_names):
    """The search patterns for exact ``file_names``: the names themselves, or "*.<ext>" per extension when many."""
    names = sorted(set(file_names))
    if len(names) <= EXACT_PATTERNS_LIMIT:
        return names
    return sorted({"*" + posixpath.splitext(name)[1] if posixpath.splitext(name)[1] else "*" for name in names})


def _inventory_from(objects):
    """Plain dicts from the retrieved (moref, properties) pairs."""
    field_names = {}
    hosts = {}
    datastores = {}
    vm_objects = []
    for ref, props in objects:
        if isinstance(ref, vim.CustomFieldsManager):
            field_names = {field.key: field.name for field in props.get("field") or []}
        elif isinstance(ref, vim.HostSystem):
            hosts[ref._moId] = props.get("name")
        elif isinstance(ref, vim.Datastore):
            datastores[ref._moId] = props
        elif isinstance(ref, vim.VirtualMachine):
            vm_objects.append((ref, props))
    return {
        "vms": [_vm_facts(ref, props, hosts, field_names) for ref, props in vm_objects],
        "datastores": {moid: _datastore_facts(moid, props, field_names) for moid, props in datastores.items()},
        "hosts": dict(hosts),
    }


def _custom_values(props, field_names):
    return {field_names.get(value.key, str(value.key)): getattr(value, "value", None) for value in props.get("customValue") or []}


def _vm_facts(ref, props, hosts, field_names):
    host = props.get("runtime.host")
    return {
        "moid": ref._moId,
        "name": props.get("name"),
        "instance_uuid": props.get("config.instanceUuid"),
        "bios_uuid": props.get("config.uuid"),
        "internal_name": _custom_values(props, field_names).get(INTERNAL_NAME_FIELD),
        "connection_state": _text(props.get("runtime.connectionState")),
        "power_state": _text(props.get("runtime.powerState")),
        "host": hosts.get(host._moId, host._moId) if host is not None else None,
        "host_moid": host._moId if host is not None else None,
        "vmx_path": props.get("summary.config.vmPathName"),
        "annotation": props.get("config.annotation"),
        "has_snapshots": bool(getattr(props.get("snapshot"), "rootSnapshotList", None)),
        "disks": [_disk_facts(device) for device in props.get("config.hardware.device") or []
                  if isinstance(device, vim.vm.device.VirtualDisk)],
    }


def _disk_facts(device):
    backing = device.backing
    datastore = getattr(backing, "datastore", None)
    return {
        "key": device.key,
        "file": getattr(backing, "fileName", None),
        "datastore_moid": datastore._moId if datastore is not None else None,
        "parent_files": _parent_files(backing),
    }


def _parent_files(backing):
    """The files of the disk's delta chain below the current one (non-empty when snapshots exist)."""
    files = []
    parent = getattr(backing, "parent", None)
    while parent is not None:
        files.append(getattr(parent, "fileName", None))
        parent = getattr(parent, "parent", None)
    return files


def _datastore_facts(moid, props, field_names):
    browser = props.get("browser")
    return {
        "moid": moid,
        "name": props.get("name"),
        "browser": browser._moId if browser is not None else None,
        "cloud_uuid": _custom_values(props, field_names).get(POOL_UUID_FIELD),
        "accessible": props.get("summary.accessible"),
        "maintenance_mode": props.get("summary.maintenanceMode"),
        "url": props.get("summary.url"),
        "mounts": _mounts(props.get("host")),
    }


def _mounts(host_mounts):
    """{host moid: {"mounted", "accessible"}} from a datastore's ``host`` property (None when it was not read).

    vSphere leaves ``mounted`` unset for a mounted volume: unset counts as mounted; only False is unmounted.
    """
    if host_mounts is None:
        return None
    mounts = {}
    for mount in host_mounts:
        host = getattr(mount, "key", None)
        info = getattr(mount, "mountInfo", None)
        if host is None:
            continue
        mounts[host._moId] = {"mounted": getattr(info, "mounted", None), "accessible": getattr(info, "accessible", None)}
    return mounts


def join_datastore_path(folder_path, file_name):
    """"[ds] dir/file" from a search result's folder path ("[ds] dir", "[ds] dir/" or vcsim's "[ds]/dir")."""
    datastore, folder = folder_path.split("]", 1) if "]" in folder_path else (folder_path, "")
    folder = folder.strip().strip("/")
    return "%s] %s" % (datastore, "%s/%s" % (folder, file_name) if folder else file_name)


def _text(value):
    return None if value is None else str(value)


def _reason(error):
    return getattr(error, "reason", None) or getattr(error, "strerror", None) or str(error) or type(error).__name__


def _fault_text(fault):
    if fault is None:
        return "unknown error"
    return getattr(fault, "msg", None) or getattr(fault, "localizedMessage", None) or type(fault).__name__


class _translated:
    """Context manager: pyVmomi faults and socket errors become VCenterError/ConnectionFailed."""

    def __init__(self, what):
        self.what = what

    def __enter__(self):
        return self

    def __exit__(self, exc_type, error, traceback):
        if error is None or isinstance(error, SafeMigrationError):
            return False
        if isinstance(error, vmodl.MethodFault):
            raise VCenterError("Failed to %s: %s" % (self.what, _fault_text(error)), fault=type(error).__name__) from error
        if isinstance(error, (OSError, socket.error)):
            raise ConnectionFailed("Failed to %s: connection to vCenter lost (%s)" % (self.what, _reason(error))) from error
        return False
