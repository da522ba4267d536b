# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inventory check: does vCenter hold what CloudStack thinks it holds?

Pure logic over the facts the vCenter client reads in one retrieval. Every check
runs and every problem is reported (not only the first). Disks are matched by
exact file name, never by a partial match (CLOUDSTACK-8598 moved the wrong disk
that way). Datastore searches are made only for disks and missing VMs, one per
datastore at most, never one per VM.

Whether a disk's file is really there is one of three answers, never guessed:
``DiskFacts.file_status`` is ``found`` (searched, there: ``exists is True``),
``missing`` (searched, not there: ``exists is False``) or ``not_searched`` (no
conclusive search: ``exists is None``, ``file_status_reason`` says why). Only
``found`` is evidence. With ``verify_files`` on, an attached disk that could not
be searched is a problem (``disk_file_unverified``, or the datastore problem that
explains it), so a report is never ok without a positive search for each disk.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import asdict, dataclass, field
from typing import List, Optional

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import (
    InvalidInput,
    VCenterError,
    WaitTimeout,
)

REF_TYPES = ("instance_name", "instance_uuid", "bios_uuid", "moid")
CONNECTED = "connected"
NORMAL_MODE = "normal"

VM_NOT_FOUND = "vm_not_found"
VM_DUPLICATE = "vm_duplicate"
VM_NOT_CONNECTED = "vm_not_connected"
POWER_STATE_MISMATCH = "power_state_mismatch"
VM_HAS_SNAPSHOTS = "vm_has_snapshots"
DISK_NOT_ATTACHED = "disk_not_attached"
DISK_ON_WRONG_DATASTORE = "disk_on_wrong_datastore"
DISK_FILE_MISSING = "disk_file_missing"
DISK_FILE_UNVERIFIED = "disk_file_unverified"
DATASTORE_INACCESSIBLE = "datastore_inaccessible"
DATASTORE_IN_MAINTENANCE = "datastore_in_maintenance"
VM_REGISTERED_AS = "vm_registered_as_other_name"
# the destination of a disk (DiskExpectation.destination): where a migration would put it
DESTINATION_NOT_FOUND = "destination_datastore_not_found"
DESTINATION_INACCESSIBLE = "destination_datastore_inaccessible"
DESTINATION_IN_MAINTENANCE = "destination_datastore_in_maintenance"
DESTINATION_NOT_MOUNTED = "destination_datastore_not_mounted"
DESTINATION_FILE_EXISTS = "destination_file_exists"
DESTINATION_UNVERIFIED = "destination_file_unverified"
DESTINATION_CODES = (DESTINATION_NOT_FOUND, DESTINATION_INACCESSIBLE, DESTINATION_IN_MAINTENANCE, DESTINATION_NOT_MOUNTED,
                     DESTINATION_FILE_EXISTS, DESTINATION_UNVERIFIED)
PROBLEM_CODES = (VM_NOT_FOUND, VM_DUPLICATE, VM_NOT_CONNECTED, POWER_STATE_MISMATCH, VM_HAS_SNAPSHOTS, DISK_NOT_ATTACHED,
                 DISK_ON_WRONG_DATASTORE, DISK_FILE_MISSING, DISK_FILE_UNVERIFIED, DATASTORE_INACCESSIBLE,
                 DATASTORE_IN_MAINTENANCE, VM_REGISTERED_AS) + DESTINATION_CODES

# DestinationFacts.status: is the path a migration would create free on the destination datastore?
DESTINATION_FREE = "free"            # searched, nothing there
DESTINATION_TAKEN = "taken"          # searched, a file is already there
# FILE_NOT_SEARCHED: no conclusive search (DestinationFacts.reason says why)

# DiskFacts.file_status: the outcome of the datastore search for a disk's file
FILE_FOUND = "found"                # searched, and the file is there (exists is True)
FILE_MISSING = "missing"            # searched, and the file is not there (exists is False)
FILE_NOT_SEARCHED = "not_searched"  # no conclusive search (exists is None); file_status_reason says why
_EXISTS = {FILE_FOUND: True, FILE_MISSING: False, FILE_NOT_SEARCHED: None}

_DATASTORE_PATH = re.compile(r"^\[(?P<datastore>[^\]]*)\]\s*(?P<path>.*)$")


@dataclass
class DiskExpectation:
    """A disk a VM must have: a volume path ("ROOT-34") or a full datastore path ("[ds] dir/file.vmdk").

    ``datastores``: acceptable datastore identities (name or ``cloud.uuid``); None accepts any.
    ``destination``: identities of the datastore the disk is to move to (preflight of a migration): that
    datastore must be in the inventory, accessible, not in maintenance, mounted on the VM's host, and hold
    no file at the path the move would create (searched: only a search that finds nothing clears it).
    """
    path: str
    datastores: Optional[List[str]] = None
    destination: Optional[List[str]] = None


