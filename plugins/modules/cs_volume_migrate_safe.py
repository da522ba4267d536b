#!/usr/bin/python
# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cs_volume_migrate_safe
short_description: Migrate CloudStack volumes on VMware and verify the result in vCenter
description:
  - Migrates CloudStack volumes of VMware VMs (and detached volumes) to another primary storage pool, and never
    reports a migration that did not happen as a success.
  - CloudStack's C(migrateVolume) job status is necessary but not sufficient (apache/cloudstack#9881 reports
    success when the VM is missing from the vCenter inventory). A volume counts as migrated only when
    CloudStack's record (state C(Ready), destination pool, a path) and vCenter (the VM's disk on the
    destination datastore, the file present) agree. Only positive evidence counts, so a disk file that no datastore
    search saw is not a migrated disk.
  - "Order of work for each volume: a read-only plan and preflight (CloudStack and the same vCenter checks as
    M(cloudstack_vmware.safe_migration.vmware_inventory_assert)); C(migrateVolume) with a job id chosen and
    journaled before submission; polling with a deadline and capped backoff; verification of both sides;
    on a false success, a loud failure and, when O(on_false_success=restore), the repair of the record."
  - A run that timed out or crashed after submitting a job resumes waiting for that job when run again; it
    never submits a second one. Without the journal (an AWX job's container loses it), the run adopts the
    C(migrateVolume) job that CloudStack shows running on the volume (its C(jobid) in C(listVolumes), confirmed
    by C(queryAsyncJobResult) as this volume's C(migrateVolume)), waits for it and verifies. Any other job on the
    volume is a blocker.
  - A submission that CloudStack answers "job already exists" for the collection's own C(customjobid) (a first
    attempt that arrived late) is adopted the same way, never reported abandoned.
  - A record damaged by an earlier false success (on the destination while vCenter shows the disk elsewhere, or
    without a path) is repaired when O(on_false_success=restore), then the volume is migrated as planned. In
    check mode the repair is planned (changed, the diff shows the record fix).
  - O(job_timeout), O(poll_interval) and O(concurrency) are checked before any API call; a wrong value fails
    with the option, its playbook variable and the allowed values.
  - Check mode runs the plan and preflight only. Diff mode shows the pool and datastore path before and after.
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
      - The volume to migrate, by UUID or by name.
      - A name that matches several volumes is an error that lists them; narrow it with O(vm), O(zone) or O(account).
      - Mutually exclusive with O(volumes).
    type: str
  destination:
    description:
      - The destination primary storage pool of O(volume), by name or UUID. Required with O(volume).
    type: str
  volumes:
    description:
      - Several volume/destination pairs, migrated at most O(concurrency) at a time.
      - Each item takes the keys of the single-volume form; O(vm), O(zone) and O(account) given at the top
        level apply to items that do not set them.
    type: list
    elements: dict
    suboptions:
      volume:
        description: The volume, by UUID or name.
        type: str
        required: true
      destination:
        description: The destination storage pool, by name or UUID.
        type: str
        required: true
      vm:
        description: Name or UUID of the volume's VM.
        type: str
      zone:
        description: Name or UUID of the volume's zone.
        type: str
      account:
        description: Account owning the volume.
        type: str
  concurrency:
    description:
      - How many volumes of O(volumes) are migrated at the same time; at least 1.
      - A rolling window - the next volume starts as soon as one ends - within CloudStack's own limits. At most
        one volume of a VM moves at a time (CloudStack runs a VM's work one item at a time), and at most
        C(concurrent.migrations.per.target.datastore) volumes (read with C(listConfigurations); 0 is no limit) go to
        one destination pool at a time, as CloudStack refuses the excess with an error instead of queueing it.
      - With O(on_volume_failure=continue), these limits count CloudStack's migration jobs in flight; once a volume's
        job has ended, its verification against vCenter goes on beside the next volume's job (its VM stays busy until
        that verification ends). With O(on_volume_failure=stop), a volume keeps its place until it is verified, so
        that no volume starts before the failure of the one before it is known.
    type: int
    default: 1
  max_per_destination:
    description:
      - At most this many migrations to one destination pool at a time, for storage that suffers under several
        moves at once; V(0) for no limit of its own. The tighter of this and CloudStack's
        C(concurrent.migrations.per.target.datastore) applies.
      - The playbooks set it with C(safe_migration_max_per_destination).
    type: int
    default: 0
  window_end:
    description:
      - The end of the maintenance window, a time with its timezone (V(2026-12-02T05:30:00+01:00), V(...Z)) or a length
        from the task's start (V(90m), V(2h), V(1h30m), V(45s)). No migration starts after it; those running finish
        and are verified. The volumes not started are returned with status V(not_started) and the task fails
        saying so; running the same task again goes on where this one stopped.
      - Ignored in check mode, which plans every volume.
      - The playbooks set it with C(safe_migration_window_end).
    type: str
  on_volume_failure:
    description:
      - What a failed volume does to the volumes of O(volumes) not started yet.
      - V(continue) starts them all the same. V(stop) starts no other volume after a failure; the volumes already
        running go on to their end and are verified. The volumes not started are returned with status
        V(not_started) and the task fails saying which volume failed; running the same task again goes on where
        this one stopped.
      - Ignored in check mode, which plans every volume.
      - The migrate role sets V(stop) when C(safe_migration_on_volume_failure=stop), V(continue) for V(finish_wave).
    type: str
    choices: [continue, stop]
    default: continue
  allow_live_migration:
    description:
      - Allow migrating volumes of running VMs (storage vMotion). Off by default; a volume of a running VM is
        then refused with a message naming this option.
    type: bool
    default: false
  on_false_success:
    description:
      - What to do when CloudStack reports success but vCenter shows the disk was not moved.
      - V(fail) fails and leaves CloudStack's record as it is.
      - V(restore) also puts the record back to what vCenter shows (C(updateVolume) with the real pool, path
        and state C(Ready)), checks that it took, and fails reporting both.
      - V(restore) also repairs a record damaged by an earlier false success (the record says destination or has no
        path, vCenter shows the disk elsewhere). The record is restored, verified and journaled, then the volume is
        migrated as planned if its disk is not on O(destination). A record without a path is repaired only when the
        disk's file name is known (the journal's plan, or the record's C(chaininfo)).
      - The playbooks set it with C(safe_migration_on_false_success).
    type: str
    choices: [fail, restore]
    default: fail
  job_timeout:
    description:
      - How long to wait for each CloudStack job, in seconds; must be greater than 0. On timeout the task fails
        with the job id and its last state; running it again resumes waiting for the same job.
    type: int
    default: 1800
  poll_interval:
    description:
      - First delay between two polls of a job, in seconds; must be greater than 0. The delay grows up to 8 times
        this (at most 30 s). Until a migration of the task has ended, a job is also polled every second up to this
        first delay.
      - Once a migration of the task has ended, each job is also polled when it should end (the mean time of the
        task's succeeded migrations, from CloudStack's C(created) and C(completed), leaving out those more than a
        second from the median, as whole-second times average out to the true time), so its end is seen about a quarter
        of a second after it happens; a job not ended then is polled every quarter second for a second, then at short
        steps (a tenth of that time, at least 1 s) until twice that time.
    type: float
    default: 5
  journal_path:
    description:
      - Append-only JSON-lines journal of the migrations, on the machine that runs the module. It records the
        plan, the job id before submission, the job result, the verification and any restore; never secrets.
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
  run_id:
    description:
      - The identifier written as C(run) on every journal line of this task (and in the run's locks).
      - By default a new UUID. The action of this module sets one to follow the run's journal (see O(progress)).
    type: str
  progress:
    description:
      - Show a line per volume as it starts and as it ends while the task runs, with a running total and an
        estimate of the time left (lines starting with C(progress) in the output of C(ansible-playbook) and of AWX),
        read from the run's journal as the module writes it.
      - Only when the module runs on the controller as the same user (a local connection, no C(become)), and not
        with C(async), C(no_log), in check mode or with a JSON stdout callback (C(json), C(jsonl)), whose output
        must stay JSON. The journal and the task's result are the same either way.
    type: bool
    default: true
notes:
  - Needs CloudStack root admin credentials (volume paths, pools and VM instance names are admin-only fields).
  - A volume without a VM (detached) is located and verified by datastore searches; a file found on no datastore
    after its job fails the task with a message starting C(DISK LOST) (apache/cloudstack#8747). Later runs say
    C(DISK LOST) again, naming that job, while the disk is still missing (a later job or a verified outcome ends it).
  - Supports check mode and diff mode.
seealso:
  - module: cloudstack_vmware.safe_migration.vmware_inventory_assert
"""

EXAMPLES = r"""
- name: Migrate one data disk to another pool
  cloudstack_vmware.safe_migration.cs_volume_migrate_safe:
    volume: DATA-42
    vm: web-01
    destination: primary-nfs-2
    hostname: vcenter.example.com

- name: Migrate a set of volumes, two at a time, repairing records on a false success
  cloudstack_vmware.safe_migration.cs_volume_migrate_safe:
    volumes:
      - volume: 0b3e8c2a-6f1e-4a51-9a43-6a1d2c3b4d5e
        destination: primary-nfs-2
      - volume: 7f2d6f0e-1c2b-4e3a-8b9c-0d1e2f3a4b5c
        destination: primary-nfs-3
    concurrency: 2
    on_false_success: restore
    job_timeout: 3600

- name: Show the plan without changing anything
  cloudstack_vmware.safe_migration.cs_volume_migrate_safe:
    volume: DATA-42
    destination: primary-nfs-2
  check_mode: true
  diff: true
"""

RETURN = r"""
volumes:
  description: One entry per requested volume, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    volume:
      description: The volume as given in the task.
      type: str
    volume_id:
      description: The volume's UUID.
      type: str
    volume_name:
      description: The volume's name.
      type: str
    status:
      description:
        - V(migrated), V(unchanged) (already on the destination, confirmed by vCenter), V(planned) (check mode),
          V(failed), or V(not_started) (nothing was done to it, see C(not_started_reason)).
      type: str
    not_started_reason:
      description:
        - Why a volume with status V(not_started) was not started - V(window_ended) (the window of O(window_end)
          ended before its turn) or V(volume_failed) (another volume failed and O(on_volume_failure=stop)).
      type: str
      returned: when the status is V(not_started)
    changed:
      description: Whether this volume's record or disk was changed.
      type: bool
    failed:
      description: Whether this volume failed.
      type: bool
    msg:
      description: Why it failed, and what to do.
      type: str
      returned: when failed
    plan:
      description: >-
        The plan: action, source (pool, path, datastores, datastore path), destination (pool, datastores),
        live, VM, the vCenter facts of the disk and the blockers found.
      type: dict
      contains:
        action:
          description: >-
            V(migrate), V(verify_only) (already on the destination: vCenter is asked to confirm it) or V(none) (a
            blocker stops the volume).
          type: str
        blockers:
          description: >-
            What stops the migration of the volume before anything is changed; empty when nothing does. Each code is
            a row of the table of problems (C(docs/problems.md)), with what it means and what to do.
          type: list
          elements: dict
          contains:
            code:
              description: >-
                The problem's code, the same wherever the fact is found (a VM missing from vCenter is V(vm_not_found)
                here, in M(cloudstack_vmware.safe_migration.vmware_inventory_assert) and in the drift audit); for
                example V(vm_not_found), V(disk_on_other_datastore), V(job_pending), V(volume_path_null),
                V(volume_stuck_migrating), V(pool_full) or V(live_migration_not_allowed).
              type: str
            message:
              description: What is wrong, naming the volume's pools, datastores and files, and what to do.
              type: str
            facts:
              description: >-
                The structured facts of a blocker found in vCenter, as
                M(cloudstack_vmware.safe_migration.vmware_inventory_assert) gives them for the same code (disk, file,
                datastore, expected values, reason; for V(vm_not_found) C(leftovers) and C(not_searched)). Empty for a
                blocker of CloudStack's record or of the destination pool.
              type: dict
          sample:
            - code: disk_on_other_datastore
              message: >-
                disk [ds2] i-2-7-VM/DATA-7.vmdk of volume DATA-7 is on datastore ds2, not on ds1 of its pool nfs-1:
                repair the record's pool (cs_volume_record_sync), or move the disk back
              facts: {disk: DATA-7, file: "[ds2] i-2-7-VM/DATA-7.vmdk", datastore: ds2, expected: [ds1]}
            - code: job_pending
              message: CloudStack job 4f1c2b9e-0d6a-4e1f-9a1b-2c3d4e5f6a7b is still running on the volume; wait for it to end
              facts: {}
    blockers:
      description: The blockers of RV(volumes[].plan.blockers), on the volume's result when they stopped it.
      type: list
      elements: dict
      returned: when a blocker stopped the volume
    job_id:
      description: The id of the CloudStack job (chosen before submission).
      type: str
      returned: when a job was submitted or resumed
    job_status:
      description: The job's final status (1 succeeded, 2 failed, 3 cancelled; null when unknown).
      type: int
      returned: when a job was submitted or resumed
    resumed:
      description: Whether the job was submitted by an earlier run and this run resumed waiting for it.
      type: bool
      returned: when resumed
    adopted:
      description: >-
        Whether the job was found running on the volume in CloudStack (not in the journal) and this run waited
        for it instead of submitting another.
      type: bool
      returned: when a running migrateVolume job was adopted
    repaired:
      description: >-
        Whether a record damaged by an earlier false success was restored to what vCenter shows before the
        migration (V(false) in check mode, where the repair is only planned).
      type: bool
      returned: when a damaged record was repaired or a repair planned
    repair:
      description: The damaged record (before) and the truth it was, or would be, restored to.
      type: dict
      returned: when a damaged record was repaired or a repair planned
    job_succeeded:
      description: >-
        V(true) when the task failed after the job had succeeded (vCenter lost during verification, journal
        unwritable); C(record) then shows the volume record as CloudStack now has it, and C(changed) is true.
      type: bool
      returned: on a failure after a successful job
    record:
      description: The volume record (state, pool, path) as CloudStack has it after a successful job, when the task failed afterwards.
      type: dict
      returned: on a failure after a successful job
    journal_error:
      description: Why the outcome could not be written to the journal (the outcome itself stands).
      type: str
      returned: when the journal could not be written at the end
    duration:
      description: Seconds spent on this volume.
      type: float
    verification:
      description: >-
        What CloudStack's record says (state, pool, path) and what vCenter shows (VM found, disk file,
        datastore, problems), and whether they agree.
      type: dict
      returned: when verified
    false_success:
      description: True when CloudStack claimed a migration that vCenter does not show.
      type: bool
      returned: on a false success or drift
    truth:
      description: Where vCenter shows the disk really is (pool, path, datastore, file); null when unknown.
      type: dict
      returned: on a false success or drift
    restore:
      description: >-
        The restore of the record (submitted, reason, job id, record before and after, verified; in check mode
        would_restore, what would be written).
      type: dict
      returned: on a false success or drift
    leftovers:
      description: >-
        A copy of the disk still on the source datastore after the move to the destination was confirmed (a
        detached volume's old file, or a copy CloudStack made instead of a move); to clean up by hand (the module
        never deletes files). A warning says so.
      type: list
      elements: str
      returned: when a copy of the disk was found on the source after its migration
    false_failure:
      description: >-
        True when CloudStack's job failed or was cancelled while vCenter moved the disk (apache/cloudstack#7168).
        With O(on_false_success=restore) the record is put on the destination and, once verified, the volume counts
        as migrated.
      type: bool
      returned: when a failed job's disk was found on the destination
    siblings_disturbed:
      description: >-
        What changed for the VM's other volumes during the job (a record's pool or path, the files of their disks
        attached to the VM); the volume then fails.
      type: list
      elements: str
      returned: when a migration disturbed another disk of the VM
    disk_lost:
      description: >-
        True when the volume's file is on none of the datastores, every one of them searched (apache/cloudstack#8747;
        for an attached volume, after a failed job that removed the source); false when some could not be searched.
        With V(last_known_path), V(datastores_searched) (and, for a detached volume, V(datastores_not_searched)).
      type: bool
      returned: when a volume's file was not found after its job
