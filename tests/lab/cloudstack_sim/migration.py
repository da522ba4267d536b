"""The migrateVolume job: Ready -> Migrating -> Ready, the VMware work, and the two behaviours.

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
    try:
        _pause(sim, order.fault)
        _migrate(sim, job, order, volume, pool, vm)
    except Abandoned:
        raise ApiError(INTERNAL_ERROR, RESET_TEXT) from None
    except ApiError:
        _write(sim, job, volume["id"], state="Ready")
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


def _migrate(sim, job, order: MigrationOrder, volume: dict, pool: dict, vm: dict | None) -> None:
    mode = (order.fault or {}).get("mode")
    if mode == "fail":
        raise ApiError(INTERNAL_ERROR, order.fault.get("errortext") or FAULT_TEXT)
    if mode == "false_success":
        # null_path: the record as #9881 writes it (destination pool, path NULL) while the VM stays in vCenter
        lost = {"path": None} if order.fault.get("null_path") else {}
        _write(sim, job, volume["id"], state="Ready", pool_id=pool["id"], last_pool_id=volume["pool_id"], **lost)
        return
    if vm is not None:
        _migrate_attached(sim, job, volume, pool, vm)
    else:
        _migrate_detached(sim, job, volume, pool)


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


def _migrate_detached(sim, job, volume: dict, pool: dict) -> None:
    """Path (B): a duplicate row on the destination takes over the UUID; the old row is expunged."""
    duplicate_id = _duplicate_row(sim, job, volume, pool)
    source = sim.store.by_id("pools", volume["pool_id"])
    try:
        new_path = _backend_call(sim, "migrate_detached_volume", volume["path"], source["datastore"], pool["datastore"])
    except BackendError as error:
        _write(sim, job, duplicate_id, state="Expunged", removed=now_text())
        raise ApiError(INTERNAL_ERROR, f"{FAILED_PREFIX}{volume['name']} due to {error}") from None
    new_path = volume["path"] if new_path is _NO_BACKEND else new_path
    with sim.store.transaction():
        _check_current(sim, job)
        sim.store.update("volumes", volume["id"], uuid=None, state="Expunged", removed=now_text())
        sim.store.update("volumes", duplicate_id, uuid=volume["uuid"], state="Ready", path=new_path)


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
