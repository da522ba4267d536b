# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan and preflight of one volume migration: read-only, computed before any change.

Resolves the volume, its VM and the destination pool in CloudStack, locates the
volume's disk in vCenter, and lists every blocker with what to do about it.
"""

from __future__ import annotations

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common import problems as problem_codes
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import (
    InvalidInput,
    PreflightFailed,
    UnsafeOperation,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.blockers import (
    DESTINATION_BLOCKERS,
    Blocker,
    detached_disk_blockers,
    disk_blockers,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.options import LIVE_OPTION, POLICY_OPTION, option_text
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._cloudstack.records import (
    free_bytes,
    gib_text,
    is_uuid,
    pool_datastore_name,
    pool_datastores,
    truthy,
    volume_label,
)

MIGRATABLE_VM_STATES = ("Stopped", "Running", "Shutdown")


def expected_path(datastore_path, datastore):
    """Where a disk at ``datastore_path`` ("[ds] dir/file.vmdk") lands on ``datastore``: same folder and file."""
    if not datastore_path or "] " not in datastore_path:
        return None
    return "[%s] %s" % (datastore, datastore_path.split("] ", 1)[1])


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
            "volume_size": self.volume.get("size"),
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
        if all(blocker.code == problem_codes.LIVE_MIGRATION_NOT_ALLOWED for blocker in self.blockers):
            raise UnsafeOperation(text, **facts)
        raise PreflightFailed("Preflight of volume %s failed, nothing was changed: %s" % (volume_label(self.volume), text), **facts)


class Planner:
    """Builds a ``MigrationPlan`` from CloudStack and vCenter reads; never changes anything."""

    def __init__(self, cloudstack, vcenter, allow_live_migration=False):
        self._cs = cloudstack
        self._vcenter = vcenter
        self._allow_live = allow_live_migration
        # A pool is read once per planner (one module run): a plan of 100 volumes to 20 pools reads 20 destinations,
        # not 100. Its state and free space are those of the plan's resolution, as when each volume read its own.
        self._pools = {}

    def resolve(self, request):
        """The volume record and the destination pool named by a request."""
        volume = self.resolve_volume(request)
        destination = self._resolve_pool(request.destination, volume.get("zoneid"))
        return volume, destination

    def plan(self, volume, destination):
        if not volume.get("virtualmachineid"):
            return self._plan_detached(volume, destination)
        vm = self._cs.get_virtual_machine(volume["virtualmachineid"]) if volume.get("virtualmachineid") else None
        source_pool = self._pool_by_id(volume["storageid"]) if volume.get("storageid") else None
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
                (at_destination if blocker.code in DESTINATION_BLOCKERS else blockers).append(blocker)
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

    def _pool_by_id(self, pool_id):
        if pool_id not in self._pools:
            self._pools[pool_id] = self._cs.get_storage_pool(pool_id)
        return self._pools[pool_id]

    def _resolve_pool(self, reference, zone_id):
        if is_uuid(reference):
            pool = self._pool_by_id(reference)
            if pool is None:
                raise PreflightFailed("Destination storage pool %s was not found in CloudStack; check the pool id" % reference,
                                      destination=reference)
            return pool
        if ("name", reference) not in self._pools:
            self._pools[("name", reference)] = self._cs.list_storage_pools(name=reference)
        pools = [pool for pool in self._pools[("name", reference)] if pool.get("name") == reference]
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
            blockers.append(Blocker(problem_codes.JOB_PENDING, "CloudStack job %s is still running on the volume; wait for it to end"
                                    % volume["jobid"]))
        if volume.get("state") == "Migrating" and volume.get("jobid"):
            blockers.append(Blocker(problem_codes.ALREADY_MIGRATING, "the volume is already migrating; wait for that migration to end"))
        elif volume.get("state") == "Migrating":
            blockers.append(Blocker(problem_codes.VOLUME_STUCK_MIGRATING, "the volume is Migrating but no CloudStack job runs on it (a migration cut "
                                    "off by a management server restart?): check in vCenter where its disk is, then set the "
                                    "record's state back to Ready with updateVolume"))
        elif volume.get("state") != "Ready":
            blockers.append(Blocker(problem_codes.VOLUME_NOT_READY, "the volume is %s, not Ready" % volume.get("state")))
        if volume.get("hypervisor") and volume["hypervisor"] != "VMware":
            blockers.append(Blocker(problem_codes.NOT_VMWARE, "the volume is on %s, not VMware" % volume["hypervisor"]))
        if not volume.get("path"):
            blockers.append(Blocker(problem_codes.VOLUME_PATH_NULL, "CloudStack has no path for the volume (an earlier false success?): set %s "
                                    "to repair the record from what vCenter shows, then migrate; or repair the record "
                                    "first (cs_volume_record_sync)" % option_text(POLICY_OPTION, "restore")))
        return blockers

    def _plan_detached(self, volume, destination):
        """A volume without a VM: its file is located by datastore searches of both pools (no VM to ask)."""
        source_pool = self._pool_by_id(volume["storageid"]) if volume.get("storageid") else None
        if volume.get("storageid") == destination["id"]:
            # Idempotence: the verifier searches the datastores and compares them with this record.
            return DetachedMigrationPlan(volume, source_pool, destination, None, None, [])
        blockers = self._volume_blockers(volume)
        location = disk = None
        if source_pool is None and not blockers:
            blockers.append(Blocker(problem_codes.NO_SOURCE_POOL, "CloudStack gives no storage pool for the volume, so its file cannot "
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
            return [Blocker(problem_codes.VM_STATE, "VM %s is %s; migration needs it Stopped, Running or Shutdown" % (vm.get("name"), vm.get("state")))]
        if live and not self._allow_live:
            return [Blocker(problem_codes.LIVE_MIGRATION_NOT_ALLOWED, "Volume %s is attached to running VM %s: set %s to migrate it "
                            "live, or stop the VM" % (volume_label(volume), vm.get("name"), option_text(LIVE_OPTION, "true")))]
        return []

    def _disk_blockers(self, disk, volume=None, vm=None, source_pool=None, destination=None):
        return disk_blockers(disk, volume, vm, source_pool, destination, self._allow_live)

    def _pool_blockers(self, volume, destination):
        name = destination.get("name")
        blockers = []
        if destination.get("state") != "Up":
            blockers.append(Blocker(problem_codes.POOL_NOT_UP, "destination pool %s is %s, not Up; choose another pool or end its "
                                    "maintenance" % (name, destination.get("state"))))
        if volume.get("zoneid") and destination.get("zoneid") and destination["zoneid"] != volume["zoneid"]:
            blockers.append(Blocker(problem_codes.OTHER_ZONE, "destination pool %s is in zone %s, the volume in zone %s"
                                    % (name, destination.get("zonename"), volume.get("zonename"))))
        if blockers:
            return blockers
        candidates = {pool["id"]: pool for pool in self._cs.find_storage_pools_for_migration(volume["id"])}
        candidate = candidates.get(destination["id"])
        if candidate is None or not truthy(candidate.get("suitableformigration", True)):
            blockers.append(Blocker(problem_codes.POOL_UNSUITABLE, "CloudStack does not report pool %s as suitable for this volume "
                                    "(findStoragePoolsForMigration); choose a suitable pool" % name))
        free = free_bytes(destination)
        if free is not None and volume.get("size") and free < int(volume["size"]):
            blockers.append(Blocker(problem_codes.POOL_FULL, "destination pool %s has %s free, the volume needs %s; choose a pool with room"
                                    % (name, gib_text(max(0, free)), gib_text(int(volume["size"])))))
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