@dataclass
class VmExpectation:
    """A VM that must be in the inventory, by CloudStack instance name, instance UUID, BIOS UUID or moid."""
    ref: str
    ref_type: str = "instance_name"
    disks: List[DiskExpectation] = field(default_factory=list)
    power_state: Optional[str] = None


@dataclass
class DiskFacts:
    """What vCenter holds for one expected disk.

    ``file_status`` / ``exists``: see FILE_FOUND, FILE_MISSING, FILE_NOT_SEARCHED; they always agree.
    Only ``file_status == "found"`` (``exists is True``) proves the file is there.
    """
    path: str
    file: Optional[str] = None
    datastore: Optional[str] = None
    exists: Optional[bool] = None
    attached: bool = False
    device_key: Optional[int] = None
    datastore_moid: Optional[str] = None
    file_status: str = FILE_NOT_SEARCHED
    file_status_reason: Optional[str] = None
    # not dataclass fields (the shape vmware_inventory_assert returns stays as documented):
    # ``destination`` (a DestinationFacts) when the expectation has a destination
    destination = None

    @property
    def verified(self):
        """True only when a datastore search found the file."""
        return self.file_status == FILE_FOUND

    def set_file_status(self, status, reason=None):
        self.file_status, self.exists, self.file_status_reason = status, _EXISTS[status], reason


@dataclass
class DestinationFacts:
    """Where a migration would put a disk: the datastore, the path the move creates, and whether it is free.

    ``status``: DESTINATION_FREE (searched, nothing there), DESTINATION_TAKEN (a file is there: ``path`` is it) or
    FILE_NOT_SEARCHED (``reason`` says why). Only DESTINATION_FREE proves the path is free. ``copies``: every file of
    the disk's name found on the destination datastore (in any folder).
    """
    datastore: Optional[str] = None
    moid: Optional[str] = None
    path: Optional[str] = None
    status: str = FILE_NOT_SEARCHED
    reason: Optional[str] = None
    copies: List[str] = field(default_factory=list)


@dataclass
class VmFacts:
    ref: str
    ref_type: str
    found: bool = False
    matches: int = 0
    moid: Optional[str] = None
    name: Optional[str] = None
    internal_name: Optional[str] = None
    instance_uuid: Optional[str] = None
    bios_uuid: Optional[str] = None
    connection_state: Optional[str] = None
    power_state: Optional[str] = None
    host: Optional[str] = None
    disks: List[DiskFacts] = field(default_factory=list)
    leftovers: List[str] = field(default_factory=list)
    # not dataclass fields (the returned shape stays as documented): the VM's .vmx path, and for a VM not
    # found by its name, the VMs that are it under another name ([{"name", "moid", "by", "vmx_path"}])
    vmx_path = None
    registered_as = ()


@dataclass
class Problem:
    code: str
    vm: str
    message: str
    facts: dict = field(default_factory=dict)


@dataclass
class InventoryReport:
    vms: List[VmFacts]
    problems: List[Problem]

    @property
    def ok(self):
        return not self.problems

    def as_dict(self):
        return {"ok": self.ok, "vms": [asdict(vm) for vm in self.vms], "problems": [asdict(problem) for problem in self.problems]}


def check_inventory(client, expectations, datacenter=None, verify_files=True):
    """Check every expectation against one read of the inventory; return an InventoryReport.

    ``verify_files``: confirm with datastore searches that attached disk files exist
    (one search per datastore holding an expected disk); an attached disk whose file
    could not be searched is then a problem. Off, no disk file is searched
    (``file_status`` stays ``not_searched``) and that is no problem.
    """
    for expectation in expectations:
        validate(expectation)
    inventory = client.read_inventory(datacenter)
    index = InventoryIndex(inventory)
    results = [_check_vm(index, expectation) for expectation in expectations]
    _find_registered_elsewhere(client, index, results, datacenter)
    if verify_files:
        _verify_disk_files(client, index, results)
    else:
        _say_why_unsearched(results, "verify_files is off")
    _find_leftovers(client, index, results)
    return InventoryReport(vms=[facts for facts, problems in results], problems=[problem for facts, problems in results for problem in problems])


def attached_disk_files(client, instance_name, datacenter=None):
    """The files of every disk attached to VM ``instance_name`` ("[ds] dir/file.vmdk"), or None unless exactly one
    VM of the inventory has that instance name."""
    index = InventoryIndex(client.read_inventory(datacenter))
    matches = index.find(VmExpectation(ref=instance_name, ref_type="instance_name"))
    if len(matches) != 1:
        return None
    return [normalize_path(disk["file"]) for disk in matches[0].get("disks") or [] if disk.get("file")]


