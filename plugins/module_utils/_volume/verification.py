# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Verification after a migration job, drift detection, and the opt-in record restore.

Success needs both sides: CloudStack's record (Ready, on the destination pool, with a
path) and vCenter (the VM's disk on the destination datastore, file present). When
they disagree, vCenter is the truth about where the disk is; with
``on_false_success=restore`` the CloudStack record is put back to that truth with
``updateVolume`` and re-read to check that it took.
"""

from __future__ import annotations

import json

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import (
    DriftDetected,
    PreflightFailed,
    SafeMigrationError,
    VerificationFailed,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.journal import JOB_ADOPTED, JOB_SUBMITTING
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.datastore_paths import (
    disk_file_name,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.jobs import job_error_text
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._cloudstack.records import labelled, pool_datastores
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.options import POLICY_OPTION, option_text

RESTORE_POLICY = "restore"


def record_facts(volume):
    """The fields of a volume record that verification compares."""
    volume = volume or {}
    return {"state": volume.get("state"), "pool_id": volume.get("storageid"), "pool_name": volume.get("storage"),
            "path": volume.get("path")}


class Verifier:
    """Compares CloudStack's record with vCenter after a job, and repairs the record when asked to."""

    def __init__(self, cloudstack, vcenter, journal, jobs, options, new_job_id):
        self._cs = cloudstack
        self._vcenter = vcenter
        self._journal = journal
        self._jobs = jobs
        self._options = options
        self._new_job_id = new_job_id

    # ---- after the job -------------------------------------------------------------------------
    def after_success(self, essentials, job):
        """The job says success: check both sides; return the result, or raise on a false success."""
        if essentials.get("detached"):
            return self._detached().after_success(essentials, job)
        verification = self.verify(essentials)
        self._journal.record(essentials["volume_id"], "verification", verification=verification)
        if verification["ok"]:
            return dict(status="migrated", changed=True, failed=False, job_id=job.get("jobid"), job_status=1,
                        verification=verification, **self._left_on_source(essentials, verification))
        return self._false_success(essentials, job, verification, "CloudStack's migrateVolume job %s reported success"
                                   % job.get("jobid"))

    def _left_on_source(self, essentials, verification):
        """A copy of the disk still on the source after a verified move (a copy that was not a move): reported for
        cleanup, never deleted here."""
        source = essentials["source"]
        if source["pool_id"] == essentials["destination"]["pool_id"]:
            return {}
        found = self._vcenter.locate_detached(source["path"], source["datastores"]).found
        leftovers = [file for file in found if file != verification["vcenter"].get("file")]
        if not leftovers:
            return {}
        self._journal.record(essentials["volume_id"], "leftovers", files=leftovers)
        return {"leftovers": leftovers, "warnings": [
            "Volume %s was moved and verified, but a copy of its disk is still on the source datastore: %s. Check that "
            "nothing uses it, then delete it by hand (this task never deletes files)"
            % (labelled(essentials.get("volume_name"), essentials["volume_id"]), ", ".join(leftovers))]}

    def after_failure(self, essentials, job):
        """The job failed: report CloudStack's error, after checking that the record was left alone."""
        if essentials.get("detached"):
            return self._detached().after_failure(essentials, job)
        record = self._cs.get_volume(essentials["volume_id"])
        if _same_place(record, essentials["source"]):
            # pool and path as before (a cancelled job may leave the state Migrating): vCenter says what happened
            return self._failed_job().judge(essentials, job, record)
        verification = self.verify(essentials, record)
        if verification["ok"]:
            # another migration (a second run, a person) put the volume there: both sides agree, this job changed nothing
            self._journal.record(essentials["volume_id"], "verification", verification=verification)
            return dict(status="unchanged", changed=False, failed=False, job_id=job.get("jobid"), job_status=job.get("jobstatus"),
                        verification=verification, moved_by_another_job=True,
                        msg="CloudStack's migrateVolume job %s failed (%s), but the volume is on pool %s already and vCenter "
                        "confirms its disk there: another migration moved it" % (
                            job.get("jobid"), job_error_text(job), essentials["destination"]["pool_name"]))
        return self._false_success(essentials, job, verification, "CloudStack's migrateVolume job %s failed (%s) but "
                                   "changed the volume record" % (job.get("jobid"), job_error_text(job)))

    def verify(self, essentials, record=None):
        """Both sides' facts about the volume after the job, and whether they agree on the destination."""
        record = record or self._cs.get_volume(essentials["volume_id"])
        destination = essentials["destination"]
        facts = record_facts(record)
        cloudstack_ok = facts["state"] == "Ready" and facts["pool_id"] == destination["pool_id"] and bool(facts["path"])
        disk = self._vcenter.locate(essentials["instance_name"], facts["path"] or essentials["source"]["path"],
                                    destination["datastores"])
        # Only positive evidence passes: the disk attached on the destination AND its file seen there.
        return {"ok": cloudstack_ok and disk.confirmed, "cloudstack": facts, "cloudstack_ok": cloudstack_ok,
                "vcenter": disk.as_dict(), "vcenter_ok": disk.confirmed}

    # ---- already on the destination -------------------------------------------------------------
    def confirm_in_place(self, plan, reference):
        """The record says destination: ok only when vCenter agrees; otherwise the drift is an error."""
        volume = plan.volume
        base = dict(volume=reference, volume_id=volume["id"], volume_name=volume.get("name"), plan=plan.as_dict())
        verification = {"cloudstack": record_facts(volume), "vcenter": plan.disk.as_dict() if plan.disk else None}
        if plan.disk is not None and plan.disk.confirmed and volume.get("state") == "Ready" and volume.get("path"):
            # moved by an earlier run (killed before it could tell): what that move left on its source is told now
            journaled = self._journaled_plan(volume["id"], plan.destination["id"])
            leftovers = self._left_on_source(journaled, verification) if journaled else {}
            return dict(base, status="unchanged", changed=False, failed=False, verification=dict(verification, ok=True),
                        **leftovers)
        if not volume.get("virtualmachineid"):
            journaled = self._journaled_plan(volume["id"], plan.destination["id"])
            return self._detached().confirm_in_place(plan, reference, journaled)
        if plan.vm is None:
            raise PreflightFailed(
                "Volume %s is on pool %s already, but it is not attached to a VM, so vCenter cannot confirm where its disk is; "
                "attach it to its VM and run again" % (labelled(volume.get("name"), volume["id"]), volume.get("storage")),
                volume_id=volume["id"], plan=plan.as_dict())
        essentials = self.damage_essentials(plan)
        truth = self.find_truth(essentials)
        restore = self.restore_if_asked(essentials, truth)
        raise DriftDetected(
            "CloudStack says volume %s is on pool %s with %s, but vCenter shows %s: an earlier migration reported a "
            "false success. %s" % (labelled(volume.get("name"), volume["id"]), volume.get("storage"), _path_text(volume.get("path")),
                                   _where(truth, plan.disk.as_dict() if plan.disk else None), restore_text(restore)),
            volume_id=volume["id"], plan=plan.as_dict(), verification=dict(verification, ok=False), truth=truth,
            restore=restore, false_success=True, changed=bool(restore and restore.get("submitted")),
        )

    def _failed_job(self):
        """The judgement of a failed job of an attached volume (failed_job.py; it builds on this module)."""
        # pylint: disable-next=import-outside-toplevel,cyclic-import
        from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.failed_job import FailedJobVerifier
        return FailedJobVerifier(self._vcenter, self._journal, self)

    def _detached(self):
        """The verification of volumes without a VM (volume_detached.py; imported here, as it builds on this module)."""
        # pylint: disable-next=import-outside-toplevel,cyclic-import
        from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.detached import DetachedVerifier
        return DetachedVerifier(self._cs, self._vcenter, self._journal, self._options, self.restore)

    # ---- false success ---------------------------------------------------------------------------
    def _false_success(self, essentials, job, verification, claim):
        truth = self.find_truth(essentials)
        restore = self.restore_if_asked(essentials, truth)
        cloudstack = verification["cloudstack"]
        raise VerificationFailed(
            "False success: %s, and CloudStack now says volume %s is %s on pool %s with %s, but vCenter shows %s. %s"
            % (claim, labelled(essentials.get("volume_name"), essentials["volume_id"]), cloudstack["state"],
               cloudstack["pool_name"] or cloudstack["pool_id"], _path_text(cloudstack["path"]),
               _where(truth, verification["vcenter"]), restore_text(restore)),
            volume_id=essentials["volume_id"], job_id=job.get("jobid"), job_status=job.get("jobstatus"), plan=essentials,
            verification=verification, truth=truth, restore=restore, false_success=True,
            changed=bool(restore and restore.get("submitted")),
        )

    def find_truth(self, essentials):
        """Where vCenter says the disk really is: {pool_id, pool_name, path, datastore, file}, or None if unknown."""
        path = essentials["source"]["path"]
        if not path:
            return None  # without the disk's file name nothing can be matched in vCenter
        for side in (essentials["source"], essentials["destination"]):
            if side.get("pool_id"):
                disk = self._vcenter.locate(essentials["instance_name"], path, side["datastores"])
                if disk.confirmed or (disk.stranded and backs(disk.datastore, side["datastores"])):
                    return truth_at({"id": side["pool_id"], "name": side.get("pool_name")}, path, disk)
        return self._truth_from_any_pool(essentials, path)

    def _truth_from_any_pool(self, essentials, path):
        """Find the disk on any datastore, then the pool of the zone that this datastore backs."""
        disk = self._vcenter.locate(essentials["instance_name"], path, None)
        if not (disk.confirmed or disk.stranded) or not disk.datastore:
            return None
        pools = pools_backing(self._cs, disk.datastore, essentials.get("zone_id"))
        return truth_at(pools[0], path, disk) if pools else None

    def restore_if_asked(self, essentials, truth):
        if self._options.on_false_success != RESTORE_POLICY:
            return {"submitted": False, "reason": "%s is fail" % option_text(POLICY_OPTION), "policy": self._options.on_false_success,
                    "truth_known": truth is not None}
        if self._options.check_mode:
            return {"submitted": False, "reason": "check mode changes nothing", "policy": RESTORE_POLICY, "would_restore": truth}
        if truth is None:
            return {"submitted": False, "reason": "vCenter shows no single place for the disk, so the true record is unknown",
                    "policy": RESTORE_POLICY}
        return self.restore(essentials["volume_id"], truth)

    def restore(self, volume_id, truth):
        """Put the record back to the truth (pool, path, Ready) and check that it took."""
        return restore_record(self._cs, self._journal, self._jobs, self._new_job_id(), volume_id, truth)

    # ---- a record damaged by an earlier false success ----------------------------------------------
    def damage_essentials(self, plan):
        """The plan's essentials, with the disk's file name recovered when the damaged record lost it.

        The path comes from the record, else from the last journaled plan of the volume (its source as it
        was before that job), else from the record's ``chaininfo`` (VMware's disk chain), else from the one
        disk of the VM in vCenter that none of the VM's other volumes claims (#9881 leaves the path NULL and
        no journal). The journaled source is used as the source side too: it is where the disk was before the
        job that lied.
        """
        volume = plan.volume
        essentials = plan.essentials()
        if plan.already_there:
            journaled = self._journaled_plan(volume["id"], plan.destination["id"])
            if journaled:
                return journaled
        if essentials["source"]["path"]:
            return essentials
        journaled = self._journaled_plan(volume["id"], None)
        if journaled and journaled["source"].get("path"):
            return dict(essentials, source=journaled["source"], instance_name=essentials["instance_name"] or journaled.get("instance_name"))
        path = path_from_chaininfo(volume.get("chaininfo")) or self._unclaimed_disk(volume, essentials["instance_name"])
        if path:
            essentials["source"] = dict(essentials["source"], path=path)
        return essentials

    def _unclaimed_disk(self, volume, instance_name):
        """The file name of the VM's one attached disk that no other volume of the VM has as its path, or None
        (no VM, the VM not held exactly once by vCenter, or not exactly one such disk: never a guess)."""
        if not volume.get("virtualmachineid") or not instance_name:
            return None
        files = self._vcenter.attached_disk_files(instance_name)
        if not files:
            return None
        claimed = {disk_file_name(other["path"]) for other in self._cs.list_volumes(virtualmachineid=volume["virtualmachineid"])
                   if other.get("id") != volume["id"] and other.get("path")}
        unclaimed = [name for name in (disk_file_name(file) for file in files) if name not in claimed]
        return unclaimed[0][:-len(".vmdk")] if len(unclaimed) == 1 and unclaimed[0].endswith(".vmdk") else None

    def damage_text(self, plan, truth):
        """What is wrong with a damaged record, in words (used by the blockers and the repair)."""
        volume = plan.volume
        return ("CloudStack says volume %s is %s on pool %s with %s, but vCenter shows %s: an earlier migration reported "
                "a false success" % (labelled(volume.get("name"), volume["id"]), volume.get("state"), volume.get("storage"),
                                     _path_text(volume.get("path")), _where(truth, plan.disk.as_dict() if plan.disk else None)))

    def refuse_damage(self, plan, essentials, truth):
        """The damaged record cannot be repaired (vCenter shows no single place for the disk): say so, change nothing."""
        known = ("the record has no path, the journal has no plan of the volume, the record no chaininfo, and the VM "
                 "has no single disk that its other volumes do not claim") \
            if not essentials["source"].get("path") else "vCenter shows no single place for the disk"
        restore = {"submitted": False, "reason": "%s, so the true record is unknown" % known, "policy": RESTORE_POLICY}
        raise DriftDetected(
            "%s. %s" % (self.damage_text(plan, truth), restore_text(restore)),
            volume_id=plan.volume["id"], plan=plan.as_dict(), truth=truth, restore=restore, false_success=True, changed=False,
            verification={"cloudstack": record_facts(plan.volume), "vcenter": plan.disk.as_dict() if plan.disk else None, "ok": False},
        )

    def _journaled_plan(self, volume_id, destination_id):
        """The plan of the last journaled migration of this volume to this pool, if any."""
        plans = [entry["plan"] for entry in self._journal.entries(volume_id)
                 if entry["event"] in (JOB_SUBMITTING, JOB_ADOPTED) and isinstance(entry.get("plan"), dict)
                 and destination_id in (None, entry["plan"].get("destination", {}).get("pool_id"))]
        return plans[-1] if plans else None


def path_from_chaininfo(chaininfo):
    """The disk's file name (CloudStack's path) from a VMware ``chaininfo`` (its ``diskChain``), or None."""
    if not chaininfo:
        return None
    try:
        chain = json.loads(chaininfo).get("diskChain") or []
    except (ValueError, AttributeError):
        return None
    if not chain or not isinstance(chain[0], str):
        return None
    name = chain[0].split("] ", 1)[-1].rsplit("/", 1)[-1]
    return name[:-5] if name.endswith(".vmdk") else name or None


def backs(datastore, identities):
    """Whether a datastore name is one of a pool's identities (compared without dashes, case-insensitively)."""
    def plain(value):
        return (value or "").replace("-", "").lower()
    return bool(datastore) and plain(datastore) in {plain(identity) for identity in identities}


# ---- shared with the record sync (volume_record_sync.py) ---------------------------------------
def pools_backing(cloudstack, datastore, zone_id=None):
    """The storage pools (of the zone, when given) that a datastore, by name, backs."""
    return [pool for pool in cloudstack.list_storage_pools(zoneid=zone_id) if backs(datastore, pool_datastores(pool))]


def truth_at(pool, path, disk):
    """The true record of a disk seen by vCenter: {pool_id, pool_name, path, datastore, file}."""
    return {"pool_id": pool["id"], "pool_name": pool.get("name"), "path": path, "datastore": disk.datastore, "file": disk.file}


def restore_record(cloudstack, journal, jobs, job_id, volume_id, truth):
    """updateVolume to the truth (pool, path, Ready), awaited and re-read; journaled before and after.

    An error of the update or of the wait is reported in the result (``error``), not raised; a job that
    ended in failure shows in ``job_status`` and ``verified``.
    """
    before = record_facts(cloudstack.get_volume(volume_id))
    journal.record(volume_id, "restore_submitting", job_id=job_id, truth=truth, before=before)
    restore = {"submitted": True, "job_id": job_id, "job_status": None, "before": before, "after": None, "verified": False}
    try:
        answered = cloudstack.update_volume(volume_id, job_id, storage_id=truth["pool_id"], path=truth["path"], state="Ready")
        restore["job_id"] = answered or job_id
        if answered:
            job = jobs.wait(answered, "updateVolume job %s of volume %s" % (answered, volume_id), volume_id=volume_id)
            restore["job_status"] = job.get("jobstatus")
            if job.get("jobstatus") == 2:
                restore["error"] = "the updateVolume job failed: %s" % job_error_text(job)
        after = restore["after"] = record_facts(cloudstack.get_volume(volume_id))
        restore["verified"] = after["pool_id"] == truth["pool_id"] and after["path"] == truth["path"] and after["state"] == "Ready"
    except SafeMigrationError as error:
        # the caller's finding stays the headline; the restore's own failure is part of the report
        restore["error"] = error.message
    journal.record(volume_id, "restore", restore=restore)
    return restore


def _same_place(record, source):
    facts = record_facts(record)
    return record is not None and facts["pool_id"] == source["pool_id"] and facts["path"] == source["path"]


def _where(truth, vcenter_facts):
    """What vCenter shows, in words: where the disk is, and the VM's problems."""
    facts = vcenter_facts or {}
    problems = "; ".join(facts.get("problems") or [])
    if truth:
        text = "the disk at %s on datastore %s, which is pool %s" % (
            truth["file"], truth["datastore"], truth["pool_name"] or truth["pool_id"])
        return "%s (%s)" % (text, problems) if facts and not facts.get("vm_found") else text
    if facts and not facts.get("vm_found"):
        return "no such VM in the inventory (%s)" % problems
    if facts:
        return "the disk at %s (%s)" % (facts.get("file"), problems or "not where CloudStack says")
    return "no disk it can match, as the record has no path"


def _path_text(path):
    return "path %s" % path if path else "no path"


def restore_text(restore):
    if not restore or not restore.get("submitted"):
        restore = restore or {}
        if restore.get("would_restore"):
            truth = restore["would_restore"]
            return "Check mode: the record would be restored to pool %s, path %s, state Ready." % (
                truth["pool_name"] or truth["pool_id"], truth["path"])
        if restore.get("policy") == RESTORE_POLICY:
            return ("The record was left as it is (%s): find the disk, then repair the record by hand with updateVolume."
                    % restore.get("reason"))
        if restore.get("truth_known") is False:
            return ("The record was left as CloudStack wrote it (%s). vCenter shows no single place for the disk, so "
                    "there is nothing to restore it to yet: find the disk (re-register the VM in vCenter if it was "
                    "removed from the inventory), then run again with %s or repair the record by hand with "
                    "updateVolume." % (restore.get("reason"), option_text(POLICY_OPTION, RESTORE_POLICY)))
        return ("The record was left as CloudStack wrote it (%s); set %s to put it back to what vCenter shows (and then "
                "migrate it as planned), or repair it by hand with updateVolume."
                % (restore.get("reason"), option_text(POLICY_OPTION, RESTORE_POLICY)))
    if restore.get("verified"):
        after = restore["after"]
        return "The record was restored to the truth (pool %s, path %s, state %s) and re-read to confirm it." % (
            after["pool_name"] or after["pool_id"], after["path"], after["state"])
    if restore.get("error"):
        return "The restore of the record (job %s) failed: %s; repair the record by hand with updateVolume." % (
            restore["job_id"], restore["error"])
    return "A restore was submitted (job %s) but the record does not show it yet: check it by hand." % restore["job_id"]
