"""start/stopVirtualMachine and primary-storage maintenance: async, records plus the VMware side."""
from __future__ import annotations

from .async_submit import submit, vm_work_queue
from .protocol import CS_PERMISSION_DENIED, INTERNAL_ERROR, PERMISSION_DENIED, ApiError, invalid_parameter
from .views import Catalog, pool_view, vm_view


def _vm_for(request) -> dict:
    vm = request.entity("id", "vms", required=True)
    if not request.full and vm["account_id"] != request.account["id"]:
        raise ApiError(PERMISSION_DENIED, f"Account {request.account['name']} does not have permission to "
                                          f"operate on instance {vm['uuid']}", CS_PERMISSION_DENIED)
    return vm


def _vm_result(sim, vm_id: int, full: bool):
    return "object", {"virtualmachine": vm_view(Catalog(sim.store), sim.store.by_id("vms", vm_id), full)}


def _backend(sim, zone_id: int, method: str, *args) -> None:
    backend = sim.backend_of(zone_id)
    if backend is not None:
        getattr(backend, method)(*args)


def start_virtual_machine(request) -> dict:
    vm, sim, full = _vm_for(request), request.sim, request.full

    def work(job):
        current = sim.store.by_id("vms", vm["id"])
        if current["state"] == "Running":
            raise invalid_parameter(f"The virtual machine {vm['uuid']} ({vm['display_name']}) is already running")
        sim.store.update("vms", vm["id"], state="Starting")
        sim.wait(sim.job_seconds)
        try:
            _backend(sim, vm["zone_id"], "power_on", vm["instance_name"])
        except Exception as error:
            sim.store.update("vms", vm["id"], state="Stopped")
            raise ApiError(INTERNAL_ERROR, f"Unable to start instance {vm['uuid']} due to {error}") from None
        host_id = current["host_id"] or current["last_host_id"]
        sim.store.update("vms", vm["id"], state="Running", host_id=host_id, last_host_id=host_id)
        return _vm_result(sim, vm["id"], full)

    return submit(request, "VirtualMachine", vm, [vm_work_queue(vm["id"])], work, {"virtualmachineid": vm["uuid"]})


def stop_virtual_machine(request) -> dict:
    vm, sim, full = _vm_for(request), request.sim, request.full

    def work(job):
        current = sim.store.by_id("vms", vm["id"])
        if current["state"] != "Stopped":
            sim.store.update("vms", vm["id"], state="Stopping")
            sim.wait(sim.job_seconds)
            _power_off_if_present(sim, vm["zone_id"], vm["instance_name"])
        sim.store.update("vms", vm["id"], state="Stopped", host_id=None, last_host_id=current["host_id"] or current["last_host_id"])
        return _vm_result(sim, vm["id"], full)

    return submit(request, "VirtualMachine", vm, [vm_work_queue(vm["id"])], work, {"virtualmachineid": vm["uuid"]})


def _power_off_if_present(sim, zone_id: int, instance_name: str) -> None:
    """A VM missing from vCenter counts as stopped, as the VMware resource answers StopCommand."""
    from .vmware_backend import VmNotFound
    try:
        _backend(sim, zone_id, "power_off", instance_name)
    except VmNotFound:
        pass


def _pool_job(request, final_state: str, transient: str, maintenance: bool) -> dict:
    pool, sim = request.entity("id", "pools", required=True), request.sim

    def work(job):
        sim.store.update("pools", pool["id"], state=transient)
        sim.wait(sim.job_seconds)
        _backend(sim, pool["zone_id"], "set_datastore_state", pool["datastore"], None, maintenance)
        sim.store.update("pools", pool["id"], state=final_state)
        return "object", {"storagepool": pool_view(Catalog(sim.store), sim.store.by_id("pools", pool["id"]))}

    return submit(request, "StoragePool", pool, f"pool-{pool['id']}", work)


def enable_storage_maintenance(request) -> dict:
    return _pool_job(request, "Maintenance", "PrepareForMaintenance", True)


def cancel_storage_maintenance(request) -> dict:
    return _pool_job(request, "Up", "CancelMaintenance", False)
