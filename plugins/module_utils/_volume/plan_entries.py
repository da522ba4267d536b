# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every entry of a plan accounted for, and the checks that concern the plan as a whole: pure, no CloudStack call.

An entry is checked for its shape before anything is read (a mapping, known keys, strings, exactly one of
``volume`` and ``source_pool``, a destination). The resolver then records, per entry, the volumes it resolved
to or why it did not resolve. ``PlanEntries.raise_problems`` turns every bad entry into one failure that
lists them all, with their position in the plan (from 1), so that no entry can vanish.

``plan_capacity`` sums the planned volumes per destination pool against the pool's free space as CloudStack
counts it (capacity x over-provisioning - allocated), so a plan that cannot fit is refused before it starts.
"""

from __future__ import annotations

import difflib

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common import problems as problem_codes
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import PreflightFailed
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._cloudstack.records import free_bytes, gib_text, pool_datastore_name

ALLOWED_KEYS = ("volume", "source_pool", "destination", "vm", "zone", "account", "exclude")
STRING_KEYS = ("volume", "source_pool", "destination", "vm", "zone", "account")
VOLUME_ONLY_KEYS = ("vm", "account")


class EntryAccount:
    """One entry of the plan as given, its position (from 1), what it resolved to and what is wrong with it."""

    def __init__(self, index, entry):
        self.index = index
        self.entry = entry
        self.volume_ids = []
        self.excluded_ids = []
        self.other_zone_ids = []
        self.problems = []

    @property
    def ok(self):
        return not self.problems

    @property
    def label(self):
        """``entry 3 (volume DATA-7 -> nfs-2)``: the position, and what the entry says when it can be read."""
        entry = self.entry if isinstance(self.entry, dict) else {}
        what = entry.get("volume") or entry.get("source_pool")
        kind = "volume" if entry.get("volume") else "source_pool"
        if isinstance(what, str) and what and isinstance(entry.get("destination"), str) and entry.get("destination"):
            return "entry %d (%s %s -> %s)" % (self.index, kind, what, entry["destination"])
        return "entry %d" % self.index

    def add_problem(self, code, message):
        self.problems.append({"code": problem_codes.known(code), "message": "%s: %s" % (self.label, message)})

    def as_dict(self):
        return {
            "index": self.index,
            "entry": self.entry,
            "volume_ids": list(self.volume_ids),
            "excluded_ids": list(self.excluded_ids),
            "other_zone_volume_ids": list(self.other_zone_ids),
            "error": "; ".join(problem["message"] for problem in self.problems) if self.problems else None,
            "error_code": self.problems[0]["code"] if self.problems else None,
            "problems": list(self.problems),
        }


def shape_problems(entry):
    """What is wrong with an entry's form, as (code, message) pairs; empty when it can be resolved."""
    if not isinstance(entry, dict):
        return [(problem_codes.NOT_A_MAPPING, "is a %s (%r), not a mapping: write it as volume: <name or UUID> and destination: <pool>, "
                 "or source_pool: <pool> and destination: <pool>" % (_type_name(entry), _short(entry)))]
    problems = [_unknown_key(key) for key in entry if key not in ALLOWED_KEYS]
    problems += _type_problems(entry)
    if problems:
        return problems
    if entry.get("volume") and entry.get("source_pool"):
        problems.append((problem_codes.VOLUME_AND_SOURCE_POOL, "has both volume and source_pool: give exactly one (one entry per "
                         "volume, or one entry for every volume of a pool)"))
    elif not entry.get("volume") and not entry.get("source_pool"):
        problems.append((problem_codes.NO_VOLUME_OR_SOURCE_POOL, "has neither volume nor source_pool: give exactly one"))
    if not entry.get("destination"):
        problems.append((problem_codes.NO_DESTINATION, "has no destination: give the destination pool by name or UUID"))
    if entry.get("source_pool") and any(entry.get(key) for key in VOLUME_ONLY_KEYS):
        problems.append((problem_codes.VOLUME_OPTION_ON_POOL, "vm and account choose among volumes of the same name, they do not apply "
                         "to a source_pool entry: remove them, or use exclude to leave volumes out"))
    if entry.get("exclude") and not entry.get("source_pool"):
        problems.append((problem_codes.EXCLUDE_ON_VOLUME, "exclude applies to a source_pool entry only: remove it"))
    return problems


