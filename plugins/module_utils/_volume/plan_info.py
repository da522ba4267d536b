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

``plan_evacuation`` writes such a plan for a whole pool: a destination per volume among the
pools CloudStack reports suitable for it, by room and storage tags, in an order that limits the
migrations running together per destination.
"""

from __future__ import annotations

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import (
    CloudStackApiError,
    ConnectionFailed,
    InvalidInput,
    PreflightFailed,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.plan_entries import (
    PlanEntries,
    plan_capacity,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.migration import MigrationRequest
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.plan import (
    Planner,
    is_uuid,
    pool_datastores,
)


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


def error_code(error):
    """A short code for a resolution error: what was looked up (volume, source_pool, destination) and how it failed."""
    if error.facts.get("code"):
        return error.facts["code"]
    what = next((key for key in ("destination", "source_pool", "volume") if key in error.facts), "entry")
    return "%s_%s" % (what, "ambiguous" if "candidates" in error.facts else "not_found")


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
        connection, 5xx) propagate: they concern the whole plan.
        """
        resolved, seen = [], {}
        for account in entries.accounts:
            if not account.ok:
                continue
            item = PlanItem.from_dict(account.index - 1, account.entry)
            try:
                volumes = self._expand(item, account)
            except (InvalidInput, PreflightFailed) as error:
                account.add_problem(error_code(error), error.message)
                if item.volume:
                    self._check_destination_alone(item, account)
                continue
            account.volume_ids = [volume["volume_id"] for volume in volumes]
            for volume in volumes:
                earlier = seen.get(volume["volume_id"])
                if earlier is None:
                    seen[volume["volume_id"]] = volume
                    resolved.append(volume)
                elif earlier["destination_pool_id"] != volume["destination_pool_id"]:
                    account.add_problem("two_destinations", "volume %s is planned to two destinations, %s by entry %d and %s "
                                        "by entry %d: keep one" % (volume["volume_name"], earlier["destination_pool_name"],
                                                                   earlier["entry"], volume["destination_pool_name"],
                                                                   account.index))
        return resolved

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
                               code="pool_onto_itself")
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
                               code="exclude_unknown")
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


def resolve_plan(cloudstack, plan):
    """The module's result: every entry accounted for, resolved volumes, the VMs to assert in vCenter, the plan's capacity.

    Fails (``PreflightFailed`` with ``entries``) when any entry is bad, listing them all; a CloudStack error while
    resolving is re-raised as a failure of the whole plan, also with ``entries``.
    """
    entries = PlanEntries(plan)
    resolver = PlanResolver(cloudstack)
    try:
        volumes = resolver.resolve(entries)
    except (ConnectionFailed, CloudStackApiError) as error:
        facts = dict(error.facts, entries=entries.as_list(), plan_error=True,
                     problems=[problem["message"] for account in entries.bad for problem in account.problems])
        raise type(error)("CloudStack could not resolve the plan, nothing was changed: %s" % error.message, **facts) from None
    entries.raise_problems()
    vms = inventory_expectations(volumes)
    return {"changed": False, "entries": entries.as_list(), "volumes": volumes, "vms": vms,
            "capacity": plan_capacity(volumes, resolver.destinations),
            "summary": summarize(entries, volumes, vms)}


# ---- pool evacuation --------------------------------------------------------------------------

GIB = 1024.0 ** 3


class EvacuationRequest:
    """What to evacuate and the rules of the plan (the module's ``evacuate`` option)."""

    def __init__(self, source_pool, zone=None, destinations=None, per_destination=1, concurrency=2, match_tags=True,
                 max_fill=0.85):
        self.source_pool = source_pool
        self.zone = zone
        self.destinations = list(destinations or [])
        self.per_destination = per_destination
        self.concurrency = concurrency
        self.match_tags = match_tags
        self.max_fill = max_fill

    @classmethod
    def from_dict(cls, options):
        return cls(**{key: value for key, value in options.items() if value is not None})

    def validate(self):
        if not self.source_pool:
            raise InvalidInput("evacuate needs source_pool: the pool to empty, by name or UUID")
        if int(self.per_destination) < 1 or int(self.concurrency) < 1:
            raise InvalidInput("evacuate: per_destination and concurrency must be at least 1 (got %s and %s)"
                               % (self.per_destination, self.concurrency))
        if not 0 < float(self.max_fill) <= 1:
            raise InvalidInput("evacuate: max_fill is the share of a destination's capacity the plan may fill, "
                               "between 0 (excluded) and 1; got %s" % self.max_fill)


