# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""After a migrateVolume job of an attached volume that failed or was cancelled: where is the disk now?

A failed job proves nothing about the disk. vCenter may have finished the move after CloudStack gave up (a false
failure: apache/cloudstack#7168, CLOUDSTACK-8599), or the source may be gone (apache/cloudstack#8747 and its
relatives). So "nothing was migrated" is said only with positive evidence that the disk is on the source; a disk
found on the destination is a false failure (its record corrected under ``on_false_success=restore``); a disk found
on no datastore, every one searched, is a lost disk. Nothing here deletes or moves a file.
"""

from __future__ import annotations

from datetime import datetime, timezone

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common import problems as problem_codes
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import (
    JobFailed,
    VerificationFailed,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.journal import OUTCOME
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._cloudstack.records import labelled
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.datastore_paths import datastore_name
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.detached import DiskLost
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.jobs import job_error_text
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.verification import (
    backs,
    record_facts,
    restore_text,
    truth_at,
)

FALSE_FAILURE = "false_failure"
DISK_LOST = "DISK LOST"


class FailedJobVerifier:
    """Judges a failed job of an attached volume whose record CloudStack left on the source."""

    def __init__(self, vcenter, journal, verifier):
        self._vcenter = vcenter
        self._journal = journal
        self._verifier = verifier  # Verifier: restore_if_asked(essentials, truth)

    def judge(self, essentials, job, record):
        """Raise the true error of a failed job, or return the result of a false failure whose record was restored."""
        source, destination = essentials["source"], essentials["destination"]
        at_source = self._vcenter.locate(essentials["instance_name"], source["path"], source["datastores"])
        facts = dict(volume_id=essentials["volume_id"], job_id=job.get("jobid"), job_status=job.get("jobstatus"),
                     error_text=job_error_text(job), plan=essentials)
        verification = {"ok": False, "cloudstack": record_facts(record), "vcenter": at_source.as_dict(),
                        "vcenter_ok": False, "source_confirmed": at_source.confirmed}
        if at_source.confirmed:
            self._journal.record(essentials["volume_id"], "verification", verification=verification)
            raise self._nothing_migrated(essentials, job, "vCenter shows its disk at %s" % at_source.file,
                                         verification=verification, **facts)
        at_destination = self._vcenter.locate(essentials["instance_name"], source["path"], destination["datastores"])
        everywhere = self._vcenter.locate_detached(source["path"], None)
        on_source = [path for path in everywhere.found if backs(datastore_name(path), source["datastores"])]
        on_destination = [path for path in everywhere.found if backs(datastore_name(path), destination["datastores"])]
        verification.update(destination_confirmed=at_destination.confirmed, searches=everywhere.as_dict())
        self._journal.record(essentials["volume_id"], "verification", verification=verification)
        if at_destination.confirmed or (on_destination and not on_source and len(everywhere.found) == 1):
            return self._false_failure(essentials, job, at_destination, on_source, verification, facts)
        if on_source and not on_destination:
            raise self._nothing_migrated(essentials, job, "the datastore search found its file at %s (%s)" % (
                ", ".join(on_source), "; ".join(at_source.problems) or "not attached where expected"),
                verification=verification, **facts)
        if not everywhere.found and not everywhere.not_searched:
            raise self._lost(essentials, job, everywhere, verification, facts)
        raise VerificationFailed(
            "CloudStack's migrateVolume job %s for volume %s failed (%s) and left the record on pool %s, path %s, but "
            "vCenter does not show where the disk is: %s. Whether anything moved is unknown; do not retry the migration "
            "before the disk is found (the drift audit searches every datastore)"
            % (job.get("jobid"), volume_label(essentials), facts["error_text"], source["pool_name"], source["path"],
               _searched_text(everywhere, at_source)),
            verification=verification, **facts)

    def _nothing_migrated(self, essentials, job, evidence, **facts):
        source = essentials["source"]
        state = facts["verification"]["cloudstack"]["state"]
        stuck = "" if state == "Ready" else (
            " CloudStack left the volume %s: set it Ready with updateVolume (state=Ready) before running again" % state)
        return JobFailed(
            "CloudStack's migrateVolume job %s for volume %s failed: %s. The volume record is unchanged (pool %s, path %s) "
            "and %s on the source; nothing was migrated.%s"
            % (job.get("jobid"), volume_label(essentials), facts["error_text"], source["pool_name"], source["path"], evidence,
               stuck), **facts)

    def _false_failure(self, essentials, job, disk, leftovers, verification, facts):
        """The job failed, yet vCenter shows the disk on the destination: correct the record when asked to."""
        destination = essentials["destination"]
        file = disk.file if disk.confirmed else verification["searches"]["found"][0]
        truth = truth_at({"id": destination["pool_id"], "name": destination["pool_name"]}, essentials["source"]["path"],
                         _Seen(datastore_name(file), file))
        self._journal.record(essentials["volume_id"], FALSE_FAILURE, job_id=job.get("jobid"), truth=truth, leftovers=leftovers)
        restore = self._verifier.restore_if_asked(essentials, truth)
        claim = ("False failure: CloudStack's migrateVolume job %s for volume %s failed (%s) and left the record on pool %s, "
                 "path %s, but vCenter shows the disk at %s on the destination pool %s: the disk moved"
                 % (job.get("jobid"), volume_label(essentials), facts["error_text"], essentials["source"]["pool_name"],
                    essentials["source"]["path"], file, destination["pool_name"]))
        cleanup = (" A copy is still on the source: %s; check that nothing uses it, then delete it by hand (this task "
                   "never deletes files)." % ", ".join(leftovers)) if leftovers else ""
        facts = dict(facts, verification=verification, truth=truth, restore=restore, false_failure=True, leftovers=leftovers)
        if restore.get("verified"):
            after = dict(verification, ok=True, cloudstack=restore["after"], cloudstack_ok=True, vcenter_ok=True)
            return dict(facts, verification=after, status="migrated", changed=True, failed=False,
                        msg="%s. %s%s" % (claim, restore_text(restore), cleanup))
        raise VerificationFailed("%s. %s%s" % (claim, restore_text(restore), cleanup),
                                 changed=bool(restore.get("submitted")), **facts)

    def _lost(self, essentials, job, everywhere, verification, facts):
        source = essentials["source"]
        last_known = source.get("datastore_path") or "%s.vmdk on pool %s" % (source["path"], source["pool_name"])
        return DiskLost(
            "%s: CloudStack's migrateVolume job %s for volume %s of VM %s failed (%s), the record still says pool "
            "%s, path %s, but the disk file %s is on none of the %d datastores searched (%s). Its last known place was %s. "
            "This task deleted nothing and changed nothing after the job; do NOT retry the migration: restore the disk "
            "from a backup (or the datastore's snapshots) and repair the record with updateVolume."
            % (DISK_LOST, job.get("jobid"), volume_label(essentials), essentials["instance_name"], facts["error_text"],
               source["pool_name"], source["path"], everywhere.file_name, len(everywhere.searched),
               ", ".join(everywhere.searched) or "none", last_known),
            disk_lost=True, last_known_path=last_known, datastores_searched=everywhere.searched,
            journal_entries=self._journal.entries(essentials["volume_id"])[-10:],
            **dict(facts, verification=verification))


def disk_lost_before(plan, entries):
    """A ``DiskLost`` to raise again when an earlier run's job lost this volume's disk and its file is still missing.

    The alarm of a run killed before its result reached anyone lives in the journal only; the next run would
    otherwise call it a preflight failure ("its file is not on datastore ..."). It stands while no later job or
    verified outcome replaced it. ``entries``: the volume's journal entries, oldest first.
    """
    if not any(blocker.code in (problem_codes.DISK_FILE_MISSING, problem_codes.DETACHED_FILE_MISSING) for blocker in plan.blockers):
        return None
    alarm = _standing_alarm(entries)
    if alarm is None:
        return None
    volume = plan.volume
    said_at = datetime.fromtimestamp(int(float(alarm.get("ts") or 0)), timezone.utc).isoformat()
    return DiskLost(
        "%s: volume %s: the run %s said at %s that CloudStack's migrateVolume job %s lost its disk, and the disk is "
        "still missing: %s. Nothing was done in this run; do NOT retry the migration: restore the disk from a backup "
        "(or the datastore's snapshots) and repair the record with updateVolume. That run's facts are in the journal."
        % (DISK_LOST, labelled(volume.get("name"), volume["id"]), alarm.get("run"), said_at, alarm.get("job_id"),
           "; ".join(blocker.message for blocker in plan.blockers)),
        volume_id=volume["id"], disk_lost=True, job_id=alarm.get("job_id"), earlier_alarm=alarm,
        last_known_path=plan.disk.file if plan.disk else None, plan=plan.as_dict(), journal_entries=entries[-10:])


def _standing_alarm(entries):
    """The last outcome that said DISK LOST after a job, unless a later job or verified outcome followed it; outcomes
    of runs that did nothing (refused, or repeating the alarm) do not count either way."""
    for entry in reversed([entry for entry in entries if entry.get("event") == OUTCOME]):
        lost = str(entry.get("msg") or "").startswith(DISK_LOST)
        if lost and entry.get("job_id"):
            return entry
        if not lost and (entry.get("job_id") or entry.get("status") in ("migrated", "unchanged")):
            return None
    return None


class _Seen:
    """Where a datastore search saw the disk, shaped as ``truth_at`` reads a located disk."""

    def __init__(self, datastore, file):
        self.datastore, self.file = datastore, file


def volume_label(essentials):
    return labelled(essentials.get("volume_name"), essentials["volume_id"])


def _searched_text(everywhere, at_source):
    found = "its file is at %s" % ", ".join(everywhere.found) if everywhere.found else "its file was not found"
    unsearched = everywhere.not_searched
    text = "%s; VM: %s" % (found, "; ".join(at_source.problems) or "the disk is not attached where expected")
    if unsearched:
        text += "; not searched: %s" % "; ".join("%s (%s)" % item for item in sorted(unsearched.items()))
    return text
