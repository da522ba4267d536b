#!/usr/bin/python
# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: vmware_inventory_assert
short_description: Assert that vCenter holds the VMs and disks CloudStack thinks it holds
description:
  - Checks, in one read of the vCenter inventory, that each given VM is in the inventory exactly once and
    connected, that each expected disk is attached (exact file name match) on the expected datastore, that
    those datastores are accessible and not in maintenance, and that the VM has no snapshots.
  - All problems are reported together, each with a machine-readable code, not only the first.
  - When a VM is missing from the inventory, the accessible datastores are searched for what it left behind
    (its C(.vmx) and expected C(.vmdk) files) and the result says where they are.
  - VMs are matched as CloudStack matches them; an instance name matches the vCenter VM name or the
    C(cloud.vm.internal.name) custom attribute, case-insensitively.
  - Read-only. All VMs are read with one container view and one property-collector retrieval, whatever
    their number; datastore searches are made once per datastore at most.
version_added: 0.1.0
author:
  - cloudstack_vmware.safe_migration contributors (!UNKNOWN)
extends_documentation_fragment:
  - cloudstack_vmware.safe_migration.vcenter
  - cloudstack_vmware.safe_migration.vcenters
options:
  vms:
    description:
      - The VMs to assert. Each needs exactly one of O(vms[].name), O(vms[].instance_uuid), O(vms[].bios_uuid)
        or O(vms[].moid).
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - CloudStack instance name (for example V(i-2-34-VM)), matched case-insensitively against the VM
            name and its C(cloud.vm.internal.name) attribute.
        type: str
      instance_uuid:
        description: vCenter instance UUID of the VM (C(config.instanceUuid)).
        type: str
      bios_uuid:
        description: BIOS UUID of the VM (C(config.uuid)).
        type: str
      moid:
        description: Managed object id of the VM (for example V(vm-42)).
        type: str
      disks:
        description: Disks the VM must have attached.
        type: list
        elements: dict
        suboptions:
          path:
            description:
              - A CloudStack volume path (for example V(ROOT-34)), matched exactly against the disk file's
                name without C(.vmdk), or a full datastore path such as V([ds1] i-2-34-VM/ROOT-34.vmdk).
              - Never a partial match, V(ROOT-3) does not match C(ROOT-34.vmdk).
            type: str
            required: true
          datastores:
            description:
              - Datastores the disk may be on, by name or C(cloud.uuid) custom value (dashes and case
                are ignored, as CloudStack names datastores after the pool UUID without dashes).
              - When not set, any datastore is accepted.
            type: list
            elements: str
            aliases: [datastore]
      power_state:
        description: The power state the VM must be in.
        type: str
        choices: [poweredOn, poweredOff, suspended]
      vcenter:
        description:
          - With O(vcenters), the vCenter that holds the VM, as C(host:port) of one of O(vcenters), as
            M(cloudstack_vmware.safe_migration.cs_volume_plan_info) gives it for the VM's zone. Required then; not
            used without O(vcenters).
        type: str
      datacenter:
        description:
          - With O(vcenters), the datacenter to look the VM up in (its zone's); the whole vCenter when not set.
        type: str
  fail_on_problems:
    description:
      - Fail the task when any check fails. With V(false) the task only reports (RV(ok), RV(problems)).
    type: bool
    default: true
  verify_files:
    description:
      - Confirm with datastore searches that the file of each attached expected disk exists
        (one search per datastore holding such a disk).
      - With V(true), the assertion passes only when every expected disk's file was found; a file that could not
        be searched for (datastore inaccessible, in maintenance, outside the datacenter read, or a refused search)
        is a problem, never a pass.
      - With V(false), disk files are not searched for (RV(vms[].disks[].file_status=not_searched)).
    type: bool
    default: true
notes:
  - Supports check mode; the module never changes anything.
  - "Problem codes: V(vm_not_found), V(vm_duplicate), V(vm_not_connected), V(power_state_mismatch), V(vm_has_snapshots),
    V(disk_not_attached), V(disk_on_other_datastore), V(disk_file_missing), V(disk_file_unverified), V(datastore_inaccessible),
    V(datastore_in_maintenance), V(vm_registered_as_other_name). What each means and what to do:
    C(docs/vmware_inventory_assert.md) in the collection."
seealso:
  - module: cloudstack_vmware.safe_migration.cs_volume_migrate_safe
"""

EXAMPLES = r"""
- name: Stop the maintenance window unless vCenter holds the VMs and disks to migrate
  cloudstack_vmware.safe_migration.vmware_inventory_assert:
    hostname: vcenter.example.com
    username: readonly@vsphere.local
    password: "{{ vcenter_password }}"
    ca_cert: /etc/pki/vmca.pem
    datacenter: DC1
    vms:
      - name: i-2-34-VM
        disks:
          - path: ROOT-34
            datastores: [a8e3f1c2b4d54f6e8a9b0c1d2e3f4a5b]
          - path: "[primary-1] i-2-34-VM/DATA-35.vmdk"
      - instance_uuid: 5003a1b2-0c1d-4e2f-8a9b-0c1d2e3f4a5b
        power_state: poweredOff

- name: Only report, and act on the codes
  cloudstack_vmware.safe_migration.vmware_inventory_assert:
    vms:
      - name: i-2-34-VM
      - name: i-2-35-VM
    fail_on_problems: false
  register: inventory

- name: Show the VMs missing from vCenter
  ansible.builtin.debug:
    msg: "{{ inventory.problems | selectattr('code', 'equalto', 'vm_not_found') | map(attribute='message') }}"
"""

RETURN = r"""
ok:
  description: Whether every check passed.
  returned: success, or failure because of problems
  type: bool
  sample: false
vms:
  description: What vCenter holds for each asserted VM, in the order given.
  returned: success, or failure because of problems
  type: list
  elements: dict
  contains:
    ref:
      description: The reference given (name, UUID or moid).
      type: str
    ref_type:
      description: V(instance_name), V(instance_uuid), V(bios_uuid) or V(moid).
      type: str
    found:
      description: Whether exactly one VM of the inventory matches.
      type: bool
    matches:
      description: How many VMs of the inventory match (more than one is a V(vm_duplicate) problem).
      type: int
    moid:
      description: Managed object id of the VM.
      type: str
    name:
      description: Name of the VM in vCenter.
      type: str
    internal_name:
      description: The VM's C(cloud.vm.internal.name) custom attribute.
      type: str
    instance_uuid:
      description: The VM's instance UUID.
      type: str
    bios_uuid:
      description: The VM's BIOS UUID.
      type: str
    connection_state:
      description: V(connected), V(disconnected), V(orphaned), V(inaccessible) or V(invalid).
      type: str
    power_state:
      description: V(poweredOn), V(poweredOff) or V(suspended).
      type: str
    host:
      description: Name of the ESXi host of the VM.
      type: str
    disks:
      description: One entry per expected disk.
      type: list
      elements: dict
      contains:
        path:
          description: The path given.
          type: str
        file:
          description: The disk's full datastore path (for a missing VM, where its file was left behind).
          type: str
        datastore:
          description: Name of the datastore holding the disk.
          type: str
        exists:
          description:
            - V(true) when a datastore search found the file, V(false) when a search did not find it, null when
              no conclusive search was made (see RV(vms[].disks[].file_status_reason)).
            - Only V(true) proves the file is there.
          type: bool
        file_status:
          description:
            - The same answer as RV(vms[].disks[].exists), named. V(found) (searched, there), V(missing)
              (searched, not there) or V(not_searched) (no conclusive search).
            - For a VM missing from the inventory, V(missing) means every datastore in scope was searched.
          type: str
          sample: found
        file_status_reason:
          description: Why the file was not searched for, when RV(vms[].disks[].file_status=not_searched).
          type: str
          sample: datastore ds2 is not accessible
        attached:
          description: Whether the disk is attached to the VM.
          type: bool
        device_key:
          description: The virtual device key of the disk.
          type: int
        datastore_moid:
          description: Managed object id of the datastore holding the attached disk.
          type: str
    leftovers:
      description: For a VM missing from the inventory, the full datastore paths of its files found on the datastores.
      type: list
      elements: str
problems:
  description: Every failed check, in the order of the VMs.
  returned: success, or failure because of problems
  type: list
  elements: dict
  contains:
    code:
      description:
        - V(vm_not_found), V(vm_duplicate), V(vm_not_connected), V(power_state_mismatch), V(vm_has_snapshots),
          V(disk_not_attached), V(disk_on_other_datastore), V(disk_file_missing), V(disk_file_unverified),
          V(datastore_inaccessible), V(datastore_in_maintenance) or V(vm_registered_as_other_name) (the VM is in the
          inventory under another name, see C(facts.registered_as)).
      type: str
    vm:
      description: The VM reference the problem is about.
      type: str
    message:
      description: What is wrong and what to do.
      type: str
    facts:
      description:
        - The structured facts of the problem (disk, file, datastore, expected values, reason).
        - For V(vm_not_found), C(leftovers) (the VM's files found on the datastores) and C(not_searched) (the
          datastores that could not be searched, and why).
      type: dict
  sample:
    - code: vm_not_found
      vm: i-2-34-VM
      message: >-
        i-2-34-VM is not in the vCenter inventory; its disk ROOT-34.vmdk is still at [ds1] i-2-34-VM/ROOT-34.vmdk:
        re-register the VM in vCenter before migrating its volumes
      facts: {leftovers: ["[ds1] i-2-34-VM/ROOT-34.vmdk", "[ds1] i-2-34-VM/i-2-34-VM.vmx"], not_searched: []}
summary:
  description: Counts.
  returned: success, or failure because of problems
  type: dict
  sample: {total: 2, found: 1, problems: 1}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter import client as vcenter_client

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter import inventory as vcenter_inventory
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.boundary import require_libraries, run_service
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.arguments import (
    VCenterSettings,
    vcenter_argument_spec,
    vcenters_argument_spec,
)

DISK_OPTIONS = dict(
    path=dict(type="str", required=True),
    datastores=dict(type="list", elements="str", aliases=["datastore"]),
)
VM_OPTIONS = dict(
    name=dict(type="str"),
    instance_uuid=dict(type="str"),
    bios_uuid=dict(type="str"),
    moid=dict(type="str"),
    disks=dict(type="list", elements="dict", options=DISK_OPTIONS),
    power_state=dict(type="str", choices=["poweredOn", "poweredOff", "suspended"]),
    vcenter=dict(type="str"),
    datacenter=dict(type="str"),
)


def argument_spec():
    spec = vcenter_argument_spec()
    spec.update(vcenters_argument_spec())
    spec.update(
        vms=dict(type="list", elements="dict", required=True, options=VM_OPTIONS),
        fail_on_problems=dict(type="bool", default=True),
        verify_files=dict(type="bool", default=True),
    )
    return spec


def assert_inventory(params):
    """Connect, run the inventory check once, and return the report."""
    if params.get("vcenters"):
        return vcenter_inventory.check_on_vcenters(vcenter_client.connect, params["vcenters"], params["vms"],
                                                   verify_files=params["verify_files"])
    expectations = vcenter_inventory.expectations_from_options(params["vms"])
    client = vcenter_client.connect(VCenterSettings.from_params(params))
    try:
        return vcenter_inventory.check_inventory(client, expectations, datacenter=params.get("datacenter"),
                                                 verify_files=params["verify_files"], focused_read=True)
    finally:
        client.close()


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    require_libraries(module, vcenter=True)
    report = run_service(module, assert_inventory, module.params)
    result = dict(report.as_dict(), summary=vcenter_inventory.summary(report), changed=False)
    if not report.ok and module.params["fail_on_problems"]:
        module.fail_json(msg=vcenter_inventory.failure_message(report), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