summary:
  description: Counts per outcome.
  returned: always
  type: dict
  sample: {total: 2, migrated: 1, unchanged: 1, planned: 0, failed: 0, false_success: 0, restored: 0}
schedule:
  description:
    - The limits the run kept and the peaks it reached. C(per_destination) is the limit per destination pool (0 - none),
      the tighter of O(max_per_destination) and CloudStack's setting (C(null) when this account cannot read it).
  returned: always
  type: dict
  sample:
    concurrency: 4
    per_destination: 2
    per_vm: 1
    concurrent.migrations.per.target.datastore: 2
    window_end: "2026-12-02T04:30:00+00:00"
    peak: {overall: 4, per_destination: {pool-uuid-1: 2, pool-uuid-2: 2}, per_vm: {vm-uuid-1: 1}}
  contains:
    zones:
      description:
        - With O(vcenters), each zone of the plan and what served it (C(zone_id), C(zone_name), C(vcenter) as host:port,
          C(datacenter), C(matched_by) V(listVmwareDcs) or V(zones)).
      type: list
      elements: dict
      returned: when O(vcenters) is set
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
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.migration import VolumeMigrationService
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.options import MigrationOptions, requests_from_params
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.disks import VCenterDisks
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.zones import ZonedVCenters, ZoneRouter

