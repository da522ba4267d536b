# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Resolution of a maintenance-window plan into concrete volumes: read-only.

A plan item names one volume (``volume``) or every volume of a pool (``source_pool``),
and a destination pool. Each becomes a ``ResolvedVolume`` with everything preflight and
migration need: the VM and its vCenter instance name, the source and destination pools
and the datastore identities behind them, the volume's path. Resolution of names uses
the migration planner's own lookups, so the plan and the migration agree on what a name
means.
"""

from __future__ import annotations

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils.errors import InvalidInput, PreflightFailed
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils.volume_migration import MigrationRequest
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils.volume_plan import (
    Planner,
    is_uuid,
    pool_datastores,
)


class PlanItem:
    """One item of the plan as given: a volume, or every volume of ``source_pool``, to ``destination``."""

    def __init__(self, index, destination, volume=None, source_pool=None, vm=None, zone=None, account=None):
        self.index = index
        self.destination = destination
        self.volume = volume
        self.source_pool = source_pool
        self.vm = vm
        self.zone = zone
        self.account = account

    @classmethod
    def from_dict(cls, index, item):
        return cls(index, item.get("destination"), volume=item.get("volume"), source_pool=item.get("source_pool"),
                   vm=item.get("vm"), zone=item.get("zone"), account=item.get("account"))

    def validate(self):
        label = "Plan item %d" % (self.index + 1)
        if bool(self.volume) == bool(self.source_pool):
            raise InvalidInput("%s needs exactly one of volume or source_pool" % label, item=self.index)
        if not self.destination:
            raise InvalidInput("%s has no destination pool" % label, item=self.index)
        if self.source_pool and (self.vm or self.account):
            raise InvalidInput("%s: vm and account apply to a volume item, not to source_pool" % label, item=self.index)


class PlanResolver:
    """Expands plan items into resolved volumes, through the CloudStack client; never changes anything."""

    def __init__(self, cloudstack):
        self._cs = cloudstack
        self._planner = Planner(cloudstack, vcenter=None)
        self._vms = {}
        self._pools = {}

    def resolve(self, items):
        """The resolved volumes of ``items`` (a list of ``PlanItem``), in plan order, each volume once."""
        for item in items:
            item.validate()
        resolved, seen = [], {}
        for item in items:
            for volume in self._expand(item):
                earlier = seen.get(volume["volume_id"])
                if earlier is None:
                    seen[volume["volume_id"]] = volume
                    resolved.append(volume)
                elif earlier["destination_pool_id"] != volume["destination_pool_id"]:
                    raise InvalidInput(
                        "Volume %s is planned to two destinations, %s (item %d) and %s (item %d); keep one"
                        % (volume["volume_name"], earlier["destination_pool_name"], earlier["item"] + 1,
                           volume["destination_pool_name"], item.index + 1),
                        volume_id=volume["volume_id"])
        return resolved

    def _expand(self, item):
        if item.volume:
            request = MigrationRequest(item.volume, item.destination, vm=item.vm, zone=item.zone, account=item.account)
            volume, destination = self._planner.resolve(request)
            return [self._describe(item, volume, destination)]
        pool = self._source_pool(item)
        volumes = sorted(self._cs.list_volumes(storageid=pool["id"]), key=lambda vol: (vol.get("vmname") or "", vol.get("name") or ""))
        described, destination = [], None
        for volume in volumes:
            if destination is None:
                # The planner resolves the destination in the volume's zone, as for a volume item.
                destination = self._planner.resolve(MigrationRequest(volume["id"], item.destination))[1]
                if destination["id"] == pool["id"]:
                    raise InvalidInput("Plan item %d moves pool %s onto itself; choose another destination"
                                       % (item.index + 1, pool.get("name")), item=item.index)
            described.append(self._describe(item, volume, destination))
        return described

    def _source_pool(self, item):
        """The pool named by a source_pool item (UUID or name, narrowed by zone)."""
        if is_uuid(item.source_pool):
            pool = self._cs.get_storage_pool(item.source_pool)
            pools = [pool] if pool else []
        else:
            pools = [pool for pool in self._cs.list_storage_pools(name=item.source_pool) if pool.get("name") == item.source_pool]
        if item.zone:
            pools = [pool for pool in pools if item.zone in (pool.get("zoneid"), pool.get("zonename"))]
        if not pools:
            raise PreflightFailed("Source storage pool %s%s was not found in CloudStack"
                                  % (item.source_pool, " in zone %s" % item.zone if item.zone else ""), source_pool=item.source_pool)
        if len(pools) > 1:
            raise InvalidInput("Source storage pool name %s is ambiguous: %s; give the pool's UUID or a zone"
                               % (item.source_pool, ", ".join(pool["id"] for pool in pools)), source_pool=item.source_pool)
        return pools[0]

    def _describe(self, item, volume, destination):
        vm = self._vm(volume.get("virtualmachineid"))
        source = self._pool(volume.get("storageid"))
        already_there = volume.get("storageid") == destination["id"]
        return {
            "item": item.index,
            "volume_id": volume["id"],
            "volume_name": volume.get("name"),
            "volume_type": volume.get("type"),
            "volume_state": volume.get("state"),
            "size": volume.get("size"),
            "account": volume.get("account"),
            "zone_id": volume.get("zoneid"),
            "zone_name": volume.get("zonename"),
            "path": volume.get("path"),
            "attached": bool(volume.get("virtualmachineid")),
            "vm_id": volume.get("virtualmachineid"),
            "vm_name": (vm or {}).get("name") or volume.get("vmname"),
            "vm_state": (vm or {}).get("state") or volume.get("vmstate"),
            "instance_name": (vm or {}).get("instancename"),
            "source_pool_id": volume.get("storageid"),
            "source_pool_name": volume.get("storage") or (source or {}).get("name"),
            "source_datastores": pool_datastores(source) if source else [],
            "destination_pool_id": destination["id"],
            "destination_pool_name": destination.get("name"),
            "destination_datastores": pool_datastores(destination),
            "already_on_destination": already_there,
            "migration": {"volume": volume["id"], "destination": destination["id"]},
        }

    def _vm(self, vm_id):
        if not vm_id:
            return None
        if vm_id not in self._vms:
            self._vms[vm_id] = self._cs.get_virtual_machine(vm_id)
        return self._vms[vm_id]

    def _pool(self, pool_id):
        if not pool_id:
            return None
        if pool_id not in self._pools:
            self._pools[pool_id] = self._cs.get_storage_pool(pool_id)
        return self._pools[pool_id]


def inventory_expectations(volumes):
    """The ``vms`` of vmware_inventory_assert for resolved volumes: each VM once, with the disks it must hold.

    A disk is expected on its current pool's datastores (the destination's, for a volume already there).
    A volume without a path (an earlier false success) cannot be matched to a disk, but its VM is still
    checked; volumes without a VM cannot be asked about in vCenter at all; preflight reports both.
    """
    by_vm, order = {}, []
    for volume in volumes:
        name = volume["instance_name"]
        if not name:
            continue
        if name not in by_vm:
            by_vm[name] = []
            order.append(name)
        if volume["path"]:
            datastores = volume["destination_datastores"] if volume["already_on_destination"] else volume["source_datastores"]
            by_vm[name].append({"path": volume["path"], "datastores": list(datastores)})
    return [{"name": name, "disks": by_vm[name]} for name in order]


def summarize(items, volumes, vms):
    return {
        "items": len(items),
        "volumes": len(volumes),
        "to_migrate": sum(1 for volume in volumes if not volume["already_on_destination"]),
        "already_on_destination": sum(1 for volume in volumes if volume["already_on_destination"]),
        "detached": sum(1 for volume in volumes if not volume["attached"]),
        "vms": len(vms),
    }


def resolve_plan(cloudstack, plan):
    """The module's result: resolved volumes, the VMs to assert in vCenter, counts."""
    items = [PlanItem.from_dict(index, item) for index, item in enumerate(plan)]
    volumes = PlanResolver(cloudstack).resolve(items)
    vms = inventory_expectations(volumes)
    return {"changed": False, "volumes": volumes, "vms": vms, "summary": summarize(items, volumes, vms)}