def validate(expectation):
    """Reject an expectation that cannot be checked (raises InvalidInput)."""
    if not expectation.ref:
        raise InvalidInput("A VM to assert needs a reference (its name, UUID or moid)")
    if expectation.ref_type not in REF_TYPES:
        raise InvalidInput("VM %s: unknown reference type %s; expected one of %s"
                           % (expectation.ref, expectation.ref_type, ", ".join(REF_TYPES)), vm=expectation.ref)
    for disk in expectation.disks:
        if not disk.path:
            raise InvalidInput("VM %s: a disk to assert needs a path" % expectation.ref, vm=expectation.ref)


class InventoryIndex:
    """Lookups over one read of the inventory, built once (no per-VM round trips)."""

    def __init__(self, inventory):
        self.vms = inventory.get("vms") or []
        self.datastores = inventory.get("datastores") or {}
        self.hosts = inventory.get("hosts") or {}
        self._datastores_by_name = {ds["name"]: ds for ds in self.datastores.values()}
        self._by_key = {}
        for vm in self.vms:
            for ref_type, value in _lookup_keys(vm):
                self._by_key.setdefault((ref_type, value), []).append(vm)

    def find(self, expectation):
        """The distinct VMs that match the expectation, as CloudStack would match them."""
        key = expectation.ref if expectation.ref_type == "moid" else expectation.ref.lower()
        matches = self._by_key.get((expectation.ref_type, key), [])
        return list({vm["moid"]: vm for vm in matches}.values())

    def datastore_named(self, identities):
        """The datastore whose name or cloud.uuid is one of ``identities`` (name first, as CloudStack looks)."""
        wanted = {_identity(value) for value in identities or []} - {""}
        by_name = [ds for ds in self.datastores.values() if _identity(ds.get("name")) in wanted]
        by_uuid = [ds for ds in self.datastores.values() if _identity(ds.get("cloud_uuid")) in wanted]
        found = sorted(by_name, key=lambda ds: ds.get("name") or "") or sorted(by_uuid, key=lambda ds: ds.get("name") or "")
        return found[0] if found else None

    def registered_elsewhere(self, instance_name, extra_config=None):
        """VMs that are the CloudStack VM ``instance_name`` under another name: [{"vm", "by"}].

        Clues, in order: its .vmx is <instance_name>.vmx or in folder <instance_name>/; its extraConfig
        cloud.vm.internal.name (``extra_config``: {moid: value}); its annotation names it.
        """
        wanted = instance_name.lower()
        word = re.compile(r"(?<![\w-])%s(?![\w-])" % re.escape(wanted))
        found = []
        for vm in self.vms:
            vmx = normalize_path(vm.get("vmx_path") or "")
            relative = vmx.split("] ", 1)[-1] if vmx else ""
            folder, file_name = posixpath.split(relative)
            if relative and (file_name.lower() == wanted + ".vmx" or folder.lower() == wanted):
                found.append({"vm": vm, "by": "its configuration file %s" % vmx})
            elif (extra_config or {}).get(vm.get("moid"), "").lower() == wanted:
                found.append({"vm": vm, "by": "its extraConfig %s = %s" % (INTERNAL_NAME_FIELD, extra_config[vm["moid"]])})
            elif word.search((vm.get("annotation") or "").lower()):
                found.append({"vm": vm, "by": "its annotation (notes)"})
        return found

    def datastore_of(self, disk):
        """The datastore dict of a disk (by its backing, else by the name in its file path)."""
        if disk.get("datastore_moid") in self.datastores:
            return self.datastores[disk["datastore_moid"]]
        return self._datastores_by_name.get(datastore_name(disk.get("file")))


def _lookup_keys(vm):
    """The (ref_type, value) keys a VM can be found by: its name and cloud.vm.internal.name, case-insensitive."""
    keys = [("moid", vm.get("moid"))]
    for ref_type, value in (("instance_name", vm.get("name")), ("instance_name", vm.get("internal_name")),
                            ("instance_uuid", vm.get("instance_uuid")), ("bios_uuid", vm.get("bios_uuid"))):
        if value:
            keys.append((ref_type, value.lower()))
    return keys


def datastore_name(file_path):
    """"ds" from "[ds] dir/file.vmdk"; None when the path has no datastore part."""
    match = _DATASTORE_PATH.match(file_path or "")
    return match.group("datastore") if match else None


def normalize_path(file_path):
    """"[ds] dir/file.vmdk" with exactly one space after the bracket."""
    match = _DATASTORE_PATH.match(file_path or "")
    return "[%s] %s" % (match.group("datastore"), match.group("path").lstrip("/")) if match else file_path


