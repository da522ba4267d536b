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

Here: the run of the check, the index over one read, the datastore searches and the leftovers of a missing VM.
The checks of one VM are in ``inventory_checks``, the shapes in ``inventory_facts``, the path helpers in
``datastore_paths``.
"""

from __future__ import annotations

import copy
import posixpath
import re

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common import problems as problem_codes
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import (
    InvalidInput,
    VCenterError,
    WaitTimeout,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.parallel import in_parallel
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.arguments import VCenterSettings
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.datastore_paths import (
    datastore_identity,
    datastore_name,
    disk_file_name,
    disk_matches,
    destination_paths,
    next_to_configuration,
    normalize_path,
    order_copies,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.inventory_checks import check_vm, find_registered_elsewhere
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.inventory_facts import (
    DESTINATION_FREE,
    DESTINATION_TAKEN,
    FILE_FOUND,
    FILE_MISSING,
    FILE_NOT_SEARCHED,
    INTERNAL_NAME_FIELD,
    NORMAL_MODE,
    REF_TYPES,
    DiskExpectation,
    InventoryReport,
    Problem,
    VmExpectation,
)


def check_inventory(client, expectations, datacenter=None, verify_files=True, focused_read=False):
    """Check every expectation against one read of the inventory; return an InventoryReport.

    ``verify_files``: confirm with datastore searches that attached disk files exist
    (one search per datastore holding an expected disk); an attached disk whose file
    could not be searched is then a problem. Off, no disk file is searched
    (``file_status`` stays ``not_searched``) and that is no problem.
    ``focused_read``: read the inventory in two passes (``read_focused``), for a few VMs in a large vCenter.
    """
    for expectation in expectations:
        validate(expectation)
    inventory = read_focused(client, expectations, datacenter) if focused_read else client.read_inventory(datacenter)
    index = index_of(client, inventory)
    results = [check_vm(index, expectation) for expectation in expectations]
    find_registered_elsewhere(client, index, results, datacenter)
    if verify_files:
        _verify_disk_files(client, index, results)
    else:
        _say_why_unsearched(results, "verify_files is off")
    _find_leftovers(client, index, results)
    return InventoryReport(vms=[facts for facts, problems in results], problems=[problem for facts, problems in results for problem in problems])


def read_focused(client, expectations, datacenter=None):
    """The inventory as ``read_inventory`` gives it, with devices and snapshots only for the VMs the expectations
    match: a first pass reads what finds every VM (name and custom attributes; the UUIDs too when an expectation
    names a VM by UUID), a second the matched VMs in full by moref. Every VM that could be a match or a duplicate is
    in the first pass, so the lookups are those of a full read (a missing VM's clues are read by
    ``find_registered_elsewhere``). A matched VM gone between the passes: one full read."""
    uuids = any(expectation.ref_type in UUID_REF_TYPES for expectation in expectations)
    identities = client.read_vm_identities(datacenter, uuids=uuids)
    index = InventoryIndex(identities)
    moids = sorted({vm["moid"] for expectation in expectations for vm in index.find(expectation)})
    details = client.read_vms(moids, identities.get("hosts") or {}, identities.get("custom_fields") or {}) if moids else []
    if details is None:
        return client.read_inventory(datacenter)
    by_moid = {vm["moid"]: vm for vm in details}
    return dict(identities, vms=[by_moid.get(vm["moid"], vm) for vm in identities["vms"]])


def attached_disk_files(client, instance_name, datacenter=None):
    """The files of every disk attached to VM ``instance_name`` ("[ds] dir/file.vmdk"), or None unless exactly one
    VM of the inventory has that instance name."""
    index = index_of(client, client.read_inventory(datacenter))
    matches = index.find(VmExpectation(ref=instance_name, ref_type="instance_name"))
    if len(matches) != 1:
        return None
    return [normalize_path(disk["file"]) for disk in matches[0].get("disks") or [] if disk.get("file")]


def index_of(client, inventory):
    """The lookups over ``inventory``: those the client keeps with its read (a run's shared read, SharedInventory),
    else built now."""
    kept = getattr(client, "index_of", None)
    return kept(inventory) if kept is not None else InventoryIndex(inventory)


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
        # False: the read left out the VMs' .vmx paths and notes (read_vm_identities); read_vm_clues has them
        self.vm_clues = inventory.get("vm_clues", True)
        self._datastores_by_name = {ds["name"]: ds for ds in self.datastores.values()}
        self._by_key = {}
        for vm in self.vms:
            for ref_type, value in _lookup_keys(vm):
                self._by_key.setdefault((ref_type, value), []).append(vm)

    def with_vms(self, inventory, fresh):
        """The index of ``inventory``, which is this index's inventory with the VMs ``fresh`` read again (the same
        morefs): only their keys are redone, so that refreshing one VM does not cost the whole inventory's keys."""
        index = copy.copy(self)
        index.vms = inventory.get("vms") or []
        index._by_key = dict(self._by_key)
        for vm in fresh:
            if ("moid", vm["moid"]) not in self._by_key:
                continue  # not of this inventory: a full build would not list it either
            new_keys = set(_lookup_keys(vm))
            for old in self._by_key.get(("moid", vm["moid"]), []):
                for key in set(_lookup_keys(old)) - new_keys:
                    index._by_key[key] = [other for other in index._by_key[key] if other["moid"] != vm["moid"]]
            for key in new_keys:
                listed = index._by_key.get(key, [])
                if any(other["moid"] == vm["moid"] for other in listed):
                    index._by_key[key] = [vm if other["moid"] == vm["moid"] else other for other in listed]
                else:
                    index._by_key[key] = listed + [vm]
        return index

    def find(self, expectation):
        """The distinct VMs that match the expectation, as CloudStack would match them."""
        key = expectation.ref if expectation.ref_type == "moid" else expectation.ref.lower()
        matches = self._by_key.get((expectation.ref_type, key), [])
        return list({vm["moid"]: vm for vm in matches}.values())

    def datastore_named(self, identities):
        """The datastore whose name or cloud.uuid is one of ``identities`` (name first, as CloudStack looks)."""
        wanted = {datastore_identity(value) for value in identities or []} - {""}
        by_name = [ds for ds in self.datastores.values() if datastore_identity(ds.get("name")) in wanted]
        by_uuid = [ds for ds in self.datastores.values() if datastore_identity(ds.get("cloud_uuid")) in wanted]
        found = sorted(by_name, key=lambda ds: ds.get("name") or "") or sorted(by_uuid, key=lambda ds: ds.get("name") or "")
        return found[0] if found else None

    def registered_elsewhere(self, instance_name, extra_config=None, clues=None):
        """VMs that are the CloudStack VM ``instance_name`` under another name: [{"vm", "by"}].

        Clues, in order: its .vmx is <instance_name>.vmx or in folder <instance_name>/; its extraConfig
        cloud.vm.internal.name (``extra_config``: {moid: value}); its annotation names it. ``clues``: {moid:
        {"vmx_path", "annotation"}} (``read_vm_clues``), when this index's read left them out.
        """
        wanted = instance_name.lower()
        word = re.compile(r"(?<![\w-])%s(?![\w-])" % re.escape(wanted))
        found = []
        for listed in self.vms:
            vm = dict(listed, **clues[listed["moid"]]) if clues and listed.get("moid") in clues else listed
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


