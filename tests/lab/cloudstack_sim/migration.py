"""The migrateVolume job: Ready -> Migrating -> Ready, the VMware work, and the two behaviours.

A detached volume takes path (B) of the reference: a new row on the destination while the job
runs, the copy, then the original uuid moves onto the new row, the old row is expunged and only
then is the source file deleted. The fault ``detached_disk_lost`` reproduces apache/cloudstack#8747:
the copy fails after the new row was created, yet the source row is expunged and its file deleted.

legacy: before apache/cloudstack#10707 any failed MigrateVolumeAnswer of an attached volume
(VM missing from vCenter, datastore not mounted, "No such disk device", file not found...) was
taken for success: the record moves to the destination with a null path.
fixed: the job fails with the wrapped CloudRuntimeException text; the record is unchanged.
The other fault shapes (false failure, source left behind or removed) live in faults.py.
"""
from __future__ import annotations

import time
import uuid as uuidlib
from dataclasses import dataclass

from . import faults
from .migration_checks import check_concurrent_migrations, validate_migration
from .migration_steps import FAILED_PREFIX, NO_BACKEND, Abandoned, backend_call, check_current, take_over, write
from .protocol import INTERNAL_ERROR, ApiError, now_text
from .views import Catalog, volume_view
from .vmware_backend import BackendError

FAULT_TEXT = "Migrate volume failed: simulated failure injected by the lab"
RESET_TEXT = "Migration abandoned: the lab was reset"
DISK_LOST_FAULT = "detached_disk_lost"
LOST_TEXT = "java.lang.NullPointerException in appendFileType: retrieved 'null' as new path (simulated apache/cloudstack#8747)"
TIMED_FAULTS = ("slow", "hang")  # a job that lasts what its fault says, not job_seconds


@dataclass
class MigrationOrder:
    volume_id: int
    pool_id: int
    live: bool
    fault: dict | None
    full_view: bool


def run_migration(sim, job: dict, order: MigrationOrder):
    store = sim.store
    volume, pool = store.by_id("volumes", order.volume_id), store.by_id("pools", order.pool_id)
    vm = validate_migration(sim, volume, pool, order.live)
    check_concurrent_migrations(sim, pool)
    write(sim, job, volume["id"], state="Migrating")
    # path (B): the destination row exists for the whole job, as duplicateVolumeOnAnotherStorage makes it first
    duplicate_id = _duplicate_row(sim, job, volume, pool) if vm is None else None
    try:
        paused = time.monotonic()
        _pause(sim, order.fault)
        work_started = time.monotonic()
        _migrate(sim, job, order, volume, pool, vm, duplicate_id)
        sim.note_migration_work(time.monotonic() - work_started)
        if (order.fault or {}).get("mode") not in TIMED_FAULTS and not sim.wait(sim.rest_of_job(paused)):
            raise Abandoned()
    except Abandoned:
        raise ApiError(INTERNAL_ERROR, RESET_TEXT) from None
    except ApiError as error:
        _failed(sim, job, volume["id"], duplicate_id, getattr(error, "volume_state", "Ready"))
        raise
    return "object", {"volume": volume_view(Catalog(store), _current_row(store, volume), order.full_view)}


def _pause(sim, fault: dict | None) -> None:
    """The job's duration (its vCenter work included), or the injected slowness or hang."""
    mode = (fault or {}).get("mode")
    seconds = float(fault.get("seconds", sim.job_seconds)) if mode == "slow" else sim.migration_pause()
    if not sim.wait(seconds):
        raise Abandoned()
    if mode == "hang" and not sim.wait_for_release():
        raise Abandoned()


def _failed(sim, job, volume_id: int, duplicate_id: int | None, state: str) -> None:
    """A failed job: the duplicate row is expunged (MigrationCopyFailed), the source row back to Ready (or left
    Migrating when the job was cut off) unless expunged."""
    if duplicate_id is not None and sim.store.by_id("volumes", duplicate_id)["removed"] is None:
        write(sim, job, duplicate_id, state="Expunged", removed=now_text())
    if sim.store.by_id("volumes", volume_id)["removed"] is None:
        write(sim, job, volume_id, state=state)


