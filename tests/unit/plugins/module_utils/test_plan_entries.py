# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan's entries checked for their form, accounted for, and the capacity of the whole plan: pure functions."""

import pytest

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import PreflightFailed
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.plan_entries import (
    PlanEntries,
    plan_capacity,
    shape_problems,
)

GIB = 1024 ** 3


@pytest.mark.parametrize("entry", [
    {"volume": "DATA-7", "destination": "nfs-2"},
    {"volume": "DATA-7", "vm": "web-7", "zone": "zone1", "account": "admin", "destination": "nfs-2"},
    {"source_pool": "nfs-1", "zone": "zone1", "exclude": ["DATA-9"], "destination": "nfs-2"},
])
def test_well_formed_entries_have_no_problem(entry):
    assert shape_problems(entry) == []


@pytest.mark.parametrize("entry, codes", [
    ({"volume": "", "destination": "nfs-2"}, ["no_volume_or_source_pool"]),
    ({"volume": None, "source_pool": "nfs-1", "destination": ""}, ["no_destination"]),
    ({"volume": "DATA-7", "source_pool": "nfs-1"}, ["volume_and_source_pool", "no_destination"]),
    ({"volum": "DATA-7", "destnation": "nfs-2"}, ["unknown_key", "unknown_key"]),
    ({"volume": ["DATA-7"], "destination": True}, ["wrong_type", "wrong_type"]),
    ({"source_pool": "nfs-1", "exclude": ["DATA-9", 3], "destination": "nfs-2"}, ["wrong_type"]),
    (None, ["not_a_mapping"]),
    (["DATA-7", "nfs-2"], ["not_a_mapping"]),
])
def test_each_problem_of_form_is_found(entry, codes):
    assert [code for code, _message in shape_problems(entry)] == codes


def test_an_unknown_key_suggests_the_close_one_and_lists_the_allowed_keys():
    [(_code, close)] = shape_problems({"volume": "DATA-7", "destination": "nfs-2", "acount": "admin"})
    [(_code, far)] = shape_problems({"volume": "DATA-7", "destination": "nfs-2", "colour": "blue"})

    assert "unknown key 'acount': did you mean account?" in close
    assert "did you mean" not in far and "volume, source_pool, destination, vm, zone, account, exclude" in far


def test_every_bad_entry_is_in_the_failure_with_its_position():
    entries = PlanEntries([{"volume": "DATA-7", "destination": "nfs-2"}, "DATA-8", {"source_pool": "nfs-1"}])

    with pytest.raises(PreflightFailed) as refused:
        entries.raise_problems()

    assert refused.value.message.startswith("2 of the plan's 3 entries cannot be used, nothing was changed: entry 2: ")
    assert "| entry 3: has no destination" in refused.value.message
    assert [entry["index"] for entry in refused.value.facts["entries"]] == [1, 2, 3]
    assert [entry["error_code"] for entry in refused.value.facts["entries"]] == [None, "not_a_mapping", "no_destination"]


def test_a_good_plan_raises_nothing():
    PlanEntries([{"volume": "DATA-7", "destination": "nfs-2"}]).raise_problems()


def _volume(name, size, pool="p2", already=False):
    return {"volume_id": name + "-id", "volume_name": name, "size": size, "destination_pool_id": pool,
            "already_on_destination": already}


def _pool(pool_id, name, total, allocated, factor="2.0"):
    return {"id": pool_id, "name": name, "type": "NetworkFilesystem", "disksizetotal": total,
            "disksizeallocated": allocated, "disksizeused": 0, "overprovisionfactor": factor}


def test_capacity_adds_up_the_volumes_per_destination_and_skips_those_already_there():
    pools = {"p2": _pool("p2", "nfs-2", 10 * GIB, 15 * GIB), "p3": _pool("p3", "nfs-3", 100 * GIB, 0)}
    volumes = [_volume("DATA-1", 3 * GIB), _volume("DATA-2", 3 * GIB), _volume("DATA-3", 50 * GIB, already=True),
               _volume("DATA-4", 1 * GIB, pool="p3")]

    capacity = plan_capacity(volumes, pools)

    assert [(item["pool_name"], item["needed_bytes"], item["free_bytes"], item["fits"]) for item in capacity] == [
        ("nfs-2", 6 * GIB, 5 * GIB, False), ("nfs-3", 1 * GIB, 200 * GIB, True)]
    assert capacity[0]["message"] == (
        "destination pool nfs-2 (datastore p2) has 5.0 GiB free as CloudStack counts it (capacity x over-provisioning - "
        "allocated), the plan moves 6.0 GiB onto it in 2 volume(s): DATA-1, DATA-2; choose another pool or split the plan")
    assert capacity[1]["message"] is None


def test_a_pool_without_capacity_figures_is_not_judged():
    [item] = plan_capacity([_volume("DATA-1", GIB)], {"p2": {"id": "p2", "name": "nfs-2", "type": "NetworkFilesystem"}})

    assert item["fits"] is True and item["free_bytes"] is None