def disk_file_name(path):
    """The file name a disk expectation means: "ROOT-34" -> "ROOT-34.vmdk"; "[ds] d/x.vmdk" -> "x.vmdk"."""
    if _DATASTORE_PATH.match(path):
        return posixpath.basename(_DATASTORE_PATH.match(path).group("path"))
    return path if path.endswith(".vmdk") else path + ".vmdk"


def disk_matches(expected_path, file_path):
    """Exact match only: the full datastore path, or the file's base name (never a prefix)."""
    if not file_path:
        return False
    if _DATASTORE_PATH.match(expected_path):
        return normalize_path(expected_path) == normalize_path(file_path)
    return posixpath.basename(normalize_path(file_path).split("] ", 1)[-1]) == disk_file_name(expected_path)


def _identity(value):
    """Datastore identities compare case-insensitively and without dashes (CloudStack names datastores
    after the pool UUID without its dashes)."""
    return (value or "").replace("-", "").lower()


def datastore_accepted(datastore, acceptable):
    identities = {_identity(value) for value in acceptable}
    return bool(datastore) and bool({_identity(datastore.get("name")), _identity(datastore.get("cloud_uuid"))} & identities - {""})


INTERNAL_NAME_FIELD = "cloud.vm.internal.name"


# ---- one VM -----------------------------------------------------------------------------------
def _check_vm(index, expectation):
    """(VmFacts, [Problem]) for one expectation."""
    facts = VmFacts(ref=expectation.ref, ref_type=expectation.ref_type,
                    disks=[DiskFacts(path=disk.path) for disk in expectation.disks])
    matches = index.find(expectation)
    facts.matches = len(matches)
    if not matches:
        return facts, [Problem(VM_NOT_FOUND, expectation.ref, "%s is not in the vCenter inventory" % expectation.ref)]
    if len(matches) > 1:
        for disk_facts in facts.disks:
            disk_facts.file_status_reason = "the VM reference matches %d VMs" % len(matches)
        found = sorted("%s (%s)" % (vm.get("name"), vm["moid"]) for vm in matches)
        return facts, [Problem(VM_DUPLICATE, expectation.ref, "%s matches %d VMs in the vCenter inventory: %s; CloudStack "
                               "cannot tell which one is its VM: rename or remove the others" % (
                                   expectation.ref, len(matches), ", ".join(found)), {"matches": found})]
    vm = matches[0]
    _fill_vm_facts(facts, vm)
    problems = _vm_state_problems(expectation, vm)
    problems.extend(_disk_problems(index, expectation, vm, facts))
    problems.extend(_destination_problems(index, expectation, vm, facts))
    return facts, problems


def _fill_vm_facts(facts, vm):
    facts.found = True
    for name in ("moid", "name", "internal_name", "instance_uuid", "bios_uuid", "connection_state", "power_state", "host",
                 "vmx_path"):
        setattr(facts, name, vm.get(name))


def _find_registered_elsewhere(client, index, results, datacenter):
    """A VM not found by name or cloud.vm.internal.name may be registered under another name: say so.

    The .vmx path and the annotation are in the inventory read; extraConfig is read (once, for all VMs)
    only when they find nothing and the client can read it.
    """
    missing = [(facts, problems) for facts, problems in results if facts.matches == 0 and facts.ref_type == "instance_name"]
    if not missing:
        return
    extra_config = None
    for facts, problems in missing:
        found = index.registered_elsewhere(facts.ref)
        if not found and extra_config is None and hasattr(client, "read_extra_config"):
            try:
                extra_config = client.read_extra_config(INTERNAL_NAME_FIELD, datacenter) or {}
            except (VCenterError, WaitTimeout):
                extra_config = {}
        if not found and extra_config:
            found = index.registered_elsewhere(facts.ref, extra_config)
        if found:
            facts.registered_as = [{"name": item["vm"].get("name"), "moid": item["vm"].get("moid"), "by": item["by"],
                                    "vmx_path": item["vm"].get("vmx_path")} for item in found]
            problems[0] = _registered_as_problem(facts)


def _registered_as_problem(facts):
    ref = facts.ref
    names = ", ".join("%s (%s, found by %s)" % (item["name"], item["moid"], item["by"]) for item in facts.registered_as)
    first = facts.registered_as[0]["name"]
    return Problem(VM_REGISTERED_AS, ref, "%s is registered in vCenter as %s, a name CloudStack does not look for (it finds "
                   "VMs by name or by the custom attribute %s): rename the VM %s back to %s in vCenter, or set its custom "
                   "attribute %s to %s, then run again" % (ref, names, INTERNAL_NAME_FIELD, first, ref, INTERNAL_NAME_FIELD, ref),
                   {"registered_as": [dict(item) for item in facts.registered_as]})


