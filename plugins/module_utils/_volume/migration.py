# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The volume migration service: plan, preflight, migrate, verify, restore.

CloudStack's job status is necessary but never sufficient (apache/cloudstack#9881):
a volume has migrated only when CloudStack's record and vCenter's disk agree. The
job id is chosen here and journaled before submission, so that a lost answer or a
crashed controller leads to waiting again for the same job, never to a second one.
"""

from __future__ import annotations

import copy
import threading
import time
import uuid
from datetime import datetime, timezone

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common import problems as problem_codes
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import (
    CloudStackApiError,
    ConnectionFailed,
    DriftDetected,
    JobFailed,
    PreflightFailed,
    SafeMigrationError,
    VerificationFailed,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.journal import (
    JOB_ABANDONED,
    JOB_ADOPTED,
    JOB_RESULT,
    JOB_SUBMITTING,
    OUTCOME,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.parallel import alongside, in_parallel
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.run_lock import (
    VOLUME_LOCK_DIRECTORY,
    held,
    journal_lock_path,
    volume_lock_path,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._cloudstack.records import labelled
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.failed_job import disk_lost_before
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.plan import Planner
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.results import diff_of, summarize
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.scheduler import (
    ScheduledItem,
    Scheduler,
    run_scheduled,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.siblings import Siblings
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.jobs import JobRunner, is_migration_of
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.verification import (
    RESTORE_POLICY,
    Verifier,
    record_facts,
)

SUBMIT_ATTEMPTS = 3
# CloudStack's cap on concurrent migrations to one pool (0: none); more are refused with an error, not queued.
PER_TARGET_SETTING = "concurrent.migrations.per.target.datastore"


class VolumeMigrationService:
    """Migrates volumes safely; see the module documentation for the result shape."""

    def __init__(self, cloudstack, vcenter, journal, options, clock=time.monotonic, sleep=time.sleep, new_job_id=None,
                 cloud=None, lock_directory=VOLUME_LOCK_DIRECTORY, wall_clock=None, zones=None):
        """``vcenter``: the one vCenter's disks locator; or ``zones`` (a ``ZonedVCenters``), each zone's own."""
        self._cs = cloudstack
        self._vcenter = vcenter
        self._cloud = cloud  # the API endpoint: volume locks are per cloud (a UUID is unique only within one)
        self._journal = journal
        self._lock_directory = lock_directory
        self._migrating = set()  # the volumes of this run (ids or names): their changes are not a sibling's disturbance
        self._options = options
        self._clock = clock
        self._sleep = sleep
        self._new_job_id = new_job_id or (lambda: str(uuid.uuid4()))
        self._wall_clock = wall_clock or (lambda: datetime.now(timezone.utc))
        self._planner = Planner(cloudstack, vcenter, allow_live_migration=options.allow_live_migration)
        self._jobs = JobRunner(cloudstack, options, clock=clock, sleep=sleep)
        self._verifier = Verifier(cloudstack, vcenter, journal, self._jobs, options, new_job_id=self._new_job_id)
        self._zones = zones
        self._in_zones = {}
        self._zones_lock = threading.Lock()
        # per worker thread: frees the scheduler slot of the volume it works on once that volume's job has ended
        # (on_volume_failure=continue only: under stop, no volume starts before the one before is known not to fail)
        self._job_slot = threading.local()

    def run(self, requests):
        """Migrate every requested volume; raise a ``SafeMigrationError`` carrying all results if one failed.

        A run that can change something holds the journal's lock throughout (check mode only reads).
        """
        if self._options.check_mode:
            return self._run(requests)
        with held(journal_lock_path(self._journal.path), "the journal %s" % self._journal.path, self._journal.run_id):
            return self._run(requests)

    def _run(self, requests):
        self._migrating = {request.volume for request in requests}
        resolved = self._resolve_all(requests)
        routes = self._route_zones(resolved)
        items = [ScheduledItem(index, destination and destination["id"], vm=volume and volume.get("virtualmachineid"))
                 for index, (volume, destination) in enumerate(resolved)]
        schedule = self._schedule_limits()
        scheduler = Scheduler(items, self._options.concurrency, per_destination=schedule["per_destination"],
                              deadline=self._deadline(), clock=self._clock)
        results, first_failure = [None] * len(requests), []

        def stop_on_failure(result):
            # before the outcome is journaled: no other volume may start once this one is known to have failed
            if self._options.on_volume_failure == "stop" and not self._options.check_mode:
                first_failure.append(result)
                scheduler.stop()

        release_at_job_end = self._options.on_volume_failure == "continue"

        def work(item):
            self._job_slot.release = (lambda: scheduler.job_ended(item)) if release_at_job_end else None
            try:
                return self._outcome(requests[item.key], resolved[item.key], on_failure=stop_on_failure)
            finally:
                self._job_slot.release = None
        # twice the concurrency in threads when a volume being verified leaves its job's slot to the next volume
        workers = (2 if release_at_job_end else 1) * self._options.concurrency
        ended = run_scheduled(scheduler, work, min(workers, max(1, len(requests))))
        for item, result in ended:
            results[item.key] = result
        failed_before = first_failure[:1] if scheduler.stopped_first() else []
        for item in scheduler.not_started():
            results[item.key] = self._not_started(requests[item.key], resolved[item.key], failed_before)
        schedule["peak"] = scheduler.peak
        if routes is not None:
            schedule["zones"] = routes
        payload = {"changed": any(result["changed"] for result in results), "volumes": results,
                   "summary": summarize(results), "diff": diff_of(results), "schedule": schedule}
        failed = [result for result in results if result["failed"] and result["status"] != "not_started"]
        not_started = [result for result in results if result["status"] == "not_started"]
        if not failed and not not_started:
            return _public(payload)
        if len(results) == 1:
            error = results[0]["error"]
            facts = dict(error.facts)
            facts.update(_public(payload))
            raise type(error)(error.message, **facts)
        texts = []
        if failed:
            texts.append("%d of %d volume migrations failed: %s" % (
                len(failed), len(results), "; ".join("%s: %s" % (result["volume"], result["msg"]) for result in failed)))
        if not_started:
            why = ("a volume failed and on_volume_failure=stop starts no other" if failed_before
                   else "the maintenance window ended at %s" % self._options.window_end.isoformat())
            texts.append("%d of %d not started: %s (%s); run the same plan again to go on"
                         % (len(not_started), len(results), why, ", ".join(str(result["volume"]) for result in not_started)))
        raise SafeMigrationError("; ".join(texts), **_public(payload))

    def _resolve_all(self, requests):
        """Every request resolved in CloudStack: read-only lookups, one or two calls each, side by side as the migrations
        will run; with one vCenter, its inventory read meanwhile (every plan needs it: it would wait for it after)."""
        # several vCenters: which one serves a volume is known only once the volume is resolved
        read_ahead = self._vcenter.read_ahead if self._zones is None else None
        return alongside(read_ahead, lambda: in_parallel(self._resolve_for_schedule, requests, self._options.concurrency))

    # ---- zones on several vCenters ----------------------------------------------------------------------
    def _route_zones(self, resolved):
        """With several vCenters: the route of every zone of the plan, each vCenter logged in to, before anything is done
        (None: one vCenter)."""
        if self._zones is None:
            return None
        return self._zones.connect_all(sorted({volume["zoneid"] for volume, _destination in resolved if volume and volume.get("zoneid")}))

    def _in_zone(self, volume):
        """This service working with the vCenter of the volume's zone (itself when there is one vCenter): the same
        journal, jobs and options, with a planner and a verifier of that vCenter."""
        if self._zones is None:
            return self
        zone_id = volume.get("zoneid")
        with self._zones_lock:
            if zone_id not in self._in_zones:
                vcenter = self._zones.of(zone_id)
                zoned = copy.copy(self)
                zoned._vcenter = vcenter
                zoned._planner = Planner(self._cs, vcenter, allow_live_migration=self._options.allow_live_migration)
                zoned._verifier = Verifier(self._cs, vcenter, self._journal, self._jobs, self._options, new_job_id=self._new_job_id)
                self._in_zones[zone_id] = zoned
            return self._in_zones[zone_id]

    # ---- the schedule -----------------------------------------------------------------------------------
    def _resolve_for_schedule(self, request):
        """(volume, destination) for the scheduler's limits; (None, None) when it does not resolve (the volume's own
        run then fails with the reason)."""
        try:
            return self._planner.resolve(request)
        except SafeMigrationError:
            return None, None

    def _schedule_limits(self):
        """The limits the run keeps: its concurrency, and per destination pool the tighter of max_per_destination and
        CloudStack's own cap (a CloudStack that does not show its setting to this account: the option alone)."""
        try:
            setting = self._cs.get_configuration(PER_TARGET_SETTING)
        except (CloudStackApiError, ConnectionFailed):
            setting = None
        cloudstack_cap = int(setting) if setting not in (None, "") and str(setting).lstrip("-").isdigit() else None
        limits = [limit for limit in (self._options.max_per_destination, cloudstack_cap) if limit and limit > 0]
        return {"concurrency": self._options.concurrency, "per_destination": min(limits) if limits else 0,
                "per_vm": 1, PER_TARGET_SETTING: cloudstack_cap,
                "window_end": self._options.window_end.isoformat() if self._options.window_end else None}

    def _deadline(self):
        """The window's end on the run's monotonic clock (check mode plans everything: no deadline)."""
        if self._options.window_end is None or self._options.check_mode:
            return None
        return self._clock() + (self._options.window_end - self._wall_clock()).total_seconds()

    def _not_started(self, request, resolved, failed_before):
        """The result of a volume never started: a volume failed before (on_volume_failure=stop), or the window ended."""
        volume = resolved[0] or {}
        label = labelled(volume.get("name"), volume.get("id") or request.volume)
        if failed_before:
            failed = failed_before[0]
            error = SafeMigrationError(
                "Not started: volume %s failed and on_volume_failure=stop starts no other; nothing was done to volume %s. "
                "Run the same plan again once the failure is dealt with: what is done is recognised, the rest goes on"
                % (labelled(failed.get("volume_name"), failed.get("volume_id") or failed.get("volume")), label),
                volume_id=volume.get("id"))
            reason = "volume_failed"
        else:
            error = SafeMigrationError(
                "Not started: the maintenance window ended at %s before its turn; nothing was done to volume %s. Run the "
                "same plan again in the next window: what is done is recognised, the rest goes on"
                % (self._options.window_end.isoformat(), label), volume_id=volume.get("id"),
                window_end=self._options.window_end.isoformat())
            reason = "window_ended"
        return dict(volume=request.volume, volume_id=volume.get("id"), volume_name=volume.get("name"), status="not_started",
                    not_started_reason=reason, changed=False, failed=True, msg=error.message, error=error)

    def _outcome(self, request, resolved=(None, None), on_failure=None):
        started = self._clock()
        try:
            result = self.migrate_one(request, resolved)
        except SafeMigrationError as error:
            result = dict(error.facts, failed=True, changed=bool(error.facts.get("changed")), status="failed",
                          msg=error.message, error=error)
        except Exception as error:  # one volume's bug must not hide the others' results
            wrapped = SafeMigrationError("Unexpected error while migrating volume %s: %s: %s"
                                         % (request.volume, type(error).__name__, error))
            result = dict(failed=True, changed=False, status="failed", msg=wrapped.message, error=wrapped)
        result.setdefault("volume", request.volume)
        result["duration"] = round(self._clock() - started, 3)
        if result["failed"] and on_failure is not None:
            on_failure(result)
        if not self._options.check_mode:
            try:
                self._journal.record(result.get("volume_id") or request.volume, OUTCOME, status=result["status"],
                                     changed=result["changed"], job_id=result.get("job_id"), msg=result.get("msg"),
                                     duration=result["duration"])
            except SafeMigrationError as error:
                # the outcome stands (it was verified or reported); the journal's failure is reported beside it
                result["journal_error"] = error.message
        return result

    def migrate_one(self, request, resolved=(None, None)):
        """Plan, then migrate or resume one volume; return its result or raise a ``SafeMigrationError``."""
        volume, destination = resolved if resolved[0] is not None else self._planner.resolve(request)
        worker = self._in_zone(volume)
        if self._options.check_mode:
            return worker._migrate_resolved(request, volume, destination)  # pylint: disable=protected-access
        label = "volume %s" % (volume.get("name") and "%s (%s)" % (volume["name"], volume["id"]) or volume["id"])
        with held(volume_lock_path(volume["id"], self._cloud, self._lock_directory), label, self._journal.run_id):
            return worker._migrate_resolved(request, volume, destination)  # pylint: disable=protected-access

    def _migrate_resolved(self, request, volume, destination):
        pending = self._journal.unfinished_job(volume["id"])
        if pending is not None:
            resumed = self._resume(request, volume, destination, pending)
            if resumed is not None:
                return resumed
            # that earlier job is over: plan from the record as it is now
            volume = self._cs.get_volume(volume["id"]) or volume
        unjudged = self._journal.unjudged_failure(volume["id"])
        if unjudged is not None:
            judged = self._judge_again(request, volume, destination, *unjudged)
            if judged is not None:
                return judged
        running = self._migration_on_volume(volume)
        if running is not None and running.get("jobstatus") in (0, None):
            return self._adopt(request, volume, destination, running)
        if running is not None:
            # it ended between the two reads: plan from the record as that job left it
            volume = self._cs.get_volume(volume["id"]) or volume
        return self._plan_and_migrate(request, volume, destination)

    def _plan_and_migrate(self, request, volume, destination, before=None):
        """The plan from the record as it is; a damaged record repaired first when the policy says restore."""
        plan = self._planner.plan(volume, destination)
        damaged = _damaged(plan)
        if damaged and before is None and plan.vm is not None:
            repaired = self._repair(request, plan, destination)
            if repaired is not None:
                return repaired
        if plan.already_there:
            return dict(self._verifier.confirm_in_place(plan, request.volume), **(before or {}))
        lost_before = disk_lost_before(plan, self._journal.entries(volume["id"]))
        if lost_before is not None:
            raise lost_before
        plan.raise_blockers()
        base = dict(volume=request.volume, volume_id=volume["id"], volume_name=volume.get("name"), plan=plan.as_dict())
        base.update(before or {})
        if self._options.check_mode:
            return dict(base, status="planned", changed=True, failed=False)
        self._journal.record(volume["id"], "plan", plan=plan.as_dict())
        essentials = plan.essentials()
        siblings = Siblings.of(self._cs, self._vcenter, plan, self._migrating)
        job_id = self._submit(essentials)
        if siblings is None:
            return _merged(base, lambda: self._finish(essentials, job_id))
        return _merged(base, lambda: siblings.check_after(self._finish(essentials, job_id)))

    # ---- a record damaged by an earlier false success -----------------------------------------------
    def _repair(self, request, plan, destination):
        """Put a damaged record back to what vCenter shows, then migrate as planned (check mode: plan it)."""
        volume = plan.volume
        if self._options.on_false_success != RESTORE_POLICY:
            return None  # confirm_in_place reports the drift, the no_path blocker the damage: both name the option
        essentials = self._verifier.damage_essentials(plan)
        truth = self._verifier.find_truth(essentials)
        if truth is None:
            if plan.already_there:
                return None  # confirm_in_place says vCenter shows no single place for the disk
            self._verifier.refuse_damage(plan, essentials, truth)
        if self._options.check_mode:
            return self._plan_repair(request, plan, destination, truth)
        before = record_facts(volume)
        restore = self._verifier.restore(volume["id"], truth)
        facts = dict(volume_name=volume.get("name"), restore=restore, repair={"before": before, "truth": truth}, truth=truth,
                     changed=bool(restore.get("submitted")))
        if not restore.get("verified"):
            raise VerificationFailed(
                "%s. The repair of the record did not take: %s; the volume was not migrated. Repair the record by hand "
                "with updateVolume (pool %s, path %s, state Ready), then run again"
                % (self._verifier.damage_text(plan, truth), restore.get("error") or "the record read back is %s" % restore.get("after"),
                   truth["pool_name"] or truth["pool_id"], truth["path"]),
                volume=request.volume, volume_id=volume["id"], false_success=True, plan=plan.as_dict(), **facts)
        self._journal.record(volume["id"], "repair", before=before, truth=truth, restore_job_id=restore.get("job_id"))
        record = self._cs.get_volume(volume["id"]) or volume
        repaired = dict(facts, repaired=True, changed=True, false_success=False)
        return _merged(repaired, lambda: self._plan_and_migrate(request, record, destination, before=repaired))

    def _plan_repair(self, request, plan, destination, truth):
        """Check mode: the repair that would be written, and the migration planned from the repaired record."""
        volume = plan.volume
        fixed = dict(volume, storageid=truth["pool_id"], storage=truth["pool_name"], path=truth["path"], state="Ready")
        for key in ("jobid", "jobstatus"):
            fixed.pop(key, None)
        after = self._planner.plan(fixed, destination)
        # CloudStack judges the destination's suitability from the damaged record: known only after the repair
        after.blockers = [blocker for blocker in after.blockers
                          if not (blocker.code == problem_codes.POOL_UNSUITABLE and volume.get("storageid") == destination["id"])]
        after.raise_blockers()
        planned = after.as_dict()
        planned["action"] = "repair" if after.already_there else "repair_then_migrate"
        before = record_facts(volume)
        restore = {"submitted": False, "reason": "check mode changes nothing", "policy": RESTORE_POLICY,
                   "would_restore": truth, "before": before}
        then = "" if after.already_there else ", then the volume migrated to pool %s" % destination.get("name")
        return dict(volume=request.volume, volume_id=volume["id"], volume_name=volume.get("name"), plan=planned,
                    status="planned", changed=True, failed=False, repaired=False,
                    repair={"before": before, "truth": truth, "planned": True}, restore=restore,
                    msg="Check mode: %s; the record would be restored to pool %s, path %s, state Ready%s" % (
                        self._verifier.damage_text(plan, truth), truth["pool_name"] or truth["pool_id"], truth["path"], then))

    # ---- a job already running on the volume ---------------------------------------------------------
    def _migration_on_volume(self, volume):
        """The migrateVolume job of this volume that CloudStack shows running on it, or None.

        listVolumes shows ``jobid`` while a job runs on the volume; queryAsyncJobResult confirms it is this
        volume's migrateVolume (cmd, jobinstancetype, jobinstanceid). Any other job stays a blocker.
        """
        job_id = volume.get("jobid")
        if not job_id or volume.get("jobstatus") not in (0, "0", None):
            return None
        job = self._cs.query_job(job_id)
        return job if is_migration_of(job, volume["id"]) else None

    def _adopt(self, request, volume, destination, job):
        """Wait for the migration CloudStack runs on the volume (an earlier run's, journal lost), then verify."""
        job_id = job.get("jobid")
        essentials = self._planner.plan(volume, destination).essentials()
        base = dict(volume=request.volume, volume_id=volume["id"], volume_name=volume.get("name"), plan=essentials,
                    resumed=True, adopted=True, job_id=job_id)
        if self._options.check_mode:
            return dict(base, status="planned", changed=True, failed=False,
                        msg="Check mode: CloudStack's migrateVolume job %s runs on the volume; a run would wait for it and "
                        "verify the result" % job_id)
        self._journal.record(volume["id"], JOB_ADOPTED, job_id=job_id, plan=essentials,
                             reason="CloudStack shows this migrateVolume job running on the volume")
        return _merged(base, lambda: self._wait_adopted(request, volume, destination, essentials, job_id))

    def _wait_adopted(self, request, volume, destination, essentials, job_id):
        ended = self._jobs.wait(job_id, "migrateVolume job %s of volume %s" % (job_id, volume["id"]), volume_id=volume["id"])
        record = self._cs.get_volume(volume["id"]) or {}
        moved_elsewhere = record.get("storageid") not in (destination["id"], essentials["source"]["pool_id"])
        if ended.get("jobstatus") == 1 and moved_elsewhere and record.get("path"):
            # it went to another pool (someone else's migration): migrate on from there, as planned
            self._journal.record(volume["id"], JOB_RESULT, job_id=job_id, job_status=1, job_result=ended.get("jobresult"),
                                 superseded_by=destination["id"])
            note = dict(adopted_job={"job_id": job_id, "job_status": 1, "pool_id": record.get("storageid")})
            return self._plan_and_migrate(request, record, destination, before=note)
        return self._judge(essentials, ended)

    def _resume(self, request, volume, destination, pending):
        """Resume waiting for the job a previous run journaled; None when it is not this request's to resume."""
        job_id = pending["job_id"]
        job = self._cs.query_job(job_id)
        if job is None:
            self._journal.record(volume["id"], JOB_ABANDONED, job_id=job_id, reason="CloudStack does not know the job")
            return None
        essentials = pending["plan"]
        if essentials["destination"]["pool_id"] != destination["id"]:
            self._not_resumed(volume, destination, job, essentials)
            return None
        base = dict(volume=request.volume, volume_id=volume["id"], volume_name=volume.get("name"), plan=essentials,
                    resumed=True, job_id=job_id)
        if self._options.check_mode:
            return dict(base, status="planned", changed=True, failed=False)
        return _merged(base, lambda: self._finish(essentials, pending["job_id"]))

    def _judge_again(self, request, volume, destination, submission, result):
        """A failed job of an earlier run that ended before saying where the disk is (killed after the job's result was
        journaled): judge it now, while the record is where that job left it. A disk it moved (a false failure) is found
        and the record corrected; a disk still on the source lets this run plan a new migration (None)."""
        essentials = submission["plan"]
        source = essentials["source"]
        if essentials["destination"]["pool_id"] != destination["id"] or (volume.get("storageid"), volume.get("path")) != (
                source["pool_id"], source["path"]):
            return None  # another destination asked for, or the record changed since: the plan starts from the record
        job = {"jobid": result.get("job_id"), "jobstatus": result.get("job_status"), "jobresult": result.get("job_result")}
        base = dict(volume=request.volume, volume_id=volume["id"], volume_name=volume.get("name"), plan=essentials,
                    resumed=True, job_id=job["jobid"])
        if self._options.check_mode:
            return dict(base, status="planned", changed=True, failed=False,
                        msg="Check mode: CloudStack's migrateVolume job %s of an earlier run failed, and that run ended before "
                        "it said where the disk is; a run would look for the disk first, correct the record if the disk moved "
                        "to pool %s, and migrate it otherwise" % (job["jobid"], essentials["destination"]["pool_name"]))
        try:
            return _merged(base, lambda: self._verifier.after_failure(essentials, job))
        except JobFailed as error:
            # nothing moved: that job's outcome is journaled, and this run migrates as a first run would
            self._journal.record(volume["id"], OUTCOME, status="failed", changed=False, job_id=job["jobid"], msg=error.message,
                                 judged_by_later_run=True)
            return None

    def _not_resumed(self, volume, destination, job, essentials):
        """An earlier run's job went to another pool: never wait for it as if it were this request."""
        journaled = essentials["destination"]
        if job.get("jobstatus") not in (1, 2, 3):
            raise PreflightFailed(
                "Volume %s: CloudStack job %s of an earlier run, migrating it to pool %s, is still running; nothing was "
                "changed. Wait for it, or run the task again with destination %s to resume it"
                % (volume["id"], job.get("jobid"), journaled["pool_name"], journaled["pool_name"]),
                volume_id=volume["id"], job_id=job.get("jobid"), destination=destination.get("name"))
        # It ended: the plan below starts from the record as it is now (and catches any drift it left).
        self._journal.record(volume["id"], JOB_RESULT, job_id=job.get("jobid"), job_status=job.get("jobstatus"),
                             job_result=job.get("jobresult"), superseded_by=destination["id"])

    def _submit(self, essentials):
        """Submit migrateVolume once; after a lost answer, look the job up before any resubmission.

        "Job already exists" (431) for the collection's own customjobid means an earlier attempt arrived
        late: the job exists, so it is adopted (waited for and verified), never reported abandoned.
        """
        volume_id = essentials["volume_id"]
        self._check_unchanged_since_plan(essentials)
        job_id = self._new_job_id()
        self._journal.record(volume_id, JOB_SUBMITTING, job_id=job_id, plan=essentials)
        attempt = 1
        while True:
            try:
                return self._cs.migrate_volume(volume_id, essentials["destination"]["pool_id"], job_id, live=essentials["live"])
            except (ConnectionFailed, CloudStackApiError) as error:
                transient = getattr(error, "transient", False)
                known = self._job_known(job_id) if transient or _job_exists_answer(error) else False
                if known or _job_exists_answer(error):
                    self._journal.record(volume_id, "job_found", job_id=job_id, reason=error.message)
                    return job_id  # CloudStack got it; only the answer was lost (or came after a retry)
                if known is None and transient and attempt < SUBMIT_ATTEMPTS:
                    pass  # unknown: the same customjobid again is safe (CloudStack refuses a duplicate)
                elif not transient or attempt >= SUBMIT_ATTEMPTS:
                    reason = error.message if known is False else "%s; whether CloudStack got it is unknown" % error.message
                    self._journal.record(volume_id, JOB_ABANDONED, job_id=job_id, reason=reason)
                    raise type(error)(error.message, **dict(error.facts, volume_id=volume_id, job_id=job_id)) from None
            attempt += 1
            self._sleep(self._options.poll_interval)

    def _check_unchanged_since_plan(self, essentials):
        """Immediately before submitting: the record is still as planned and no job runs on it (another run, on
        another machine, or a person may have started one since the plan)."""
        record = self._cs.get_volume(essentials["volume_id"]) or {}
        source = essentials["source"]
        running = record.get("jobid") and record.get("jobstatus") in (0, "0", None)
        if not running and record.get("state") == "Ready" and record.get("storageid") == source["pool_id"]:
            return
        now = ("CloudStack job %s is running on it" % record["jobid"] if running else
               "it is now %s on pool %s" % (record.get("state"), record.get("storage") or record.get("storageid")))
        raise PreflightFailed(
            "Volume %s changed after it was planned: %s (another run or a person is working on it). Nothing was "
            "submitted; run again once that work has ended: a re-run verifies where the volume is"
            % (essentials.get("volume_name") or essentials["volume_id"], now),
            volume_id=essentials["volume_id"], job_id=record.get("jobid"), plan=essentials,
            record={"state": record.get("state"), "pool_id": record.get("storageid"), "path": record.get("path")})

    def _job_known(self, job_id):
        """True when CloudStack has the job, False when it says it does not, None when the lookup failed."""
        try:
            return self._cs.query_job(job_id) is not None
        except SafeMigrationError:
            return None

    def _finish(self, essentials, job_id):
        """Wait for the job, then judge it; under on_volume_failure=continue its slot goes to the next volume as soon as
        it ended (the judging submits no migration)."""
        volume_id = essentials["volume_id"]
        job = self._jobs.wait(job_id, "migrateVolume job %s of volume %s" % (job_id, volume_id), volume_id=volume_id)
        release = getattr(self._job_slot, "release", None)
        if release is not None:
            release()
        return self._judge(essentials, job)

    def _judge(self, essentials, job):
        """Journal the ended job, then verify; a failure after a successful job says that the job succeeded."""
        volume_id = essentials["volume_id"]
        try:
            self._journal.record(volume_id, JOB_RESULT, job_id=job.get("jobid"), job_status=job.get("jobstatus"),
                                 job_result=job.get("jobresult"))
            if job.get("jobstatus") == 1:
                return self._verifier.after_success(essentials, job)
            return self._verifier.after_failure(essentials, job)
        except (VerificationFailed, DriftDetected, JobFailed):
            raise
        except SafeMigrationError as error:
            if job.get("jobstatus") != 1:
                raise
            raise self._failed_after_success(essentials, job, error) from None

    def _failed_after_success(self, essentials, job, error):
        """The job succeeded, then verification or the journal failed: say so, with the record as it is now."""
        try:
            record = record_facts(self._cs.get_volume(essentials["volume_id"]))
        except SafeMigrationError:
            record = None
        where = ("CloudStack now has the volume %s on pool %s with %s" % (
            record["state"], record["pool_name"] or record["pool_id"], "path %s" % record["path"] if record["path"] else "no path")
            if record else "the record could not be re-read")
        return type(error)(
            "CloudStack's migrateVolume job %s for volume %s succeeded (%s), but then: %s. The migration is not "
            "verified: run the task again to verify it (it submits nothing when the record already says pool %s)"
            % (job.get("jobid"), essentials.get("volume_name") or essentials["volume_id"], where, error.message,
               essentials["destination"]["pool_name"]),
            **dict(error.facts, volume_id=essentials["volume_id"], job_id=job.get("jobid"), job_status=1,
                   job_succeeded=True, record=record, changed=True, plan=essentials))


def _damaged(plan):
    """A record an earlier false success may have damaged: on the destination but not confirmed there, or no path."""
    volume = plan.volume
    if plan.already_there:
        confirmed = plan.disk is not None and plan.disk.confirmed and volume.get("state") == "Ready" and volume.get("path")
        return not confirmed
    return any(blocker.code == problem_codes.VOLUME_PATH_NULL for blocker in plan.blockers)


def _job_exists_answer(error):
    """CloudStack's 431 for a customjobid it already has (the first attempt arrived after all)."""
    text = (getattr(error, "message", "") or "").lower()
    return error.facts.get("errorcode") == 431 and "already exist" in text


def _merged(base, step):
    """``base`` updated with the step's result; on failure, the error carries ``base`` too (its own facts win)."""
    try:
        return dict(base, **step())
    except SafeMigrationError as error:
        error.facts = dict(base, **error.facts)
        raise


def _public(payload):
    """The run's payload without the exception objects kept for re-raising."""
    public = dict(payload)
    public["volumes"] = [{key: value for key, value in result.items() if key != "error"} for result in payload["volumes"]]
    return public