def _unknown_key(key):
    close = difflib.get_close_matches(str(key), ALLOWED_KEYS, n=1, cutoff=0.6)
    hint = "did you mean %s? " % close[0] if close else ""
    return (problem_codes.UNKNOWN_KEY, "unknown key %r: %sthe keys of an entry are %s" % (key, hint, ", ".join(ALLOWED_KEYS)))


def _type_problems(entry):
    problems = []
    for key in STRING_KEYS:
        value = entry.get(key)
        if value is not None and not isinstance(value, str):
            problems.append((problem_codes.WRONG_TYPE, "%s must be a string, got a %s (%r): quote it" % (key, _type_name(value), _short(value))))
    exclude = entry.get("exclude")
    if exclude is not None and (not isinstance(exclude, list) or not all(isinstance(item, str) and item for item in exclude)):
        problems.append((problem_codes.WRONG_TYPE, "exclude must be a list of volume names or UUIDs, got %r" % (_short(exclude),)))
    return problems


def _type_name(value):
    return {dict: "mapping", list: "list", str: "string", bool: "boolean", int: "number", float: "number"}.get(
        type(value), type(value).__name__)


def _short(value, limit=60):
    text = repr(value)
    return value if len(text) <= limit else text[:limit] + "..."


class PlanEntries:
    """The accounts of every entry of a plan, in plan order."""

    def __init__(self, plan):
        self.accounts = [EntryAccount(position, entry) for position, entry in enumerate(plan or [], start=1)]
        for account in self.accounts:
            for code, message in shape_problems(account.entry):
                account.add_problem(code, message)

    @property
    def bad(self):
        return [account for account in self.accounts if not account.ok]

    def as_list(self):
        return [account.as_dict() for account in self.accounts]

    def raise_problems(self, **facts):
        """Fail with every bad entry, or return when every entry resolved."""
        bad = self.bad
        if not bad:
            return
        lines = [problem["message"] for account in bad for problem in account.problems]
        raise PreflightFailed("%d of the plan's %d entries cannot be used, nothing was changed: %s"
                              % (len(bad), len(self.accounts), " | ".join(lines)),
                              entries=self.as_list(), problems=lines, **facts)


def plan_capacity(volumes, pools):
    """Per destination pool: the bytes the plan moves onto it against its free space; ``message`` when it cannot fit.

    ``pools`` maps a pool id to its CloudStack record (with ``disksizetotal``, ``overprovisionfactor``,
    ``disksizeallocated``, ``disksizeused``). Volumes already on their destination need no room.
    """
    by_pool, order = {}, []
    for volume in volumes:
        if volume["already_on_destination"]:
            continue
        pool_id = volume["destination_pool_id"]
        if pool_id not in by_pool:
            by_pool[pool_id] = []
            order.append(pool_id)
        by_pool[pool_id].append(volume)
    return [_pool_capacity(pools[pool_id], by_pool[pool_id]) for pool_id in order]


def _pool_capacity(pool, volumes):
    needed = sum(int(volume.get("size") or 0) for volume in volumes)
    free = free_bytes(pool)
    fits = free is None or needed <= free
    capacity = {"pool_id": pool["id"], "pool_name": pool.get("name"), "datastore": pool_datastore_name(pool),
                "needed_bytes": needed, "free_bytes": free, "fits": fits,
                "volumes": [volume["volume_name"] or volume["volume_id"] for volume in volumes], "message": None}
    if not fits:
        capacity["message"] = (
            "destination pool %s (datastore %s) has %s free as CloudStack counts it (capacity x over-provisioning - "
            "allocated), the plan moves %s onto it in %d volume(s): %s; choose another pool or split the plan"
            % (pool.get("name"), capacity["datastore"], gib_text(max(0, free)), gib_text(needed), len(volumes),
               ", ".join(capacity["volumes"])))
    return capacity