def _vm_state_problems(expectation, vm):
    problems = []
    state = vm.get("connection_state")
    if state != CONNECTED:
        problems.append(Problem(VM_NOT_CONNECTED, expectation.ref, "%s (%s) is %s in vCenter, not connected: vCenter cannot act "
                                "on it; fix the VM (re-register it or reconnect its host) first" % (expectation.ref, vm["moid"], state),
                                {"connection_state": state}))
    wanted = expectation.power_state
    if wanted and (vm.get("power_state") or "").lower() != wanted.lower():
        problems.append(Problem(POWER_STATE_MISMATCH, expectation.ref, "%s is %s, expected %s" % (
            expectation.ref, vm.get("power_state"), wanted), {"power_state": vm.get("power_state"), "expected": wanted}))
    return problems


def _disk_problems(index, expectation, vm, facts):
    problems = []
    datastores_seen = set()
    on_delta = False
    for disk_expectation, disk_facts in zip(expectation.disks, facts.disks):
        disk = _attached_disk(vm, disk_expectation.path)
        if disk is None:
            disk_facts.file_status_reason = "the disk is not attached to the VM"
            problems.append(_not_attached(expectation.ref, vm, disk_expectation.path))
            continue
        datastore = index.datastore_of(disk)
        disk_facts.attached = True
        disk_facts.file = disk.get("file")
        disk_facts.device_key = disk.get("key")
        disk_facts.datastore = datastore.get("name") if datastore else datastore_name(disk.get("file"))
        disk_facts.datastore_moid = datastore.get("moid") if datastore else None
        on_delta = on_delta or bool(disk.get("parent_files"))
        if disk_expectation.datastores and not datastore_accepted(datastore, disk_expectation.datastores):
            problems.append(Problem(DISK_ON_WRONG_DATASTORE, expectation.ref, "disk %s of %s is on datastore %s, expected %s" % (
                disk_facts.file, expectation.ref, disk_facts.datastore, " or ".join(disk_expectation.datastores)),
                {"disk": disk_expectation.path, "file": disk_facts.file, "datastore": disk_facts.datastore,
                 "expected": list(disk_expectation.datastores)}))
        if datastore and datastore["moid"] not in datastores_seen:
            datastores_seen.add(datastore["moid"])
            problems.extend(_datastore_problems(expectation.ref, datastore))
    if expectation.disks and (vm.get("has_snapshots") or on_delta):
        problems.append(Problem(VM_HAS_SNAPSHOTS, expectation.ref, "%s has VM snapshots (its disks are delta disks): delete or "
                                "consolidate the snapshots before moving its volumes" % expectation.ref, {}))
    return problems


def _destination_problems(index, expectation, vm, facts):
    """The destination datastore of each attached disk that has one: present, accessible, not in maintenance,
    mounted on the VM's host. (Whether the path the move would create is free is searched with the disk files.)"""
    problems = []
    for disk_expectation, disk_facts in zip(expectation.disks, facts.disks):
        if not disk_expectation.destination or not disk_facts.attached:
            continue
        wanted = " or ".join(disk_expectation.destination)
        datastore = index.datastore_named(disk_expectation.destination)
        disk_facts.destination = destination = DestinationFacts()
        if datastore is None:
            destination.reason = "the destination datastore %s is not in the vCenter inventory" % wanted
            problems.append(Problem(DESTINATION_NOT_FOUND, expectation.ref, "the destination datastore %s of disk %s of %s is "
                                    "not in the vCenter inventory" % (wanted, disk_facts.file, expectation.ref),
                                    {"datastore": wanted, "disk": disk_expectation.path, "file": disk_facts.file}))
            continue
        name = datastore.get("name")
        destination.datastore, destination.moid = name, datastore.get("moid")
        candidates = destination_paths(disk_facts.file, name, facts.vmx_path)
        destination.path = candidates[0] if candidates else None
        base = {"datastore": name, "disk": disk_expectation.path, "file": disk_facts.file, "vm_name": vm.get("name"),
                "host": vm.get("host")}
        if datastore.get("accessible") is not True:
            problems.append(Problem(DESTINATION_INACCESSIBLE, expectation.ref, "the destination datastore %s of disk %s of %s "
                                    "is not accessible" % (name, disk_facts.file, expectation.ref), dict(base)))
        mode = datastore.get("maintenance_mode") or NORMAL_MODE
        if mode != NORMAL_MODE:
            problems.append(Problem(DESTINATION_IN_MAINTENANCE, expectation.ref, "the destination datastore %s of disk %s of "
                                    "%s is in maintenance mode (%s)" % (name, disk_facts.file, expectation.ref, mode),
                                    dict(base, maintenance_mode=mode)))
        why = _not_mounted_reason(datastore, vm, index)
        if why:
            problems.append(Problem(DESTINATION_NOT_MOUNTED, expectation.ref, "the destination datastore %s of disk %s of %s "
                                    "is not usable from the VM's host: %s" % (name, disk_facts.file, expectation.ref, why),
                                    dict(base, reason=why)))
    return problems


