#!/usr/bin/python
# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cs_vmware_drift_info
short_description: Find where CloudStack's volume records and vCenter disagree
description:
  - Compares every VMware volume CloudStack knows, in a scope (everything, a zone, a cluster or a primary storage
    pool), with what vCenter holds, and reports each difference (a drift) with a machine-readable code, the facts
    of both sides and the suggested fix.
  - "It finds: VMs missing from the vCenter inventory (and where their files are), a VM name matching several VMs,
    disks on another datastore than the record's pool, disk files missing, volume paths that are null or match no
    disk of the VM (the fingerprint of apache/cloudstack#9881 under unpatched releases), volumes stuck C(Migrating)
    with no job running, VMDK files on the pools' datastores that no volume and no VM uses (orphans), and vCenter
    VMs that look like CloudStack instances but have no record."
  - Read-only. One paged pass over CloudStack's lists (500 per page), one property-collector read of the vCenter
    inventory, one file listing per datastore of the pools in scope, and searches of other datastores only for
    files the listings could not place.
  - In a cloud whose zones live on several vCenters (O(vcenters)), each zone of the scope is compared with its own
    vCenter and datacenter, one after the other, and the findings make one report.
  - Disks are matched by exact file name, never by a prefix; pools map to datastores as CloudStack maps them
    (the pool UUID without dashes, the C(cloud.uuid) custom value, or the VMFS datastore name).
version_added: 0.1.0
author:
  - cloudstack_vmware.safe_migration contributors (!UNKNOWN)
extends_documentation_fragment:
  - cloudstack_vmware.safe_migration.cloudstack.beside_vcenter
  - cloudstack_vmware.safe_migration.vcenter
  - cloudstack_vmware.safe_migration.vcenters
options:
  zone:
    description:
      - Audit only this zone (name or UUID). Mutually exclusive with O(cluster) and O(pool).
      - Without O(zone), O(cluster) or O(pool), every VMware primary storage pool is audited.
    type: str
  cluster:
    description:
      - Audit only the cluster-scoped primary storage pools of this cluster (name or UUID).
    type: str
  pool:
    description:
      - Audit only this primary storage pool (name or UUID); for a datastore cluster, its member pools too.
    type: str
  fail_on_drift:
    description:
      - Fail the task when drift is found (for schedulers that act on the exit status).
      - With V(false) (the default) the task succeeds and only reports.
    type: bool
    default: false
notes:
  - Supports check mode; the module never changes anything.
  - Needs CloudStack root admin credentials (volume paths, pools and VM instance names are admin-only fields)
    and read access to the vCenter inventory and datastores.
  - Only volumes in state C(Ready) or C(Migrating) without a pending job are compared; volumes being migrated
    right now are left alone.
  - "Drift codes: V(vm_not_found), V(vm_duplicate), V(disk_on_other_datastore), V(disk_file_missing),
    V(volume_path_null), V(volume_path_unmatched), V(volume_stuck_migrating), V(orphan_vmdk), V(unrecorded_vm).
    The collection's C(docs/drift_audit.md) describes each, its evidence and its fix."
seealso:
  - module: cloudstack_vmware.safe_migration.cs_volume_migrate_safe
  - module: cloudstack_vmware.safe_migration.vmware_inventory_assert
"""

EXAMPLES = r"""
- name: Audit every VMware volume
  cloudstack_vmware.safe_migration.cs_vmware_drift_info:
    api_url: https://cloud.example.com/client/api
    api_key: "{{ cloudstack_api_key }}"
    api_secret: "{{ cloudstack_api_secret }}"
    hostname: vcenter.example.com
    username: readonly@vsphere.local
    password: "{{ vcenter_password }}"
  register: audit

- name: Show the records left by past false successes
  ansible.builtin.debug:
    msg: "{{ audit.drift | selectattr('code', 'equalto', 'volume_path_null') | map(attribute='suggested_fix') }}"

- name: Audit one pool before its maintenance, and fail if anything drifted
  cloudstack_vmware.safe_migration.cs_vmware_drift_info:
    pool: nfs-primary-1
    fail_on_drift: true

- name: Audit a cloud whose two zones live on two vCenters, each zone against its own
  cloudstack_vmware.safe_migration.cs_vmware_drift_info:
    vcenters:
      - hostname: vcenter-east.example.com
        username: readonly@vsphere.local
        password: "{{ vcenter_east_password }}"
      - hostname: vcenter-west.example.com
        username: readonly@vsphere.local
        password: "{{ vcenter_west_password }}"
        zones: [west-2]  # its clusters were added without a zone-level datacenter
  register: audit
"""

RETURN = r"""
clean:
  description: Whether no drift was found.
  returned: success, or failure because of drift
  type: bool
  sample: false
scope:
  description: What was audited.
  returned: success, or failure because of drift
  type: dict
  contains:
    kind:
      description: V(all), V(zone), V(cluster) or V(pool).
      type: str
    name:
      description: The name of the zone, cluster or pool; null for V(all).
      type: str
    zone_id:
      description: The zone's UUID; null for V(all).
      type: str
    pools:
      description: The primary storage pools audited (id and name).
      type: list
      elements: dict
    zones:
      description:
        - With O(vcenters), each zone audited and what served it (C(zone_id), C(zone_name), C(vcenter) as host:port,
          C(datacenter), C(matched_by) V(listVmwareDcs) or V(zones)).
      type: list
      elements: dict
      returned: when O(vcenters) is set
drift:
  description: Every drift found, ordered by code, then VM, volume and file.
  returned: success, or failure because of drift
  type: list
  elements: dict
  contains:
    code:
      description:
        - V(vm_not_found), V(vm_duplicate), V(disk_on_other_datastore), V(disk_file_missing), V(volume_path_null),
          V(volume_path_unmatched), V(volume_stuck_migrating), V(orphan_vmdk) or V(unrecorded_vm).
      type: str
    message:
      description: What differs, with the facts.
      type: str
    suggested_fix:
      description: What to do about it.
      type: str
    fix:
      description:
        - The fix in machine-readable form. C(action) is V(update_volume) (with C(volume_id) and the C(params) of
          C(updateVolume)), V(register_vm) (with the C(vmx) path), V(restore_disk) or V(investigate).
      type: dict
    volume_id:
      description: The volume's UUID; null for drift about a file or a VM.
      type: str
    instance_name:
      description: The CloudStack instance name of the VM concerned, if any.
      type: str
    datastore_path:
      description: The datastore path of the file concerned, if any (V([ds] dir/file.vmdk)).
      type: str
    cloudstack:
      description: CloudStack's side (the volume record, or the pool).
      type: dict
    vcenter:
      description: vCenter's side (VM found, files, datastores, candidates, leftovers).
      type: dict
  sample:
    - code: volume_path_null
      volume_id: f632a658-36dd-5eb5-a89f-c2fabf3c858a
      instance_name: i-2-4-VM
      message: >-
        Volume ROOT-4 (f632a658-36dd-5eb5-a89f-c2fabf3c858a) has no path in CloudStack (the fingerprint of
        apache/cloudstack#9881: a migration reported as a success that moved nothing); its disk is probably
        [6cc2d876a6155589aa546fdd6d139f44] i-2-4-VM/ROOT-4.vmdk
      suggested_fix: >-
        Repair the record: updateVolume id=f632a658-36dd-5eb5-a89f-c2fabf3c858a path=ROOT-4
        storageid=6cc2d876-a615-5589-aa54-6fdd6d139f44
      fix:
        action: update_volume
        volume_id: f632a658-36dd-5eb5-a89f-c2fabf3c858a
        params: {path: ROOT-4, storageid: 6cc2d876-a615-5589-aa54-6fdd6d139f44}
summary:
  description: Counts (volumes compared, vCenter VMs read, datastores listed, other datastore searches, drift by code).
  returned: success, or failure because of drift
  type: dict
  sample: {volumes: 51, vcenter_vms: 23, datastores_listed: 5, datastore_searches: 0, drift: 1, by_code: {volume_path_null: 1}}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._cloudstack import client as cloudstack_client

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter import client as vcenter_client
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._cloudstack.arguments import (
    CloudStackSettings,
    cloudstack_argument_spec,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.drift_audit import DriftAudit, ZonedDriftAudit
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.boundary import require_libraries, run_service
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.arguments import (
    VCenterSettings,
    vcenter_argument_spec,
    vcenters_argument_spec,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.zones import ZoneRouter


def argument_spec():
    spec = cloudstack_argument_spec(beside_vcenter=True)
    spec.update(vcenter_argument_spec())
    spec.update(vcenters_argument_spec())
    spec.update(
        zone=dict(type="str"),
        cluster=dict(type="str"),
        pool=dict(type="str"),
        fail_on_drift=dict(type="bool", default=False),
    )
    return spec


def audit(params):
    """Connect to both systems and run the audit once; return its report."""
    cloudstack = cloudstack_client.connect(CloudStackSettings.from_params(params))
    scope = dict(zone=params.get("zone"), cluster=params.get("cluster"), pool=params.get("pool"))
    if params.get("vcenters"):
        return ZonedDriftAudit(cloudstack, ZoneRouter(cloudstack, params["vcenters"]), vcenter_client.connect).run(**scope)
    vcenter = vcenter_client.connect(VCenterSettings.from_params(params))
    try:
        return DriftAudit(cloudstack, vcenter, datacenter=params.get("datacenter")).run(**scope)
    finally:
        vcenter.close()


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           mutually_exclusive=[("zone", "cluster", "pool")])
    require_libraries(module, cloudstack=True, vcenter=True)
    report = run_service(module, audit, module.params)
    result = dict(report.as_dict(), changed=False)
    if not report.clean and module.params["fail_on_drift"]:
        module.fail_json(msg="Drift between CloudStack and vCenter: %s" % ", ".join(
            "%d %s" % (count, code) for code, count in sorted(result["summary"]["by_code"].items())), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