class Destination:
    """A candidate pool and the room the plan has left on it."""

    def __init__(self, pool, max_fill):
        self.pool = pool
        capacity = int(float(pool.get("disksizetotal") or 0) * float(pool.get("overprovisionfactor") or 1))
        allocated = max(int(pool.get("disksizeallocated") or 0), int(pool.get("disksizeused") or 0))
        self.room_before = int(capacity * float(max_fill)) - allocated
        self.room = self.room_before
        self.planned = []

    def take(self, volume):
        self.planned.append(volume)
        self.room -= int(volume.get("size") or 0)

    def as_dict(self):
        return {"pool_id": self.pool["id"], "pool_name": self.pool.get("name"), "tags": pool_tags(self.pool),
                "room_before": self.room_before, "planned_bytes": self.room_before - self.room,
                "planned_volumes": len(self.planned), "room_after": self.room}


def pool_tags(pool):
    """A pool's storage tags (the API gives a comma-separated string)."""
    tags = pool.get("tags") or ""
    if isinstance(tags, list):
        return sorted(str(tag).strip() for tag in tags if str(tag).strip())
    return sorted(tag.strip() for tag in tags.split(",") if tag.strip())


class EvacuationPlanner:
    """Plans moving every volume off a pool: read-only.

    Each volume may go only to a pool CloudStack reports suitable for it (findStoragePoolsForMigration), that
    carries the source pool's storage tags and, when destinations are given, is one of them. Largest volumes
    first, each goes to the eligible pool with the most room left after the volumes already planned there; room
    is capacity (total x overprovisioning) x max_fill - allocated. The order then starts at most
    ``per_destination`` volumes per destination together (see ``order_in_groups``).
    """

    def __init__(self, cloudstack):
        self._cs = cloudstack
        self._vms = {}

    def plan(self, request):
        request.validate()
        source = find_source_pool(self._cs, request.source_pool, request.zone)
        allowed = self._allowed_destinations(request, source)
        volumes = sorted(self._cs.list_volumes(storageid=source["id"]),
                         key=lambda volume: (-int(volume.get("size") or 0), volume.get("name") or "", volume["id"]))
        destinations, placed, unplaced = {}, [], []
        for volume in volumes:
            candidates = self._candidates(volume, source, request, allowed, destinations)
            eligible = [candidate for candidate in candidates["eligible"] if candidate.room >= int(volume.get("size") or 0)]
            if not eligible:
                unplaced.append(self._describe(volume, reason=self._why_unplaced(volume, source, candidates)))
                continue
            chosen = max(eligible, key=lambda candidate: (candidate.room, _reverse(candidate.pool.get("name") or "")))
            chosen.take(volume)
            placed.append((volume, chosen))
        concurrency, groups = order_in_groups(placed, int(request.concurrency), int(request.per_destination))
        planned = [self._describe(volume, destination, group=index)
                   for index, group in enumerate(groups) for volume, destination in group]
        used = [destination.as_dict() for destination in sorted(destinations.values(), key=lambda item: item.pool.get("name") or "")
                if destination.planned]
        return {
            "source_pool": {"pool_id": source["id"], "pool_name": source.get("name"), "tags": pool_tags(source)},
            "plan": [{"volume": item["volume_id"], "destination": item["destination_pool_id"]} for item in planned],
            "volumes": planned,
            "unplaced": unplaced,
            "destinations": used,
            "concurrency": concurrency,
            "summary": {"volumes": len(volumes), "planned": len(planned), "unplaced": len(unplaced),
                        "planned_bytes": sum(int(item["size"] or 0) for item in planned), "destinations": len(used),
                        "concurrency": concurrency, "groups": len(groups)},
        }

    def _allowed_destinations(self, request, source):
        """Pool ids the operator allows (None: any), each reference checked to exist."""
        if not request.destinations:
            return None
        pools = self._cs.list_storage_pools()
        allowed = set()
        for reference in request.destinations:
            matches = [pool["id"] for pool in pools if reference in (pool["id"], pool.get("name"))
                       and (not request.zone or request.zone in (pool.get("zoneid"), pool.get("zonename")))]
            if not matches:
                raise InvalidInput("Destination storage pool %s was not found in CloudStack; check evacuate.destinations"
                                   % reference, destination=reference)
            if source["id"] in matches:
                raise InvalidInput("Destination %s is the pool being evacuated; remove it from the destinations" % reference,
                                   destination=reference)
            allowed.update(matches)
        return allowed

    def _candidates(self, volume, source, request, allowed, destinations):
        """The pools CloudStack offers for ``volume``, sorted into suitable, allowed and eligible ones."""
        offered = [pool for pool in self._cs.find_storage_pools_for_migration(volume["id"]) if pool["id"] != source["id"]]
        suitable = [pool for pool in offered if _truthy(pool.get("suitableformigration"))]
        permitted = [pool for pool in suitable if allowed is None or pool["id"] in allowed]
        needed = set(pool_tags(source)) if request.match_tags else set()
        tagged = [pool for pool in permitted if needed <= set(pool_tags(pool))]
        eligible = []
        for pool in tagged:
            if pool["id"] not in destinations:
                destinations[pool["id"]] = Destination(pool, request.max_fill)
            eligible.append(destinations[pool["id"]])
        return {"offered": offered, "suitable": suitable, "permitted": permitted, "tagged": tagged, "eligible": eligible}

    @staticmethod
    def _why_unplaced(volume, source, candidates):
        if not candidates["suitable"]:
            return ("CloudStack reports no pool suitable for it (findStoragePoolsForMigration: %d other pool(s), none "
                    "suitable); free space or add a pool it can use" % len(candidates["offered"]))
        if not candidates["permitted"]:
            return "no pool among the destinations given is suitable for it (suitable: %s)" % _names(candidates["suitable"])
        if not candidates["tagged"]:
            return ("no suitable pool carries the source pool's storage tags %s (suitable: %s)"
                    % (",".join(pool_tags(source)), _names(candidates["permitted"])))
        rooms = ", ".join("%s %s" % (candidate.pool.get("name"), _gib(max(0, candidate.room))) for candidate in candidates["eligible"])
        return ("no suitable pool has room for its %s after the volumes already planned (room left: %s)"
                % (_gib(int(volume.get("size") or 0)), rooms))

    def _describe(self, volume, destination=None, group=None, reason=None):
        described = {
            "volume_id": volume["id"], "volume_name": volume.get("name"), "volume_type": volume.get("type"),
            "volume_state": volume.get("state"), "size": volume.get("size"),
            "vm_name": volume.get("vmname"), "vm_state": volume.get("vmstate"),
        }
        if destination is not None:
            described.update(destination_pool_id=destination.pool["id"], destination_pool_name=destination.pool.get("name"),
                             group=group)
        if reason is not None:
            described["reason"] = reason
        return described