def _migrate(sim, job, order: MigrationOrder, volume: dict, pool: dict, vm: dict | None, duplicate_id=None) -> None:
    mode = (order.fault or {}).get("mode")
    if mode == "fail" or (mode == DISK_LOST_FAULT and vm is not None):
        raise ApiError(INTERNAL_ERROR, order.fault.get("errortext") or FAULT_TEXT)
    if mode == "false_success":
        if duplicate_id is not None:
            write(sim, job, duplicate_id, state="Expunged", removed=now_text())
        # null_path: the record as #9881 writes it (destination pool, path NULL) while the VM stays in vCenter
        lost = {"path": None} if order.fault.get("null_path") else {}
        write(sim, job, volume["id"], state="Ready", pool_id=pool["id"], last_pool_id=volume["pool_id"], **lost)
        return
    if mode == DISK_LOST_FAULT:
        _lose_detached(sim, job, volume, duplicate_id, order.fault)
    elif mode in faults.MODES:
        faults.run(sim, job, order.fault, volume, pool, vm, duplicate_id)
    elif vm is not None:
        _migrate_attached(sim, job, volume, pool, vm)
    else:
        _migrate_detached(sim, job, volume, pool, duplicate_id)


def _migrate_attached(sim, job, volume: dict, pool: dict, vm: dict) -> None:
    """Path (A): the same row throughout; pool and path written on success."""
    try:
        new_path = backend_call(sim, volume["zone_id"], "migrate_attached_volume", vm["instance_name"], volume["path"], pool["datastore"])
    except BackendError as error:
        if sim.behaviour == "legacy":  # the failed answer's null path is written, the job succeeds
            write(sim, job, volume["id"], state="Ready", pool_id=pool["id"], path=None, last_pool_id=volume["pool_id"])
            return
        raise ApiError(INTERNAL_ERROR, f"{FAILED_PREFIX}{volume['name']} due to {error}") from None
    new_path = volume["path"] if new_path is NO_BACKEND else new_path
    write(sim, job, volume["id"], state="Ready", pool_id=pool["id"], path=new_path, last_pool_id=volume["pool_id"])


def _migrate_detached(sim, job, volume: dict, pool: dict, duplicate_id: int) -> None:
    """Path (B): copy to the destination; the duplicate row takes over the UUID; the old row is expunged, then its file deleted."""
    source = sim.store.by_id("pools", volume["pool_id"])
    try:
        new_path = backend_call(sim, volume["zone_id"], "copy_detached_volume", volume["path"], source["datastore"], pool["datastore"])
    except BackendError as error:
        raise ApiError(INTERNAL_ERROR, f"{FAILED_PREFIX}{volume['name']} due to {error}") from None
    new_path = volume["path"] if new_path is NO_BACKEND else new_path
    take_over(sim, job, volume, duplicate_id, path=new_path)
    try:
        backend_call(sim, volume["zone_id"], "delete_detached_volume", volume["path"], source["datastore"])
    except BackendError:
        pass  # an expunge that could not delete the file leaves it behind, as CloudStack's storage GC would


def _lose_detached(sim, job, volume: dict, duplicate_id: int, fault: dict) -> None:
    """apache/cloudstack#8747 / #3958: the copy fails (nothing reaches the destination), the source row is expunged
    and its file deleted. job_result "success" (default): the failed answer's null path is taken for success and the
    UUID moves onto the new row (Ready, destination, path NULL). "failure": the job fails and the new row is expunged
    too, so the UUID lists nothing. Without job_result: "success" under legacy, "failure" under fixed."""
    source = sim.store.by_id("pools", volume["pool_id"])
    default = "success" if sim.behaviour == "legacy" else "failure"
    if fault.get("job_result", default) == "failure":
        with sim.store.transaction():
            check_current(sim, job)
            sim.store.update("volumes", volume["id"], state="Expunged", removed=now_text())
            sim.store.update("volumes", duplicate_id, state="Expunged", removed=now_text())
        backend_call(sim, volume["zone_id"], "delete_detached_volume", volume["path"], source["datastore"])
        raise ApiError(INTERNAL_ERROR, fault.get("errortext") or f"{FAILED_PREFIX}{volume['name']} due to {LOST_TEXT}")
    take_over(sim, job, volume, duplicate_id, path=None)
    backend_call(sim, volume["zone_id"], "delete_detached_volume", volume["path"], source["datastore"])


def _duplicate_row(sim, job, volume: dict, pool: dict) -> int:
    row = {key: value for key, value in volume.items() if key != "id"}
    row.update(uuid=str(uuidlib.uuid4()), pool_id=pool["id"], last_pool_id=volume["pool_id"], path=None,
               chain_info=None, state="Creating", created=now_text())
    check_current(sim, job)
    return sim.store.insert("volumes", row)


def _current_row(store, volume: dict) -> dict:
    """After a detached migration the UUID lives on a new row."""
    return store.by_uuid("volumes", volume["uuid"]) or store.by_id("volumes", volume["id"])
