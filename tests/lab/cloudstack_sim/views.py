"""Records rendered as API objects, in the Full (root admin) or Restricted (user) view."""
from __future__ import annotations

import json

# storage.overprovisioning.factor: CloudStack lets NFS and VMFS pools allocate twice their capacity by default.
OVERPROVISION_FACTOR = 2.0

DOMAIN_UUID = "5d4e2ee3-8f0a-11ee-9a8d-0242ac110002"
DOMAIN_NAME = "ROOT"
HYPERVISOR = "VMware"
MANAGEMENT_SERVER_UUID = "7f5bd5f4-8f0a-11ee-9a8d-0242ac110002"


# How many VMs one request reads by key before it reads the whole table.
VMS_READ_ALONE = 20


class Catalog:
    """The small tables, loaded once per request, so that rendering is lookups only."""

    def __init__(self, store):
        self.store = store
        self.zones = _by_id(store.all("SELECT * FROM zones"))
        self.pods = _by_id(store.all("SELECT * FROM pods"))
        self.clusters = _by_id(store.all("SELECT * FROM clusters"))
        self.hosts = _by_id(store.all("SELECT * FROM hosts"))
        self.pools = _by_id(store.all("SELECT * FROM pools"))
        self.accounts = _by_id(store.all("SELECT * FROM accounts"))
        self._vms = None
        self._vm_rows = {}
        self._pending = None

    def vm(self, vm_id) -> dict | None:
        """One VM by its row id. The first few are read alone (by key), then the whole table at once: rendering a few
        volumes does not read every VM, nor a long listing each VM by itself."""
        if vm_id is None:
            return None
        if self._vms is None and len(self._vm_rows) >= VMS_READ_ALONE:
            self._vms = _by_id(self.store.all("SELECT * FROM vms"))
        if self._vms is not None:
            return self._vms.get(vm_id)
        if vm_id not in self._vm_rows:
            self._vm_rows[vm_id] = self.store.by_id("vms", vm_id)
        return self._vm_rows[vm_id]

    def pending_job(self, instance_type: str, instance_id: int) -> dict | None:
        if self._pending is None:
            rows = self.store.all("SELECT uuid, instance_type, instance_id FROM jobs WHERE status = 0 ORDER BY id")
            self._pending = {(row["instance_type"], row["instance_id"]): row for row in rows}
        return self._pending.get((instance_type, instance_id))

    def allocated_bytes(self, pool_id: int) -> int:
        row = self.store.one("SELECT COALESCE(SUM(size), 0) AS total FROM volumes WHERE pool_id = ? AND removed IS NULL",
                             (pool_id,))
        return row["total"]


def _by_id(rows: list[dict]) -> dict:
    return {row["id"]: row for row in rows}


def _owner(catalog: Catalog, account_id: int) -> dict:
    account = catalog.accounts.get(account_id, {})
    return {"account": account.get("name"), "domainid": DOMAIN_UUID, "domain": DOMAIN_NAME,
            "domainpath": DOMAIN_NAME}


def zone_view(catalog: Catalog, zone: dict, full: bool) -> dict:
    view = {"id": zone["uuid"], "name": zone["name"], "networktype": "Advanced", "allocationstate": "Enabled",
            "securitygroupsenabled": False, "localstorageenabled": False, "dhcpprovider": "VirtualRouter",
            "type": "Core", "tags": []}
    if full:
        view["hasannotations"] = False
    return view


def pod_view(catalog: Catalog, pod: dict) -> dict:
    zone = catalog.zones[pod["zone_id"]]
    return {"id": pod["uuid"], "name": pod["name"], "zoneid": zone["uuid"], "zonename": zone["name"],
            "gateway": "10.1.0.1", "netmask": "255.255.0.0", "startip": ["10.1.0.10"], "endip": ["10.1.0.250"],
            "allocationstate": "Enabled", "hasannotations": False}


def cluster_view(catalog: Catalog, cluster: dict) -> dict:
    zone, pod = catalog.zones[cluster["zone_id"]], catalog.pods[cluster["pod_id"]]
    return {"id": cluster["uuid"], "name": cluster["name"], "podid": pod["uuid"], "podname": pod["name"],
            "zoneid": zone["uuid"], "zonename": zone["name"], "hypervisortype": HYPERVISOR,
            "clustertype": "ExternalManaged", "allocationstate": "Enabled", "managedstate": "Managed",
            "arch": "x86_64"}


def host_view(catalog: Catalog, host: dict) -> dict:
    zone, pod, cluster = catalog.zones[host["zone_id"]], catalog.pods[host["pod_id"]], catalog.clusters[host["cluster_id"]]
    return {"id": host["uuid"], "name": host["name"], "state": host["state"], "resourcestate": host["resourcestate"],
            "type": "Routing", "hypervisor": HYPERVISOR, "ipaddress": host["ipaddress"],
            "clusterid": cluster["uuid"], "clustername": cluster["name"], "clustertype": "ExternalManaged",
            "podid": pod["uuid"], "podname": pod["name"], "zoneid": zone["uuid"], "zonename": zone["name"],
            "created": host["created"], "islocalstorageactive": False, "arch": "x86_64"}