def _not_mounted_reason(datastore, vm, index):
    """Why ``datastore`` is not proven mounted and accessible on the VM's host, or None when it is."""
    host_moid, host = vm.get("host_moid"), vm.get("host") or vm.get("host_moid")
    mounts = datastore.get("mounts")
    if not host_moid:
        return "vCenter shows no host for the VM"
    if mounts is None:
        return "the datastore's host mounts could not be read"
    mount = mounts.get(host_moid)
    if mount is None:
        return "it is not mounted on host %s" % host
    if mount.get("mounted") is False:
        return "its mount on host %s is unmounted" % host
    if mount.get("accessible") is False:
        return "it is mounted on host %s but not accessible from it" % host
    return None


def destination_paths(file_path, datastore, vmx_path=None):
    """The paths a move of ``file_path`` to ``datastore`` creates (same folder and file), then the same file in the
    VM's folder (where vSphere puts a moved disk when it follows the VM's configuration), without duplicates."""
    if not file_path or not datastore:
        return []
    relative = normalize_path(file_path).split("] ", 1)[-1]
    paths = ["[%s] %s" % (datastore, relative)]
    if vmx_path:
        folder = posixpath.dirname(normalize_path(vmx_path).split("] ", 1)[-1])
        paths.append("[%s] %s" % (datastore, posixpath.join(folder, posixpath.basename(relative)) if folder else
                                  posixpath.basename(relative)))
    return list(dict.fromkeys(paths))


def order_copies(copies, vmx_paths=()):
    """The places of a disk, the one next to the VM's configuration (same datastore and folder as a .vmx) first."""
    homes = {posixpath.dirname(normalize_path(path)) for path in vmx_paths or []}
    return sorted(copies, key=lambda path: (posixpath.dirname(normalize_path(path)) not in homes, path))


def next_to_configuration(path, vmx_paths=()):
    return posixpath.dirname(normalize_path(path)) in {posixpath.dirname(normalize_path(vmx)) for vmx in vmx_paths or []}


def _attached_disk(vm, path):
    """The attached disk whose current file, or a file of its delta chain, is exactly ``path``."""
    for disk in vm.get("disks") or []:
        if any(disk_matches(path, candidate) for candidate in [disk.get("file")] + list(disk.get("parent_files") or [])):
            return disk
    return None


def _not_attached(ref, vm, path):
    attached = [disk.get("file") for disk in vm.get("disks") or []]
    return Problem(DISK_NOT_ATTACHED, ref, "%s has no disk %s attached (exact file name match); its disks are: %s" % (
        ref, disk_file_name(path) if not path.startswith("[") else path, ", ".join(attached) or "none"),
        {"disk": path, "attached": attached})


def _datastore_problems(ref, datastore):
    problems = []
    name = datastore.get("name")
    if datastore.get("accessible") is False:
        problems.append(Problem(DATASTORE_INACCESSIBLE, ref, "datastore %s of %s is not accessible" % (name, ref), {"datastore": name}))
    mode = datastore.get("maintenance_mode") or NORMAL_MODE
    if mode != NORMAL_MODE:
        problems.append(Problem(DATASTORE_IN_MAINTENANCE, ref, "datastore %s of %s is in maintenance mode (%s)" % (name, ref, mode),
                                {"datastore": name, "maintenance_mode": mode}))
    return problems


# ---- datastore searches -----------------------------------------------------------------------
def _unsearchable_reason(datastore):
    """Why a datastore cannot be searched, or None when it can."""
    name = datastore.get("name")
    if datastore.get("accessible") is False:
        return "datastore %s is not accessible" % name
    mode = datastore.get("maintenance_mode") or NORMAL_MODE
    if mode != NORMAL_MODE:
        return "datastore %s is in maintenance mode (%s)" % (name, mode)
    if not datastore.get("browser"):
        return "datastore %s has no datastore browser" % name
    return None


def _search(client, index, names_by_datastore):
    """{datastore moid: names} -> ({moid: set of full datastore paths found}, {moid: why it was not searched}).

    One search per datastore. A search vCenter refuses or that times out leaves that datastore
    unsearched (said in the second dict); the other datastores are still searched.
    """
    found, failed = {}, {}
    for moid, names in sorted(names_by_datastore.items()):
        datastore = index.datastores.get(moid)
        reason = _unsearchable_reason(datastore) if datastore else "datastore %s is not in the inventory read" % moid
        if reason is None and names:
            try:
                found[moid] = {normalize_path(path) for path in client.search_datastore(datastore, sorted(names))}
            except (VCenterError, WaitTimeout) as error:
                reason = "the search of datastore %s failed: %s" % (datastore.get("name"), error.message)
        if reason is not None:
            failed[moid] = reason
    return found, failed


