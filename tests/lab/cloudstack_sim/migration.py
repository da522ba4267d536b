"""The migrateVolume job: Ready -> Migrating -> Ready, the VMware work, and the two behaviours.

A detached volume takes path (B) of the reference: a new row on the destination while the job
runs, the copy, then the original uuid moves onto the new row, the old row is expunged and only
then is the source file deleted. The fault ``detached_disk_lost`` reproduces apache/cloudstack#8747:
the copy fails after the new row was created, yet the source row is expunged and its file deleted.

legacy: before apache/cloudstack#10707 a failed MigrateVolumeAnswer for a VM missing from
vCenter was taken for success: the record moves to the destination with a null path.
fixed: the job fails with the wrapped CloudRuntimeException text; the record is unchanged.
"""
from __future__ import annotations

import uuid as uuidlib
from dataclasses import dataclass

from .migration_checks import validate_migration
from .protocol import INTERNAL_ERROR, ApiError, now_text
from .views import Catalog, volume_view
from .vmware_backend import BackendError, VmNotFound

FAILED_PREFIX = "Migrate volume failed: com.cloud.utils.exception.CloudRuntimeException: Unable to migrate volume: "
FAULT_TEXT = "Migrate volume failed: simulated failure injected by the lab"
RESET_TEXT = "Migration abandoned: the lab was reset"
DISK_LOST_FAULT = "detached_disk_lost"
LOST_TEXT = "java.lang.NullPointerException in appendFileType: retrieved 'null' as new path (simulated apache/cloudstack#8747)"


@dataclass
class MigrationOrder:
    volume_id: int
    pool_id: int
    live: bool
    fault: dict | None
    full_view: bool


class Abandoned(Exception):
    """The lab was reset while the job ran: write nothing more."""


def run_migration(sim, job: dict, order: MigrationOrder):
    store = sim.store
    volume, pool = store.by_id("volumes", order.volume_id), store.by_id("pools", order.pool_id)
    vm = validate_migration(sim, volume, pool, order.live)
    _write(sim, job, volume["id"], state="Migrating")
    # path (B): the destination row exists for the whole job, as duplicateVolumeOnAnotherStorage makes it first
    duplicate_id = _duplicate_row(sim, job, volume, pool) if vm is None else None
    try:
        _pause(sim, order.fault)
        _migrate(sim, job, order, volume, pool, vm, duplicate_id)
    except Abandoned:
        raise ApiError(INTERNAL_ERROR, RESET_TEXT) from None
    except ApiError:
        _failed(sim, job, volume["id"], duplicate_id)
        raise
    return "object", {"volume": volume_view(Catalog(store), _current_row(store, volume), order.full_view)}


def _pause(sim, fault: dict | None) -> None:
    """The job's duration, or the injected slowness or hang."""
    mode = (fault or {}).get("mode")
    seconds = float(fault.get("seconds", sim.job_seconds)) if mode == "slow" else sim.job_seconds
    if not sim.wait(seconds):
        raise Abandoned()
    if mode == "hang" and not sim.wait_for_release():
        raise Abandoned()


def _failed(sim, job, volume_id: int, duplicate_id: int | None) -> None:
    """A failed job: the duplicate row is expunged (MigrationCopyFailed), the source row back to Ready unless expunged."""
    if duplicate_id is not None and sim.store.by_id("volumes", duplicate_id)["removed"] is None:
        _write(sim, job, duplicate_id, state="Expunged", removed=now_text())
    if sim.store.by_id("volumes", volume_id)["removed"] is None:
        _write(sim, job, volume_id, state="Ready")


def _migrate(sim, job, order: MigrationOrder, volume: dict, pool: dict, vm: dict | None, duplicate_id=None) -> None:
    mode = (order.fault or {}).get("mode")
    if mode == "fail" or (mode == DISK_LOST_FAULT and vm is not None):
        raise ApiError(INTERNAL_ERROR, order.fault.get("errortext") or FAULT_TEXT)
    if mode == "false_success":
        if duplicate_id is not None:
            _write(sim, job, duplicate_id, state="Expunged", removed=now_text())
        _write(sim, job, volume["id"], state="Ready", pool_id=pool["id"], last_pool_id=volume["pool_id"])
        return
    if mode == DISK_LOST_FAULT:
        _lose_detached(sim, job, volume, duplicate_id, order.fault)
    elif vm is not None:
        _migrate_attached(sim, job, volume, pool, vm)
    else:
        _migrate_detached(sim, job, volume, pool, duplicate_id)


