"""attachVolume and detachVolume (async, through the VM's work queue), with the VMware work done in vcsim."""
from __future__ import annotations

from .async_submit import submit, vm_work_queue
from .protocol import INTERNAL_ERROR, ApiError, invalid_parameter, missing_parameter
from .views import Catalog, volume_view
from .volume_commands import check_owner
from .vmware_backend import BackendError

VM_STATES_FOR_ATTACHING = ("Running", "Stopped")


def detach_volume(request) -> dict:
    """By id, or by virtualmachineid + deviceid as DetachVolumeCmd allows."""
    volume = _volume_to_detach(request)
    check_owner(request, volume)
    sim, full = request.sim, request.full

    def work(job):
        current = sim.store.by_id("volumes", volume["id"])
        vm = sim.store.by_id("vms", current["vm_id"])
        if vm is None:
            raise invalid_parameter(f"Volume {current['name']} is not attached to any VM")
        if current["type"] == "ROOT":
            raise invalid_parameter(f"Root volume {current['name']} can not be detached from VM {vm['name']}")
        _check_vm_state(vm)
        sim.wait(sim.job_seconds)
        _backend(sim, vm["zone_id"], "detach_volume", vm["instance_name"], current["path"])
        sim.store.update("volumes", volume["id"], vm_id=None, device_id=None)
        return "object", {"volume": volume_view(Catalog(sim.store), sim.store.by_id("volumes", volume["id"]), full)}

    queues = [vm_work_queue(volume["vm_id"])] if volume["vm_id"] else []
    return submit(request, "Volume", volume, queues, work, {"volumeid": volume["uuid"]})


def attach_volume(request) -> dict:
    volume = request.entity("id", "volumes", required=True)
    vm = request.entity("virtualmachineid", "vms", required=True)
    check_owner(request, volume)
    device_id = request.get("deviceid")
    sim, full = request.sim, request.full

    def work(job):
        current, machine = sim.store.by_id("volumes", volume["id"]), sim.store.by_id("vms", vm["id"])
        if current["vm_id"] is not None:
            raise invalid_parameter(f"Volume {current['name']} is already attached to a VM")
        if current["zone_id"] != machine["zone_id"]:
            raise invalid_parameter("Please specify a VM that is in the same zone as the volume.")
        _check_vm_state(machine)
        device = int(device_id) if device_id is not None else _next_device_id(sim, machine)
        sim.wait(sim.job_seconds)
        pool = sim.store.by_id("pools", current["pool_id"])
        _backend(sim, machine["zone_id"], "attach_volume", machine["instance_name"], pool["datastore"], current["path"])
        sim.store.update("volumes", volume["id"], vm_id=machine["id"], device_id=device)
        return "object", {"volume": volume_view(Catalog(sim.store), sim.store.by_id("volumes", volume["id"]), full)}

    subjects = {"volumeid": volume["uuid"], "virtualmachineid": vm["uuid"]}
    return submit(request, "Volume", volume, [vm_work_queue(vm["id"])], work, subjects)


def _volume_to_detach(request) -> dict:
    if request.get("id") is not None:
        return request.entity("id", "volumes")
    vm = request.entity("virtualmachineid", "vms")
    device = request.get("deviceid")
    if vm is None or device is None:
        raise missing_parameter(request.short_name, "id")
    volume = request.store.one("SELECT * FROM volumes WHERE vm_id = ? AND device_id = ? AND removed IS NULL",
                               (vm["id"], int(device)))
    if volume is None:
        raise invalid_parameter(f"Unable to find volume with device id {device} on VM {vm['uuid']}")
    return volume


def _check_vm_state(vm: dict) -> None:
    if vm["state"] not in VM_STATES_FOR_ATTACHING:
        raise invalid_parameter("Please specify a VM that is either running or stopped.")


def _next_device_id(sim, vm: dict) -> int:
    used = {row["device_id"] for row in sim.store.all("SELECT device_id FROM volumes WHERE vm_id = ? AND removed IS NULL",
                                                      (vm["id"],))}
    return next(number for number in range(1, 64) if number not in used and number != 3)


def _backend(sim, zone_id: int, method: str, *args) -> None:
    backend = sim.backend_of(zone_id)
    if backend is None:
        return
    try:
        getattr(backend, method)(*args)
    except BackendError as error:
        raise ApiError(INTERNAL_ERROR, f"Failed to {method.split('_')[0]} volume: {error}") from None
