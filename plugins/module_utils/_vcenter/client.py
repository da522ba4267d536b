# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place of the collection that imports pyVmomi.

``connect(settings)`` logs in and returns a ``VCenterClient``, whose reads return
plain dicts (no pyVmomi objects leak out), so that the inventory check is pure
logic. The whole inventory is read with one container view and one
property-collector retrieval, whatever the number of VMs: attribute access on
pyVmomi managed objects would cost one SOAP round trip per property and VM.
Every pyVmomi fault is translated into a ``SafeMigrationError``.

A vCenter that answered the login and then stops answering is restarting: its reverse proxy answers 503, then
vpxd no longer knows the session. Every read rides through that (all the collection does in vCenter is read):
it logs in again and retries, through the waiter, for up to OUTAGE_SECONDS; a vCenter that never answered
fails at once in ``connect``.
"""

from __future__ import annotations

import posixpath
import socket
import ssl
from http import client as http_client
from http.client import HTTPException

from ansible.module_utils.common.warnings import warn as ansible_warn

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import (
    ConnectionFailed,
    SafeMigrationError,
    VCenterError,
    WaitTimeout,
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
# How long a read waits for a vCenter that stopped answering (a vpxd restart takes minutes).
OUTAGE_SECONDS = 300
# What pyVim raises (a plain Exception) when vCenter's version file does not answer 200.
NOT_VIM_TEXT = "is down or is not a VIM server"
# Above this many file names, a search asks for every file of their extensions and filters here: the datastore
# browser matches each file against each pattern (files x patterns), so thousands of exact names cost far more
# on the server than one "*.vmdk" and a longer answer (measured: docs/benchmarks-inventory.md).
EXACT_PATTERNS_LIMIT = 100

# What finds a VM by its CloudStack instance name (its name, or its custom attribute cloud.vm.internal.name): all a
# read of every VM needs; each further property of every VM costs a large inventory's answer time (docs/benchmarks-inventory.md).
VM_LOOKUP_PROPERTIES = ["name", "customValue"]
# What finds a VM by UUID: read for every VM only when a VM is asked for by UUID.
VM_UUID_PROPERTIES = ["config.instanceUuid", "config.uuid"]
# The clues to a VM registered under another name (its .vmx path, its notes): read for every VM only when one is missing.
VM_CLUE_PROPERTIES = ["summary.config.vmPathName", "config.annotation"]
# A VM in full: its state, host, devices and snapshots besides (devices and snapshots make most of an answer's size).
VM_PROPERTIES = (VM_LOOKUP_PROPERTIES + VM_UUID_PROPERTIES + VM_CLUE_PROPERTIES
                 + ["runtime.connectionState", "runtime.powerState", "runtime.host", "config.hardware.device", "snapshot"])
HOST_PROPERTIES = ["name"]
# "host": the datastore's mounts (DatastoreHostMount: host, mountInfo.mounted/accessible), for "is it mounted on the VM's host?"
DATASTORE_PROPERTIES = ["name", "browser", "summary.accessible", "summary.maintenanceMode", "summary.url", "customValue", "host"]


def connect(settings, smart_connect=None, warn=None, probe=None, clock=None, sleep=None):
    """Log in to vCenter with ``settings`` (a VCenterSettings); return a VCenterClient.

    ``warn`` (default: Ansible's module warning, what ``module.warn`` calls) receives a warning when the
    certificate is not validated. A vCenter that answers 503 is restarting: the login is retried for up to
    OUTAGE_SECONDS (``probe(settings)``, default an HTTP GET, tells a 503 from a server that is no vCenter).
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

    def login():
        return smart_connect(host=settings.hostname, port=settings.port, user=settings.username, pwd=settings.password,
                             sslContext=ssl_context(settings), httpConnectionTimeout=HTTP_TIMEOUT, **proxy)

    def attempt():
        try:
            return True, login()
        except Exception as error:  # pylint: disable=broad-except  # re-raised unless vCenter is restarting
            if _restarting(error, lambda: (probe or _service_status)(settings) if not proxy_host else None):
                return False, _reason(error)
            raise
    wait_options = {key: value for key, value in (("clock", clock), ("sleep", sleep)) if value is not None}
    try:
        service_instance = wait_for(attempt, lambda outcome: outcome[0], OUTAGE_SECONDS, what="vCenter %s to start" % where,
                                    backoff=Backoff(first=1.0, factor=2.0, cap=10.0), **wait_options)[1]
    except WaitTimeout as timeout:
        raise ConnectionFailed("vCenter %s answered 503 (restarting) for %.0f s: try again when it is up"
                               % (where, timeout.facts.get("elapsed", 0)), vcenter=where, reason="unavailable") from None
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
    except HTTPException as error:
        raise ConnectionFailed("vCenter %s answered HTTP %s: check that hostname and port are vCenter's HTTPS API"
                               % (where, _reason(error)), vcenter=where, reason="not_vcenter") from None
    except Exception as error:  # pylint: disable=broad-except
        if NOT_VIM_TEXT not in str(error):
            raise
        raise ConnectionFailed("vCenter %s does not answer as a vSphere API: check that hostname and port are vCenter's "
                               "HTTPS API" % where, vcenter=where, reason="not_vcenter") from None
    return VCenterClient(service_instance, login=login, where=where, clock=clock, sleep=sleep)


def _restarting(error, status):
    """Whether ``error`` of a login is vCenter's 503 while it starts (``status()``: the HTTP status it answers now)."""
    if isinstance(error, HTTPException):
        return str(error).startswith("503")
    return NOT_VIM_TEXT in str(error) and status() == 503


def _service_status(settings):
    """The HTTP status of vCenter's version file (None: no answer): pyVim hides it behind "is not a VIM server"."""
    connection = http_client.HTTPSConnection(settings.hostname, settings.port, context=ssl_context(settings), timeout=10)
    try:
        connection.request("GET", "/sdk/vimServiceVersions.xml")
        return connection.getresponse().status
    except (HTTPException, OSError):
        return None
    finally:
        connection.close()


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

    def __init__(self, service_instance, clock=None, sleep=None, login=None, where="vCenter", outage_seconds=OUTAGE_SECONDS):
        self._si = service_instance
        self._content = service_instance.RetrieveContent()
        self._wait_options = {key: value for key, value in (("clock", clock), ("sleep", sleep)) if value is not None}
        self._login = login
        self._where = where
        self._outage_seconds = outage_seconds
        self._gave_up = False
        self._session_lost = False

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
        return _inventory_from(self._reading("read the vCenter inventory", self._inventory_reader(datacenter, VM_PROPERTIES)))

    def read_vm_identities(self, datacenter=None, uuids=False):
        """``read_inventory`` with only what finds the VMs: their names and custom attributes (and their UUIDs with
        ``uuids``), at a fraction of the answer's size; every other fact of a VM is None (``disks`` too), and the
        inventory says ``vm_clues`` False. ``read_vms`` then reads the few VMs it needs in full, and
        ``read_vm_clues`` the clues to a VM registered under another name."""
        properties = VM_LOOKUP_PROPERTIES + (VM_UUID_PROPERTIES if uuids else [])
        objects = self._reading("read the vCenter inventory", self._inventory_reader(datacenter, properties))
        return dict(_inventory_from(objects, vm_details=False), vm_clues=False)

    def read_vm_clues(self, datacenter=None):
        """{VM moid: {"vmx_path", "annotation"}} of every VM, in one retrieval: the clues ``read_vm_identities`` leaves
        out, read only when a VM is not found by its name."""
        objects = self._reading("read the .vmx paths and notes of the VMs", self._vm_reader(datacenter, VM_CLUE_PROPERTIES))
        return {ref._moId: {"vmx_path": props.get("summary.config.vmPathName"), "annotation": props.get("config.annotation")}
                for ref, props in objects}

    def _inventory_reader(self, datacenter, vm_properties):
        def read():
            root = self._datacenter(datacenter) if datacenter else self._content.rootFolder
            view = self._content.viewManager.CreateContainerView(
                root, [vim.VirtualMachine, vim.HostSystem, vim.Datastore], True)
            try:
                return self._retrieve(self._inventory_spec(view, vm_properties))
            finally:
                _destroy(view)
        return read

    def read_vms(self, moids, hosts, field_names):
        """The facts of the VMs ``moids``, as ``read_inventory`` gives them, in one retrieval of those VMs alone
        (``hosts`` and ``field_names``: the inventory's, to name hosts and custom fields). None when one of them is
        gone from vCenter: the caller reads the inventory again."""
        def read():
            spec = vmodl.query.PropertyCollector.FilterSpec(
                objectSet=[vmodl.query.PropertyCollector.ObjectSpec(obj=vim.VirtualMachine(moid, self._si._stub))  # pylint: disable=protected-access
                           for moid in moids],
                propSet=[vmodl.query.PropertyCollector.PropertySpec(type=vim.VirtualMachine, pathSet=VM_PROPERTIES)])
            return self._retrieve(spec)
        try:
            objects = self._reading("read VM %s" % ", ".join(moids), read)
        except VCenterError as error:
            if error.facts.get("fault") == "ManagedObjectNotFound":
                return None
            raise
        if len(objects) != len(set(moids)):
            return None
        return [_vm_facts(ref, props, hosts, field_names) for ref, props in objects]

    def read_extra_config(self, key, datacenter=None):
        """{VM moid: value} of extraConfig entry ``key`` for every VM that has it, in one retrieval.

        Read only when needed (a VM not found by name or custom attribute): extraConfig is large on real VMs,
        so it is not part of the inventory read.
        """
        objects = self._reading("read the extraConfig of the VMs", self._vm_reader(datacenter, ["config.extraConfig"]))
        values = {}
        for ref, props in objects:
            for option in props.get("config.extraConfig") or []:
                if getattr(option, "key", None) == key and getattr(option, "value", None) not in (None, ""):
                    values[ref._moId] = str(option.value)
        return values

    def _vm_reader(self, datacenter, properties):
        """A read of ``properties`` of every VM under ``datacenter`` (or everywhere), in one retrieval."""
        def read():
            root = self._datacenter(datacenter) if datacenter else self._content.rootFolder
            view = self._content.viewManager.CreateContainerView(root, [vim.VirtualMachine], True)
            try:
                traversal = vmodl.query.PropertyCollector.TraversalSpec(
                    name="view", path="view", skip=False, type=vim.view.ContainerView)
                spec = vmodl.query.PropertyCollector.FilterSpec(
                    objectSet=[vmodl.query.PropertyCollector.ObjectSpec(obj=view, skip=True, selectSet=[traversal])],
                    propSet=[vmodl.query.PropertyCollector.PropertySpec(type=vim.VirtualMachine, pathSet=properties)])
                return self._retrieve(spec)
            finally:
                _destroy(view)
        return read

    def _datacenter(self, name):
        found = self._content.searchIndex.FindByInventoryPath(name)
        if not isinstance(found, vim.Datacenter):
            raise VCenterError("Datacenter %s is not in the vCenter inventory" % name, datacenter=name)
        return found

    def _inventory_spec(self, view, vm_properties):
        traversal = vmodl.query.PropertyCollector.TraversalSpec(
            name="view", path="view", skip=False, type=vim.view.ContainerView)
        object_specs = [vmodl.query.PropertyCollector.ObjectSpec(obj=view, skip=True, selectSet=[traversal])]
        property_specs = [
            vmodl.query.PropertyCollector.PropertySpec(type=vim.VirtualMachine, pathSet=vm_properties),
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
        results = self._browse(datastore, match_patterns(file_names), "the search of datastore %s" % datastore["name"], timeout)
        wanted = set(file_names)
        return [join_datastore_path(result.folderPath, found.path) for result in results or [] for found in result.file or []
                if found.path in wanted]

    def list_datastore_files(self, datastore, patterns=DISK_AND_CONFIG_PATTERNS, timeout=TASK_TIMEOUT):
        """Full datastore paths of every file matching ``patterns`` (in any folder): what a datastore holds."""
        results = self._browse(datastore, list(patterns), "the listing of datastore %s" % datastore["name"], timeout)
        return [join_datastore_path(result.folderPath, found.path) for result in results or [] for found in result.file or []]

    def _browse(self, datastore, patterns, what, timeout):
        """Search every folder of ``datastore`` for ``patterns`` (``what``: "the search of ..."); the task's results
        (the search started again after an outage)."""
        def search():
            browser = vim.host.DatastoreBrowser(datastore["browser"], self._si._stub)  # pylint: disable=protected-access
            spec = vim.host.DatastoreBrowser.SearchSpec(matchPattern=patterns)
            return browser.SearchDatastoreSubFolders_Task("[%s]" % datastore["name"], spec)
        return self._reading("run " + what, lambda: self.wait_task(search(), what, timeout))

    # ---- riding through a vCenter restart ---------------------------------------------------------
    def _reading(self, what, read):
        """``read()`` with pyVmomi faults translated; through a vCenter restart, logged in again and retried."""
        def attempt():
            try:
                if self._session_lost:
                    self._relogin()
                with _translated(what):
                    return True, read()
            except WaitTimeout as read_timeout:
                return True, read_timeout  # the read's own wait ran out: raised below, not an outage
            except _Unavailable as error:
                if self._gave_up or self._login is None:
                    raise ConnectionFailed("Failed to %s: vCenter %s is unavailable (%s)" % (what, self._where, error.reason),
                                           vcenter=self._where, reason="unavailable") from None
                self._session_lost = self._session_lost or error.session_lost
                return False, error.reason
        try:
            value = wait_for(attempt, lambda outcome: outcome[0], self._outage_seconds,
                             backoff=Backoff(first=0.5, factor=2.0, cap=10.0), what="vCenter %s to answer" % self._where,
                             **self._wait_options)[1]
        except WaitTimeout as timeout:
            # later reads fail at once: one outage wait per run, not one per volume
            self._gave_up = True
            raise ConnectionFailed("Failed to %s: vCenter %s did not answer for %.0f s (last: %s)"
                                   % (what, self._where, timeout.facts.get("elapsed", 0), timeout.facts["last_state"][1]),
                                   vcenter=self._where, reason="unavailable") from None
        if isinstance(value, WaitTimeout):
            raise value
        return value

    def _relogin(self):
        """A new session after vCenter forgot ours; _Unavailable while it still does not answer."""
        try:
            service_instance = self._login()
            content = service_instance.RetrieveContent()
        except vim.fault.InvalidLogin:
            raise ConnectionFailed("vCenter %s refused the login after it restarted: check username and password"
                                   % self._where, vcenter=self._where, reason="invalid_login") from None
        except ssl.SSLError as error:
            raise ConnectionFailed("TLS with vCenter %s failed after it restarted (%s)" % (self._where, _reason(error)),
                                   vcenter=self._where, reason="tls") from None
        except (HTTPException, OSError, vmodl.MethodFault) as error:
            raise _Unavailable("the login failed (%s)" % _reason(error), session_lost=True) from None
        self._si, self._content, self._session_lost = service_instance, content, False

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


def _inventory_from(objects, vm_details=True):
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
        "vms": [_vm_facts(ref, props, hosts, field_names, vm_details) for ref, props in vm_objects],
        "datastores": {moid: _datastore_facts(moid, props, field_names) for moid, props in datastores.items()},
        "hosts": dict(hosts),
        "custom_fields": dict(field_names),
    }


def _custom_values(props, field_names):
    return {field_names.get(value.key, str(value.key)): getattr(value, "value", None) for value in props.get("customValue") or []}


def _vm_facts(ref, props, hosts, field_names, details=True):
    host = props.get("runtime.host")
    facts = {
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
        "has_snapshots": None,
        "disks": None,
    }
    if details:
        facts["has_snapshots"] = bool(getattr(props.get("snapshot"), "rootSnapshotList", None))
        facts["disks"] = [_disk_facts(device) for device in props.get("config.hardware.device") or []
                          if isinstance(device, vim.vm.device.VirtualDisk)]
    return facts


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


def _destroy(view):
    """Destroy a container view; a view of a session that is gone is gone with it."""
    try:
        view.DestroyView()
    except (HTTPException, OSError, vmodl.MethodFault):
        pass


class _Unavailable(Exception):
    """vCenter did not answer (503, connection refused or reset) or forgot the session: retry after a login."""

    def __init__(self, reason, session_lost=False):
        super().__init__(reason)
        self.reason = reason
        self.session_lost = session_lost


def _unavailable(error):
    """The _Unavailable for an error of a restarting vCenter; None for any other error."""
    if isinstance(error, vim.fault.NotAuthenticated):
        return _Unavailable("the session ended (NotAuthenticated)", session_lost=True)
    if isinstance(error, HTTPException):
        return _Unavailable(str(error) or type(error).__name__)
    if isinstance(error, (ConnectionRefusedError, ConnectionResetError, BrokenPipeError)):
        return _Unavailable(_reason(error))
    return None


class _translated:
    """Context manager: pyVmomi faults and socket errors become VCenterError/ConnectionFailed (or _Unavailable)."""

    def __init__(self, what):
        self.what = what

    def __enter__(self):
        return self

    def __exit__(self, exc_type, error, traceback):
        if error is None or isinstance(error, (SafeMigrationError, _Unavailable)):
            return False
        unavailable = _unavailable(error)
        if unavailable is not None:
            raise unavailable from error
        if isinstance(error, vmodl.MethodFault):
            raise VCenterError("Failed to %s: %s" % (self.what, _fault_text(error)), fault=type(error).__name__) from error
        if isinstance(error, (OSError, socket.error)):
            raise ConnectionFailed("Failed to %s: connection to vCenter lost (%s)" % (self.what, _reason(error))) from error
        return False