VOLUME_ITEM = dict(
    volume=dict(type="str", required=True),
    destination=dict(type="str", required=True),
    **volume_selection_argument_spec()
)


def argument_spec():
    spec = cloudstack_argument_spec(beside_vcenter=True)
    spec.update(vcenter_argument_spec())
    spec.update(vcenters_argument_spec())
    spec.update(volume_selection_argument_spec())
    spec.update(
        volume=dict(type="str"),
        destination=dict(type="str"),
        volumes=dict(type="list", elements="dict", options=VOLUME_ITEM),
        concurrency=dict(type="int", default=1),
        max_per_destination=dict(type="int", default=0),
        window_end=dict(type="str"),
        on_volume_failure=dict(type="str", choices=["continue", "stop"], default="continue"),
        allow_live_migration=dict(type="bool", default=False),
        on_false_success=dict(type="str", choices=["fail", "restore"], default="fail"),
        job_timeout=dict(type="int", default=1800),
        poll_interval=dict(type="float", default=5.0),
        journal_path=dict(type="path", default=DEFAULT_JOURNAL_PATH),
        journal_create_directory=dict(type="bool", default=False),
        run_id=dict(type="str"),
        progress=dict(type="bool", default=True),  # shown by the action plugin; nothing for the module to do
    )
    return spec