def order_in_groups(placed, concurrency, per_destination):
    """Order ``placed`` ((volume, destination) pairs) in groups of ``concurrency`` volumes, at most
    ``per_destination`` of them to the same destination; return (concurrency used, groups).

    The migrate role starts the volumes of a group together. Each group takes a volume of the destination with
    the most volumes left, in turn. When only one destination is left with many volumes, full groups cannot
    respect the limit: the concurrency is lowered until every group but the last is full.
    """
    queues = {}
    for volume, destination in placed:
        queues.setdefault(destination.pool["id"], []).append((volume, destination))
    for size in range(max(1, concurrency), 0, -1):
        groups = _fill_groups({key: list(queue) for key, queue in queues.items()}, size, per_destination)
        if groups is not None:
            return size, groups
    return 1, []  # not reached: groups of one always fit


def _fill_groups(queues, size, per_destination):
    groups = []
    while any(queues.values()):
        group, counts = [], {}
        while len(group) < size:
            open_ = [key for key, queue in queues.items() if queue and counts.get(key, 0) < per_destination]
            if not open_:
                break
            key = max(open_, key=lambda name: (len(queues[name]), _reverse(name)))
            group.append(queues[key].pop(0))
            counts[key] = counts.get(key, 0) + 1
        if len(group) < size and any(queues.values()):
            return None
        groups.append(group)
    return groups


def _names(pools):
    return ", ".join(sorted(pool.get("name") or pool["id"] for pool in pools))


def _reverse(text):
    """A key that sorts strings in reverse, so that max() prefers the first name."""
    return [-ord(char) for char in text]


def _truthy(value):
    return value is True or str(value).lower() == "true"


def _gib(size):
    return "%.1f GiB" % (size / GIB)


def plan_evacuation(cloudstack, options):
    """The module's result for the ``evacuate`` option: the plan, what could not be placed, the destinations."""
    return {"changed": False, "evacuation": EvacuationPlanner(cloudstack).plan(EvacuationRequest.from_dict(options))}
