# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The checks of one expected VM over one read of the inventory: found once, connected, powered as expected, its
disks attached (exact file name) on an accepted datastore, and the destination of a migration usable."""

from __future__ import annotations

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common import problems as problem_codes
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import VCenterError, WaitTimeout
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.datastore_paths import (
    datastore_accepted,
    datastore_name,
    destination_paths,
    disk_file_name,
    disk_matches,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.inventory_facts import (
    CONNECTED,
    INTERNAL_NAME_FIELD,
    NORMAL_MODE,
    DestinationFacts,
    DiskFacts,
    Problem,
    VmFacts,
)


def check_vm(index, expectation):
    """(VmFacts, [Problem]) for one expectation."""
    facts = VmFacts(ref=expectation.ref, ref_type=expectation.ref_type,
                    disks=[DiskFacts(path=disk.path) for disk in expectation.disks])
    matches = index.find(expectation)
    facts.matches = len(matches)
    if not matches:
        return facts, [Problem(problem_codes.VM_NOT_FOUND, expectation.ref, "%s is not in the vCenter inventory" % expectation.ref)]
    if len(matches) > 1:
        for disk_facts in facts.disks:
            disk_facts.file_status_reason = "the VM reference matches %d VMs" % len(matches)
        found = sorted("%s (%s)" % (vm.get("name"), vm["moid"]) for vm in matches)
        return facts, [Problem(problem_codes.VM_DUPLICATE, expectation.ref, "%s matches %d VMs in the vCenter inventory: %s; CloudStack "
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


def find_registered_elsewhere(client, index, results, datacenter):
    """A VM not found by name or cloud.vm.internal.name may be registered under another name: say so.

    The .vmx path and the annotation are in the inventory read, or read once for all VMs when that read left them
    out; extraConfig is read (once, for all VMs) only when they find nothing and the client can read it.
    """
    missing = [(facts, problems) for facts, problems in results if facts.matches == 0 and facts.ref_type == "instance_name"]
    if not missing:
        return
    clues = _vm_clues(client, index, datacenter)
    extra_config = None
    for facts, problems in missing:
        found = index.registered_elsewhere(facts.ref, clues=clues)
        if not found and extra_config is None and hasattr(client, "read_extra_config"):
            try:
                extra_config = client.read_extra_config(INTERNAL_NAME_FIELD, datacenter) or {}
            except (VCenterError, WaitTimeout):
                extra_config = {}
        if not found and extra_config:
            found = index.registered_elsewhere(facts.ref, extra_config, clues)
        if found:
            facts.registered_as = [{"name": item["vm"].get("name"), "moid": item["vm"].get("moid"), "by": item["by"],
                                    "vmx_path": item["vm"].get("vmx_path")} for item in found]
            problems[0] = _registered_as_problem(facts)


def _vm_clues(client, index, datacenter):
    """The .vmx paths and notes of every VM, read now when the inventory read left them out (None: it has them, or
    they could not be read; a VM registered under another name is then found by extraConfig alone)."""
    if index.vm_clues or not hasattr(client, "read_vm_clues"):
        return None
    try:
        return client.read_vm_clues(datacenter)
    except (VCenterError, WaitTimeout):
        return None


def _registered_as_problem(facts):
    ref = facts.ref
    names = ", ".join("%s (%s, found by %s)" % (item["name"], item["moid"], item["by"]) for item in facts.registered_as)
    first = facts.registered_as[0]["name"]
    return Problem(problem_codes.VM_REGISTERED_AS_OTHER_NAME, ref, "%s is registered in vCenter as %s, a name CloudStack does not look for (it finds "
                   "VMs by name or by the custom attribute %s): rename the VM %s back to %s in vCenter, or set its custom "
                   "attribute %s to %s, then run again" % (ref, names, INTERNAL_NAME_FIELD, first, ref, INTERNAL_NAME_FIELD, ref),
                   {"registered_as": [dict(item) for item in facts.registered_as]})


def _vm_state_problems(expectation, vm):
    problems = []
    state = vm.get("connection_state")
    if state != CONNECTED:
        problems.append(Problem(problem_codes.VM_NOT_CONNECTED, expectation.ref, "%s (%s) is %s in vCenter, not connected: vCenter cannot act "
                                "on it; fix the VM (re-register it or reconnect its host) first" % (expectation.ref, vm["moid"], state),
                                {"connection_state": state}))
    wanted = expectation.power_state
    if wanted and (vm.get("power_state") or "").lower() != wanted.lower():
        problems.append(Problem(problem_codes.POWER_STATE_MISMATCH, expectation.ref, "%s is %s, expected %s" % (
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
            problems.append(Problem(problem_codes.DISK_ON_OTHER_DATASTORE, expectation.ref, "disk %s of %s is on datastore %s, expected %s" % (
                disk_facts.file, expectation.ref, disk_facts.datastore, " or ".join(disk_expectation.datastores)),
                {"disk": disk_expectation.path, "file": disk_facts.file, "datastore": disk_facts.datastore,
                 "expected": list(disk_expectation.datastores)}))
        if datastore and datastore["moid"] not in datastores_seen:
            datastores_seen.add(datastore["moid"])
            problems.extend(_datastore_problems(expectation.ref, datastore))
    if expectation.disks and (vm.get("has_snapshots") or on_delta):
        problems.append(Problem(problem_codes.VM_HAS_SNAPSHOTS, expectation.ref, "%s has VM snapshots (its disks are delta disks): delete or "
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
            problems.append(Problem(problem_codes.DESTINATION_DATASTORE_NOT_FOUND, expectation.ref, "the destination datastore %s of disk %s of %s is "
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
            problems.append(Problem(problem_codes.DESTINATION_DATASTORE_INACCESSIBLE, expectation.ref, "the destination datastore %s of disk %s of %s "
                                    "is not accessible" % (name, disk_facts.file, expectation.ref), dict(base)))
        mode = datastore.get("maintenance_mode") or NORMAL_MODE
        if mode != NORMAL_MODE:
            problems.append(Problem(problem_codes.DESTINATION_DATASTORE_IN_MAINTENANCE, expectation.ref, "the destination datastore %s of disk %s of "
                                    "%s is in maintenance mode (%s)" % (name, disk_facts.file, expectation.ref, mode),
                                    dict(base, maintenance_mode=mode)))
        why = _not_mounted_reason(datastore, vm, index)
        if why:
            problems.append(Problem(problem_codes.DESTINATION_DATASTORE_NOT_MOUNTED, expectation.ref, "the destination datastore %s of disk %s of %s "
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


def _attached_disk(vm, path):
    """The attached disk whose current file, or a file of its delta chain, is exactly ``path``."""
    for disk in vm.get("disks") or []:
        if any(disk_matches(path, candidate) for candidate in [disk.get("file")] + list(disk.get("parent_files") or [])):
            return disk
    return None


def _not_attached(ref, vm, path):
    attached = [disk.get("file") for disk in vm.get("disks") or []]
    return Problem(problem_codes.DISK_NOT_ATTACHED, ref, "%s has no disk %s attached (exact file name match); its disks are: %s" % (
        ref, disk_file_name(path) if not path.startswith("[") else path, ", ".join(attached) or "none"),
        {"disk": path, "attached": attached})


def _datastore_problems(ref, datastore):
    problems = []
    name = datastore.get("name")
    if datastore.get("accessible") is False:
        problems.append(Problem(problem_codes.DATASTORE_INACCESSIBLE, ref, "datastore %s of %s is not accessible" % (name, ref), {"datastore": name}))
    mode = datastore.get("maintenance_mode") or NORMAL_MODE
    if mode != NORMAL_MODE:
        problems.append(Problem(problem_codes.DATASTORE_IN_MAINTENANCE, ref, "datastore %s of %s is in maintenance mode (%s)" % (name, ref, mode),
                                {"datastore": name, "maintenance_mode": mode}))
    return problems
