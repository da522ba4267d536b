# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Resolution of a maintenance-window plan into concrete volumes: read-only.

A plan entry names one volume (``volume``) or every volume of a pool (``source_pool``, less those in
``exclude``), and a destination pool. Each becomes a ``ResolvedVolume`` with everything preflight and
migration need: the VM and its vCenter instance name, the source and destination pools and the datastore
identities behind them, the volume's path. Resolution of names uses the migration planner's own lookups,
so the plan and the migration agree on what a name means.

Every entry is accounted for (``plan_entries``): an entry that does not resolve is recorded with the
reason and resolution goes on with the next, so that the failure lists every bad entry. An error of
CloudStack itself (credentials, connection, 5xx) stops resolution: it concerns the whole plan.

The plan of a pool's evacuation is written by ``evacuation.plan_evacuation``.
"""

from __future__ import annotations

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common import problems as problem_codes
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import (
    CloudStackApiError,
    ConnectionFailed,
    InvalidInput,
    PreflightFailed,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.parallel import in_parallel
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.plan_entries import (
    PlanEntries,
    plan_capacity,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.options import MigrationRequest
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._cloudstack.records import is_uuid, pool_datastores
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.plan import Planner


def find_source_pool(cloudstack, reference, zone=None):
    """The pool a plan names as its source (UUID or name, narrowed by zone)."""
    if is_uuid(reference):
        pool = cloudstack.get_storage_pool(reference)
        pools = [pool] if pool else []
    else:
        pools = [pool for pool in cloudstack.list_storage_pools(name=reference) if pool.get("name") == reference]
    if zone:
        pools = [pool for pool in pools if zone in (pool.get("zoneid"), pool.get("zonename"))]
    if not pools:
        raise PreflightFailed("Source storage pool %s%s was not found in CloudStack: check the name, or give the pool's UUID"
                              % (reference, " in zone %s" % zone if zone else ""), source_pool=reference)
    if len(pools) > 1:
        raise InvalidInput("Source storage pool name %s is ambiguous: %s; give the pool's UUID or a zone"
                           % (reference, ", ".join(pool["id"] for pool in pools)), source_pool=reference,
                           candidates=[pool["id"] for pool in pools])
    return pools[0]


def find_destination_pool(cloudstack, reference, zone_id=None):
    """The destination pool, as the migration planner resolves it: by UUID, or by name preferring ``zone_id``."""
    if is_uuid(reference):
        pool = cloudstack.get_storage_pool(reference)
        pools = [pool] if pool else []
    else:
        pools = [pool for pool in cloudstack.list_storage_pools(name=reference) if pool.get("name") == reference]
        pools = [pool for pool in pools if pool.get("zoneid") == zone_id] or pools
    if not pools:
        raise PreflightFailed("Destination storage pool %s was not found in CloudStack: check the name, or give the pool's "
                              "UUID" % reference, destination=reference)
    if len(pools) > 1:
        raise InvalidInput("Destination storage pool name %s is ambiguous: %s; give the pool's UUID"
                           % (reference, ", ".join(pool["id"] for pool in pools)),
                           destination=reference, candidates=[pool["id"] for pool in pools])
    return pools[0]


# What a resolution error looked up (its facts' key), and whether it found several or none -> the entry's code.
LOOKUP_CODES = {
    ("destination", True): problem_codes.DESTINATION_AMBIGUOUS, ("destination", False): problem_codes.DESTINATION_NOT_FOUND,
    ("source_pool", True): problem_codes.SOURCE_POOL_AMBIGUOUS, ("source_pool", False): problem_codes.SOURCE_POOL_NOT_FOUND,
    ("volume", True): problem_codes.VOLUME_AMBIGUOUS, ("volume", False): problem_codes.VOLUME_NOT_FOUND,
    ("entry", True): problem_codes.ENTRY_AMBIGUOUS, ("entry", False): problem_codes.ENTRY_NOT_FOUND,
}


def error_code(error):
    """The code of a resolution error: its own, or what was looked up (volume, source_pool, destination) and how it failed."""
    if error.facts.get("code"):
        return error.facts["code"]
    what = next((key for key in ("destination", "source_pool", "volume") if key in error.facts), "entry")
    return LOOKUP_CODES[(what, "candidates" in error.facts)]


class PlanItem:
    """One entry of the plan as given (``index`` from 0): a volume, or every volume of ``source_pool``, to ``destination``."""

    def __init__(self, index, destination, volume=None, source_pool=None, vm=None, zone=None, account=None, exclude=None):
        self.index = index
        self.destination = destination
        self.volume = volume
        self.source_pool = source_pool
        self.vm = vm
        self.zone = zone
        self.account = account
        self.exclude = list(exclude or [])

    @classmethod
    def from_dict(cls, index, item):
        return cls(index, item.get("destination"), volume=item.get("volume"), source_pool=item.get("source_pool"),
                   vm=item.get("vm"), zone=item.get("zone"), account=item.get("account"), exclude=item.get("exclude"))


class PlanResolver:
    """Expands plan entries into resolved volumes, through the CloudStack client; never changes anything."""

    def __init__(self, cloudstack):
        self._cs = cloudstack
        self._planner = Planner(cloudstack, vcenter=None)
        self._vms = {}
        self._pools = {}
        self.destinations = {}

    def resolve(self, entries):
        """The resolved volumes of the well-formed entries of ``entries`` (a ``PlanEntries``), in plan order, each once.

        What goes wrong with an entry is recorded in its account; CloudStack errors (credentials,
        connection, 5xx) propagate: they concern the whole plan. The entries are looked up side by side (read-only).
        """
        resolved, seen = [], {}
        accounts = [account for account in entries.accounts if account.ok]
        for account, volumes in zip(accounts, in_parallel(self._expanded, accounts)):
            if volumes is None:
                continue
            account.volume_ids = [volume["volume_id"] for volume in volumes]
            for volume in volumes:
                earlier = seen.get(volume["volume_id"])
                if earlier is None:
                    seen[volume["volume_id"]] = volume
                    resolved.append(volume)
                elif earlier["destination_pool_id"] != volume["destination_pool_id"]:
                    account.add_problem(problem_codes.TWO_DESTINATIONS, "volume %s is planned to two destinations, %s by entry %d and %s "
                                        "by entry %d: keep one" % (volume["volume_name"], earlier["destination_pool_name"],
                                                                   earlier["entry"], volume["destination_pool_name"],
                                                                   account.index))
        return resolved

    def _expanded(self, account):
        """The entry's resolved volumes, or None with its problems recorded in its account (each entry its own)."""
        item = PlanItem.from_dict(account.index - 1, account.entry)
        try:
            return self._expand(item, account)
        except (InvalidInput, PreflightFailed) as error:
            account.add_problem(error_code(error), error.message)
            if item.volume:
                self._check_destination_alone(item, account)
            return None

    def _check_destination_alone(self, item, account):
        """When an entry's volume did not resolve, still say whether its destination exists at all."""
        if any(problem["code"].startswith("destination") for problem in account.problems):
            return
        try:
            find_destination_pool(self._cs, item.destination)
        except PreflightFailed as error:
            account.add_problem(error_code(error), error.message)
        except InvalidInput:
            pass  # ambiguous across zones: the volume's zone would have chosen

    def _expand(self, item, account):
        if item.volume:
            request = MigrationRequest(item.volume, item.destination, vm=item.vm, zone=item.zone, account=item.account)
            volume, destination = self._planner.resolve(request)
            return [self._describe(item, volume, destination)]
        pool = find_source_pool(self._cs, item.source_pool, item.zone)
        destination = find_destination_pool(self._cs, item.destination, pool.get("zoneid"))
        if destination["id"] == pool["id"]:
            raise InvalidInput("moves pool %s onto itself: choose another destination" % pool.get("name"),
                               code=problem_codes.POOL_ONTO_ITSELF)
        volumes = sorted(self._cs.list_volumes(storageid=pool["id"]), key=lambda vol: (vol.get("vmname") or "", vol.get("name") or ""))
        volumes = self._exclude(item, pool, volumes, account)
        return [self._describe(item, volume, destination) for volume in volumes]

    @staticmethod
    def _exclude(item, pool, volumes, account):
        """The pool's volumes less those named in ``exclude``; a name that matches none of them is an error (a typo)."""
        excluded, unknown = set(), []
        for reference in item.exclude:
            matches = [volume["id"] for volume in volumes if reference in (volume["id"], volume.get("name"))]
            if not matches:
                unknown.append(reference)
            excluded.update(matches)
        if unknown:
            names = sorted(volume.get("name") or volume["id"] for volume in volumes)
            raise InvalidInput("exclude names %s, which %s no volume of pool %s: check the names (the pool holds %s)"
                               % (", ".join(unknown), "is" if len(unknown) == 1 else "are", pool.get("name"),
                                  ", ".join(names[:20]) + (", ..." if len(names) > 20 else "") if names else "no volume"),
                               code=problem_codes.EXCLUDE_UNKNOWN)
        account.excluded_ids = [volume["id"] for volume in volumes if volume["id"] in excluded]
        return [volume for volume in volumes if volume["id"] not in excluded]

    def _describe(self, item, volume, destination):
        self.destinations[destination["id"]] = destination
        vm = self._vm(volume.get("virtualmachineid"))
        source = self._pool(volume.get("storageid"))
        already_there = volume.get("storageid") == destination["id"]
        return {
            "item": item.index,
            "entry": item.index + 1,
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


def inventory_expectations(volumes, routes=None):
    """The ``vms`` of vmware_inventory_assert for resolved volumes: each VM once, with the disks it must hold, and
    with ``routes`` (zone id -> ZoneRoute, zones on several vCenters) the vCenter and datacenter of its zone.

    A disk is expected on its current pool's datastores (the destination's, for a volume already there).
    A volume without a path (an earlier false success) cannot be matched to a disk, but its VM is still
    checked; volumes without a VM cannot be asked about in vCenter at all; preflight reports both.
    """
    by_vm, order, where = {}, [], {}
    for volume in volumes:
        name = volume["instance_name"]
        if not name:
            continue
        if name not in by_vm:
            by_vm[name] = []
            order.append(name)
            route = routes.get(volume["zone_id"]) if routes else None
            where[name] = {"vcenter": route.settings.address(), "datacenter": route.datacenter} if route else {}
        if volume["path"]:
            datastores = volume["destination_datastores"] if volume["already_on_destination"] else volume["source_datastores"]
            by_vm[name].append({"path": volume["path"], "datastores": list(datastores)})
    return [dict({"name": name, "disks": by_vm[name]}, **where[name]) for name in order]


def summarize(entries, volumes, vms):
    return {
        "items": len(entries.accounts),
        "volumes": len(volumes),
        "to_migrate": sum(1 for volume in volumes if not volume["already_on_destination"]),
        "already_on_destination": sum(1 for volume in volumes if volume["already_on_destination"]),
        "detached": sum(1 for volume in volumes if not volume["attached"]),
        "excluded": sum(len(account.excluded_ids) for account in entries.accounts),
        "vms": len(vms),
    }


def find_zone(cloudstack, reference):
    """The zone a run is kept to (UUID or name); one that is not a zone of this CloudStack is an error naming them all."""
    zones = cloudstack.list_zones()
    found = [zone for zone in zones if reference in (zone.get("id"), zone.get("name"))]
    if len(found) != 1:
        known = ", ".join("%s (%s)" % (zone.get("name"), zone.get("id")) for zone in zones) or "none"
        raise InvalidInput("Zone %s is %s of this CloudStack: give one zone by name or UUID (its zones: %s)"
                           % (reference, "not a zone" if not found else "the name of several zones", known), zone=reference)
    return found[0]


def keep_to_zone(entries, volumes, zone):
    """The volumes of ``zone``; every entry's volumes of other zones set aside in its account (``other_zone_ids``),
    and returned as what other runs (other hosts, one per zone) have to do."""
    elsewhere = {volume["volume_id"]: volume for volume in volumes if volume["zone_id"] != zone["id"]}
    for account in entries.accounts:
        account.other_zone_ids = [volume_id for volume_id in account.volume_ids if volume_id in elsewhere]
        account.volume_ids = [volume_id for volume_id in account.volume_ids if volume_id not in elsewhere]
    keys = ("volume_id", "volume_name", "entry", "zone_id", "zone_name", "vm_name", "source_pool_name", "destination_pool_name")
    others = [{key: volume[key] for key in keys} for volume in elsewhere.values()]
    return [volume for volume in volumes if volume["volume_id"] not in elsewhere], others


def resolve_plan(cloudstack, plan, router=None, zone=None):
    """The module's result: every entry accounted for, resolved volumes, the VMs to assert in vCenter, the plan's capacity.

    Fails (``PreflightFailed`` with ``entries``) when any entry is bad, listing them all; a CloudStack error while
    resolving is re-raised as a failure of the whole plan, also with ``entries``. With a ``ZoneRouter`` (zones on
    several vCenters) every zone of the plan is routed (``zones``), each VM tagged with its vCenter and datacenter.
    With ``zone`` (one host per zone), the whole plan is resolved and checked, and only that zone's volumes are kept;
    the others are listed in ``other_zones``.
    """
    entries = PlanEntries(plan)
    resolver = PlanResolver(cloudstack)
    try:
        kept_zone = find_zone(cloudstack, zone) if zone else None
        volumes = resolver.resolve(entries)
    except (ConnectionFailed, CloudStackApiError) as error:
        facts = dict(error.facts, entries=entries.as_list(), plan_error=True,
                     problems=[problem["message"] for account in entries.bad for problem in account.problems])
        raise type(error)("CloudStack could not resolve the plan, nothing was changed: %s" % error.message, **facts) from None
    entries.raise_problems()
    other_zones = []
    if kept_zone is not None:
        volumes, other_zones = keep_to_zone(entries, volumes, kept_zone)
    routes = None
    if router is not None:
        routes = {zone_id: router.route(zone_id) for zone_id in sorted({volume["zone_id"] for volume in volumes if volume["zone_id"]})}
    vms = inventory_expectations(volumes, routes)
    result = {"changed": False, "entries": entries.as_list(), "volumes": volumes, "vms": vms,
              "capacity": plan_capacity(volumes, resolver.destinations), "summary": summarize(entries, volumes, vms)}
    if kept_zone is not None:
        result.update(zone={"id": kept_zone["id"], "name": kept_zone.get("name")}, other_zones=other_zones)
        result["summary"]["other_zones"] = len(other_zones)
    if routes is not None:
        result["zones"] = [route.as_dict() for route in routes.values()]
    return result
