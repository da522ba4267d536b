"""What every async command shares: customjobid, the job row, and queueing the work."""
from __future__ import annotations

import re

from .jobs import Queue
from .protocol import invalid_parameter

# UUIDManagerImpl.IsUuidFormat: lower-case canonical form only
CUSTOM_JOB_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def submit(request, instance_type: str | None, instance: dict | None, queues, work, subjects: dict | None = None) -> dict:
    """Create the job (honouring customjobid) and queue work in its sync queues; the answer is {"jobid"}."""
    job_uuid = _custom_job_id(request)
    job = request.sim.runner.create(request.account["id"], request.cmd_class, request.command.name, request.params,
                                    instance_type, instance["id"] if instance else None, job_uuid)
    queues = [Queue(queues)] if isinstance(queues, str) else queues
    request.sim.runner.start(job, queues, work, subjects)
    return {"jobid": job["uuid"]}


def vm_work_queue(vm_id: int) -> Queue:
    """The VM's work queue (VmWorkJob): one job at a time per VM."""
    return Queue(f"vm-{vm_id}")


def _custom_job_id(request) -> str | None:
    """uuidMgr.checkUuidSimple: the format, then uniqueness (InvalidParameterValueException, synchronous 431)."""
    custom = request.get("customjobid")
    if custom is None:
        return None
    if not CUSTOM_JOB_ID.match(custom):
        raise invalid_parameter(f"UUID: {custom} doesn't follow the UUID format")
    if request.store.by_uuid("jobs", custom) is not None:
        raise invalid_parameter(f"UUID: {custom} already exists so can't create/update with custom id")
    return custom
