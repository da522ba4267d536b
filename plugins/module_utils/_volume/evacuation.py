# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The evacuation planner: a plan that empties a pool, read-only.

A destination per volume among the pools CloudStack reports suitable for it, by room and storage tags, in an
order that limits the migrations running together per destination.
"""

from __future__ import annotations

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._cloudstack.records import gib_text, truthy
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import InvalidInput
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.plan_info import find_source_pool


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
        suitable = [pool for pool in offered if truthy(pool.get("suitableformigration"))]
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
        rooms = ", ".join("%s %s" % (candidate.pool.get("name"), gib_text(max(0, candidate.room))) for candidate in candidates["eligible"])
        return ("no suitable pool has room for its %s after the volumes already planned (room left: %s)"
                % (gib_text(int(volume.get("size") or 0)), rooms))

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


def plan_evacuation(cloudstack, options):
    """The module's result for the ``evacuate`` option: the plan, what could not be placed, the destinations."""
    return {"changed": False, "evacuation": EvacuationPlanner(cloudstack).plan(EvacuationRequest.from_dict(options))}
