# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Record sync: make one volume's CloudStack record (pool, path, state) match where vCenter shows its disk.

The truth must be unambiguous before anything is written: for an attached volume, the VM's
attached disk with its file seen by a datastore search (the VM's disk wins over any copy);
for a VM missing from the inventory or a detached volume, the file found in exactly one
place with every datastore searched. The datastore must back exactly one pool of the
volume's zone. Anything less is a refusal that says why and what to do, and nothing is
written. The write is the restore of cs_volume_migrate_safe (``volume_verify.restore_record``:
updateVolume, its job awaited, the record re-read), journaled in the migration journal.
"""

from __future__ import annotations

import time
import uuid

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.drift_audit import usable
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common import problems as problem_codes
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import (
    PreflightFailed,
    SafeMigrationError,
    VCenterError,
    VerificationFailed,
    WaitTimeout,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.journal import JOB_SUBMITTING, OUTCOME
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.datastore_paths import (
    datastore_name,
    disk_file_name,
    normalize_path,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.jobs import JobRunner, job_status_name
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._cloudstack.records import is_uuid, volume_label
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.plan import Planner
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.verification import (
    pools_backing,
    record_facts,
    restore_record,
    truth_at,
)

RECORD_SYNC = "record_sync"
SYNCABLE_STATES = ("Ready", "Migrating")
DATASTORE_CLUSTER = "DatastoreCluster"


class SyncRequest:
    """One volume (UUID, or name with vm/zone/account) and the facts a reviewer expects of its truth."""

    def __init__(self, volume, vm=None, zone=None, account=None, expected_pool=None, expected_path=None,
                 expected_datastore_path=None):
        self.volume = volume
        self.vm = vm
        self.zone = zone
        self.account = account
        self.destination = None  # the planner's request shape; a sync has no destination
        self.expected_pool = expected_pool
        self.expected_path = expected_path
        self.expected_datastore_path = expected_datastore_path


class SyncOptions:
    def __init__(self, job_timeout=600, poll_interval=2.0, check_mode=False):
        self.job_timeout = job_timeout
        self.poll_interval = poll_interval
        self.check_mode = check_mode


class Refused(PreflightFailed):
    """The truth is not unambiguous (or not what was reviewed): nothing was written."""

    def __init__(self, reason, message, **facts):
        super().__init__(message, reason=problem_codes.known(reason), **facts)
        self.reason = reason


class RecordSyncService:
    """Syncs one volume's record with vCenter; see the module documentation for the result shape."""

    def __init__(self, cloudstack, vcenter, vcenter_client, journal, options, clock=time.monotonic, sleep=time.sleep,
                 new_job_id=None, datacenter=None):
        self._cs = cloudstack
        self._disks = vcenter
        self._files = DetachedDiskSearch(vcenter_client, datacenter)
        self._journal = journal
        self._options = options
        self._clock = clock
        self._jobs = JobRunner(cloudstack, options, clock=clock, sleep=sleep)
        self._new_job_id = new_job_id or (lambda: str(uuid.uuid4()))
        self._planner = Planner(cloudstack, vcenter)

    def run(self, request):
        """The result of syncing the volume; raises a ``SafeMigrationError`` (with the same facts) when refused or failed."""
        started = self._clock()
        try:
            result = self.sync(request)
        except SafeMigrationError as error:
            self._journal_outcome(error.facts.get("volume_id") or request.volume, "refused" if isinstance(error, Refused)
                                  else "failed", bool(error.facts.get("changed")), error.message, started, error.facts)
            raise
        self._journal_outcome(result["volume_id"], result["status"], result["changed"], result["msg"], started, result)
        return result

    def sync(self, request):
        volume = self._planner.resolve_volume(request)
        base = dict(volume=request.volume, volume_id=volume["id"], volume_name=volume.get("name"),
                    record=record_facts(volume))
        try:
            _check_syncable(volume)
            truth, evidence = self._find_truth(volume, request)
            _check_expectations(volume, truth, request)
        except Refused as refusal:
            refusal.facts = dict(base, changed=False, status="refused", **refusal.facts)
            raise
        base.update(truth=truth, vcenter=evidence)
        before = record_facts(volume)
        after = dict(before, state="Ready", pool_id=truth["pool_id"], pool_name=truth["pool_name"], path=truth["path"])
        diff = {"before": _diff_side(before), "after": _diff_side(after)}
        if _in_sync(before, truth):
            return dict(base, status="in_sync", changed=False, diff=diff, msg="The record of volume %s already matches "
                        "vCenter (pool %s, path %s, Ready)" % (volume_label(volume), truth["pool_name"], truth["path"]))
        would_write = _update_params(volume, truth)
        if self._options.check_mode:
            return dict(base, status="planned", changed=True, would_write=would_write, diff=diff,
                        msg="Check mode: updateVolume id=%s %s would be written" % (volume["id"], _params_text(would_write)))
        self._journal.record(volume["id"], RECORD_SYNC, record=before, truth=truth, vcenter=evidence, params=would_write)
        restore = restore_record(self._cs, self._journal, self._jobs, self._new_job_id(), volume["id"], truth)
        result = dict(base, status="synced", changed=True, written=would_write, job_id=restore["job_id"],
                      job_status=restore["job_status"], after=restore["after"], diff=diff)
        if not restore["verified"]:
            raise VerificationFailed(
                "The record of volume %s was not synced: updateVolume job %s %s; the record now says %s. Check the "
                "record, then run again or repair it by hand with updateVolume id=%s %s" % (
                    volume_label(volume), restore["job_id"], _update_failure(restore),
                    _record_text(restore["after"]), volume["id"], _params_text(would_write)),
                failed=True, error=restore.get("error"), **result)
        result["msg"] = "The record of volume %s was synced with vCenter: %s -> %s" % (
            volume_label(volume), _record_text(before), _record_text(restore["after"]))
        return result

    # ---- where vCenter shows the disk ----------------------------------------------------------
    def _find_truth(self, volume, request):
        path = self._path_to_find(volume, request)
        if volume.get("virtualmachineid"):
            file, evidence = self._attached_file(volume, path, request)
        else:
            file, evidence = self._detached_file(volume, path)
        pool = self._pool_of(volume, datastore_name(file), file)
        return truth_at(pool, path, _Seen(file)), evidence

    def _path_to_find(self, volume, request):
        """The disk's base name: the reviewed one, else the record's, else the last migration's (journal)."""
        path = request.expected_path or volume.get("path") or self._journaled_path(volume["id"])
        if not path:
            raise Refused(problem_codes.VOLUME_PATH_NULL, "Volume %s has no path in CloudStack (apache/cloudstack#9881) and the journal holds no "
                          "migration of it, so its disk cannot be matched: audit it (cs_vmware_drift_info), review the "
                          "volume_path_null candidate, then give it as expected_path" % volume_label(volume))
        return path

    def _journaled_path(self, volume_id):
        paths = [entry["plan"]["source"].get("path") for entry in self._journal.entries(volume_id)
                 if entry["event"] == JOB_SUBMITTING and (entry.get("plan") or {}).get("source")]
        return paths[-1] if paths else None

    def _attached_file(self, volume, path, request):
        vm = self._cs.get_virtual_machine(volume["virtualmachineid"])
        instance_name = (vm or {}).get("instancename")
        if not instance_name:
            raise Refused(problem_codes.VM_UNKNOWN, "Volume %s is attached to VM %s, whose instance name CloudStack does not show (root "
                          "admin credentials needed); nothing was changed" % (volume_label(volume), volume["virtualmachineid"]))
        disk = self._disks.locate(instance_name, path, None)
        evidence = dict(disk.as_dict(), vm=instance_name)
        if path != volume.get("path"):
            self._check_path_unclaimed(volume, path)
            self._check_record_path_not_attached(volume, instance_name, path)
        if disk.vm_found:
            return _attached_disk_file(volume, instance_name, path, disk, evidence), evidence
        if disk.stranded:
            return disk.file, evidence
        if len(disk.copies) > 1:
            raise _several_places(volume, path, disk.copies, evidence, "VM %s is not in the vCenter inventory and " % instance_name)
        problems = "; ".join(disk.problems)
        if disk.copies:
            raise Refused(problem_codes.NOT_SEARCHED, "VM %s of volume %s is not in the vCenter inventory; its disk %s was found at %s, but "
                          "not every datastore could be searched (%s), so another copy cannot be excluded; nothing was "
                          "changed. Make the datastores accessible, or re-register the VM, then run again"
                          % (instance_name, volume_label(volume), disk_file_name(path), disk.copies[0], problems), vcenter=evidence)
        raise Refused(problem_codes.DISK_NOWHERE, "VM %s of volume %s is not in the vCenter inventory and its disk %s was found on no "
                      "datastore (%s); nothing was changed. Find the VM's files (or restore the disk from a backup) "
                      "before repairing the record" % (instance_name, volume_label(volume), disk_file_name(path), problems),
                      vcenter=evidence)

    def _detached_file(self, volume, path):
        places, unsearched = self._files.find(disk_file_name(path))
        evidence = {"vm": None, "copies": places, "not_searched": unsearched}
        if len(places) > 1:
            raise _several_places(volume, path, places, evidence, "")
        if unsearched:
            raise Refused(problem_codes.NOT_SEARCHED, "The disk %s of detached volume %s is %s, and not every datastore could be searched "
                          "(%s); nothing was changed. Make the datastores searchable, then run again" % (
                              disk_file_name(path), volume_label(volume), "at %s" % places[0] if places else "on no datastore searched",
                              "; ".join(unsearched)), vcenter=evidence)
        if not places:
            raise Refused(problem_codes.DISK_NOWHERE, "The disk %s of detached volume %s is on no datastore; nothing was changed. "
                          "Restore it from a backup: the record cannot be repaired from vCenter" % (
                              disk_file_name(path), volume_label(volume)), vcenter=evidence)
        return places[0], evidence

    def _check_path_unclaimed(self, volume, path):
        """A path taken from the review or the journal must not be another volume's disk."""
        others = [other for other in self._cs.list_volumes(virtualmachineid=volume["virtualmachineid"])
                  if other.get("id") != volume["id"] and other.get("path") == path]
        if others:
            raise Refused(problem_codes.PATH_CLAIMED, "Disk %s is the disk of volume %s of the same VM, not of volume %s; nothing was "
                          "changed. Review the drift again" % (disk_file_name(path), volume_label(others[0]), volume_label(volume)),
                          claimed_by=others[0]["id"])

    def _check_record_path_not_attached(self, volume, instance_name, path):
        """The record's own path still attached and present: the reviewed path no longer describes reality."""
        if not volume.get("path"):
            return
        current = self._disks.locate(instance_name, volume["path"], None)
        if current.vm_found and current.attached and current.exists is True:
            raise Refused(problem_codes.EXPECTATION_MISMATCH, "Volume %s: the reviewed path %s no longer matches vCenter: the record's "
                          "path %s is attached to VM %s at %s; nothing was changed. Audit again and review the new drift"
                          % (volume_label(volume), path, volume["path"], instance_name, current.file), vcenter=current.as_dict())

    def _pool_of(self, volume, datastore, file):
        pools = [pool for pool in pools_backing(self._cs, datastore, volume.get("zoneid")) if pool.get("type") != DATASTORE_CLUSTER]
        if not pools:
            raise Refused(problem_codes.DATASTORE_OF_NO_POOL, "The disk of volume %s is at %s, but datastore %s belongs to no CloudStack storage pool of "
                          "zone %s; nothing was changed. Move the disk to a datastore of a pool (or add the datastore as "
                          "a pool), then run again" % (volume_label(volume), file, datastore, volume.get("zonename") or volume.get("zoneid")),
                          vcenter={"file": file, "datastore": datastore})
        if len(pools) > 1:
            raise Refused(problem_codes.DATASTORE_OF_SEVERAL_POOLS, "The disk of volume %s is at %s, but datastore %s backs %d pools (%s); CloudStack's "
                          "pool for it is ambiguous; nothing was changed" % (
                              volume_label(volume), file, datastore, len(pools), ", ".join(pool["id"] for pool in pools)),
                          vcenter={"file": file, "datastore": datastore}, pools=[pool["id"] for pool in pools])
        return pools[0]

    # ---- the journal ----------------------------------------------------------------------------
    def _journal_outcome(self, volume_id, status, changed, msg, started, facts):
        if self._options.check_mode:
            return
        self._journal.record(volume_id, OUTCOME, status=status, changed=changed, job_id=facts.get("job_id"),
                             reason=facts.get("reason"), msg=msg, duration=round(self._clock() - started, 3))


class DetachedDiskSearch:
    """Where a detached volume's file is: one exact-name search per searchable datastore, through the vCenter client."""

    def __init__(self, client, datacenter=None):
        self._client = client
        self._datacenter = datacenter

    def find(self, file_name):
        """([full datastore paths of the file], [why a datastore was not searched])."""
        inventory = self._client.read_inventory(self._datacenter)
        places, unsearched = [], []
        for datastore in sorted((inventory.get("datastores") or {}).values(), key=lambda item: item["name"]):
            if not usable(datastore):
                unsearched.append("datastore %s is inaccessible or in maintenance" % datastore["name"])
                continue
            try:
                places.extend(normalize_path(path) for path in self._client.search_datastore(datastore, [file_name]))
            except (VCenterError, WaitTimeout) as error:
                unsearched.append("the search of datastore %s failed: %s" % (datastore["name"], error.message))
        return sorted(places), unsearched


class _Seen:
    """A file vCenter showed, in the shape ``truth_at`` reads."""

    def __init__(self, file):
        self.file = file
        self.datastore = datastore_name(file)


def _check_syncable(volume):
    if volume.get("jobid") and str(volume.get("jobstatus", 0)) == "0":
        raise Refused(problem_codes.JOB_PENDING, "CloudStack job %s is still running on volume %s; nothing was changed. Wait for it to end, "
                      "then run again" % (volume["jobid"], volume_label(volume)), job_id=volume["jobid"])
    if volume.get("state") not in SYNCABLE_STATES:
        raise Refused(problem_codes.STATE_NOT_SYNCABLE, "Volume %s is %s: only Ready or Migrating (without a job) records are synced with "
                      "vCenter; nothing was changed" % (volume_label(volume), volume.get("state")))


def _attached_disk_file(volume, instance_name, path, disk, evidence):
    """The VM is in the inventory: its attached disk, with its file seen, is the truth."""
    problems = "; ".join(disk.problems)
    if not disk.attached:
        raise Refused(problem_codes.DISK_NOT_ATTACHED, "VM %s has no disk %s attached (%s); nothing was changed. Audit the volume "
                      "(cs_vmware_drift_info) and review which disk is its own" % (
                          instance_name, disk_file_name(path), problems), vcenter=evidence)
    if disk.exists is False:
        raise Refused(problem_codes.DISK_FILE_MISSING, "Disk %s of VM %s (volume %s) is attached, but its file is not on datastore %s; "
                      "nothing was changed. Restore the disk from a backup: the record cannot be repaired from vCenter"
                      % (disk.file, instance_name, volume_label(volume), disk.datastore), vcenter=evidence)
    if disk.exists is not True:
        raise Refused(problem_codes.NOT_SEARCHED, "Disk %s of VM %s (volume %s) is attached, but datastore %s could not be searched "
                      "(%s), so nothing proves its file is there; nothing was changed. Make the datastore searchable, "
                      "then run again" % (disk.file, instance_name, volume_label(volume), disk.datastore, problems), vcenter=evidence)
    return disk.file


def _several_places(volume, path, places, evidence, context):
    return Refused(problem_codes.DISK_IN_SEVERAL_PLACES, "%sthe disk %s of volume %s is in %d places: %s; which one is the volume cannot "
                   "be told from vCenter, so nothing was changed. Find out which copy is current, remove or rename the "
                   "others, then run again" % (context, disk_file_name(path), volume_label(volume), len(places), ", ".join(places)),
                   vcenter=evidence)


def _check_expectations(volume, truth, request):
    """A reviewed fix applies only while reality is still what was reviewed."""
    mismatches = []
    expected_pool = request.expected_pool
    if expected_pool and expected_pool != (truth["pool_id"] if is_uuid(expected_pool) else truth["pool_name"]):
        mismatches.append("expected pool %s, vCenter shows pool %s" % (expected_pool, truth["pool_name"] or truth["pool_id"]))
    if request.expected_path and request.expected_path != truth["path"]:
        mismatches.append("expected path %s, vCenter shows %s" % (request.expected_path, truth["path"]))
    expected_file = request.expected_datastore_path
    if expected_file and normalize_path(expected_file) != normalize_path(truth["file"]):
        mismatches.append("expected the disk at %s, vCenter shows it at %s" % (expected_file, truth["file"]))
    if mismatches:
        raise Refused(problem_codes.EXPECTATION_MISMATCH, "Volume %s: vCenter no longer matches what was reviewed (%s); nothing was "
                      "changed. Audit again and review the new drift" % (volume_label(volume), "; ".join(mismatches)), truth=truth)


def _in_sync(before, truth):
    return before["state"] == "Ready" and before["pool_id"] == truth["pool_id"] and before["path"] == truth["path"]


def _update_params(volume, truth):
    """The updateVolume parameters that differ from the record (the restore writes all three; they say what changes)."""
    wanted = {"storageid": truth["pool_id"], "path": truth["path"], "state": "Ready"}
    return {key: value for key, value in wanted.items() if volume.get(key) != value}


def _update_failure(restore):
    if restore.get("error"):
        return "failed: %s" % restore["error"]
    if restore.get("job_status") in (2, 3):
        return "failed (%s)" % job_status_name(restore["job_status"])
    return "ended, but the re-read record differs"


def _diff_side(facts):
    return {"state": facts["state"], "pool": facts["pool_name"] or facts["pool_id"], "pool_id": facts["pool_id"],
            "path": facts["path"]}


def _params_text(params):
    return " ".join("%s=%s" % item for item in sorted(params.items()))


def _record_text(facts):
    facts = facts or {}
    path = "path %s" % facts["path"] if facts.get("path") else "no path"
    return "pool %s, %s, %s" % (facts.get("pool_name") or facts.get("pool_id"), path, facts.get("state"))
