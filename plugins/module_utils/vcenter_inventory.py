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

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils.errors import (
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
PROBLEM_CODES = (VM_NOT_FOUND, VM_DUPLICATE, VM_NOT_CONNECTED, POWER_STATE_MISMATCH, VM_HAS_SNAPSHOTS, DISK_NOT_ATTACHED,
                 DISK_ON_WRONG_DATASTORE, DISK_FILE_MISSING, DISK_FILE_UNVERIFIED, DATASTORE_INACCESSIBLE,
                 DATASTORE_IN_MAINTENANCE)

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
    """
    path: str
    datastores: Optional[List[str]] = None


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

    @property
    def verified(self):
        """True only when a datastore search found the file."""
        return self.file_status == FILE_FOUND

    def set_file_status(self, status, reason=None):
        self.file_status, self.exists, self.file_status_reason = status, _EXISTS[status], reason


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
    if verify_files:
        _verify_disk_files(client, index, results)
    else:
        _say_why_unsearched(results, "verify_files is off")
    _find_leftovers(client, index, results)
    return InventoryReport(vms=[facts for facts, problems in results], problems=[problem for facts, problems in results for problem in problems])


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
    return facts, problems


def _fill_vm_facts(facts, vm):
    facts.found = True
    for name in ("moid", "name", "internal_name", "instance_uuid", "bios_uuid", "connection_state", "power_state", "host"):
        setattr(facts, name, vm.get(name))


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
    found, failed = _search(client, index, wanted)
    for facts, problems, disk in checked:
        if disk.datastore_moid in found:
            disk.set_file_status(FILE_FOUND if normalize_path(disk.file) in found[disk.datastore_moid] else FILE_MISSING)
        else:
            disk.set_file_status(FILE_NOT_SEARCHED, failed.get(disk.datastore_moid)
                                 or "the datastore of %s is not in the inventory read" % disk.file)
        problem = _file_problem(facts.ref, disk, problems)
        if problem is not None:
            problems.append(problem)


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
    missing = [(facts, problems) for facts, problems in results if facts.matches == 0]
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
        for disk in facts.disks:
            places = [path for path in facts.leftovers if disk_matches(disk.path, path)]
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
    places = ["its disk %s is still at %s" % (disk_file_name(disk.path), disk.file) for disk in disks]
    places += ["its configuration is still at %s" % path for path in vmx]
    return "%s is not in the vCenter inventory; %s: re-register the VM in vCenter before migrating its volumes%s" % (
        ref, "; ".join(places), caveat)


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
