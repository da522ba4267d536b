#!/usr/bin/python
# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cs_volume_record_sync
short_description: Make one CloudStack volume record match where vCenter shows its disk
description:
  - Repairs the CloudStack record of one VMware volume (storage pool, path, state) so that it matches where vCenter
    shows the volume's disk, for example after a false success of C(migrateVolume) (apache/cloudstack#9881) or a
    migration cut off by a management server restart. It changes the record only (C(updateVolume)); no disk moves.
  - "It writes only when the truth is unambiguous: for a volume attached to a VM in the inventory, the VM's
    attached disk (exact file name) with its file seen by a datastore search; for a VM missing from the inventory
    or a detached volume, the disk file found in exactly one place with every datastore searched. The datastore
    must belong to exactly one storage pool of the volume's zone."
  - "Otherwise it refuses and changes nothing, saying why and what to do: the disk in several places or nowhere,
    a datastore that could not be searched, a datastore of no pool, an attached disk whose file is missing, a
    record without a path and no reviewed path, or facts that no longer match the review (O(expected_pool),
    O(expected_path), O(expected_datastore_path))."
  - The record is written with C(updateVolume) (pool, path, state C(Ready)), its job awaited, and re-read to
    confirm it took; every step is journaled in the migration journal.
  - Usually run through the collection's C(playbooks/repair_records.yml) on drift items reviewed from
    M(cloudstack_vmware.safe_migration.cs_vmware_drift_info).
version_added: 0.1.0
author:
  - cloudstack_vmware.safe_migration contributors (!UNKNOWN)
extends_documentation_fragment:
  - cloudstack_vmware.safe_migration.cloudstack.beside_vcenter
  - cloudstack_vmware.safe_migration.vcenter
  - cloudstack_vmware.safe_migration.vcenters
  - cloudstack_vmware.safe_migration.volume_selection
options:
  volume:
    description:
      - The volume whose record is synced, by UUID or by name.
      - A name that matches several volumes is an error that lists them; narrow it with O(vm), O(zone) or O(account).
    type: str
    required: true
  expected_pool:
    description:
      - The storage pool (name or UUID) the reviewed fix puts the volume on. When vCenter now shows the disk on
        another pool's datastore, the task refuses and changes nothing.
    type: str
  expected_path:
    description:
      - The volume path (disk file base name, without C(.vmdk)) the reviewed fix writes, for example the candidate
        of a C(volume_path_null) drift item. This is the disk looked for in vCenter.
      - Needed when the record has no path and the journal holds no migration of the volume.
      - When the record's own path is still attached to the VM, the review is out of date and the task refuses.
    type: str
  expected_datastore_path:
    description:
      - Where the review saw the disk (V([datastore] folder/file.vmdk)); the task refuses when vCenter shows it
        elsewhere now.
    type: str
  job_timeout:
    description:
      - How long to wait for the C(updateVolume) job, in seconds.
    type: int
    default: 600
  poll_interval:
    description:
      - First delay between two polls of the job, in seconds; the delay grows up to 8 times this (at most 30 s).
    type: float
    default: 2
  journal_path:
    description:
      - The append-only JSON-lines journal (the one of M(cloudstack_vmware.safe_migration.cs_volume_migrate_safe)),
        on the machine that runs the module. Never holds secrets.
      - Also read, to find the path of a volume whose record lost it in a migration this collection journaled.
      - Must be a regular file (or none yet) in an existing directory; a directory, a device or a file under a system
        directory (C(/etc), C(/dev), C(/usr), ...) is refused before anything is read or changed.
    type: path
    default: ~/.ansible/safe_migration/journal.jsonl
  journal_create_directory:
    description:
      - Create the directory of O(journal_path) (mode 0700) when it does not exist. The directory of the default path
        is always created.
    type: bool
    default: false
notes:
  - Needs CloudStack root admin credentials (paths, pools and instance names are admin-only; C(updateVolume) of
    pool, path and state is an admin operation).
  - Supports check mode (says what would be written) and diff mode (the record before and after).
  - "Idempotent: a record that already matches vCenter is left alone (C(changed=false))."
seealso:
  - module: cloudstack_vmware.safe_migration.cs_vmware_drift_info
  - module: cloudstack_vmware.safe_migration.cs_volume_migrate_safe
"""

EXAMPLES = r"""
- name: Put the record of a volume back where vCenter shows its disk
  cloudstack_vmware.safe_migration.cs_volume_record_sync:
    volume: 12e0409e-e47e-5042-939c-108271ea5b6b
    hostname: vcenter.example.com

- name: Apply a reviewed volume_path_null fix, only if vCenter still shows what was reviewed
  cloudstack_vmware.safe_migration.cs_volume_record_sync:
    volume: f632a658-36dd-5eb5-a89f-c2fabf3c858a
    expected_path: ROOT-4
    expected_pool: 6cc2d876-a615-5589-aa54-6fdd6d139f44
  check_mode: true
  diff: true
