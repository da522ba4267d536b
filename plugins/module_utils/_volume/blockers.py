# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What stops a migration, found in vCenter: the blockers of an attached volume's disk (the inventory's problems,
power-state drift, an unconfirmed file) and of a detached volume's file (the datastore searches of both pools).
Each blocker says what to do about it."""

from __future__ import annotations

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common import problems as problem_codes
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._cloudstack.records import (
    pool_datastore_name,
    pool_datastores,
    volume_label,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.options import LIVE_OPTION, option_text


class Blocker:
    """One reason not to migrate, with what to do about it."""

    def __init__(self, code, message, facts=None):
        self.code = problem_codes.known(code)
        self.message = message
        self.facts = dict(facts or {})

    def as_dict(self):
        return {"code": self.code, "message": self.message, "facts": dict(self.facts)}


def disk_blockers(disk, volume=None, vm=None, source_pool=None, destination=None, allow_live=False):
    """The blockers vCenter gives an attached volume's disk (``disk``: what the locator found)."""
    context = _Context(volume or {}, vm or {}, disk, source_pool, destination)
    blockers = [_vcenter_blocker(context, issue) for issue in disk.issues]
    drift = _power_drift(context, allow_live)
    if drift is not None:
        blockers.append(drift)
    if not blockers and not disk.confirmed:
        blockers.append(Blocker(problem_codes.DISK_UNCONFIRMED, "vCenter could not confirm that the disk file %s exists on datastore "
                                "%s (the datastore could not be searched); check the datastore" % (disk.file, disk.datastore)))
    return blockers


def detached_disk_blockers(location, volume, source_pool, destination):
    """What stops the migration of a detached volume, from the datastore searches of both pools."""
    file_name = location.file_name
    source_ids, destination_ids = pool_datastores(source_pool), pool_datastores(destination)
    source_text = "datastore %s of pool %s" % (pool_datastore_name(source_pool), source_pool.get("name"))
    destination_text = "datastore %s of pool %s" % (pool_datastore_name(destination), destination.get("name"))
    on_source, on_destination = location.on(source_ids), location.on(destination_ids)
    blockers = []
    if len(on_source) > 1:
        blockers.append(Blocker(problem_codes.DETACHED_FILE_AMBIGUOUS, "the file %s of detached volume %s is in %d places on %s (%s); "
                                "keep one and run again" % (file_name, volume_label(volume), len(on_source), source_text,
                                                            ", ".join(on_source))))
    elif not on_source and not location.searched_all(source_ids):
        reasons = "; ".join("%s: %s" % item for item in sorted(location.not_searched.items())) or "no such datastore in vCenter"
        blockers.append(Blocker(problem_codes.DISK_UNCONFIRMED, "vCenter could not confirm that the file %s of detached volume %s is on "
                                "%s: the datastore could not be searched (%s); check the datastore"
                                % (file_name, volume_label(volume), source_text, reasons)))
    elif not on_source:
        elsewhere = " It was found at %s: repair the record first (updateVolume)." % ", ".join(location.found) if location.found else ""
        blockers.append(Blocker(problem_codes.DETACHED_FILE_MISSING, "the file %s of detached volume %s is not on %s, where CloudStack "
                                "says it is.%s" % (file_name, volume_label(volume), source_text, elsewhere)))
    if on_destination:
        blockers.append(Blocker(problem_codes.DESTINATION_FILE_EXISTS, "a file %s is already on %s (%s): the copy would fail or "
                                "overwrite it; find out whose it is and move it away first"
                                % (file_name, destination_text, ", ".join(on_destination))))
    elif not location.searched_all(destination_ids):
        blockers.append(Blocker(problem_codes.DESTINATION_UNSEARCHABLE, "%s cannot be searched (%s), so the copy could not be "
                                "confirmed after the job; make the datastore accessible first"
                                % (destination_text, "; ".join("%s: %s" % item for item in sorted(location.not_searched.items()))
                                   or "no such datastore in vCenter")))
    return blockers


# vCenter blockers of the preflight (destination datastore, power state, stale file, VM under another name): the
# inventory problems whose blocker message names the pools, the datastores and both VM names
DESTINATION_BLOCKERS = (
    problem_codes.DESTINATION_DATASTORE_NOT_FOUND,
    problem_codes.DESTINATION_DATASTORE_INACCESSIBLE,
    problem_codes.DESTINATION_DATASTORE_IN_MAINTENANCE,
    problem_codes.DESTINATION_DATASTORE_NOT_MOUNTED,
    problem_codes.DESTINATION_FILE_EXISTS,
    problem_codes.DESTINATION_FILE_UNVERIFIED,
)
_PREFLIGHT_WORDED = DESTINATION_BLOCKERS + (problem_codes.VM_REGISTERED_AS_OTHER_NAME,)
VCENTER_POWERED_ON = "poweredOn"
CLOUDSTACK_OFF_STATES = ("Stopped", "Shutdown")


class _Context:
    """What the messages of the vCenter blockers name: pools by name and datastore, the VM by both its names."""

    def __init__(self, volume, vm, disk, source_pool, destination):
        self.volume, self.vm, self.disk = volume, vm, disk
        self.source_pool, self.destination = source_pool, destination

    def vm_text(self):
        name, instance = self.vm.get("name"), self.vm.get("instancename")
        vcenter_name = getattr(self.disk, "vm_name", None)
        cloudstack = "%s (%s)" % (name, instance) if name and instance and name != instance else (name or instance or "?")
        if vcenter_name:
            return "VM %s, in vCenter %s" % (cloudstack, vcenter_name)
        return "VM %s" % cloudstack

    def destination_text(self):
        pool = self.destination or {}
        datastore = (getattr(self.disk, "destination", None) or {}).get("datastore") or pool_datastore_name(pool)
        return "destination pool %s (datastore %s)" % (pool.get("name") or pool.get("id"), datastore)

    def source_text(self):
        pool = self.source_pool or {}
        datastore = getattr(self.disk, "datastore", None) or (pool_datastore_name(pool) if pool.get("id") else None)
        return "source pool %s (datastore %s)" % (pool.get("name") or self.volume.get("storage") or pool.get("id"), datastore)

    def volume_text(self):
        return "volume %s" % (volume_label(self.volume) if self.volume.get("id") else self.volume.get("name"))


