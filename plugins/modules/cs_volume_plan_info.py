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
  - An item names one volume (O(plan[].volume)) or every volume on a storage pool (O(plan[].source_pool)), and the
    destination pool.
  - Each volume comes back with its VM (name, state, vCenter instance name), its path, its source pool and the
    destination pool with the datastore identities behind each pool (the dash-less pool UUID of an NFS pool, the
    datastore name of a VMFS pool).
  - RV(vms) is ready to be given to M(cloudstack_vmware.safe_migration.vmware_inventory_assert) as its
    O(cloudstack_vmware.safe_migration.vmware_inventory_assert#module:vms).
  - Names are resolved exactly as M(cloudstack_vmware.safe_migration.cs_volume_migrate_safe) resolves them, so the
    plan shown is the plan migrated.
version_added: 0.1.0
author:
  - cloudstack_vmware.safe_migration contributors (!UNKNOWN)
extends_documentation_fragment:
  - cloudstack_vmware.safe_migration.cloudstack
options:
  plan:
    description:
      - The plan, one item per volume or per source pool.
      - A volume listed twice with the same destination is returned once; with two destinations it is an error.
    type: list
    elements: dict
    required: true
    suboptions:
      volume:
        description:
          - A volume, by UUID or by name. A name that matches several volumes is an error that lists them; narrow it
            with O(plan[].vm), O(plan[].zone) or O(plan[].account).
          - Exactly one of O(plan[].volume) and O(plan[].source_pool) is required.
        type: str
      source_pool:
        description:
          - A storage pool, by UUID or by name, meaning every volume on it (attached or not, in the order of their
            VM names).
        type: str
      destination:
        description: The destination storage pool, by name or UUID.
        type: str
        required: true
      vm:
        description: Name or UUID of the volume's VM, to choose among volumes of the same name.
        type: str
      zone:
        description: Name or UUID of the zone of the volume, or of the source pool.
        type: str
      account:
        description: Account owning the volume, to choose among volumes of the same name.
        type: str
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
"""

RETURN = r"""
volumes:
  description: One entry per volume of the plan, in plan order (a source pool's volumes by VM name), each volume once.
  returned: always
  type: list
  elements: dict
  contains:
    item:
      description: Index (from 0) of the plan item the volume comes from.
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
  returned: always
  type: list
  elements: dict
  sample:
    - name: i-2-8-VM
      disks:
        - path: 5c6c090d97665f8f91af8ce1d1288c7e
          datastores: [e18ab0ba7bc853a08f40dd7d33dfb46d, e18ab0ba-7bc8-53a0-8f40-dd7d33dfb46d]
summary:
  description: Counts.
  returned: always
  type: dict
  sample: {items: 2, volumes: 5, to_migrate: 4, already_on_destination: 1, detached: 0, vms: 3}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils import cloudstack_client
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils.cloudstack_args import (
    CloudStackSettings,
    cloudstack_argument_spec,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils.module_boundary import require_libraries, run_service
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils.volume_plan_info import resolve_plan

PLAN_ITEM = dict(
    volume=dict(type="str"),
    source_pool=dict(type="str"),
    destination=dict(type="str", required=True),
    vm=dict(type="str"),
    zone=dict(type="str"),
    account=dict(type="str"),
)


def argument_spec():
    spec = cloudstack_argument_spec()
    spec.update(
        plan=dict(type="list", elements="dict", required=True, options=PLAN_ITEM,
                  mutually_exclusive=[("volume", "source_pool")], required_one_of=[("volume", "source_pool")]),
    )
    return spec


def plan_volumes(params):
    """Connect to CloudStack and resolve the plan; return the result."""
    cloudstack = cloudstack_client.connect(CloudStackSettings.from_params(params))
    return resolve_plan(cloudstack, params["plan"])


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    require_libraries(module, cloudstack=True)
    result = run_service(module, plan_volumes, module.params)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