"""

RETURN = r"""
volume:
  description: The volume as given in the task.
  returned: always
  type: str
volume_id:
  description: The volume's UUID.
  returned: when the volume was found
  type: str
volume_name:
  description: The volume's name.
  returned: when the volume was found
  type: str
status:
  description: >-
    V(in_sync) (the record already matches vCenter), V(planned) (check mode: it would be written), V(synced)
    (written and confirmed), V(refused) (the truth is not unambiguous, or not what was reviewed; nothing written)
    or V(failed).
  returned: always
  type: str
reason:
  description: >-
    Why it was refused, a code of the table of problems (C(docs/problems.md)): V(job_pending),
    V(state_not_syncable), V(volume_path_null), V(vm_unknown), V(disk_not_attached), V(disk_file_missing),
    V(not_searched), V(disk_nowhere), V(disk_in_several_places), V(datastore_of_no_pool),
    V(datastore_of_several_pools), V(path_claimed) or V(expectation_mismatch).
  returned: when refused
  type: str
record:
  description: The record before the task (state, pool_id, pool_name, path).
  returned: when the volume was found
  type: dict
truth:
  description: Where vCenter shows the disk (pool_id, pool_name, path, datastore, file).
  returned: when found
  type: dict
vcenter:
  description: The evidence read in vCenter (VM found, disk attached, file, datastore, exists, copies, problems).
  returned: when read
  type: dict
would_write:
  description: The C(updateVolume) parameters that would change (check mode).
  returned: in check mode, when the record differs
  type: dict
written:
  description: The C(updateVolume) parameters that changed.
  returned: when synced
  type: dict
job_id:
  description: The id of the C(updateVolume) job.
  returned: when written
  type: str
after:
  description: The record re-read after the update (state, pool_id, pool_name, path).
  returned: when written
  type: dict
msg:
  description: What was found and done, or why nothing was.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._cloudstack import client as cloudstack_client

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter import client as vcenter_client
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._cloudstack.arguments import (
    CloudStackSettings,
    cloudstack_argument_spec,
    volume_selection_argument_spec,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.journal import DEFAULT_JOURNAL_PATH, Journal
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.boundary import require_libraries, run_service
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.arguments import (
    VCenterSettings,
    vcenter_argument_spec,
    vcenters_argument_spec,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.plan import Planner
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.zones import ZoneRouter
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.record_sync import (
    RecordSyncService,
    SyncOptions,
    SyncRequest,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.disks import VCenterDisks


def argument_spec():
    spec = cloudstack_argument_spec(beside_vcenter=True)
    spec.update(vcenter_argument_spec())
    spec.update(vcenters_argument_spec())
    spec.update(volume_selection_argument_spec())
    spec.update(
        volume=dict(type="str", required=True),
        expected_pool=dict(type="str"),
        expected_path=dict(type="str"),
        expected_datastore_path=dict(type="str"),
        job_timeout=dict(type="int", default=600),
        poll_interval=dict(type="float", default=2.0),
        journal_path=dict(type="path", default=DEFAULT_JOURNAL_PATH),
        journal_create_directory=dict(type="bool", default=False),
    )
    return spec


def sync(params, check_mode):
    """Connect to both systems and sync the volume's record; return the service's result."""
    request = SyncRequest(params["volume"], vm=params.get("vm"), zone=params.get("zone"), account=params.get("account"),
                          expected_pool=params.get("expected_pool"), expected_path=params.get("expected_path"),
                          expected_datastore_path=params.get("expected_datastore_path"))
    options = SyncOptions(job_timeout=params["job_timeout"], poll_interval=params["poll_interval"], check_mode=check_mode)
    journal = Journal(params["journal_path"], create_directory=params["journal_create_directory"])
    cloudstack = cloudstack_client.connect(CloudStackSettings.from_params(params))
    settings, datacenter = VCenterSettings.from_params(params), params.get("datacenter")
    if params.get("vcenters"):
        # zones on several vCenters: the volume's zone says which one, and which datacenter in it
        volume = Planner(cloudstack, None).resolve_volume(request)
        route = ZoneRouter(cloudstack, params["vcenters"]).route(volume.get("zoneid"))
        settings, datacenter = route.settings, route.datacenter
    vcenter = vcenter_client.connect(settings)
    try:
        disks = VCenterDisks(vcenter, datacenter=datacenter)
        service = RecordSyncService(cloudstack, disks, vcenter, journal, options, datacenter=datacenter)
        return service.run(request)
    finally:
        vcenter.close()


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    require_libraries(module, cloudstack=True, vcenter=True)
    result = run_service(module, sync, module.params, module.check_mode)
    diff = result.pop("diff")
    if module._diff:  # pylint: disable=protected-access
        result["diff"] = diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()