def _verify_disk_files(client, index, results):
    """Set ``file_status`` of every attached expected disk; a missing or unverifiable file is a problem."""
    checked = []
    wanted = {}
    for facts, problems in results:
        for disk in facts.disks:
            if disk.attached:
                checked.append((facts, problems, disk))
                if disk.datastore_moid:
                    wanted.setdefault(disk.datastore_moid, set()).add(posixpath.basename(normalize_path(disk.file)))
                if disk.destination is not None and disk.destination.moid:
                    # one search per datastore: the destination's name joins the others searched there
                    wanted.setdefault(disk.destination.moid, set()).add(posixpath.basename(normalize_path(disk.file)))
    found, failed = _search(client, index, wanted)
    for facts, problems, disk in checked:
        if disk.destination is not None and disk.destination.moid:
            problem = _destination_file_problem(facts, disk, problems, found, failed)
            if problem is not None:
                problems.append(problem)
    for facts, problems, disk in checked:
        if disk.datastore_moid in found:
            disk.set_file_status(FILE_FOUND if normalize_path(disk.file) in found[disk.datastore_moid] else FILE_MISSING)
        else:
            disk.set_file_status(FILE_NOT_SEARCHED, failed.get(disk.datastore_moid)
                                 or "the datastore of %s is not in the inventory read" % disk.file)
        problem = _file_problem(facts.ref, disk, problems)
        if problem is not None:
            problems.append(problem)


def _destination_file_problem(facts, disk, problems, found, failed):
    """Set the destination ``status`` of a disk; a file already at the destination path, or no proof there is none,
    is a problem (unless the destination's state already explains why it could not be searched)."""
    ref = facts.ref
    destination = disk.destination
    candidates = destination_paths(disk.file, destination.datastore, facts.vmx_path)
    base_name = posixpath.basename(normalize_path(disk.file))
    if destination.moid in found:
        there = sorted(path for path in found[destination.moid] if posixpath.basename(path) == base_name)
        taken = [path for path in candidates if path in there]
        destination.copies = there
        if not taken:
            destination.status = DESTINATION_FREE
            return None
        destination.status, destination.path = DESTINATION_TAKEN, taken[0]
        return Problem(DESTINATION_FILE_EXISTS, ref, "a file %s already exists at the destination path of disk %s of %s; the "
                       "VM's disk is the attached one, %s, and the file at the destination is a stale copy (of an earlier "
                       "migration?): the move would fail with FileAlreadyExists" % (taken[0], disk.path, ref, disk.file),
                       {"datastore": destination.datastore, "disk": disk.path, "file": disk.file, "existing": taken[0],
                        "copies": there, "vm_name": facts.name})
    destination.status = FILE_NOT_SEARCHED
    destination.reason = failed.get(destination.moid) or "the destination datastore was not searched"
    explained = any(problem.code in (DESTINATION_INACCESSIBLE, DESTINATION_IN_MAINTENANCE)
                    and problem.facts.get("datastore") == destination.datastore for problem in problems)
    if explained:
        return None
    return Problem(DESTINATION_UNVERIFIED, ref, "whether the destination path %s of disk %s of %s is free could not be "
                   "verified: %s" % (destination.path, disk.path, ref, destination.reason),
                   {"datastore": destination.datastore, "disk": disk.path, "file": disk.file,
                    "reason": destination.reason, "vm_name": facts.name})


def _say_why_unsearched(results, reason):
    for facts, unused_problems in results:
        for disk in facts.disks:
            if disk.attached:
                disk.file_status_reason = reason


def _file_problem(ref, disk, problems):
    """The problem a disk's file status makes, if another one does not already explain it."""
    if disk.file_status == FILE_MISSING:
        return Problem(DISK_FILE_MISSING, ref, "disk %s of %s is attached but its file is not on datastore %s"
                       % (disk.file, ref, disk.datastore), {"disk": disk.path, "file": disk.file})
    explained = any(problem.code in (DATASTORE_INACCESSIBLE, DATASTORE_IN_MAINTENANCE)
                    and problem.facts.get("datastore") == disk.datastore for problem in problems)
    if disk.file_status == FILE_NOT_SEARCHED and not explained:
        return Problem(DISK_FILE_UNVERIFIED, ref, "the file %s of disk %s of %s could not be verified: %s; nothing proves "
                       "it exists, so nothing may be moved" % (disk.file, disk.path, ref, disk.file_status_reason),
                       {"disk": disk.path, "file": disk.file, "reason": disk.file_status_reason})
    return None