def _vcenter_blocker(context, issue):
    """A blocker from an inventory problem, with its code and facts: a message naming the pools, the datastores and
    both VM names for the problems the preflight adds, the inventory's own message for the others."""
    code, facts = issue.get("code"), dict(issue.get("facts") or {})
    if code not in _PREFLIGHT_WORDED:
        return Blocker(code, "vCenter: %s" % issue.get("message"), facts)
    return Blocker(code, _preflight_text(context, code, facts), facts)


def _preflight_text(context, code, facts):
    """The message of a blocker the preflight words itself."""
    where = "%s of %s" % (context.volume_text(), context.vm_text())
    if code == problem_codes.VM_REGISTERED_AS_OTHER_NAME:
        found = facts.get("registered_as") or []
        names = ", ".join("%s (%s, found by %s)" % (item.get("name"), item.get("moid"), item.get("by")) for item in found)
        first = found[0].get("name") if found else "?"
        instance = context.vm.get("instancename")
        return ("%s on %s: the VM is registered in vCenter as %s, not under its instance name %s, and CloudStack finds VMs "
                "only by name or by the custom attribute cloud.vm.internal.name, so the migration would fail (the VM does "
                "not exist for it): rename %s back to %s in vCenter (or set its custom attribute cloud.vm.internal.name to "
                "%s), then run again" % (where, context.source_text(), names, instance, first, instance, instance))
    target = context.destination_text()
    if code == problem_codes.DESTINATION_DATASTORE_NOT_FOUND:
        return ("%s: the %s is not in the vCenter inventory (no datastore named %s): check the pool's datastore in "
                "vCenter, or choose another pool" % (where, target, facts.get("datastore")))
    if code == problem_codes.DESTINATION_DATASTORE_INACCESSIBLE:
        return ("%s: the %s is not accessible in vCenter: make the datastore accessible again (check its storage and the "
                "hosts' connection to it), or choose another pool" % (where, target))
    if code == problem_codes.DESTINATION_DATASTORE_IN_MAINTENANCE:
        return ("%s: the %s is in maintenance mode in vCenter (%s): end the datastore's maintenance, or choose another "
                "pool" % (where, target, facts.get("maintenance_mode")))
    if code == problem_codes.DESTINATION_DATASTORE_NOT_MOUNTED:
        return ("%s: the %s is not usable from the VM's host %s (%s): mount the datastore on host %s, or choose a pool "
                "mounted there" % (where, target, facts.get("host"), facts.get("reason"), facts.get("host")))
    if code == problem_codes.DESTINATION_FILE_EXISTS:
        copies = [path for path in facts.get("copies") or [] if path != facts.get("existing")]
        return ("%s: a file already exists at the destination path %s on the %s. It is a stale copy (of an earlier "
                "migration?): the VM's disk is the attached one, %s on the %s%s. The migration would fail with "
                "FileAlreadyExists: check that nothing uses the stale file, then remove or rename it (vCenter's datastore "
                "browser), then run again" % (
                    where, facts.get("existing"), target, facts.get("file"), context.source_text(),
                    "; other files of that name on the destination: %s" % ", ".join(copies) if copies else ""))
    return ("%s: vCenter could not prove that the destination path on the %s is free (%s): nothing proves the migration "
            "would not fail with FileAlreadyExists; fix the cause, then run again" % (where, target, facts.get("reason")))


def _power_drift(context, allow_live):
    """vCenter's power state against CloudStack's: a disagreement is drift, and blocks (positive evidence only:
    an unknown vCenter power state is no drift)."""
    disk, vm = context.disk, context.vm
    vcenter_state = getattr(disk, "power_state", None)
    if not getattr(disk, "vm_found", False) or not vcenter_state or not vm:
        return None
    cloudstack_state = vm.get("state")
    where = "%s of %s" % (context.volume_text(), context.vm_text())
    if cloudstack_state in CLOUDSTACK_OFF_STATES and vcenter_state == VCENTER_POWERED_ON:
        if allow_live:
            todo = ("CloudStack would migrate it as a stopped VM (not live) while it runs: power the VM off in vCenter, or "
                    "let CloudStack see it Running (start it in CloudStack), then run again")
        else:
            todo = ("a storage vMotion of a running VM needs live migration allowed, and it is not (%s is false): power the "
                    "VM off in vCenter, or let CloudStack see it Running and set %s, then run again"
                    % (option_text(LIVE_OPTION), option_text(LIVE_OPTION, "true")))
        return Blocker(problem_codes.POWER_STATE_DRIFT, "%s: drift between CloudStack and vCenter: CloudStack says %s, vCenter says "
                       "poweredOn; %s" % (where, cloudstack_state, todo))
    if cloudstack_state == "Running" and vcenter_state != VCENTER_POWERED_ON:
        return Blocker(problem_codes.POWER_STATE_DRIFT, "%s: drift between CloudStack and vCenter: CloudStack says Running, vCenter says "
                       "%s; CloudStack would ask for a live migration of a VM that is not running: make both agree (power "
                       "the VM on in vCenter, or stop it in CloudStack), then run again" % (where, vcenter_state))
    return None
