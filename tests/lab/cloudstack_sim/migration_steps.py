"""The small steps a migrateVolume job is made of, shared by the normal path (migration.py) and the fault
shapes (faults.py): guarded record writes, the UUID take-over of path (B), and backend calls."""
from __future__ import annotations

from .protocol import now_text

FAILED_PREFIX = "Migrate volume failed: com.cloud.utils.exception.CloudRuntimeException: Unable to migrate volume: "
NO_BACKEND = object()


class Abandoned(Exception):
    """The lab was reset while the job ran: write nothing more."""


def check_current(sim, job) -> None:
    if not sim.runner.is_current(job["generation"]):
        raise Abandoned()


def write(sim, job, volume_id: int, **values) -> None:
    check_current(sim, job)
    sim.store.update("volumes", volume_id, **values)


def take_over(sim, job, volume: dict, duplicate_id: int, path) -> None:
    """volDao.updateUuid(src, dest): the original UUID moves onto the new row; the old row is expunged (uuid NULL)."""
    with sim.store.transaction():
        check_current(sim, job)
        sim.store.update("volumes", volume["id"], uuid=None, state="Expunged", removed=now_text())
        sim.store.update("volumes", duplicate_id, uuid=volume["uuid"], state="Ready", path=path)


def backend_call(sim, zone_id: int, method: str, *args):
    """The vCenter work of a zone. Without a backend (HTTP-only tests) the records move and nothing else does."""
    backend = sim.backend_of(zone_id)
    if backend is None:
        return NO_BACKEND
    return getattr(backend, method)(*args)


def attached_file(volume: dict, vm: dict) -> str:
    """Where an attached volume's VMDK sits on its datastore (VMware layout)."""
    return f"{vm['instance_name']}/{volume['path']}.vmdk"
