# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Verification of a detached volume's migration: no VM to ask, so the datastore browser answers.

CloudStack migrates a volume without a VM through a copy (reference 5.2 path B): a new row on the
destination during the job, the original UUID moved onto it at the end, and the old row expunged,
which deletes the source file. When the copy fails after that point (apache/cloudstack#8747,
#3958) the disk is lost. So a detached volume counts as migrated only when CloudStack's record
shows the destination pool AND a datastore search FOUND the file on the destination; a file left
on the source is reported as a copy to clean up, never deleted here; a file found nowhere, with
every datastore searched, is reported as a lost disk with every fact an operator needs.
"""

from __future__ import annotations

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import (
    DriftDetected,
    JobFailed,
    VerificationFailed,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.datastore_paths import (
    datastore_accepted,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.jobs import job_error_text
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.options import POLICY_OPTION
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._cloudstack.records import labelled, pool_datastores
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.verification import (
    RESTORE_POLICY,
    pools_backing,
    record_facts,
    truth_at,
)


class DiskLost(VerificationFailed):
    """A detached volume's file is on no datastore that was searched: the disk is gone (or was never copied)."""


class DetachedVerifier:
    """After-job verification, idempotence check and false-success handling for volumes without a VM."""

    def __init__(self, cloudstack, vcenter, journal, options, restore):
        self._cs = cloudstack
        self._vcenter = vcenter
        self._journal = journal
        self._options = options
        self._restore = restore  # Verifier.restore(volume_id, truth)

    # ---- after the job -------------------------------------------------------------------------
    def after_success(self, essentials, job):
        verification = self.verify(essentials)
        self._journal.record(essentials["volume_id"], "verification", verification=verification)
        if verification["ok"]:
            return dict(status="migrated", changed=True, failed=False, job_id=job.get("jobid"), job_status=1,
                        verification=verification, **leftover_facts(verification))
        return self._not_migrated(essentials, job, verification, "CloudStack's migrateVolume job %s reported success"
                                  % job.get("jobid"))

    def after_failure(self, essentials, job):
        """The job failed: fine only when the record is unchanged AND the file is still found on the source."""
        record = self._cs.get_volume(essentials["volume_id"])
        verification = self.verify(essentials, record, record_read=True)
        self._journal.record(essentials["volume_id"], "verification", verification=verification)
        source = essentials["source"]
        error_text = job_error_text(job)
        if _unchanged(record, source) and verification["source_file"]["exists"] is True:
            raise JobFailed(
                "CloudStack's migrateVolume job %s for detached volume %s failed: %s. The volume record is unchanged "
                "(pool %s, path %s) and its file is still at %s; nothing was migrated"
                % (job.get("jobid"), labelled(essentials.get("volume_name"), essentials["volume_id"]), error_text, source["pool_name"], source["path"],
                   verification["source_file"]["file"]),
                volume_id=essentials["volume_id"], job_id=job.get("jobid"), job_status=job.get("jobstatus"),
                error_text=error_text, plan=essentials, verification=verification)
        return self._not_migrated(essentials, job, verification, "CloudStack's migrateVolume job %s failed (%s)"
                                  % (job.get("jobid"), error_text))

    def verify(self, essentials, record=None, record_read=False):
        """The record and the datastore searches of both pools, and whether they agree on the destination."""
        if not record_read:
            record = self._cs.get_volume(essentials["volume_id"])
        source, destination = essentials["source"], essentials["destination"]
        facts = record_facts(record)
        path = facts["path"] or source["path"]
        location = self._vcenter.locate_detached(path, list(source["datastores"]) + list(destination["datastores"]))
        on_destination = location.side(destination["datastores"])
        on_source = location.side(source["datastores"])
        cloudstack_ok = facts["state"] == "Ready" and facts["pool_id"] == destination["pool_id"] and bool(facts["path"])
        vcenter_ok = on_destination.confirmed
        return {"ok": cloudstack_ok and vcenter_ok, "detached": True, "record_found": record is not None,
                "cloudstack": facts, "cloudstack_ok": cloudstack_ok, "vcenter": on_destination.as_dict(),
                "vcenter_ok": vcenter_ok, "source_file": on_source.as_dict(),
                "leftovers": on_source.files if vcenter_ok and source["pool_id"] != destination["pool_id"] else [],
                "searches": location.as_dict()}

    # ---- already on the destination -------------------------------------------------------------
    def confirm_in_place(self, plan, reference, journaled=None):
        """The record says destination: unchanged only when the file is found there by a datastore search."""
        volume = plan.volume
        essentials = journaled or plan.essentials()
        essentials = dict(essentials, detached=True)
        if not essentials["source"].get("path"):
            essentials["source"] = dict(essentials["source"], path=volume.get("path"))
        base = dict(volume=reference, volume_id=volume["id"], volume_name=volume.get("name"), plan=plan.as_dict())
        if not essentials["source"].get("path"):
            raise VerificationFailed(
                "Detached volume %s is on pool %s already, but CloudStack has no path for it, so its file cannot be "
                "looked for (an earlier migration lost it? see apache/cloudstack#8747): find the disk with the drift "
                "audit, then repair the record" % (labelled(essentials.get("volume_name"), essentials["volume_id"]), volume.get("storage")),
                verification={"cloudstack": record_facts(volume), "ok": False}, **base)
        verification = self.verify(essentials, volume, record_read=True)
        if verification["ok"]:
            return dict(base, status="unchanged", changed=False, failed=False, verification=verification,
                        **leftover_facts(verification))
        try:
            self._not_migrated(essentials, {}, verification, "CloudStack says detached volume %s is on pool %s already"
                               % (labelled(essentials.get("volume_name"), essentials["volume_id"]), volume.get("storage")), in_place=True)
        except VerificationFailed as error:
            error.facts = dict(base, **error.facts)
            raise

    # ---- not migrated: where is the file? --------------------------------------------------------
    def _not_migrated(self, essentials, job, verification, claim, in_place=False):
        """Raise the loudest true error: the disk lost, the file elsewhere (false success), or unverified."""
        everywhere = self._everywhere(essentials, verification)
        facts = dict(volume_id=essentials["volume_id"], job_id=job.get("jobid"), job_status=job.get("jobstatus"),
                     plan=essentials, verification=verification, searches=everywhere.as_dict(),
                     false_success=job.get("jobstatus") == 1 or in_place or None)
        if not everywhere.found:
            raise self._lost(essentials, job, verification, everywhere, claim, facts)
        truth = self._truth(essentials, everywhere)
        restore = self._restore_if_asked(essentials, truth, verification)
        error_class = DriftDetected if in_place else VerificationFailed
        raise error_class(
            "%s%s, but %s, and the datastore searches found its file at %s. %s"
            % ("False success: " if facts["false_success"] and not in_place else "", claim,
               _record_text(essentials, verification), ", ".join(everywhere.found), _restore_text(restore, truth)),
            truth=truth, restore=restore, changed=bool(restore and restore.get("submitted")), **facts)

    def _everywhere(self, essentials, verification):
        """Every datastore searched for the file (the pools' own searches are not enough to call a disk lost)."""
        path = verification["cloudstack"]["path"] or essentials["source"]["path"]
        return self._vcenter.locate_detached(path, None)

    def _lost(self, essentials, job, verification, everywhere, claim, facts):
        source = essentials["source"]
        last_known = source.get("datastore_path") or "%s.vmdk on pool %s" % (source["path"], source["pool_name"])
        not_searched = everywhere.not_searched
        lost = not not_searched
        headline = "DISK LOST" if lost else "DISK NOT FOUND"
        unsearched = "" if lost else (" These datastores could not be searched, the file may be there: %s."
                                      % "; ".join("%s (%s)" % item for item in sorted(not_searched.items())))
        message = ("%s: detached volume %s: %s, but %s, and its file %s is on none of the %d datastores searched "
                   "(%s).%s Its last known place was %s. This task deleted nothing and changed nothing after the "
                   "job; do NOT retry the migration: restore the disk from a backup (or the datastore's snapshots) and repair the record "
                   "with updateVolume." % (
                       headline, labelled(essentials.get("volume_name"), essentials["volume_id"]), claim, _record_text(essentials, verification),
                       everywhere.file_name, len(everywhere.searched),
                       ", ".join(self._with_pools(everywhere.searched, essentials)) or "none", unsearched,
                       "%s (pool %s)" % (last_known, source["pool_name"]) if source.get("datastore_path") else last_known))
        return DiskLost(message, disk_lost=lost, disk_not_found=True, last_known_path=last_known,
                        datastores_searched=everywhere.searched, datastores_not_searched=not_searched, **facts)

    def _with_pools(self, datastores, essentials):
        """Datastore names with the pool each one backs ("ds (pool nfs-1)"), as operators know them."""
        pools = self._cs.list_storage_pools(zoneid=essentials.get("zone_id"))
        named = []
        for datastore in datastores:
            backed = [pool.get("name") for pool in pools if _backs(datastore, pool)]
            named.append("%s (pool %s)" % (datastore, ", ".join(backed)) if backed else datastore)
        return named

    def _truth(self, essentials, everywhere):
        """The record the file's one place means: {pool_id, pool_name, path, datastore, file}, or None."""
        if len(everywhere.found) != 1:
            return None
        found = everywhere.found[0]
        datastore = found[1:].split("]", 1)[0]
        pools = pools_backing(self._cs, datastore, essentials.get("zone_id"))
        if len(pools) != 1:
            return None
        return truth_at(pools[0], everywhere.path, _Seen(found, datastore))

    def _restore_if_asked(self, essentials, truth, verification):
        if self._options.on_false_success != RESTORE_POLICY:
            return {"submitted": False, "reason": "%s is fail" % POLICY_OPTION, "policy": self._options.on_false_success,
                    "truth_known": truth is not None}
        if self._options.check_mode:
            return {"submitted": False, "reason": "check mode changes nothing", "policy": RESTORE_POLICY, "would_restore": truth}
        if truth is None or not verification["record_found"]:
            return {"submitted": False, "policy": RESTORE_POLICY,
                    "reason": "CloudStack no longer lists the volume" if truth else "the file is not in one single place of one pool"}
        return self._restore(essentials["volume_id"], truth)


def _backs(datastore, pool):
    """Whether the datastore (by name) is one of the pool's identities."""
    return datastore_accepted({"name": datastore}, pool_datastores(pool))


class _Seen:
    """The file and datastore of a search hit, as ``truth_at`` reads them."""

    def __init__(self, file, datastore):
        self.file = file
        self.datastore = datastore


def leftover_facts(verification):
    """The old file still on the source after a confirmed copy: reported for cleanup, never deleted here."""
    leftovers = verification.get("leftovers") or []
    if not leftovers:
        return {}
    return {"leftovers": list(leftovers), "warnings": [
        "The old file of the detached volume is still on the source datastore: %s. The copy on the destination was "
        "confirmed; check that nothing uses the old file, then delete it by hand (this task never deletes files)"
        % ", ".join(leftovers)]}


def _unchanged(record, source):
    facts = record_facts(record)
    return facts["state"] == "Ready" and facts["pool_id"] == source["pool_id"] and facts["path"] == source["path"]


def _record_text(essentials, verification):
    if not verification["record_found"]:
        return "CloudStack no longer lists volume %s at all" % essentials["volume_id"]
    facts = verification["cloudstack"]
    return "CloudStack now says the volume is %s on pool %s with %s" % (
        facts["state"], facts["pool_name"] or facts["pool_id"], "path %s" % facts["path"] if facts["path"] else "no path")


def _restore_text(restore, truth):
    if restore.get("submitted"):
        if restore.get("verified"):
            return "The record was restored to pool %s, path %s, state Ready, and re-read to confirm it." % (
                truth["pool_name"] or truth["pool_id"], truth["path"])
        return "The restore of the record (job %s) did not take: %s; repair the record by hand with updateVolume." % (
            restore.get("job_id"), restore.get("error") or "the record does not show it")
    if restore.get("would_restore"):
        return "Check mode: the record would be restored to pool %s, path %s." % (
            truth["pool_name"] or truth["pool_id"], truth["path"])
    if restore.get("policy") == RESTORE_POLICY or truth is None:
        return "The record was left as it is (%s): find which copy is the volume's, then repair the record by hand " \
               "with updateVolume." % restore.get("reason")
    return "The record was left as it is (%s); set %s=restore to put it back to pool %s, path %s, or repair it by " \
           "hand with updateVolume." % (restore.get("reason"), POLICY_OPTION, truth["pool_name"] or truth["pool_id"],
                                        truth["path"])
