"""Fault shapes of migrateVolume where the record and the disk part ways (fault_next_job modes).

false_failure (apache/cloudstack#7168, CLOUDSTACK-8599, a management-server restart): vCenter
  finishes the move (the disk really moves in vcsim) but the job fails; the record keeps the
  source pool and the old path. `reason` picks the text and the state the volume is left in.
source_left_behind: the job succeeds and the record claims the destination, the disk was copied
  there and the source file is still present: two copies.
source_removed: the source file is deleted, nothing reaches the destination, the job fails and
  the record still names the source pool and path: the disk is lost.

Each shape's outcome is the one reported in the field, under either behaviour.
"""
from __future__ import annotations

from .jobs import RESTART_TEXT
from .migration_steps import FAILED_PREFIX, attached_file, backend_call, take_over, write
from .protocol import INTERNAL_ERROR, ApiError

MODES = ("false_failure", "source_left_behind", "source_removed")
# reason -> (the job's error text, the volume state it leaves); "{volume}" is the volume's name
FALSE_FAILURES = {
    "cancelled": ("Job is cancelled as it has been blocking others for too long", "Migrating"),
    "session_timeout": (FAILED_PREFIX + "{volume} due to The session is not authenticated.", "Ready"),
    "restart": (RESTART_TEXT, "Migrating"),
}


class ShapedFailure(ApiError):
    """A job failure that leaves the volume in a given state (the job was cut off, or failed normally)."""

    def __init__(self, text: str, volume_state: str = "Ready"):
        super().__init__(INTERNAL_ERROR, text)
        self.volume_state = volume_state


def run(sim, job, fault: dict, volume: dict, pool: dict, vm: dict | None, duplicate_id: int | None) -> None:
    shapes = {"false_failure": _false_failure, "source_left_behind": _source_left_behind,
              "source_removed": _source_removed}
    shapes[fault["mode"]](sim, job, fault, volume, pool, vm, duplicate_id)


def _false_failure(sim, job, fault, volume, pool, vm, duplicate_id) -> None:
    """vCenter moves the disk; the job fails with the reason's text; the record is not touched."""
    source = sim.store.by_id("pools", volume["pool_id"])
    if vm is not None:
        backend_call(sim, volume["zone_id"], "migrate_attached_volume", vm["instance_name"], volume["path"], pool["datastore"])
    else:
        backend_call(sim, volume["zone_id"], "migrate_detached_volume", volume["path"], source["datastore"], pool["datastore"])
    text, state = FALSE_FAILURES[fault.get("reason", "cancelled")]
    raise ShapedFailure(fault.get("errortext") or text.format(volume=volume["name"]), state)


def _source_left_behind(sim, job, fault, volume, pool, vm, duplicate_id) -> None:
    """The disk is copied to the destination and the record moves there; the source file stays."""
    source = sim.store.by_id("pools", volume["pool_id"])
    if vm is not None:
        backend_call(sim, volume["zone_id"], "copy_attached_volume", vm["instance_name"], volume["path"], pool["datastore"])
        write(sim, job, volume["id"], state="Ready", pool_id=pool["id"], last_pool_id=volume["pool_id"])
        return
    backend_call(sim, volume["zone_id"], "copy_detached_volume", volume["path"], source["datastore"], pool["datastore"])
    take_over(sim, job, volume, duplicate_id, path=volume["path"])


def _source_removed(sim, job, fault, volume, pool, vm, duplicate_id) -> None:
    """The source file is deleted before the copy; nothing reaches the destination; the job fails."""
    source = sim.store.by_id("pools", volume["pool_id"])
    if vm is not None:
        file = attached_file(volume, vm)
        backend_call(sim, volume["zone_id"], "delete_vmdk", source["datastore"], file)
        detail = f"File [{source['datastore']}] {file} was not found"
    else:
        backend_call(sim, volume["zone_id"], "delete_detached_volume", volume["path"], source["datastore"])
        detail = (f"Migration of volume '{volume['path']}' failed; file ([{source['datastore']}] {volume['path']}.vmdk) "
                  f"not found as path '[{pool['datastore']}] {volume['path']}.vmdk'")
    raise ShapedFailure(fault.get("errortext") or f"{FAILED_PREFIX}{volume['name']} due to {detail}")
