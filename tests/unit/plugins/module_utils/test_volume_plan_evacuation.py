# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Evacuation planning (volume_plan_info.plan_evacuation), against a fake CloudStack client that refuses any change.

The fake answers findStoragePoolsForMigration from a table of suitability per volume, as CloudStack's allocators
would; the planner's own rules (capacity after earlier assignments, tags, destinations, per-destination groups) are
what these tests exercise. The lab test tests/integration/test_evacuate_pool.py runs the real thing.
"""

import copy

import pytest

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import InvalidInput, PreflightFailed
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.evacuation import plan_evacuation

GIB = 1024 ** 3
ZONE = "dddddddd-dddd-4ddd-8ddd-dddddddddddd"
SOURCE = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
BIG = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
SMALL = "cccccccc-cccc-4ccc-8ccc-cccccccccccc"
FULL = "eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee"


def _pool(pool_id, name, total_gib, allocated_gib, tags=None):
    pool = dict(id=pool_id, name=name, zoneid=ZONE, zonename="zone1", state="Up", type="NetworkFilesystem",
                disksizetotal=total_gib * GIB, disksizeallocated=allocated_gib * GIB, disksizeused=allocated_gib * GIB,
                overprovisionfactor="1.0")
    if tags:
        pool["tags"] = tags
    return pool


def _volume(number, size_gib, vmname="vm-%d"):
    return dict(id="%08d-0000-4000-8000-000000000000" % number, name="DATA-%d" % number, type="DATADISK", state="Ready",
                storageid=SOURCE, storage="nfs-src", size=size_gib * GIB, vmname=vmname % number, vmstate="Stopped",
                zoneid=ZONE)


class FakeCloudStack:
    """Reads only. ``unsuitable`` maps a pool id to volume ids CloudStack would not offer it for."""

    def __init__(self, volumes, pools, unsuitable=None):
        self.volumes = volumes
        self.pools = {pool["id"]: pool for pool in pools}
        self.unsuitable = unsuitable or {}
        self.calls = []

    def list_volumes(self, **filters):
        self.calls.append(("list_volumes", filters))
        return [copy.deepcopy(volume) for volume in self.volumes if volume["storageid"] == filters["storageid"]]

    def get_storage_pool(self, pool_id):
        return copy.deepcopy(self.pools.get(pool_id))

    def list_storage_pools(self, **filters):
        return [copy.deepcopy(pool) for pool in self.pools.values() if pool["name"] == filters.get("name", pool["name"])]

    def find_storage_pools_for_migration(self, volume_id):
        self.calls.append(("find_storage_pools_for_migration", volume_id))
        return [dict(copy.deepcopy(pool), suitableformigration=volume_id not in self.unsuitable.get(pool_id, ()))
                for pool_id, pool in self.pools.items() if pool_id != SOURCE]

    def migrate_volume(self, *args, **kwargs):
        raise AssertionError("planning must not migrate")

    def update_volume(self, *args, **kwargs):
        raise AssertionError("planning must not update")


def _plan(cloudstack, **options):
    return plan_evacuation(cloudstack, dict({"source_pool": "nfs-src"}, **options))["evacuation"]


def _placement(evacuation):
    return {volume["volume_name"]: volume["destination_pool_name"] for volume in evacuation["volumes"]}


@pytest.fixture
def pools():
    return [_pool(SOURCE, "nfs-src", 1000, 100), _pool(BIG, "nfs-big", 1000, 0), _pool(SMALL, "nfs-small", 1000, 900)]


def test_largest_volumes_first_each_to_the_pool_with_the_most_room_left(pools):
    pools[1:] = [_pool(BIG, "nfs-big", 1000, 400), _pool(SMALL, "nfs-small", 1000, 450)]
    # room (max_fill 1): big 600, small 550. 100 -> big (500 left), 80 -> small (470), 60 -> big (440), 50 -> small.
    cloudstack = FakeCloudStack([_volume(1, 50), _volume(2, 100), _volume(3, 60), _volume(4, 80)], pools)

    evacuation = _plan(cloudstack, max_fill=1.0, concurrency=1)

    assert _placement(evacuation) == {"DATA-2": "nfs-big", "DATA-4": "nfs-small", "DATA-3": "nfs-big", "DATA-1": "nfs-small"}
    assert [volume["volume_name"] for volume in evacuation["volumes"]] == ["DATA-2", "DATA-4", "DATA-3", "DATA-1"]
    assert evacuation["plan"][0] == {"volume": "00000002-0000-4000-8000-000000000000", "destination": BIG}
    big = next(item for item in evacuation["destinations"] if item["pool_name"] == "nfs-big")
    assert (big["room_before"], big["planned_bytes"], big["room_after"]) == (600 * GIB, 160 * GIB, 440 * GIB)
    assert evacuation["unplaced"] == [] and evacuation["summary"]["planned"] == 4


def test_a_volume_goes_only_where_cloudstack_says_it_is_suitable(pools):
    pools[2] = _pool(SMALL, "nfs-small", 1000, 500)
    volume = _volume(1, 10)
    cloudstack = FakeCloudStack([volume], pools, unsuitable={BIG: [volume["id"]]})

    assert _placement(_plan(cloudstack)) == {"DATA-1": "nfs-small"}
    assert ("find_storage_pools_for_migration", volume["id"]) in cloudstack.calls


def test_no_suitable_pool_leaves_the_volume_unplaced_with_the_reason(pools):
    volume = _volume(1, 10)
    cloudstack = FakeCloudStack([volume, _volume(2, 10)], pools, unsuitable={BIG: [volume["id"]], SMALL: [volume["id"]]})

    evacuation = _plan(cloudstack)

    [unplaced] = evacuation["unplaced"]
    assert unplaced["volume_name"] == "DATA-1" and "CloudStack reports no pool suitable" in unplaced["reason"]
    assert _placement(evacuation) == {"DATA-2": "nfs-big"}


def test_room_counts_the_volumes_already_planned_and_max_fill(pools):
    # max_fill 0.85 of 1000: big has 850, small none (900 allocated). 500 fits on big, then 400 no longer does.
    cloudstack = FakeCloudStack([_volume(1, 500), _volume(2, 400)], pools)

    evacuation = _plan(cloudstack)

    assert _placement(evacuation) == {"DATA-1": "nfs-big"}
    [unplaced] = evacuation["unplaced"]
    assert unplaced["volume_name"] == "DATA-2"
    assert "no suitable pool has room for its 400.0 GiB after the volumes already planned" in unplaced["reason"]
    assert "nfs-big 350.0 GiB" in unplaced["reason"] and "nfs-small 0.0 GiB" in unplaced["reason"]


def test_overprovisioning_counts_in_the_capacity(pools):
    pools[2] = dict(_pool(SMALL, "nfs-small", 1000, 900), overprovisionfactor="2.0")
    pools[1] = _pool(BIG, "nfs-big", 100, 0)

    # small: 2000 x 0.85 - 900 = 800 of room, more than big's 85.
    assert _placement(_plan(FakeCloudStack([_volume(1, 200)], pools))) == {"DATA-1": "nfs-small"}


def test_destinations_must_carry_the_source_pools_storage_tags(pools):
    pools[0] = _pool(SOURCE, "nfs-src", 1000, 100, tags="ssd,gold")
    pools[2] = _pool(SMALL, "nfs-small", 1000, 500, tags="gold, ssd,fast")
    cloudstack = FakeCloudStack([_volume(1, 10)], pools)

    evacuation = _plan(cloudstack)

    assert _placement(evacuation) == {"DATA-1": "nfs-small"}
    assert evacuation["source_pool"]["tags"] == ["gold", "ssd"]
    assert _placement(_plan(cloudstack, match_tags=False)) == {"DATA-1": "nfs-big"}


def test_no_pool_with_the_tags_is_a_reason(pools):
    pools[0] = _pool(SOURCE, "nfs-src", 1000, 100, tags="ssd")

    [unplaced] = _plan(FakeCloudStack([_volume(1, 10)], pools))["unplaced"]

    assert "no suitable pool carries the source pool's storage tags ssd (suitable: nfs-big, nfs-small)" in unplaced["reason"]


def test_only_the_destinations_given(pools):
    pools[2] = _pool(SMALL, "nfs-small", 1000, 500)
    cloudstack = FakeCloudStack([_volume(1, 10)], pools)

    assert _placement(_plan(cloudstack, destinations=["nfs-small"])) == {"DATA-1": "nfs-small"}
    assert _placement(_plan(cloudstack, destinations=[SMALL])) == {"DATA-1": "nfs-small"}


@pytest.mark.parametrize("destinations, text", [
    (["nfs-nowhere"], "Destination storage pool nfs-nowhere was not found"),
    (["nfs-src"], "Destination nfs-src is the pool being evacuated"),
])
def test_a_wrong_destination_is_refused_before_any_read_of_volumes(pools, destinations, text):
    cloudstack = FakeCloudStack([_volume(1, 10)], pools)

    with pytest.raises(InvalidInput, match=text):
        _plan(cloudstack, destinations=destinations)
    assert not [call for call in cloudstack.calls if call[0] == "list_volumes"]


@pytest.mark.parametrize("options, text", [
    ({"max_fill": 0}, "max_fill"), ({"max_fill": 1.5}, "max_fill"),
    ({"per_destination": 0}, "at least 1"), ({"concurrency": 0}, "at least 1"),
])
def test_bad_rules_are_refused(pools, options, text):
    with pytest.raises(InvalidInput, match=text):
        _plan(FakeCloudStack([], pools), **options)


def test_an_unknown_source_pool_is_refused(pools):
    with pytest.raises(PreflightFailed, match="Source storage pool nfs-gone was not found"):
        plan_evacuation(FakeCloudStack([], pools), {"source_pool": "nfs-gone"})


def test_an_empty_pool_gives_an_empty_plan(pools):
    evacuation = _plan(FakeCloudStack([], pools))

    assert evacuation["plan"] == [] and evacuation["unplaced"] == [] and evacuation["summary"]["volumes"] == 0


def _groups(evacuation):
    groups = {}
    for volume in evacuation["volumes"]:
        groups.setdefault(volume["group"], []).append(volume["destination_pool_name"])
    return [groups[index] for index in sorted(groups)]


def test_groups_hold_at_most_per_destination_volumes_of_a_destination(pools):
    pools[1:] = [_pool(BIG, "nfs-big", 1000, 0), _pool(SMALL, "nfs-small", 1000, 0)]
    cloudstack = FakeCloudStack([_volume(number, 10) for number in range(1, 7)], pools)

    evacuation = _plan(cloudstack, concurrency=2, per_destination=1)

    assert evacuation["concurrency"] == 2
    assert all(sorted(group) == ["nfs-big", "nfs-small"] for group in _groups(evacuation))
    assert [volume["group"] for volume in evacuation["volumes"]] == [0, 0, 1, 1, 2, 2]


def test_the_concurrency_is_lowered_when_one_destination_is_left_with_many_volumes(pools):
    # Every volume fits only on nfs-big: two at a time would put two on nfs-big.
    volumes = [_volume(number, 10) for number in range(1, 5)]
    cloudstack = FakeCloudStack(volumes, pools, unsuitable={SMALL: [volume["id"] for volume in volumes]})

    evacuation = _plan(cloudstack, concurrency=3, per_destination=1)

    assert evacuation["concurrency"] == 1 and evacuation["summary"]["groups"] == 4
    assert _plan(cloudstack, concurrency=3, per_destination=2)["concurrency"] == 2
