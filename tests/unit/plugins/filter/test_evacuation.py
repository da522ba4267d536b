# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the evacuate_plan role prints: the plan, and why it is refused."""

from ansible_collections.cloudstack_vmware.safe_migration.plugins.filter.evacuation import (
    FilterModule,
    evacuation_plan_lines,
    evacuation_refusal,
)

GIB = 1073741824
EVACUATION = {
    "source_pool": {"pool_name": "nfs-4"}, "concurrency": 2,
    "summary": {"volumes": 4, "planned": 2, "destinations": 2, "unplaced": 2},
    "volumes": [{"volume_name": "root-1", "volume_type": "ROOT", "vm_name": "web1", "size": 2 * GIB,
                 "destination_pool_name": "nfs-1"},
                {"volume_name": "spare", "volume_type": "DATADISK", "vm_name": None, "size": str(GIB // 2),
                 "destination_pool_name": "nfs-2"}],
    "destinations": [{"pool_name": "nfs-1", "planned_volumes": 1, "planned_bytes": 2 * GIB, "room_after": 10 * GIB},
                     {"pool_name": "nfs-2", "planned_volumes": 1, "planned_bytes": GIB // 2, "room_after": GIB // 10}],
    "unplaced": [{"volume_name": "big", "vm_name": "db1", "size": 50 * GIB, "reason": "no destination has 50.0 GiB"},
                 {"volume_name": "odd", "vm_name": None, "size": None, "reason": "no pool with tag gold"}]}


def test_the_plan_has_its_counts_then_a_line_per_volume_and_per_destination():
    assert evacuation_plan_lines(EVACUATION, "3") == [
        "nfs-4: 4 volume(s), 2 planned on 2 destination(s), 2 fit nowhere; 2 at a time, at most 3 per destination",
        "root-1 (ROOT, web1, 2.0 GiB) -> nfs-1",
        "spare (DATADISK, detached, 0.5 GiB) -> nfs-2",
        "nfs-1: 1 volume(s), 2.0 GiB; room left 10.0 GiB",
        "nfs-2: 1 volume(s), 0.5 GiB; room left 0.1 GiB"]


def test_the_refusal_names_each_volume_that_fits_nowhere_and_why():
    assert evacuation_refusal(EVACUATION) == [
        "Cannot evacuate nfs-4: 2 of 4 volume(s) fit on no destination; nothing was changed and no plan was written:",
        "big (db1, 50.0 GiB): no destination has 50.0 GiB",
        "odd (detached, 0.0 GiB): no pool with tag gold"]


def test_the_filters_are_registered():
    assert set(FilterModule().filters()) == {"evacuation_plan_lines", "evacuation_refusal"}
