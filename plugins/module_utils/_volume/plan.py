# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan and preflight of one volume migration: read-only, computed before any change.

Resolves the volume, its VM and the destination pool in CloudStack, locates the
volume's disk in vCenter, and lists every blocker with what to do about it.
"""

from __future__ import annotations

import re

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import (
    InvalidInput,
    PreflightFailed,
    UnsafeOperation,
)

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
MIGRATABLE_VM_STATES = ("Stopped", "Running", "Shutdown")
NFS_POOL_TYPES = ("NetworkFilesystem",)
LIVE_OPTION = "allow_live_migration"
POLICY_OPTION = "on_false_success"
# The variable a playbook user sets for each module option (playbooks/*.yml, roles/*/defaults).
PLAYBOOK_VARIABLES = {
    LIVE_OPTION: "safe_migration_allow_live_migration",
    POLICY_OPTION: "safe_migration_on_false_success",
    "job_timeout": "safe_migration_job_timeout",
    "poll_interval": "safe_migration_poll_interval",
    "concurrency": "safe_migration_concurrency",
    "journal_path": "safe_migration_journal_path",
}


def option_text(option, value=None):
    """``option=value (playbook: safe_migration_option)``: how both a module user and a playbook user set it."""
    setting = option if value is None else "%s=%s" % (option, value)
    variable = PLAYBOOK_VARIABLES.get(option)
    return "%s (playbook: %s)" % (setting, variable) if variable else setting


def is_uuid(value):
    return bool(value) and bool(UUID_RE.match(str(value)))


def pool_datastores(pool):
    """Datastore identities (name or cloud.uuid) that back a pool (reference section 4.3)."""
    pool_id = pool["id"]
    identities = [pool_id.replace("-", ""), pool_id]
    path = (pool.get("path") or "").rstrip("/")
    if pool.get("type") not in NFS_POOL_TYPES and path:
        identities.append(path.rsplit("/", 1)[-1])
    return identities


def pool_datastore_name(pool):
    """The datastore name CloudStack gives a pool: the dash-less uuid (NFS), else the last part of the path."""
    return pool_datastores(pool)[-1] if pool.get("type") not in NFS_POOL_TYPES else pool_datastores(pool)[0]


def expected_path(datastore_path, datastore):
    """Where a disk at ``datastore_path`` ("[ds] dir/file.vmdk") lands on ``datastore``: same folder and file."""
    if not datastore_path or "] " not in datastore_path:
        return None
    return "[%s] %s" % (datastore, datastore_path.split("] ", 1)[1])


class Blocker:
    """One reason not to migrate, with what to do about it."""

    def __init__(self, code, message):
        self.code = code
        self.message = message

    def as_dict(self):
        return {"code": self.code, "message": self.message}


class MigrationPlan:
    """Everything known before a change: the facts, the action and the blockers."""

    def __init__(self, volume, vm, source_pool, destination, live, disk, blockers):
        self.volume = volume
        self.vm = vm
        self.source_pool = source_pool
        self.destination = destination
        self.live = live
        self.disk = disk
        self.blockers = blockers

    @property
    def already_there(self):
        return self.volume.get("storageid") == self.destination["id"]

    @property
    def action(self):
        if self.blockers:
            return "none"
        return "verify_only" if self.already_there else "migrate"

    def essentials(self):
        """What verification and restore need, as stored in the journal before submission."""
        return {
            "volume_id": self.volume["id"],
            "volume_name": self.volume.get("name"),
            "zone_id": self.volume.get("zoneid"),
            "instance_name": (self.vm or {}).get("instancename"),
            "source": {"pool_id": (self.source_pool or {}).get("id") or self.volume.get("storageid"),
                       "pool_name": self.volume.get("storage"),
                       "path": self.volume.get("path"),
                       "datastores": pool_datastores(self.source_pool) if self.source_pool else [],
                       "datastore_path": self.disk.file if self.disk else None},
            "destination": {"pool_id": self.destination["id"], "pool_name": self.destination.get("name"),
                            "datastores": pool_datastores(self.destination),
                            "datastore": pool_datastore_name(self.destination),
                            "expected_datastore_path": expected_path(self.disk.file if self.disk else None,
                                                                     pool_datastore_name(self.destination))},
            "live": self.live,
        }

    def as_dict(self):
        plan = self.essentials()
        plan.update({
            "action": self.action,
            "volume_state": self.volume.get("state"),
            "vm": {"id": (self.vm or {}).get("id"), "name": (self.vm or {}).get("name"),
                   "state": (self.vm or {}).get("state")} if self.vm else None,
            "vcenter": self.disk.as_dict() if self.disk else None,
            "blockers": [blocker.as_dict() for blocker in self.blockers],
        })
        return plan

    def raise_blockers(self):
        """Stop before any change when something blocks the migration."""
        if not self.blockers:
            return
        facts = dict(volume_id=self.volume["id"], blockers=[blocker.as_dict() for blocker in self.blockers], plan=self.as_dict())
        text = "; ".join(blocker.message for blocker in self.blockers)
        if all(blocker.code == "live_migration_not_allowed" for blocker in self.blockers):
            raise UnsafeOperation(text, **facts)
        raise PreflightFailed("Preflight of volume %s failed, nothing was changed: %s" % (_label(self.volume), text), **facts)


class Planner:
    """Builds a ``MigrationPlan`` from CloudStack and vCenter reads; never changes anything."""

    def __init__(self, cloudstack, vcenter, allow_live_migration=False):
        self._cs = cloudstack
        self._vcenter = vcenter
        self._allow_live = allow_live_migration

    def resolve(self, request):
        """The volume record and the destination pool named by a request."""
        volume = self.resolve_volume(request)
        destination = self._resolve_pool(request.destination, volume.get("zoneid"))
        return volume, destination

    def plan(self, volume, destination):
        if not volume.get("virtualmachineid"):
            return self._plan_detached(volume, destination)
        vm = self._cs.get_virtual_machine(volume["virtualmachineid"]) if volume.get("virtualmachineid") else None
        source_pool = self._cs.get_storage_pool(volume["storageid"]) if volume.get("storageid") else None
        live = bool(vm and vm.get("state") == "Running")
        if volume.get("storageid") == destination["id"]:
            # Idempotence: the service compares this record with vCenter; nothing is planned.
            disk = self._locate(vm, volume, destination) if vm and volume.get("path") else None
            return MigrationPlan(volume, vm, source_pool, destination, live, disk, [])
        blockers = self._volume_blockers(volume) + self._vm_blockers(volume, vm, live)
        disk = None
        at_destination = []
        if vm and source_pool and not blockers:
            disk = self._locate_for_migration(vm, volume, source_pool, destination)
            for blocker in self._disk_blockers(disk, volume, vm, source_pool, destination):
                (at_destination if blocker.code in _DESTINATION_BLOCKERS else blockers).append(blocker)
        if not blockers:
            blockers += self._pool_blockers(volume, destination)
        # CloudStack's view of the destination, then vCenter's: every reason is listed
        blockers += at_destination
        return MigrationPlan(volume, vm, source_pool, destination, live, disk, blockers)

    def _locate(self, vm, volume, pool):
        return self._vcenter.locate(vm.get("instancename"), volume.get("path"), pool_datastores(pool))

    def _locate_for_migration(self, vm, volume, source_pool, destination):
        """The disk on the source pool, and the destination checked in vCenter (a locator without that check: the disk only)."""
        locate = getattr(self._vcenter, "locate_for_migration", None)
        if locate is None:
            return self._locate(vm, volume, source_pool)
        return locate(vm.get("instancename"), volume.get("path"), pool_datastores(source_pool), pool_datastores(destination))

    # ---- resolution ----------------------------------------------------------------------------
    def resolve_volume(self, request):
        if is_uuid(request.volume):
            volume = self._cs.get_volume(request.volume)
            if volume is None:
                raise PreflightFailed("Volume %s was not found in CloudStack; check the volume id" % request.volume,
                                      volume=request.volume)
            return volume
        candidates = [vol for vol in self._cs.list_volumes(name=request.volume) if vol.get("name") == request.volume]
        candidates = [vol for vol in candidates if _matches(vol, request)]
        if not candidates:
            raise PreflightFailed("Volume %s%s was not found in CloudStack: check the name, or give the volume's UUID"
                                  % (request.volume, _scope_text(request)), volume=request.volume)
        if len(candidates) > 1:
            listed = ", ".join("%s (vm %s, zone %s, account %s)" % (
                vol["id"], vol.get("vmname") or "-", vol.get("zonename"), vol.get("account")) for vol in candidates)
            raise InvalidInput("Volume name %s is ambiguous: %d volumes match: %s. Give the volume's UUID, or vm, zone or "
                               "account to choose one" % (request.volume, len(candidates), listed),
                               volume=request.volume, candidates=[vol["id"] for vol in candidates])
        return candidates[0]

    def _resolve_pool(self, reference, zone_id):
        if is_uuid(reference):
            pool = self._cs.get_storage_pool(reference)
            if pool is None:
                raise PreflightFailed("Destination storage pool %s was not found in CloudStack; check the pool id" % reference,
                                      destination=reference)
            return pool
        pools = [pool for pool in self._cs.list_storage_pools(name=reference) if pool.get("name") == reference]
        in_zone = [pool for pool in pools if pool.get("zoneid") == zone_id]
        pools = in_zone or pools
        if not pools:
            raise PreflightFailed("Destination storage pool %s was not found in CloudStack: check the name, or give the "
                                  "pool's UUID" % reference, destination=reference)
        if len(pools) > 1:
            raise InvalidInput("Destination storage pool name %s is ambiguous: %s; give the pool's UUID"
                               % (reference, ", ".join(pool["id"] for pool in pools)),
                               destination=reference, candidates=[pool["id"] for pool in pools])
        return pools[0]

    # ---- checks --------------------------------------------------------------------------------
    def _volume_blockers(self, volume):
        blockers = []
        if volume.get("jobid") and volume.get("jobstatus") in (0, "0", None):
            blockers.append(Blocker("job_pending", "CloudStack job %s is still running on the volume; wait for it to end"
                                    % volume["jobid"]))
        if volume.get("state") == "Migrating" and volume.get("jobid"):
            blockers.append(Blocker("already_migrating", "the volume is already migrating; wait for that migration to end"))
        elif volume.get("state") == "Migrating":
            blockers.append(Blocker("stuck_migrating", "the volume is Migrating but no CloudStack job runs on it (a migration cut "
                                    "off by a management server restart?): check in vCenter where its disk is, then set the "
                                    "record's state back to Ready with updateVolume"))
        elif volume.get("state") != "Ready":
            blockers.append(Blocker("volume_not_ready", "the volume is %s, not Ready" % volume.get("state")))
        if volume.get("hypervisor") and volume["hypervisor"] != "VMware":
            blockers.append(Blocker("not_vmware", "the volume is on %s, not VMware" % volume["hypervisor"]))
        if not volume.get("path"):
            blockers.append(Blocker("no_path", "CloudStack has no path for the volume (an earlier false success?): set %s "
                                    "to repair the record from what vCenter shows, then migrate; or repair the record "
                                    "first (cs_volume_record_sync)" % option_text(POLICY_OPTION, "restore")))
        return blockers

    def _plan_detached(self, volume, destination):
        """A volume without a VM: its file is located by datastore searches of both pools (no VM to ask)."""
        source_pool = self._cs.get_storage_pool(volume["storageid"]) if volume.get("storageid") else None
        if volume.get("storageid") == destination["id"]:
            # Idempotence: the verifier searches the datastores and compares them with this record.
            return DetachedMigrationPlan(volume, source_pool, destination, None, None, [])
        blockers = self._volume_blockers(volume)
        location = disk = None
        if source_pool is None and not blockers:
            blockers.append(Blocker("no_source_pool", "CloudStack gives no storage pool for the volume, so its file cannot "
                                    "be looked for; repair the record first"))
        if not blockers:
            source_ids = pool_datastores(source_pool)
            location = self._vcenter.locate_detached(volume["path"], source_ids + pool_datastores(destination))
            disk = location.side(source_ids)
            blockers += detached_disk_blockers(location, volume, source_pool, destination)
        if not blockers:
            blockers += self._pool_blockers(volume, destination)
        return DetachedMigrationPlan(volume, source_pool, destination, disk, location, blockers)

    def _vm_blockers(self, volume, vm, live):
        if vm is None:
            return []
        if vm.get("state") not in MIGRATABLE_VM_STATES:
            return [Blocker("vm_state", "VM %s is %s; migration needs it Stopped, Running or Shutdown" % (vm.get("name"), vm.get("state")))]
        if live and not self._allow_live:
            return [Blocker("live_migration_not_allowed", "Volume %s is attached to running VM %s: set %s to migrate it "
                            "live, or stop the VM" % (_label(volume), vm.get("name"), option_text(LIVE_OPTION, "true")))]
        return []

    def _disk_blockers(self, disk, volume=None, vm=None, source_pool=None, destination=None):
        context = _Context(volume or {}, vm or {}, disk, source_pool, destination)
        issues = list(getattr(disk, "issues", None) or [])
        if issues:
            blockers = [_vcenter_blocker(context, issue) for issue in issues]
        else:
            blockers = [Blocker("vcenter", "vCenter: %s" % problem) for problem in disk.problems]
        drift = _power_drift(context, self._allow_live)
        if drift is not None:
            blockers.append(drift)
        if not blockers and not disk.confirmed:
            blockers.append(Blocker("disk_unconfirmed", "vCenter could not confirm that the disk file %s exists on datastore "
                                    "%s (the datastore could not be searched); check the datastore" % (disk.file, disk.datastore)))
        return blockers

    def _pool_blockers(self, volume, destination):
        name = destination.get("name")
        blockers = []
        if destination.get("state") != "Up":
            blockers.append(Blocker("pool_not_up", "destination pool %s is %s, not Up; choose another pool or end its "
                                    "maintenance" % (name, destination.get("state"))))
        if volume.get("zoneid") and destination.get("zoneid") and destination["zoneid"] != volume["zoneid"]:
            blockers.append(Blocker("other_zone", "destination pool %s is in zone %s, the volume in zone %s"
                                    % (name, destination.get("zonename"), volume.get("zonename"))))
        if blockers:
            return blockers
        candidates = {pool["id"]: pool for pool in self._cs.find_storage_pools_for_migration(volume["id"])}
        candidate = candidates.get(destination["id"])
        if candidate is None or not _truthy(candidate.get("suitableformigration", True)):
            blockers.append(Blocker("pool_unsuitable", "CloudStack does not report pool %s as suitable for this volume "
                                    "(findStoragePoolsForMigration); choose a suitable pool" % name))
        free = _free_bytes(destination)
        if free is not None and volume.get("size") and free < int(volume["size"]):
            blockers.append(Blocker("pool_full", "destination pool %s has %s free, the volume needs %s; choose a pool with room"
                                    % (name, _size_text(max(0, free)), _size_text(int(volume["size"])))))
        return blockers


class DetachedMigrationPlan(MigrationPlan):
    """The plan of a volume without a VM: no VM, never live; the file located by datastore searches.

    ``disk`` is the ``DetachedDisk`` of the source pool, ``location`` every search made (both pools).
    """

    def __init__(self, volume, source_pool, destination, disk, location, blockers):
        super().__init__(volume, None, source_pool, destination, False, disk, blockers)
        self.location = location

    def essentials(self):
        essentials = super().essentials()
        essentials["detached"] = True
        return essentials

    def as_dict(self):
        plan = super().as_dict()
        plan["searches"] = self.location.as_dict() if self.location else None
        return plan


def detached_disk_blockers(location, volume, source_pool, destination):
    """What stops the migration of a detached volume, from the datastore searches of both pools."""
    file_name = location.file_name
    source_ids, destination_ids = pool_datastores(source_pool), pool_datastores(destination)
    source_text = "datastore %s of pool %s" % (pool_datastore_name(source_pool), source_pool.get("name"))
    destination_text = "datastore %s of pool %s" % (pool_datastore_name(destination), destination.get("name"))
    on_source, on_destination = location.on(source_ids), location.on(destination_ids)
    blockers = []
    if len(on_source) > 1:
        blockers.append(Blocker("detached_file_ambiguous", "the file %s of detached volume %s is in %d places on %s (%s); "
                                "keep one and run again" % (file_name, _label(volume), len(on_source), source_text,
                                                            ", ".join(on_source))))
    elif not on_source and not location.searched_all(source_ids):
        reasons = "; ".join("%s: %s" % item for item in sorted(location.not_searched.items())) or "no such datastore in vCenter"
        blockers.append(Blocker("disk_unconfirmed", "vCenter could not confirm that the file %s of detached volume %s is on "
                                "%s: the datastore could not be searched (%s); check the datastore"
                                % (file_name, _label(volume), source_text, reasons)))
    elif not on_source:
        elsewhere = " It was found at %s: repair the record first (updateVolume)." % ", ".join(location.found) if location.found else ""
        blockers.append(Blocker("detached_file_missing", "the file %s of detached volume %s is not on %s, where CloudStack "
                                "says it is.%s" % (file_name, _label(volume), source_text, elsewhere)))
    if on_destination:
        blockers.append(Blocker("destination_file_exists", "a file %s is already on %s (%s): the copy would fail or "
                                "overwrite it; find out whose it is and move it away first"
                                % (file_name, destination_text, ", ".join(on_destination))))
    elif not location.searched_all(destination_ids):
        blockers.append(Blocker("destination_unsearchable", "%s cannot be searched (%s), so the copy could not be "
                                "confirmed after the job; make the datastore accessible first"
                                % (destination_text, "; ".join("%s: %s" % item for item in sorted(location.not_searched.items()))
                                   or "no such datastore in vCenter")))
    return blockers


# ---- vCenter blockers of the preflight (destination datastore, power state, stale file, VM under another name) ----------
# problem codes of vcenter_inventory that become blockers of their own code (others keep the code "vcenter")
_OWN_CODE = {
    "destination_datastore_not_found": "destination_datastore_not_found",
    "destination_datastore_inaccessible": "destination_datastore_inaccessible",
    "destination_datastore_in_maintenance": "destination_datastore_in_maintenance",
    "destination_datastore_not_mounted": "destination_datastore_not_mounted",
    "destination_file_exists": "destination_file_exists",
    "destination_file_unverified": "destination_file_unverified",
    "vm_registered_as_other_name": "vm_registered_as_other_name",
}
_DESTINATION_BLOCKERS = tuple(code for code in _OWN_CODE if code.startswith("destination_"))
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
        return "volume %s" % (_label(self.volume) if self.volume.get("id") else self.volume.get("name"))


def _vcenter_blocker(context, issue):
    """A blocker from an inventory problem: its own code and a message naming the pools, the datastores and both VM
    names for the problems the preflight adds; the inventory's message (code "vcenter") for the others."""
    code = _OWN_CODE.get(issue.get("code"))
    if code is None:
        return Blocker("vcenter", "vCenter: %s" % issue.get("message"))
    facts = issue.get("facts") or {}
    where = "%s of %s" % (context.volume_text(), context.vm_text())
    if code == "vm_registered_as_other_name":
        found = facts.get("registered_as") or []
        names = ", ".join("%s (%s, found by %s)" % (item.get("name"), item.get("moid"), item.get("by")) for item in found)
        first = found[0].get("name") if found else "?"
        instance = context.vm.get("instancename")
        return Blocker(code, "%s on %s: the VM is registered in vCenter as %s, not under its instance name %s, and CloudStack "
                       "finds VMs only by name or by the custom attribute cloud.vm.internal.name, so the migration would fail "
                       "(the VM does not exist for it): rename %s back to %s in vCenter (or set its custom attribute "
                       "cloud.vm.internal.name to %s), then run again" % (
                           where, context.source_text(), names, instance, first, instance, instance))
    target = context.destination_text()
    if code == "destination_datastore_not_found":
        return Blocker(code, "%s: the %s is not in the vCenter inventory (no datastore named %s): check the pool's "
                       "datastore in vCenter, or choose another pool" % (where, target, facts.get("datastore")))
    if code == "destination_datastore_inaccessible":
        return Blocker(code, "%s: the %s is not accessible in vCenter: make the datastore accessible again (check its "
                       "storage and the hosts' connection to it), or choose another pool" % (where, target))
    if code == "destination_datastore_in_maintenance":
        return Blocker(code, "%s: the %s is in maintenance mode in vCenter (%s): end the datastore's maintenance, or choose "
                       "another pool" % (where, target, facts.get("maintenance_mode")))
    if code == "destination_datastore_not_mounted":
        return Blocker(code, "%s: the %s is not usable from the VM's host %s (%s): mount the datastore on host %s, or "
                       "choose a pool mounted there" % (where, target, facts.get("host"), facts.get("reason"), facts.get("host")))
    if code == "destination_file_exists":
        copies = [path for path in facts.get("copies") or [] if path != facts.get("existing")]
        return Blocker(code, "%s: a file already exists at the destination path %s on the %s. It is a stale copy (of an "
                       "earlier migration?): the VM's disk is the attached one, %s on the %s%s. The migration would fail with "
                       "FileAlreadyExists: check that nothing uses the stale file, then remove or rename it (vCenter's "
                       "datastore browser), then run again" % (
                           where, facts.get("existing"), target, facts.get("file"), context.source_text(),
                           "; other files of that name on the destination: %s" % ", ".join(copies) if copies else ""))
    return Blocker(code, "%s: vCenter could not prove that the destination path on the %s is free (%s): nothing proves the "
                   "migration would not fail with FileAlreadyExists; fix the cause, then run again" % (
                       where, target, facts.get("reason")))


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
        return Blocker("power_state_drift", "%s: drift between CloudStack and vCenter: CloudStack says %s, vCenter says "
                       "poweredOn; %s" % (where, cloudstack_state, todo))
    if cloudstack_state == "Running" and vcenter_state != VCENTER_POWERED_ON:
        return Blocker("power_state_drift", "%s: drift between CloudStack and vCenter: CloudStack says Running, vCenter says "
                       "%s; CloudStack would ask for a live migration of a VM that is not running: make both agree (power "
                       "the VM on in vCenter, or stop it in CloudStack), then run again" % (where, vcenter_state))
    return None


def _free_bytes(pool):
    total = pool.get("disksizetotal")
    if total is None:
        return None
    used = max(int(pool.get("disksizeallocated") or 0), int(pool.get("disksizeused") or 0))
    return int(float(total) * float(pool.get("overprovisionfactor") or 1)) - used


def _size_text(size):
    return "%.1f GiB" % (size / 1024.0 ** 3)


def _truthy(value):
    return value is True or str(value).lower() == "true"


def _matches(volume, request):
    if request.vm and request.vm not in (volume.get("virtualmachineid"), volume.get("vmname")):
        return False
    if request.zone and request.zone not in (volume.get("zoneid"), volume.get("zonename")):
        return False
    return not request.account or request.account == volume.get("account")


def _scope_text(request):
    scope = [("vm", request.vm), ("zone", request.zone), ("account", request.account)]
    given = ["%s %s" % (name, value) for name, value in scope if value]
    return " (%s)" % ", ".join(given) if given else ""


def _label(volume):
    return "%s (%s)" % (volume.get("name"), volume["id"]) if volume.get("name") else volume["id"]
