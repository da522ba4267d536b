#!/usr/bin/python
# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cs_volume_plan_info
short_description: Resolve a volume migration plan against CloudStack, read-only
description:
  - Expands the items of a migration plan into concrete CloudStack volumes, with everything needed to check them in
    vCenter and to migrate them, without changing anything.
  - An entry of O(plan) names one volume (C(volume)) or every volume on a storage pool (C(source_pool)), and the
    destination pool.
  - Each volume comes back with its VM (name, state, vCenter instance name), its path, its source pool and the
    destination pool with the datastore identities behind each pool (the dash-less pool UUID of an NFS pool, the
    datastore name of a VMFS pool).
  - RV(vms) is ready to be given to M(cloudstack_vmware.safe_migration.vmware_inventory_assert) as its
    O(cloudstack_vmware.safe_migration.vmware_inventory_assert#module:vms).
  - Names are resolved exactly as M(cloudstack_vmware.safe_migration.cs_volume_migrate_safe) resolves them, so the
    plan shown is the plan migrated.
  - With O(evacuate) instead of O(plan), it plans moving every volume off a pool (RV(evacuation)) and returns the plan
    in the format of O(plan), for review; the role C(cloudstack_vmware.safe_migration.evacuate_plan) uses it.
version_added: 0.1.0
author:
  - cloudstack_vmware.safe_migration contributors (!UNKNOWN)
extends_documentation_fragment:
  - cloudstack_vmware.safe_migration.cloudstack
  - cloudstack_vmware.safe_migration.vcenters
options:
  plan:
    description:
      - The plan, one entry per volume or per source pool. Each entry is a mapping with these keys, and no other
        (a misspelt key is an error that names the allowed keys).
      - C(volume) (string) is a volume by UUID or by name. A name that matches several volumes is an error that lists
        them; narrow it with C(vm), C(zone) or C(account).
      - C(source_pool) (string) is a storage pool by UUID or by name, meaning every volume on it (attached or not, in
        the order of their VM names). Exactly one of C(volume) and C(source_pool) is required.
      - C(destination) (string, required) is the destination storage pool, by name or UUID.
      - C(vm) (string) is the name or UUID of the volume's VM, C(account) the account owning it; both choose among
        volumes of the same name, and apply to a C(volume) entry only.
      - C(zone) (string) is the name or UUID of the zone of the volume, or of the source pool.
      - C(exclude) (list of strings) names volumes (names or UUIDs) of a C(source_pool) entry to leave out. A name that
        matches no volume of the pool is an error, so that a typo cannot move a volume meant to stay.
      - A volume listed twice with the same destination is returned once; with two destinations it is an error.
      - Every entry is accounted for in RV(entries). When any entry is malformed or does not resolve (a volume or pool
        not found, an ambiguous name, a pool onto itself, a volume to two destinations), the module fails with every
        bad entry, by its position in the plan (from 1), with RV(entries) in the result.
      - A CloudStack error while resolving (credentials, connection, 5xx) fails the module as an error of the whole
        plan, also with RV(entries).
      - Exactly one of O(plan) and O(evacuate) is required.
    type: list
    elements: raw
  zone:
    description:
      - Keep the result to the volumes of this zone (name or UUID), for one run (one inventory host) per zone.
      - The whole O(plan) is still resolved, so that a bad entry is reported by every zone's run; the volumes of other
        zones are left out of RV(volumes), RV(vms) and RV(capacity) and listed in RV(other_zones), and each entry's
        in RV(entries) C(other_zone_volume_ids).
      - A name or UUID that is not a zone of this CloudStack is an error that lists its zones.
      - Ignored with O(evacuate), whose pool has one zone.
    type: str
  evacuate:
    description:
      - Plan moving every volume off O(evacuate.source_pool) instead of resolving a plan.
      - Each volume may go only to a pool that C(findStoragePoolsForMigration) reports suitable for it, that carries every
        storage tag of the source pool (O(evacuate.match_tags)) and, when O(evacuate.destinations) is given, is one of
        them.
      - Largest volumes first, each goes to the eligible pool with the most room left after the volumes already planned
        there. Room is the pool's capacity (C(disksizetotal) times C(overprovisionfactor)) times O(evacuate.max_fill),
        less what is allocated.
      - The plan's order puts the volumes in groups of RV(evacuation.concurrency) that hold at most
        O(evacuate.per_destination) volumes of the same destination.
      - A volume that fits nowhere is listed in RV(evacuation.unplaced) with the reason; the module does not fail.
    type: dict
    suboptions:
      source_pool:
        description: The pool to empty, by name or UUID.
        type: str
        required: true
      zone:
        description: Name or UUID of the zone of the pool, when its name is not unique.
        type: str
      destinations:
        description: Pools (names or UUIDs) the volumes may go to; empty for any pool CloudStack reports suitable.
        type: list
        elements: str
        default: []
      per_destination:
        description: At most this many volumes migrate to the same destination at the same time.
        type: int
        default: 1
      concurrency:
        description:
          - Volumes migrated at the same time. Lowered in RV(evacuation.concurrency) when the volumes left for a single
            destination cannot otherwise respect O(evacuate.per_destination).
        type: int
        default: 2
      match_tags:
        description: Only plan destinations that carry every storage tag of the source pool.
        type: bool
        default: true
      max_fill:
        description:
          - Share of a destination's capacity the plan may allocate, from 0 (excluded) to 1. The default is CloudStack's
            own threshold above which it stops allocating on a pool (C(pool.storage.allocated.capacity.disablethreshold)).
        type: float
        default: 0.85
notes:
  - Needs CloudStack root admin credentials (volume paths, pools and VM instance names are admin-only fields).
  - Read-only; supports check mode.
seealso:
  - module: cloudstack_vmware.safe_migration.vmware_inventory_assert
  - module: cloudstack_vmware.safe_migration.cs_volume_migrate_safe
"""

EXAMPLES = r"""
- name: Resolve the maintenance window's plan
  cloudstack_vmware.safe_migration.cs_volume_plan_info:
    plan:
      - volume: DATA-42
        vm: web-01
        destination: primary-nfs-2
      - source_pool: primary-nfs-1
        destination: primary-nfs-3
  register: resolved

- name: Check that vCenter holds every VM and disk of the plan
  cloudstack_vmware.safe_migration.vmware_inventory_assert:
    vms: "{{ resolved.vms }}"

- name: Show what the plan resolves to
  ansible.builtin.debug:
    msg: "{{ item.volume_name }} of {{ item.vm_name }}: {{ item.source_pool_name }} -> {{ item.destination_pool_name }}"
  loop: "{{ resolved.volumes }}"
  loop_control:
    label: "{{ item.volume_id }}"

- name: Migrate exactly the volumes resolved
  cloudstack_vmware.safe_migration.cs_volume_migrate_safe:
    volumes: "{{ resolved.volumes | map(attribute='migration') | list }}"

- name: Plan emptying a pool, at most one migration per destination at a time
  cloudstack_vmware.safe_migration.cs_volume_plan_info:
    evacuate:
      source_pool: primary-nfs-1
      per_destination: 1
      concurrency: 4
  register: evacuation

- name: Refuse when a volume fits nowhere
  ansible.builtin.assert:
    that: evacuation.evacuation.unplaced | length == 0
    fail_msg: "{{ evacuation.evacuation.unplaced | map(attribute='reason') | list }}"
"""

RETURN = r"""
entries:
  description:
    - Every entry of O(plan), in plan order, with what it resolved to or why it did not.
    - Also in the result of a failure, so that no entry vanishes.
  returned: when O(plan) is given, also on failure
  type: list
  elements: dict
  contains:
    index:
      description: Position of the entry in the plan, from 1.
      type: int
    entry:
      description: The entry as given.
      type: raw
    volume_ids:
      description: UUIDs of the volumes the entry resolved to (empty when it did not resolve).
      type: list
      elements: str
    excluded_ids:
      description: UUIDs of the volumes of a C(source_pool) entry left out by its C(exclude).
      type: list
      elements: str
    other_zone_volume_ids:
      description: With O(zone), UUIDs of the volumes the entry resolved to in other zones (not in C(volume_ids)).
      type: list
      elements: str
    error:
      description: Why the entry cannot be used and what to do, starting with its position (C(entry 3 ...)); null when it resolved.
      type: str
    error_code:
      description:
        - A short code for the first problem, null when the entry resolved. One of V(not_a_mapping), V(unknown_key),
          V(wrong_type), V(volume_and_source_pool), V(no_volume_or_source_pool), V(no_destination),
          V(volume_option_on_pool), V(exclude_on_volume), V(volume_not_found), V(volume_ambiguous),
          V(source_pool_not_found), V(source_pool_ambiguous), V(destination_not_found), V(destination_ambiguous),
          V(pool_onto_itself), V(exclude_unknown), V(two_destinations).
      type: str
    problems:
      description: Every problem of the entry, each with C(code) and C(message).
      type: list
      elements: dict
  sample:
    - index: 1
      entry: {volume: DATA-12, vm: vm-0008, destination: nfs-primary-4}
      volume_ids: [5c6c090d-9766-5f8f-91af-8ce1d1288c7e]
      excluded_ids: []
      error: null
      error_code: null
      problems: []
    - index: 2
      entry: {volume: DATA-13, destinaton: nfs-primary-4}
      volume_ids: []
      excluded_ids: []
      error: "entry 2: unknown key 'destinaton': did you mean destination? the keys of an entry are volume, ..."
      error_code: unknown_key
      problems: [{code: unknown_key, message: "entry 2: unknown key 'destinaton': ..."}]
capacity:
  description:
    - Per destination pool, the bytes the plan moves onto it (volumes not already there) against its free space as
      CloudStack counts it (C(disksizetotal) times C(overprovisionfactor), less the larger of C(disksizeallocated) and
      C(disksizeused)).
    - C(fits) is false, and C(message) says what to do, when the plan does not fit; the module does not fail for it
      (the role C(cloudstack_vmware.safe_migration.preflight) does).
  returned: when O(plan) is given
  type: list
  elements: dict
  sample:
    - pool_id: 6cc2d876-a615-5589-aa54-6fdd6d139f44
      pool_name: nfs-primary-4
      datastore: 6cc2d876a6155589aa546fdd6d139f44
      needed_bytes: 42949672960
      free_bytes: 21474836480
      fits: false
      volumes: [DATA-12, DATA-13]
      message: "destination pool nfs-primary-4 (datastore 6cc2d876a6155589aa546fdd6d139f44) has 20.0 GiB free ..."
volumes:
  description: One entry per volume of the plan, in plan order (a source pool's volumes by VM name), each volume once.
  returned: when O(plan) is given
  type: list
  elements: dict
  contains:
    item:
      description: Index (from 0) of the plan item the volume comes from.
      type: int
    entry:
      description: Position (from 1) of the plan entry the volume comes from, as in RV(entries[].index).
      type: int
    volume_id:
      description: The volume's UUID.
      type: str
    volume_name:
      description: The volume's name.
      type: str
    volume_type:
      description: V(ROOT) or V(DATADISK).
      type: str
    volume_state:
      description: The volume's state in CloudStack (V(Ready) when it can migrate).
      type: str
    size:
      description: Size in bytes.
      type: int
    account:
      description: Account owning the volume.
      type: str
    zone_id:
      description: UUID of the volume's zone.
      type: str
    zone_name:
      description: Name of the volume's zone.
      type: str
    path:
      description: The volume's path, the base name of its VMDK (null after a false success of apache/cloudstack#9881).
      type: str
    attached:
      description: Whether the volume is attached to a VM.
      type: bool
    vm_id:
      description: UUID of the volume's VM; null for a detached volume.
      type: str
    vm_name:
      description: Name of the volume's VM.
      type: str
    vm_state:
      description: State of the volume's VM (V(Stopped), V(Running)...).
      type: str
    instance_name:
      description: The VM's instance name, its name in vCenter (for example V(i-2-34-VM)).
      type: str
    source_pool_id:
      description: UUID of the pool the record puts the volume on.
      type: str
    source_pool_name:
      description: Name of that pool.
      type: str
    source_datastores:
      description: Datastore identities (name or C(cloud.uuid)) backing the source pool.
      type: list
      elements: str
    destination_pool_id:
      description: UUID of the destination pool.
      type: str
    destination_pool_name:
      description: Name of the destination pool.
      type: str
    destination_datastores:
      description: Datastore identities backing the destination pool.
      type: list
      elements: str
    already_on_destination:
      description: Whether the record already puts the volume on the destination pool.
      type: bool
    migration:
      description:
        - The volume as an item of the O(cloudstack_vmware.safe_migration.cs_volume_migrate_safe#module:volumes) option
          of M(cloudstack_vmware.safe_migration.cs_volume_migrate_safe), by UUIDs (C(volume), C(destination)).
      type: dict
  sample:
    - item: 0
      entry: 1
      volume_id: 5c6c090d-9766-5f8f-91af-8ce1d1288c7e
      volume_name: DATA-12
      volume_type: DATADISK
      volume_state: Ready
      size: 21474836480
      account: admin
      zone_id: 3806515f-d72b-523f-ac3f-fade3f841459
      zone_name: zone1
      path: 5c6c090d97665f8f91af8ce1d1288c7e
      attached: true
      vm_id: 3f4f2f0c-0d3c-5a52-9f35-5c3c8a1d1e11
      vm_name: vm-0008
      vm_state: Stopped
      instance_name: i-2-8-VM
      source_pool_id: e18ab0ba-7bc8-53a0-8f40-dd7d33dfb46d
      source_pool_name: nfs-primary-2
      source_datastores: [e18ab0ba7bc853a08f40dd7d33dfb46d, e18ab0ba-7bc8-53a0-8f40-dd7d33dfb46d]
      destination_pool_id: 6cc2d876-a615-5589-aa54-6fdd6d139f44
      destination_pool_name: nfs-primary-4
      destination_datastores: [6cc2d876a6155589aa546fdd6d139f44, 6cc2d876-a615-5589-aa54-6fdd6d139f44]
      already_on_destination: false
      migration: {volume: 5c6c090d-9766-5f8f-91af-8ce1d1288c7e, destination: 6cc2d876-a615-5589-aa54-6fdd6d139f44}
vms:
  description:
    - The VMs of the plan with the disks each must hold, in the shape of the O(cloudstack_vmware.safe_migration.vmware_inventory_assert#module:vms)
      option of M(cloudstack_vmware.safe_migration.vmware_inventory_assert).
    - A disk is expected on its source pool's datastores, or on the destination's when the record already says so.
      A volume without a path (left by an earlier false success) adds no disk, but its VM is still listed; detached
      volumes add nothing.
  returned: when O(plan) is given
  type: list
  elements: dict
  sample:
    - name: i-2-8-VM
      disks:
        - path: 5c6c090d97665f8f91af8ce1d1288c7e
          datastores: [e18ab0ba7bc853a08f40dd7d33dfb46d, e18ab0ba-7bc8-53a0-8f40-dd7d33dfb46d]
zones:
  description:
    - With O(vcenters), each zone of the plan and the vCenter and datacenter that serve it (C(zone_id), C(zone_name),
      C(vcenter) as host:port, C(datacenter), C(matched_by) V(listVmwareDcs) or V(zones)); each entry of RV(vms) then
      has the C(vcenter) and C(datacenter) of its zone, which
      M(cloudstack_vmware.safe_migration.vmware_inventory_assert) uses to check each VM in its own vCenter.
  returned: when O(plan) and O(vcenters) are given
  type: list
  elements: dict
  sample:
    - {zone_id: 8e1c1e51-0b2a-4c55-9a4e-3c3f2b5d1a10, zone_name: zone2, vcenter: "vcenter-west.example.com:443",
       datacenter: DC-West, matched_by: listVmwareDcs}
zone:
  description: With O(zone), the zone the result is kept to (C(id), C(name)).
  returned: when O(plan) and O(zone) are given
  type: dict
  sample: {id: 8e1c1e51-0b2a-4c55-9a4e-3c3f2b5d1a10, name: zone2}
other_zones:
  description:
    - With O(zone), the plan's volumes in other zones, left to the runs of those zones (C(volume_id), C(volume_name),
      C(entry), C(zone_id), C(zone_name), C(vm_name), C(source_pool_name), C(destination_pool_name)).
  returned: when O(plan) and O(zone) are given
  type: list
  elements: dict
  sample:
    - {volume_id: 0f6b7c1e-2d7a-5b9e-8c41-6a1f0e3b9d22, volume_name: DATA-31, entry: 2, zone_id: 8e1c1e51-0b2a-4c55-9a4e-3c3f2b5d1a10,
       zone_name: zone2, vm_name: vm-0031, source_pool_name: z2-nfs-primary-1, destination_pool_name: z2-nfs-primary-2}
summary:
  description: Counts (with O(zone), C(other_zones) too).
  returned: when O(plan) is given
  type: dict
  sample: {items: 2, volumes: 5, to_migrate: 4, already_on_destination: 1, detached: 0, excluded: 0, vms: 3}
evacuation:
  description: The evacuation plan of O(evacuate.source_pool).
  returned: when O(evacuate) is given
  type: dict
  contains:
    source_pool:
      description: The pool emptied (C(pool_id), C(pool_name), C(tags)).
      type: dict
    plan:
      description:
        - The plan in the format of O(plan) (C(volume), C(destination), both UUIDs), in the order to migrate.
        - Empty when the pool holds no volume.
      type: list
      elements: dict
    volumes:
      description:
        - The planned volumes in the same order, with C(volume_id), C(volume_name), C(volume_type), C(volume_state),
          C(size), C(vm_name), C(vm_state), C(destination_pool_id), C(destination_pool_name) and C(group) (the index of
          the group of volumes started together).
      type: list
      elements: dict
    unplaced:
      description: The volumes no destination can take, with the same facts and C(reason).
      type: list
      elements: dict
    destinations:
      description:
        - The pools the plan uses, with C(pool_id), C(pool_name), C(tags), C(room_before) (bytes the plan could use),
          C(planned_bytes), C(planned_volumes) and C(room_after).
      type: list
      elements: dict
    concurrency:
      description: Volumes to migrate at the same time so that O(evacuate.per_destination) holds.
      type: int
    summary:
      description: Counts (C(volumes), C(planned), C(unplaced), C(planned_bytes), C(destinations), C(concurrency), C(groups)).
      type: dict
  sample:
    source_pool: {pool_id: e18ab0ba-7bc8-53a0-8f40-dd7d33dfb46d, pool_name: nfs-primary-2, tags: []}
    plan:
      - {volume: 5c6c090d-9766-5f8f-91af-8ce1d1288c7e, destination: 6cc2d876-a615-5589-aa54-6fdd6d139f44}
    volumes:
      - volume_id: 5c6c090d-9766-5f8f-91af-8ce1d1288c7e
        volume_name: DATA-12
        volume_type: DATADISK
        volume_state: Ready
        size: 21474836480
        vm_name: vm-0008
        vm_state: Stopped
        destination_pool_id: 6cc2d876-a615-5589-aa54-6fdd6d139f44
        destination_pool_name: nfs-primary-4
        group: 0
    unplaced: []
    destinations:
      - {pool_id: 6cc2d876-a615-5589-aa54-6fdd6d139f44, pool_name: nfs-primary-4, tags: [], room_before: 3526417582899,
         planned_bytes: 21474836480, planned_volumes: 1, room_after: 3504942746419}
    concurrency: 1
    summary: {volumes: 1, planned: 1, unplaced: 0, planned_bytes: 21474836480, destinations: 1, concurrency: 1, groups: 1}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.arguments import vcenters_argument_spec
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.zones import ZoneRouter
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._cloudstack import client as cloudstack_client
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._cloudstack.arguments import (
    CloudStackSettings,
    cloudstack_argument_spec,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.boundary import require_libraries, run_service
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.evacuation import plan_evacuation
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.plan_info import resolve_plan

EVACUATE = dict(
    source_pool=dict(type="str", required=True),
    zone=dict(type="str"),
    destinations=dict(type="list", elements="str", default=[]),
    per_destination=dict(type="int", default=1),
    concurrency=dict(type="int", default=2),
    match_tags=dict(type="bool", default=True),
    max_fill=dict(type="float", default=0.85),
)


def argument_spec():
    spec = cloudstack_argument_spec()
    spec.update(vcenters_argument_spec())
    spec.update(
        # Entries are checked one by one by the service, so that every bad entry is reported with its position.
        plan=dict(type="list", elements="raw"),
        evacuate=dict(type="dict", options=EVACUATE),
        zone=dict(type="str"),
    )
    return spec


def plan_volumes(params):
    """Connect to CloudStack, then resolve the plan or plan the evacuation; return the result."""
    cloudstack = cloudstack_client.connect(CloudStackSettings.from_params(params))
    if params["evacuate"] is not None:
        return plan_evacuation(cloudstack, params["evacuate"])
    router = ZoneRouter(cloudstack, params["vcenters"]) if params["vcenters"] else None
    return resolve_plan(cloudstack, params["plan"], router, zone=params["zone"])


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           mutually_exclusive=[("plan", "evacuate")], required_one_of=[("plan", "evacuate")])
    require_libraries(module, cloudstack=True)
    result = run_service(module, plan_volumes, module.params)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
