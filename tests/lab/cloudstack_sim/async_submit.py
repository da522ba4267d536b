"""What every async command shares: customjobid, the job row, and queueing the work."""
from __future__ import annotations

from .protocol import ApiError, PARAM_ERROR, is_uuid


def submit(request, instance_type: str | None, instance: dict | None, sync_key: str, work) -> dict:
    """Create the job (honouring customjobid) and queue work; the answer is {"jobid"}."""
    job_uuid = _custom_job_id(request)
    job = request.sim.runner.create(request.account["id"], request.cmd_class, request.command.name, request.params,
                                    instance_type, instance["id"] if instance else None, job_uuid)
    request.sim.runner.start(job, sync_key, work)
    return {"jobid": job["uuid"]}


def _custom_job_id(request) -> str | None:
    custom = request.get("customjobid")
    if custom is None:
        return None
    if not is_uuid(custom):
        raise ApiError(PARAM_ERROR, f"Invalid format of custom job id: {custom}, a UUID is expected")
    if request.store.by_uuid("jobs", custom) is not None:
        raise ApiError(PARAM_ERROR, f"A job with id {custom} already exists, customjobid must be unique")
    return custom
