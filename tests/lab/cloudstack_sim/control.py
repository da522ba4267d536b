"""The lab's control interface (its own port): reset, behaviour, faults, vCenter-side sabotage, records."""
from __future__ import annotations

from . import configuration
from .app import BEHAVIOURS, CallFault
from .faults import FALSE_FAILURES
from .faults import MODES as SHAPE_MODES
from .protocol import ApiError
from .seed import redeploy

JOB_FAULT_MODES = ("fail", "hang", "slow", "false_success", "detached_disk_lost", *SHAPE_MODES)
DISK_LOST_RESULTS = ("success", "failure")


class BadRequest(Exception):
    pass


class Control:
    def __init__(self, sim):
        self.sim = sim
        self.actions = {
            "reset": self.reset, "behaviour": self.behaviour, "job_seconds": self.job_seconds,
            "fault_next_job": self.fault_next_job, "fault_next_calls": self.fault_next_calls,
            "release_jobs": self.release_jobs, "pool_capacity": self.pool_capacity, "pool_tags": self.pool_tags,
            "volume_tags": self.volume_tags, "configuration": self.configuration,
            "vcenter_unregister_vm": self.unregister_vm, "vcenter_delete_vmdk": self.delete_vmdk,
            "vcenter_datastore_state": self.datastore_state, "vcenter_vm_connection_state": self.vm_connection_state,
            "vcenter_rename_vm": self.rename_vm,
            "vcenter_power_vm": self.power_vm, "vcenter_unmount_datastore": self.unmount_datastore,
            "vcenter_place_vmdk": self.place_vmdk, "vcenter_disguise_vm": self.disguise_vm,
        }
        self.reads = {"volumes": self.volumes, "status": self.status, "job_log": self.job_log}

    def dispatch(self, method: str, path: str, payload: dict) -> tuple[int, dict]:
        prefix, action = path.rsplit("/", 1) if "/" in path else ("", path)
        table = self.reads if method == "GET" else self.actions
        if prefix != "/control" or action not in table:
            return 404, {"error": f"unknown control action {method} {path}"}
        try:
            return 200, table[action](payload) or {"ok": True}
        except BadRequest as error:
            return 400, {"error": str(error)}
        except Exception as error:  # the backend's own failures, reported to the test
            return 500, {"error": f"{type(error).__name__}: {error}"}

    # --- simulator --------------------------------------------------------------------------------
    def reset(self, payload):
        self.sim.reset(redeploy)

    def behaviour(self, payload):
        value = payload.get("behaviour")
        if value not in BEHAVIOURS:
            raise BadRequest(f"behaviour must be one of {BEHAVIOURS}")
        self.sim.behaviour = value

    def job_seconds(self, payload):
        self.sim.job_seconds = float(_required(payload, "seconds"))

    def fault_next_job(self, payload):
        if payload.get("mode") not in JOB_FAULT_MODES:
            raise BadRequest(f"mode must be one of {JOB_FAULT_MODES}")
        if payload.get("mode") == "detached_disk_lost" and payload.get("job_result", "success") not in DISK_LOST_RESULTS:
            raise BadRequest(f"job_result must be one of {DISK_LOST_RESULTS}")
        if payload.get("mode") == "false_failure" and payload.get("reason", "cancelled") not in FALSE_FAILURES:
            raise BadRequest(f"reason must be one of {tuple(FALSE_FAILURES)}")
        with self.sim.lock:
            self.sim.job_faults.append(dict(payload))

    def fault_next_calls(self, payload):
        status = payload.get("status")
        if status not in (429, 530, "drop", "lost_answer"):
            raise BadRequest('status must be 429, 530, "drop" or "lost_answer" (the command runs, its answer is lost)')
        with self.sim.lock:
            self.sim.call_faults.append(CallFault(int(payload.get("count", 1)), status, payload.get("command")))

    def release_jobs(self, payload):
        self.sim.release_jobs()

    def pool_capacity(self, payload):
        pool = self._pool(payload)
        self.sim.store.update("pools", pool["id"], capacity=int(_required(payload, "bytes")))

    def pool_tags(self, payload):
        """Storage tags of a pool, comma-separated as CloudStack lists them ("" for none)."""
        pool = self._pool(payload)
        self.sim.store.update("pools", pool["id"], tags=str(_required(payload, "tags")) or None)

    def volume_tags(self, payload):
        """Storage tags of the volume's disk offering, comma-separated ("" for none): pools must carry them all."""
        volume = self.sim.store.by_uuid("volumes", _required(payload, "volume_id"))
        if volume is None:
            raise BadRequest("no such volume")
        self.sim.store.update("volumes", volume["id"], tags=str(_required(payload, "tags")) or None)

    def configuration(self, payload):
        """A global setting, as updateConfiguration sets it."""
        try:
            return configuration.set_value(self.sim.store, _required(payload, "name"), _required(payload, "value"))
        except ApiError as error:
            raise BadRequest(error.text) from None

    # --- vCenter side -------------------------------------------------------------------------------
    def unregister_vm(self, payload):
        self._backend(payload).unregister_vm(_required(payload, "instance_name"))

    def delete_vmdk(self, payload):
        volume = self.sim.store.by_uuid("volumes", _required(payload, "volume_id"))
        if volume is None or volume["path"] is None:
            raise BadRequest("no such volume, or it has no path")
        pool = self.sim.store.by_id("pools", volume["pool_id"])
        vm = self.sim.store.by_id("vms", volume["vm_id"])
        file = f"{vm['instance_name']}/{volume['path']}.vmdk" if vm else f"{volume['path']}.vmdk"
        self._backend(payload).delete_vmdk(pool["datastore"], file)
        return {"datastore": pool["datastore"], "file": file}

    def datastore_state(self, payload):
        pool = self._pool(payload)
        self._backend(payload).set_datastore_state(pool["datastore"], accessible=payload.get("accessible"),
                                                   maintenance=payload.get("maintenance"))
        return {"datastore": pool["datastore"]}

    def vm_connection_state(self, payload):
        self._backend(payload).set_vm_connection_state(_required(payload, "instance_name"), _required(payload, "state"))

    def rename_vm(self, payload):
        self._backend(payload).rename_vm(_required(payload, "instance_name"), _required(payload, "new_name"))

    def power_vm(self, payload):
        """Power a VM on or off in vCenter only (CloudStack's record keeps its state: drift)."""
        state = _required(payload, "state")
        if state not in ("on", "off"):
            raise BadRequest('state must be "on" or "off"')
        backend = self._backend(payload)
        (backend.power_on if state == "on" else backend.power_off)(_required(payload, "instance_name"))

    def unmount_datastore(self, payload):
        """Unmount a pool's datastore from the host a VM runs on."""
        pool = self._pool(payload)
        host = self._backend(payload).unmount_datastore_from_vm_host(pool["datastore"], _required(payload, "instance_name"))
        return {"datastore": pool["datastore"], "host": host}

    def place_vmdk(self, payload):
        """A VMDK on a pool's datastore at the path a migration of the volume there would create (same folder and
        file as today: "<instance name>/<path>.vmdk"), or at ``file`` when given."""
        pool = self._pool(payload)
        file = payload.get("file")
        if not file:
            volume = self.sim.store.by_uuid("volumes", _required(payload, "volume_id"))
            if volume is None or volume["path"] is None:
                raise BadRequest("no such volume, or it has no path")
            vm = self.sim.store.by_id("vms", volume["vm_id"])
            file = f"{vm['instance_name']}/{volume['path']}.vmdk" if vm else f"{volume['path']}.vmdk"
        self._backend(payload).place_vmdk(pool["datastore"], file)
        return {"datastore": pool["datastore"], "file": file, "path": "[%s] %s" % (pool["datastore"], file)}

    def disguise_vm(self, payload):
        """Rename a VM in vCenter and clear its cloud.vm.internal.name, leaving clues (extraConfig, annotation) if asked."""
        instance_name = _required(payload, "instance_name")
        extra = {"cloud.vm.internal.name": instance_name} if payload.get("extra_config") else None
        return self._backend(payload).disguise_vm(instance_name, _required(payload, "new_name"), extra_config=extra,
                                                  annotation=payload.get("annotation"))

    # --- reads --------------------------------------------------------------------------------------
    def volumes(self, payload):
        """Every volume row as the database holds it (expunged rows included), uuids resolved."""
        store = self.sim.store
        pools = {row["id"]: row for row in store.all("SELECT * FROM pools")}
        vms = {row["id"]: row for row in store.all("SELECT * FROM vms")}
        rows = []
        for row in store.all("SELECT * FROM volumes ORDER BY id"):
            pool, vm = pools.get(row["pool_id"]), vms.get(row["vm_id"])
            rows.append({"row_id": row["id"], "id": row["uuid"], "name": row["name"], "type": row["type"],
                         "state": row["state"], "path": row["path"], "size": row["size"],
                         "storageid": pool["uuid"] if pool else None, "datastore": pool["datastore"] if pool else None,
                         "virtualmachineid": vm["uuid"] if vm else None,
                         "instancename": vm["instance_name"] if vm else None, "vmstate": vm["state"] if vm else None,
                         "removed": row["removed"]})
        return {"volumes": rows}

    def status(self, payload):
        sim = self.sim
        return {"behaviour": sim.behaviour, "job_seconds": sim.job_seconds, "pending_job_faults": len(sim.job_faults),
                "pending_call_faults": len(sim.call_faults), "jobs_cut_off_at_start": sim.cut_off_jobs,
                "peak_concurrent_migrations": sim.runner.job_log()["peak_concurrent_migrations"]}

    def job_log(self, payload):
        """Each job since the start or the last reset (id, command, subjects, times, outcome), and the peaks."""
        return self.sim.runner.job_log()

    def _pool(self, payload) -> dict:
        pool = self.sim.store.by_uuid("pools", _required(payload, "pool_id"))
        if pool is None:
            raise BadRequest("no such pool")
        return pool

    def _backend(self, payload):
        """The vCenter of the zone of the payload's pool, volume or VM (the first zone's when it names none)."""
        backend = self.sim.backend_of(self._zone_of(payload))
        if backend is None:
            raise BadRequest("the simulator runs without a vCenter backend")
        return backend

    def _zone_of(self, payload) -> int:
        store = self.sim.store
        for key, table in (("pool_id", "pools"), ("volume_id", "volumes")):
            row = store.by_uuid(table, payload[key]) if payload.get(key) else None
            if row is not None:
                return row["zone_id"]
        if payload.get("instance_name"):
            row = store.one("SELECT zone_id FROM vms WHERE instance_name = ?", (payload["instance_name"],))
            if row is not None:
                return row["zone_id"]
        return 1


def _required(payload: dict, name: str):
    if payload.get(name) is None:
        raise BadRequest(f"missing {name}")
    return payload[name]
