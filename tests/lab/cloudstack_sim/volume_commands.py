"""migrateVolume and updateVolume: validation, the job, and what each behaviour writes."""
from __future__ import annotations

from . import configuration
from .async_submit import submit, vm_work_queue
from .jobs import Queue
from .migration import MigrationOrder, run_migration
from .migration_checks import VOLUME_STATES
from .protocol import CS_PERMISSION_DENIED, PERMISSION_DENIED, ApiError, invalid_parameter, parse_bool
from .views import Catalog, volume_view


def check_owner(request, volume: dict) -> None:
    if not request.full and volume["account_id"] != request.account["id"]:
        raise ApiError(PERMISSION_DENIED, f"Account {request.account['name']} does not have permission to "
                                          f"operate on volume {volume['uuid']}", CS_PERMISSION_DENIED)


def result_view(sim, volume_id: int, full: bool) -> dict:
    return {"volume": volume_view(Catalog(sim.store), sim.store.by_id("volumes", volume_id), full)}


# --- migrateVolume --------------------------------------------------------------------------------
def migrate_volume(request) -> dict:
    volume = request.entity("volumeid", "volumes", required=True)
    pool = request.entity("storageid", "pools", required=True)
    check_owner(request, volume)
    live = parse_bool(request.get("livemigrate"))
    fault = request.sim.take_job_fault()
    full = request.full

    def work(job):
        return run_migration(request.sim, job, MigrationOrder(volume["id"], pool["id"], live, fault, full))

    vm = request.store.by_id("vms", volume["vm_id"])
    subjects = {"volumeid": volume["uuid"], "storageid": pool["uuid"], "virtualmachineid": vm["uuid"] if vm else None,
                "fault": (fault or {}).get("mode")}
    return submit(request, "Volume", volume, migration_queues(request.store, pool, vm), work, subjects)


def migration_queues(store, pool: dict, vm: dict | None) -> list:
    """ApiDispatcher synchronises on the destination pool only when concurrent.migrations.per.target.datastore is
    N > 0 (queue size N); an attached volume's work also goes through its VM's work queue, one job at a time."""
    size = configuration.int_value(store, configuration.CONCURRENT_MIGRATIONS)
    queues = [Queue(f"migration-{pool['id']}", size)] if size > 0 else []
    return queues + ([vm_work_queue(vm["id"])] if vm else [])


# --- updateVolume ---------------------------------------------------------------------------------
ADMIN_UPDATE_PARAMS = ("path", "storageid", "state", "chaininfo", "displayvolume", "customid")


def update_volume(request) -> dict:
    volume = request.entity("id", "volumes", required=True)
    check_owner(request, volume)
    # Non-root-admins may only rename: ParamProcessWorker drops the admin-only parameters.
    changes = {name: request.get(name) for name in ("name", *ADMIN_UPDATE_PARAMS) if request.get(name) is not None}
    if not request.full:
        changes = {name: value for name, value in changes.items() if name == "name"}
    full = request.full

    def work(job):
        values = _update_values(request.sim, request.store.by_id("volumes", volume["id"]), changes)
        if values and request.sim.runner.is_current(job["generation"]):
            request.store.update("volumes", volume["id"], **values)
        return "object", result_view(request.sim, volume["id"], full)

    return submit(request, "Volume", volume, f"volume-{volume['id']}", work, {"volumeid": volume["uuid"]})


def _update_values(sim, volume: dict, changes: dict) -> dict:
    """The texts of VolumeApiServiceImpl.updateVolume; DB bookkeeping only, nothing in vCenter."""
    values = {}
    if "path" in changes:
        values["path"] = changes["path"]
    if "chaininfo" in changes:
        values["chain_info"] = changes["chaininfo"]
    if "name" in changes:
        values["name"] = changes["name"]
    if "customid" in changes:
        values["uuid"] = changes["customid"]
    if "state" in changes:
        if changes["state"] not in VOLUME_STATES:
            raise invalid_parameter("Invalid volume state specified")
        values["state"] = changes["state"]
    if "storageid" in changes:
        pool = sim.store.by_uuid("pools", changes["storageid"])
        if pool is None:
            raise invalid_parameter(f"Invalid storageId specified: {changes['storageid']}")
        if pool["zone_id"] != volume["zone_id"]:
            raise invalid_parameter("Invalid storageId specified; refers to the pool outside of the volume's zone")
        values["pool_id"] = pool["id"]
    return values