def migrate(params, check_mode):
    """Connect to both systems and run the migration service; return its result."""
    options = MigrationOptions(
        allow_live_migration=params["allow_live_migration"], on_false_success=params["on_false_success"],
        job_timeout=params["job_timeout"], poll_interval=params["poll_interval"],
        concurrency=params["concurrency"], check_mode=check_mode, max_per_destination=params["max_per_destination"],
        window_end=params["window_end"], on_volume_failure=params["on_volume_failure"],
    )
    requests = requests_from_params(params)
    journal = Journal(params["journal_path"], create_directory=params["journal_create_directory"], run_id=params["run_id"])
    settings = CloudStackSettings.from_params(params)
    cloudstack = cloudstack_client.connect(settings)
    if params.get("vcenters"):
        zones = ZonedVCenters(ZoneRouter(cloudstack, params["vcenters"]), vcenter_client.connect)
        try:
            return VolumeMigrationService(cloudstack, None, journal, options, cloud=settings.endpoint, zones=zones).run(requests)
        finally:
            zones.close()
    vcenter = vcenter_client.connect(VCenterSettings.from_params(params))
    try:
        disks = VCenterDisks(vcenter, datacenter=params.get("datacenter"))
        service = VolumeMigrationService(cloudstack, disks, journal, options, cloud=settings.endpoint)
        return service.run(requests)
    finally:
        vcenter.close()


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        supports_check_mode=True,
        mutually_exclusive=[("volume", "volumes")],
        required_one_of=[("volume", "volumes")],
        required_together=[("volume", "destination")],
    )
    require_libraries(module, cloudstack=True, vcenter=True)
    result = run_service(module, migrate, module.params, module.check_mode)
    for warning in [text for volume in result["volumes"] for text in volume.get("warnings", [])]:
        module.warn(warning)
    diff = result.pop("diff")
    if module._diff:
        result["diff"] = diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()