def _find_leftovers(client, index, results):
    """For each missing VM, search every datastore for its .vmx and expected disks, and say where they are.

    A disk not found is ``missing`` only when every datastore in scope was searched.
    """
    missing = [(facts, problems) for facts, problems in results if facts.matches == 0 and not facts.registered_as]
    names = set()
    for facts, unused_problems in missing:
        names.update(_leftover_names(facts))
    if not names:
        return
    found_by_datastore, failed = _search(client, index, {moid: names for moid in index.datastores})
    found = set().union(*found_by_datastore.values())
    for facts, problems in missing:
        own = set(_leftover_names(facts))
        facts.leftovers = sorted(path for path in found if posixpath.basename(path.split("] ", 1)[-1]) in own)
        vmx = [path for path in facts.leftovers if path.endswith(".vmx")]
        for disk in facts.disks:
            places = order_copies([path for path in facts.leftovers if disk_matches(disk.path, path)], vmx)
            disk.file = places[0] if places else None
            disk.datastore = datastore_name(disk.file)
            if places:
                disk.set_file_status(FILE_FOUND)
            elif failed or not index.datastores:
                disk.set_file_status(FILE_NOT_SEARCHED, "not found on the datastores searched; not searched: %s" % (
                    "; ".join(failed[moid] for moid in sorted(failed)) or "no datastore in scope"))
            else:
                disk.set_file_status(FILE_MISSING)
        unsearched = [failed[moid] for moid in sorted(failed)]
        problems[0].message = _missing_message(facts, unsearched)
        problems[0].facts = {"leftovers": list(facts.leftovers), "not_searched": unsearched}


def _leftover_names(facts):
    names = [disk_file_name(disk.path) for disk in facts.disks]
    if facts.ref_type == "instance_name":
        names.append(facts.ref + ".vmx")
    return names


def _missing_message(facts, unsearched):
    ref = facts.ref
    disks = [disk for disk in facts.disks if disk.file]
    vmx = [path for path in facts.leftovers if path.endswith(".vmx")]
    # unsearched datastores matter only when something the VM should have left was not found
    incomplete = (facts.ref_type == "instance_name" and not vmx) or any(disk.file_status != FILE_FOUND for disk in facts.disks)
    caveat = " (not searched: %s)" % "; ".join(unsearched) if unsearched and incomplete else ""
    if not disks and not vmx:
        return "%s is not in the vCenter inventory, and none of its files was found on the datastores searched%s" % (ref, caveat)
    places = [_disk_places_text(disk.path, [path for path in facts.leftovers if disk_matches(disk.path, path)], vmx)
              for disk in disks]
    places += ["its configuration is still at %s" % path for path in vmx]
    return "%s is not in the vCenter inventory; %s: re-register the VM in vCenter before migrating its volumes%s" % (
        ref, "; ".join(places), caveat)


def _disk_places_text(path, copies, vmx):
    """Where a missing VM's disk was found: one place, or the one next to its configuration then the copies; with
    several copies and none next to the configuration, no place is named as the place."""
    name = disk_file_name(path)
    copies = order_copies(copies, vmx)
    if len(copies) == 1:
        return "its disk %s is still at %s" % (name, copies[0])
    if next_to_configuration(copies[0], vmx):
        return "its disk %s is still at %s, next to its configuration, with copies at %s" % (
            name, copies[0], ", ".join(copies[1:]))
    return "its disk %s was found in %d places, none next to its configuration (no single place): %s; find which one " \
        "is the VM's before anything else" % (name, len(copies), ", ".join(copies))


# ---- from task options ------------------------------------------------------------------------
def expectations_from_options(vms):
    """VmExpectations from the ``vms`` option of vmware_inventory_assert (validated dicts)."""
    expectations = []
    for item in vms:
        given = [(ref_type, option) for ref_type, option in _REF_OPTIONS if item.get(option)]
        if len(given) != 1:
            raise InvalidInput("Each VM to assert needs exactly one of %s; got %s" % (
                ", ".join(option for ref_type, option in _REF_OPTIONS), ", ".join(option for ref_type, option in given) or "none"))
        ref_type, option = given[0]
        ref = item[option]
        disks = [DiskExpectation(path=disk["path"], datastores=list(disk.get("datastores") or []) or None)
                 for disk in item.get("disks") or []]
        expectations.append(VmExpectation(ref=ref, ref_type=ref_type, disks=disks, power_state=item.get("power_state")))
    return expectations


_REF_OPTIONS = (("instance_name", "name"), ("instance_uuid", "instance_uuid"), ("bios_uuid", "bios_uuid"), ("moid", "moid"))


def summary(report):
    """Counts for the task result."""
    return {"total": len(report.vms), "found": sum(1 for vm in report.vms if vm.found), "problems": len(report.problems)}


def failure_message(report):
    """One line per problem, for a failed assertion."""
    return "vCenter does not hold what was asserted (%d problem%s): %s" % (
        len(report.problems), "" if len(report.problems) == 1 else "s", " | ".join(problem.message for problem in report.problems))