def _migrate_attached(sim, job, volume: dict, pool: dict, vm: dict) -> None:
    """Path (A): the same row throughout; pool and path written on success."""
    try:
        new_path = _backend_call(sim, "migrate_attached_volume", vm["instance_name"], volume["path"], pool["datastore"])
    except VmNotFound as error:
        if sim.behaviour == "legacy":
            _write(sim, job, volume["id"], state="Ready", pool_id=pool["id"], path=None, last_pool_id=volume["pool_id"])
            return
        raise ApiError(INTERNAL_ERROR, f"{FAILED_PREFIX}{volume['name']} due to {error}") from None
    except BackendError as error:
        raise ApiError(INTERNAL_ERROR, f"{FAILED_PREFIX}{volume['name']} due to {error}") from None
    new_path = volume["path"] if new_path is _NO_BACKEND else new_path
    _write(sim, job, volume["id"], state="Ready", pool_id=pool["id"], path=new_path, last_pool_id=volume["pool_id"])


def _migrate_detached(sim, job, volume: dict, pool: dict, duplicate_id: int) -> None:
    """Path (B): copy to the destination; the duplicate row takes over the UUID; the old row is expunged, then its file deleted."""
    source = sim.store.by_id("pools", volume["pool_id"])
    try:
        new_path = _backend_call(sim, "copy_detached_volume", volume["path"], source["datastore"], pool["datastore"])
    except BackendError as error:
        raise ApiError(INTERNAL_ERROR, f"{FAILED_PREFIX}{volume['name']} due to {error}") from None
    new_path = volume["path"] if new_path is _NO_BACKEND else new_path
    _take_over(sim, job, volume, duplicate_id, path=new_path)
    try:
        _backend_call(sim, "delete_detached_volume", volume["path"], source["datastore"])
    except BackendError:
        pass  # an expunge that could not delete the file leaves it behind, as CloudStack's storage GC would


def _take_over(sim, job, volume: dict, duplicate_id: int, path) -> None:
    """volDao.updateUuid(src, dest): the original UUID moves onto the new row; the old row is expunged (uuid NULL)."""
    with sim.store.transaction():
        _check_current(sim, job)
        sim.store.update("volumes", volume["id"], uuid=None, state="Expunged", removed=now_text())
        sim.store.update("volumes", duplicate_id, uuid=volume["uuid"], state="Ready", path=path)


def _lose_detached(sim, job, volume: dict, duplicate_id: int, fault: dict) -> None:
    """apache/cloudstack#8747 / #3958: the copy fails (nothing reaches the destination), the source row is expunged
    and its file deleted. job_result "success" (default): the failed answer's null path is taken for success and the
    UUID moves onto the new row (Ready, destination, path NULL). "failure": the job fails and the new row is expunged
    too, so the UUID lists nothing."""
    source = sim.store.by_id("pools", volume["pool_id"])
    if fault.get("job_result", "success") == "failure":
        with sim.store.transaction():
            _check_current(sim, job)
            sim.store.update("volumes", volume["id"], state="Expunged", removed=now_text())
            sim.store.update("volumes", duplicate_id, state="Expunged", removed=now_text())
        _backend_call(sim, "delete_detached_volume", volume["path"], source["datastore"])
        raise ApiError(INTERNAL_ERROR, fault.get("errortext") or f"{FAILED_PREFIX}{volume['name']} due to {LOST_TEXT}")
    _take_over(sim, job, volume, duplicate_id, path=None)
    _backend_call(sim, "delete_detached_volume", volume["path"], source["datastore"])


def _duplicate_row(sim, job, volume: dict, pool: dict) -> int:
    row = {key: value for key, value in volume.items() if key != "id"}
    row.update(uuid=str(uuidlib.uuid4()), pool_id=pool["id"], last_pool_id=volume["pool_id"], path=None,
               chain_info=None, state="Creating", created=now_text())
    _check_current(sim, job)
    return sim.store.insert("volumes", row)


_NO_BACKEND = object()


def _backend_call(sim, method: str, *args):
    """Without a backend (HTTP-only tests) the records move and nothing else does."""
    if sim.backend is None:
        return _NO_BACKEND
    return getattr(sim.backend, method)(*args)


def _current_row(store, volume: dict) -> dict:
    """After a detached migration the UUID lives on a new row."""
    return store.by_uuid("volumes", volume["uuid"]) or store.by_id("volumes", volume["id"])


def _check_current(sim, job) -> None:
    if not sim.runner.is_current(job["generation"]):
        raise Abandoned()


def _write(sim, job, volume_id: int, **values) -> None:
    _check_current(sim, job)
    sim.store.update("volumes", volume_id, **values)