def pool_view(catalog: Catalog, pool: dict) -> dict:
    zone, pod = catalog.zones[pool["zone_id"]], catalog.pods.get(pool["pod_id"])
    cluster = catalog.clusters.get(pool["cluster_id"])
    allocated = catalog.allocated_bytes(pool["id"])
    view = {"id": pool["uuid"], "name": pool["name"], "zoneid": zone["uuid"], "zonename": zone["name"]}
    if pod:
        view.update(podid=pod["uuid"], podname=pod["name"])
    if cluster:
        view.update(clusterid=cluster["uuid"], clustername=cluster["name"])
    view.update({"ipaddress": pool["ipaddress"], "path": pool["path"], "created": pool["created"],
                 "type": pool["type"], "disksizetotal": pool["capacity"], "disksizeallocated": allocated,
                 "disksizeused": allocated, "capacityiops": 0, "allocatediops": 0,
                 "overprovisionfactor": str(OVERPROVISION_FACTOR),
                 "hypervisor": HYPERVISOR, "scope": pool["scope"], "state": pool["state"], "provider": "DefaultPrimary",
                 "istagarule": False, "managed": False})
    if pool["tags"]:
        view["tags"] = pool["tags"]
    return view


def vm_view(catalog: Catalog, vm: dict, full: bool) -> dict:
    zone = catalog.zones[vm["zone_id"]]
    view = {"id": vm["uuid"], "name": vm["name"], "displayname": vm["display_name"], **_owner(catalog, vm["account_id"]),
            "created": vm["created"], "state": vm["state"], "haenable": False, "zoneid": zone["uuid"],
            "zonename": zone["name"], "hypervisor": HYPERVISOR, "guestosid": "9d1cc8e6-8f0a-11ee-9a8d-0242ac110002",
            "ostypename": "Other Linux (64-bit)", "rootdeviceid": 0, "rootdevicetype": "ROOT", "cpunumber": 1,
            "cpuspeed": 500, "memory": 512, "serviceofferingname": "Small Instance", "nic": [], "tags": [],
            "affinitygroup": [], "isdynamicallyscalable": False, "details": {}}
    host = catalog.hosts.get(vm["host_id"])
    if full:
        view["instancename"] = vm["instance_name"]
        if host:
            view.update(hostid=host["uuid"], hostname=host["name"])
    job = catalog.pending_job("VirtualMachine", vm["id"])
    if job:
        view.update(jobid=job["uuid"], jobstatus=0)
    return view


def volume_view(catalog: Catalog, volume: dict, full: bool) -> dict:
    zone = catalog.zones[volume["zone_id"]]
    view = {"id": volume["uuid"], "name": volume["name"], "zoneid": zone["uuid"], "zonename": zone["name"],
            "type": volume["type"]}
    vm = catalog.vm(volume["vm_id"])
    if vm:
        view.update(deviceid=volume["device_id"], virtualmachineid=vm["uuid"], vmname=vm["name"],
                    vmdisplayname=vm["display_name"], vmstate=vm["state"])
    view.update({"provisioningtype": "thin", "size": volume["size"], "miniops": 0, "maxiops": 0,
                 "created": volume["created"], "state": volume["state"], **_owner(catalog, volume["account_id"]),
                 "destroyed": volume["state"] in ("Destroy", "Expunging", "Expunged"), "isextractable": True,
                 "displayvolume": True, "physicalsize": volume["size"], "virtualsize": volume["size"],
                 "hasannotations": False, "deleteprotection": False})
    if vm:
        view["attached"] = volume["created"]
    if volume["chain_info"]:
        view["chaininfo"] = volume["chain_info"]
    if full:
        view.update(_volume_placement(catalog, volume))
    job = catalog.pending_job("Volume", volume["id"])
    if job:
        view.update(jobid=job["uuid"], jobstatus=0)
    return view


def _volume_placement(catalog: Catalog, volume: dict) -> dict:
    pool = catalog.pools.get(volume["pool_id"])
    placement = {"storagetype": "shared", "hypervisor": HYPERVISOR, "storage": pool["name"] if pool else "none"}
    if volume["path"] is not None:
        placement["path"] = volume["path"]
    if pool:
        placement["storageid"] = pool["uuid"]
        cluster, pod = catalog.clusters.get(pool["cluster_id"]), catalog.pods.get(pool["pod_id"])
        if cluster:
            placement.update(clusterid=cluster["uuid"], clustername=cluster["name"])
        if pod:
            placement.update(podid=pod["uuid"], podname=pod["name"])
    return placement


def job_view(catalog: Catalog, job: dict) -> dict:
    account = catalog.accounts.get(job["account_id"], {})
    view = {"accountid": account.get("uuid"), "account": account.get("name"), "domainid": DOMAIN_UUID,
            "domainpath": DOMAIN_NAME, "userid": account.get("user_uuid"), "cmd": job["cmd"],
            "jobstatus": job["status"], "jobprocstatus": 0, "jobresultcode": job["result_code"]}
    if job["status"] != 0:
        view["jobresulttype"] = job["result_type"]
        view["jobresult"] = json.loads(job["result"]) if job["result"] else {}
    instance_uuid = _instance_uuid(catalog, job)
    if instance_uuid:
        view.update(jobinstancetype=job["instance_type"], jobinstanceid=instance_uuid)
    view.update(created=job["created"], jobid=job["uuid"], managementserverid=MANAGEMENT_SERVER_UUID,
                managementservername="cloudstack-sim")
    if job["completed"]:
        view["completed"] = job["completed"]
    return view


def _instance_uuid(catalog: Catalog, job: dict) -> str | None:
    table = {"Volume": "volumes", "VirtualMachine": "vms"}.get(job["instance_type"])
    if not table:
        return None
    row = catalog.store.by_id(table, job["instance_id"])
    return row["uuid"] if row else None
