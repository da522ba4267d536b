"""VolumeApiServiceImpl.migrateVolume's checks; they run inside the job, so they fail the job."""
from __future__ import annotations

import json

from . import configuration
from .protocol import invalid_parameter, runtime_error
from .read_commands import pool_reachable, pool_suitable, tags_match
from .views import Catalog

VM_STATES_FOR_MIGRATION = ("Stopped", "Running", "Shutdown")
VOLUME_STATES = ("Allocated", "Creating", "Ready", "Migrating", "Snapshotting", "RevertSnapshotting", "Resizing",
                 "Expunging", "Expunged", "Destroy", "Destroying", "UploadOp", "Copying", "Uploaded", "NotUploaded",
                 "UploadInProgress", "UploadError", "UploadAbandoned", "Attaching")
MAINTENANCE_STATES = ("Maintenance", "PrepareForMaintenance", "ErrorInMaintenance")


def volume_text(volume: dict) -> str:
    """VolumeVO.toString() of current CloudStack (ReflectionToStringBuilderUtils over selected fields)."""
    return "Volume " + json.dumps({"id": volume["id"], "instanceId": volume["vm_id"], "name": volume["name"],
                                   "uuid": volume["uuid"], "volumeType": volume["type"]}, separators=(",", ":"))


def validate_migration(sim, volume: dict, pool: dict, live: bool) -> dict | None:
    """VolumeApiServiceImpl.migrateVolume's checks, run inside the job; returns the VM if attached."""
    if volume["state"] != "Ready":
        raise invalid_parameter("Volume must be in ready state")
    if volume["pool_id"] == pool["id"]:
        raise invalid_parameter(f"Volume {volume['name']} is already on the destination storage pool")
    if volume["zone_id"] != pool["zone_id"]:
        raise invalid_parameter(f"Destination storage pool {pool['name']} is not in the zone of volume {volume['name']}")
    vm = sim.store.by_id("vms", volume["vm_id"])
    if vm is not None:
        _check_vm(volume, vm, live)
        _check_live_cluster(sim, volume, vm, pool, live)
    _check_pool(sim, volume, pool)
    return vm


def check_concurrent_migrations(sim, pool: dict) -> None:
    """checkConcurrentJobsPerDatastoreThreshhold: with N > 0, more than N pending migrations to the pool (this job,
    the running ones and the queued ones) fail the job."""
    threshold = configuration.int_value(sim.store, configuration.CONCURRENT_MIGRATIONS)
    if threshold <= 0:
        return
    pending = sim.store.all("SELECT params FROM jobs WHERE status = 0 AND command = 'migrateVolume'")
    count = sum(1 for row in pending if json.loads(row["params"]).get("storageid") == pool["uuid"])
    if count > threshold:
        raise runtime_error(f"Number of concurrent migration jobs per datastore exceeded the threshold: {threshold}. "
                            "Please try again after some time.")


def _check_live_cluster(sim, volume: dict, vm: dict, pool: dict, live: bool) -> None:
    """A running VM's volume cannot live-migrate to a cluster-scoped pool its host does not mount."""
    if vm["state"] == "Running" and live and not pool_reachable(Catalog(sim.store), pool, volume):
        raise invalid_parameter(f"Cannot migrate volume {volume['name']} of running VM {vm['name']} to storage pool "
                                f"{pool['name']}: the pool is in another cluster than the VM's host")


def _check_vm(volume: dict, vm: dict, live: bool) -> None:
    if vm["state"] not in VM_STATES_FOR_MIGRATION:
        raise runtime_error(f"Volume migration is not allowed when the VM is in the {vm['state']} state. "
                            "Supported states are: [Stopped, Running, Shutdown].")
    if vm["state"] == "Running" and not live:
        raise invalid_parameter(f"The volume {volume_text(volume)}is attached to a vm and for migrating it "
                                "the parameter livemigrate should be specified")


def _check_pool(sim, volume: dict, pool: dict) -> None:
    if pool["state"] in MAINTENANCE_STATES:
        raise invalid_parameter(f"Cannot migrate volume {volume_text(volume)} to the destination storage pool "
                                f"{pool['name']} as the storage pool is in maintenance mode.")
    if pool["state"] != "Up":
        raise invalid_parameter(f"Destination storage pool {pool['name']} is not in Up state")
    if not tags_match(pool, volume):
        raise runtime_error(f"Storage pool {pool['name']} is not suitable to migrate volume {volume['name']}: "
                            f"it does not have the storage tags {volume['tags']} of the volume's disk offering")
    if not pool_suitable(Catalog(sim.store), pool, volume):
        raise runtime_error(f"Storage pool {pool['name']} does not have enough space to migrate volume {volume['name']}")
