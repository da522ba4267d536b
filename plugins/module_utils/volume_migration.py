# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The volume migration service: plan, preflight, migrate, verify, restore.

CloudStack's job status is necessary but never sufficient (apache/cloudstack#9881):
a volume has migrated only when CloudStack's record and vCenter's disk agree. The
job id is chosen here and journaled before submission, so that a lost answer or a
crashed controller leads to waiting again for the same job, never to a second one.
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils.errors import (
    CloudStackApiError,
    ConnectionFailed,
    InvalidInput,
    PreflightFailed,
    SafeMigrationError,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils.journal import (
    JOB_ABANDONED,
    JOB_RESULT,
    JOB_SUBMITTING,
    OUTCOME,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils.volume_plan import Planner
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils.volume_jobs import JobRunner
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils.volume_verify import Verifier

SUBMIT_ATTEMPTS = 3


class MigrationRequest:
    """One volume (UUID, or name with vm/zone/account) to one destination pool (name or UUID)."""

    def __init__(self, volume, destination, vm=None, zone=None, account=None):
        self.volume = volume
        self.destination = destination
        self.vm = vm
        self.zone = zone
        self.account = account


class MigrationOptions:
    """How to migrate: opt-ins, limits and the false-success policy."""

    def __init__(self, allow_live_migration=False, on_false_success="fail", job_timeout=1800, poll_interval=5.0,
                 concurrency=1, check_mode=False):
        self.allow_live_migration = allow_live_migration
        self.on_false_success = on_false_success
        self.job_timeout = job_timeout
        self.poll_interval = poll_interval
        self.concurrency = max(1, int(concurrency))
        self.check_mode = check_mode


def requests_from_params(params):
    """The list of ``MigrationRequest`` described by a module's parameters."""
    scope = dict(vm=params.get("vm"), zone=params.get("zone"), account=params.get("account"))
    if params.get("volumes"):
        items = [MigrationRequest(item["volume"], item["destination"], vm=item.get("vm") or scope["vm"],
                                  zone=item.get("zone") or scope["zone"], account=item.get("account") or scope["account"])
                 for item in params["volumes"]]
    else:
        items = [MigrationRequest(params["volume"], params["destination"], **scope)]
    seen = set()
    for item in items:
        if item.volume in seen:
            raise InvalidInput("Volume %s is listed more than once; migrate each volume once per task" % item.volume,
                               volume=item.volume)
        seen.add(item.volume)
    return items


class VolumeMigrationService:
    """Migrates volumes safely; see the module documentation for the result shape."""

    def __init__(self, cloudstack, vcenter, journal, options, clock=time.monotonic, sleep=time.sleep, new_job_id=None):
        self._cs = cloudstack
        self._journal = journal
        self._options = options
        self._clock = clock
        self._sleep = sleep
        self._new_job_id = new_job_id or (lambda: str(uuid.uuid4()))
        self._planner = Planner(cloudstack, vcenter, allow_live_migration=options.allow_live_migration)
        self._jobs = JobRunner(cloudstack, options, clock=clock, sleep=sleep)
        self._verifier = Verifier(cloudstack, vcenter, journal, self._jobs, options, new_job_id=self._new_job_id)

    def run(self, requests):
        """Migrate every requested volume; raise a ``SafeMigrationError`` carrying all results if one failed."""
        if self._options.concurrency > 1 and len(requests) > 1:
            with ThreadPoolExecutor(max_workers=min(self._options.concurrency, len(requests))) as pool:
                results = list(pool.map(self._outcome, requests))
        else:
            results = [self._outcome(request) for request in requests]
        payload = {"changed": any(result["changed"] for result in results), "volumes": results,
                   "summary": summarize(results), "diff": diff_of(results)}
        failed = [result for result in results if result["failed"]]
        if not failed:
            return _public(payload)
        if len(results) == 1:
            error = results[0]["error"]
            facts = dict(error.facts)
            facts.update(_public(payload))
            raise type(error)(error.message, **facts)
        raise SafeMigrationError("%d of %d volume migrations failed: %s" % (
            len(failed), len(results), "; ".join("%s: %s" % (result["volume"], result["msg"]) for result in failed)),
            **_public(payload))

    def _outcome(self, request):
        started = self._clock()
        try:
            result = self.migrate_one(request)
        except SafeMigrationError as error:
            result = dict(error.facts, failed=True, changed=bool(error.facts.get("changed")), status="failed",
                          msg=error.message, error=error)
        except Exception as error:  # one volume's bug must not hide the others' results
            wrapped = SafeMigrationError("Unexpected error while migrating volume %s: %s: %s"
                                         % (request.volume, type(error).__name__, error))
            result = dict(failed=True, changed=False, status="failed", msg=wrapped.message, error=wrapped)
        result.setdefault("volume", request.volume)
        result["duration"] = round(self._clock() - started, 3)
        if not self._options.check_mode:
            self._journal.record(result.get("volume_id") or request.volume, OUTCOME, status=result["status"],
                                 changed=result["changed"], job_id=result.get("job_id"), msg=result.get("msg"),
                                 duration=result["duration"])
        return result

    def migrate_one(self, request):
        """Plan, then migrate or resume one volume; return its result or raise a ``SafeMigrationError``."""
        volume, destination = self._planner.resolve(request)
        pending = self._journal.unfinished_job(volume["id"])
        if pending is not None:
            resumed = self._resume(request, volume, destination, pending)
            if resumed is not None:
                return resumed
            # that earlier job is over: plan from the record as it is now
            volume = self._cs.get_volume(volume["id"]) or volume
        plan = self._planner.plan(volume, destination)
        if plan.already_there:
            return self._verifier.confirm_in_place(plan, request.volume)
        plan.raise_blockers()
        base = dict(volume=request.volume, volume_id=volume["id"], volume_name=volume.get("name"), plan=plan.as_dict())
        if self._options.check_mode:
            return dict(base, status="planned", changed=True, failed=False)
        self._journal.record(volume["id"], "plan", plan=plan.as_dict())
        essentials = plan.essentials()
        job_id = self._submit(essentials)
        return _merged(base, lambda: self._finish(essentials, job_id))

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
        """Submit migrateVolume once; after a lost answer, look the job up before any resubmission."""
        volume_id = essentials["volume_id"]
        job_id = self._new_job_id()
        self._journal.record(volume_id, JOB_SUBMITTING, job_id=job_id, plan=essentials)
        attempt = 1
        while True:
            try:
                return self._cs.migrate_volume(volume_id, essentials["destination"]["pool_id"], job_id, live=essentials["live"])
            except (ConnectionFailed, CloudStackApiError) as error:
                transient = getattr(error, "transient", False)
                if transient and self._cs.query_job(job_id) is not None:
                    return job_id  # CloudStack got it; only the answer was lost
                if not transient or attempt >= SUBMIT_ATTEMPTS:
                    self._journal.record(volume_id, JOB_ABANDONED, job_id=job_id, reason=error.message)
                    raise type(error)(error.message, **dict(error.facts, volume_id=volume_id, job_id=job_id)) from None
            attempt += 1
            self._sleep(self._options.poll_interval)

    def _finish(self, essentials, job_id):
        volume_id = essentials["volume_id"]
        job = self._jobs.wait(job_id, "migrateVolume job %s of volume %s" % (job_id, volume_id), volume_id=volume_id)
        self._journal.record(volume_id, JOB_RESULT, job_id=job_id, job_status=job.get("jobstatus"),
                             job_result=job.get("jobresult"))
        if job.get("jobstatus") == 1:
            return self._verifier.after_success(essentials, job)
        return self._verifier.after_failure(essentials, job)


def _merged(base, step):
    """``base`` updated with the step's result; on failure, the error carries ``base`` too (its own facts win)."""
    try:
        return dict(base, **step())
    except SafeMigrationError as error:
        error.facts = dict(base, **error.facts)
        raise


def summarize(results):
    """Counts per outcome."""
    summary = {"total": len(results), "migrated": 0, "unchanged": 0, "planned": 0, "failed": 0, "false_success": 0, "restored": 0}
    for result in results:
        summary[result["status"]] = summary.get(result["status"], 0) + 1
        if result.get("false_success"):
            summary["false_success"] += 1
        if (result.get("restore") or {}).get("verified"):
            summary["restored"] += 1
    return summary


def diff_of(results):
    """before/after pool and datastore path of each volume that changes (or would, in check mode)."""
    before, after = {}, {}
    for result in results:
        if result.get("status") not in ("migrated", "planned"):
            continue
        plan = result.get("plan") or {}
        key = result.get("volume_name") or result.get("volume_id") or result.get("volume")
        source, destination = plan.get("source") or {}, plan.get("destination") or {}
        before[key] = {"pool": source.get("pool_name"), "datastore_path": source.get("datastore_path")}
        # check mode: where the disk is expected to land; after a migration: where vCenter shows it
        seen = ((result.get("verification") or {}).get("vcenter") or {}).get("file")
        after[key] = {"pool": destination.get("pool_name"), "datastore_path": seen or destination.get("expected_datastore_path")}
    return {"before": before, "after": after}


def _public(payload):
    """The run's payload without the exception objects kept for re-raising."""
    public = dict(payload)
    public["volumes"] = [{key: value for key, value in result.items() if key != "error"} for result in payload["volumes"]]
    return public