UUID_REF_TYPES = ("instance_uuid", "bios_uuid")


# ---- datastore searches -----------------------------------------------------------------------
# Datastore searches at once: light for vCenter, whose search tasks of one datastore each mostly wait on storage.
SEARCHES_AT_ONCE = 8


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

    One search per datastore, several datastores at once (each search is a vCenter task that mostly waits). A search
    vCenter refuses or that times out leaves that datastore unsearched (said in the second dict); the other datastores
    are still searched.
    """
    def search(moid):
        datastore = index.datastores.get(moid)
        reason = _unsearchable_reason(datastore) if datastore else "datastore %s is not in the inventory read" % moid
        if reason is not None or not names_by_datastore[moid]:
            return None, reason
        try:
            return {normalize_path(path) for path in client.search_datastore(datastore, sorted(names_by_datastore[moid]))}, None
        except (VCenterError, WaitTimeout) as error:
            return None, "the search of datastore %s failed: %s" % (datastore.get("name"), error.message)
    found, failed = {}, {}
    moids = sorted(names_by_datastore)
    for moid, (paths, reason) in zip(moids, in_parallel(search, moids, SEARCHES_AT_ONCE)):
        if paths is not None:
            found[moid] = paths
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
        return Problem(problem_codes.DESTINATION_FILE_EXISTS, ref, "a file %s already exists at the destination path of disk %s of %s; the "
                       "VM's disk is the attached one, %s, and the file at the destination is a stale copy (of an earlier "
                       "migration?): the move would fail with FileAlreadyExists" % (taken[0], disk.path, ref, disk.file),
                       {"datastore": destination.datastore, "disk": disk.path, "file": disk.file, "existing": taken[0],
                        "copies": there, "vm_name": facts.name})
    destination.status = FILE_NOT_SEARCHED
    destination.reason = failed.get(destination.moid) or "the destination datastore was not searched"
    explained = any(problem.code in (problem_codes.DESTINATION_DATASTORE_INACCESSIBLE, problem_codes.DESTINATION_DATASTORE_IN_MAINTENANCE)
                    and problem.facts.get("datastore") == destination.datastore for problem in problems)
    if explained:
        return None
    return Problem(problem_codes.DESTINATION_FILE_UNVERIFIED, ref, "whether the destination path %s of disk %s of %s is free could not be "
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
        return Problem(problem_codes.DISK_FILE_MISSING, ref, "disk %s of %s is attached but its file is not on datastore %s"
                       % (disk.file, ref, disk.datastore), {"disk": disk.path, "file": disk.file})
    explained = any(problem.code in (problem_codes.DATASTORE_INACCESSIBLE, problem_codes.DATASTORE_IN_MAINTENANCE)
                    and problem.facts.get("datastore") == disk.datastore for problem in problems)
    if disk.file_status == FILE_NOT_SEARCHED and not explained:
        return Problem(problem_codes.DISK_FILE_UNVERIFIED, ref, "the file %s of disk %s of %s could not be verified: %s; nothing proves "
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


def check_on_vcenters(connect, vcenters, vms, verify_files=True):
    """The check of VMs on several vCenters (``vms`` as the option gives them, each with the ``vcenter`` host:port
    and ``datacenter`` that cs_volume_plan_info gives it): one connection and check per vCenter and datacenter,
    the findings in one report. ``vcenters``: the validated entries of the ``vcenters`` option."""
    by_address = {VCenterSettings.from_params(entry).address(): entry for entry in vcenters}
    groups = {}
    for item in vms:
        address = item.get("vcenter")
        if address not in by_address:
            why = "its vCenter %s is not among vcenters (%s)" % (address, ", ".join(by_address)) if address else "no vcenter is given"
            raise InvalidInput("VM %s: %s; give each VM the vcenter (host:port of an entry of vcenters) that holds it, as "
                               "cs_volume_plan_info does with vcenters" % (_vm_label(item), why), vm=_vm_label(item))
        groups.setdefault((address, item.get("datacenter")), []).append(item)
    vm_facts, problems = [], []
    for (address, datacenter), items in groups.items():
        client = connect(VCenterSettings.from_params(dict(by_address[address], datacenter=datacenter)))
        try:
            report = check_inventory(client, expectations_from_options(items), datacenter=datacenter,
                                     verify_files=verify_files, focused_read=True)
        finally:
            client.close()
        vm_facts.extend(report.vms)
        problems.extend(report.problems)
    return InventoryReport(vm_facts, problems)


def _vm_label(item):
    return next((item[option] for _ref_type, option in _REF_OPTIONS if item.get(option)), "?")
