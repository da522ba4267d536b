"""The read-only commands: zones, clusters, hosts, pools, VMs, volumes, async jobs."""
from __future__ import annotations

import uuid as uuidlib

from .protocol import CS_PERMISSION_DENIED, PERMISSION_DENIED, ApiError, invalid_entity, list_content, paged
from .views import (OVERPROVISION_FACTOR, cluster_view, host_view, job_view, pod_view, pool_view, vm_view, volume_view,
                    zone_view)

# SQLite's lowest bound on the parameters of one statement: more ids than this read the whole table.
MAX_SQL_PARAMETERS = 999


def _keyword(request, rows: list[dict], field: str = "name") -> list[dict]:
    keyword = request.get("keyword")
    if keyword is None:
        return rows
    return [row for row in rows if keyword.lower() in (row[field] or "").lower()]


def _by_uuid_param(request, rows: list[dict], param: str, key: str, table: str) -> list[dict]:
    """Filter on a UUID parameter naming a row of ``table`` (zoneid -> zone_id...), read by its UUID alone; an unknown
    one is ParamProcessWorker's 431."""
    value = request.get(param)
    if value is None:
        return rows
    related = request.store.by_uuid(table, value)
    if related is None:
        raise invalid_entity(request.short_name, param, value)
    return [row for row in rows if row[key] == related["id"]]


def _narrowed(request, sql: str) -> list[dict]:
    """The rows of ``sql`` (a SELECT of one table), only those named when id / ids are given: read by index, as the
    listing is filtered on them afterwards anyway (_with_ids), so that a lookup by id does not read the whole table."""
    wanted = _ids(request)
    if wanted is None or len(wanted) > MAX_SQL_PARAMETERS:
        return request.store.all(sql)
    joiner = " AND " if " WHERE " in sql else " WHERE "
    return request.store.all(sql + joiner + "uuid IN (%s)" % ",".join("?" * len(wanted)), sorted(wanted))


def _equal(request, rows: list[dict], param: str, field: str) -> list[dict]:
    value = request.get(param)
    if value is None:
        return rows
    return [row for row in rows if str(row[field]).lower() == value.lower()]


def _listing(request, object_name: str, rows: list[dict], render) -> dict:
    rows.sort(key=lambda row: row["id"])
    window, count = paged(request.short_name, request.params, rows)
    items = [render(row) for row in window]
    return list_content(object_name, items, count)


def _ids(request) -> set | None:
    single, many = request.get("id"), request.get("ids")
    if single is None and many is None:
        return None
    wanted = set(many.split(",")) if many else set()
    if single is not None:
        wanted.add(single)
    return wanted


def _with_ids(request, rows: list[dict], table: str) -> list[dict]:
    """id / ids are UUID-typed: each must name a row of the table (removed rows too, as findByUuidIncludingRemoved)."""
    wanted = _ids(request)
    if wanted is None:
        return rows
    for value in sorted(wanted):
        if request.store.by_uuid(table, value) is None:
            raise invalid_entity(request.short_name, "id" if value == request.get("id") else "ids", value)
    return [row for row in rows if row["uuid"] in wanted]


def _owned(request, rows: list[dict]) -> list[dict]:
    if request.sees_all_accounts():
        return rows
    return [row for row in rows if row["account_id"] == request.account["id"]]


def list_zones(request) -> dict:
    catalog = request.catalog
    rows = _equal(request, _keyword(request, _with_ids(request, list(catalog.zones.values()), "zones")), "name", "name")
    return _listing(request, "zone", rows, lambda row: zone_view(catalog, row, request.full))


def list_vmware_dcs(request) -> dict:
    """The VMware datacenter of a zone and the vCenter that holds it (ListVmwareDcsCmd): ``zoneid`` is required.

    ``vcenter`` is the address the management server connects to; the lab's is host:port (its vcsim listens on a
    port of its own, which a real vCenter's address does not need)."""
    zone = request.entity("zoneid", "zones", required=True)
    vsphere = getattr(request.sim.backend_of(zone["id"]), "vsphere", None)
    rows = [zone] if vsphere is not None and zone["datacenter"] else []
    return _listing(request, "VMwareDC", rows, lambda row: {
        "id": str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, "vmwaredc/%s" % row["uuid"])), "name": row["datacenter"],
        "vcenter": "%s:%d" % (vsphere.host, vsphere.port), "zoneid": row["uuid"]})


def list_pods(request) -> dict:
    catalog = request.catalog
    rows = _with_ids(request, list(catalog.pods.values()), "pods")
    rows = _by_uuid_param(request, rows, "zoneid", "zone_id", "zones")
    rows = _equal(request, _keyword(request, rows), "name", "name")
    return _listing(request, "pod", rows, lambda row: pod_view(catalog, row))


def list_clusters(request) -> dict:
    catalog = request.catalog
    rows = _with_ids(request, list(catalog.clusters.values()), "clusters")
    rows = _by_uuid_param(request, rows, "zoneid", "zone_id", "zones")
    rows = _by_uuid_param(request, rows, "podid", "pod_id", "pods")
    rows = _equal(request, _keyword(request, rows), "name", "name")
    return _listing(request, "cluster", rows, lambda row: cluster_view(catalog, row))


def list_hosts(request) -> dict:
    catalog = request.catalog
    rows = _with_ids(request, list(catalog.hosts.values()), "hosts")
    rows = _by_uuid_param(request, rows, "zoneid", "zone_id", "zones")
    rows = _by_uuid_param(request, rows, "clusterid", "cluster_id", "clusters")
    rows = _equal(request, _equal(request, _keyword(request, rows), "name", "name"), "state", "state")
    return _listing(request, "host", rows, lambda row: host_view(catalog, row))


def list_storage_pools(request) -> dict:
    catalog = request.catalog
    rows = _with_ids(request, list(catalog.pools.values()), "pools")
    rows = _by_uuid_param(request, rows, "zoneid", "zone_id", "zones")
    rows = _by_uuid_param(request, rows, "clusterid", "cluster_id", "clusters")
    for param, field in (("name", "name"), ("path", "path"), ("ipaddress", "ipaddress"), ("scope", "scope"),
                         ("status", "state")):
        rows = _equal(request, rows, param, field)
    rows = _keyword(request, rows)
    return _listing(request, "storagepool", rows, lambda row: pool_view(catalog, row))


def find_storage_pools_for_migration(request) -> dict:
    volume = request.entity("id", "volumes", required=True)
    catalog = request.catalog
    candidates = [pool for pool in catalog.pools.values()
                  if pool["zone_id"] == volume["zone_id"] and pool["id"] != volume["pool_id"]]
    rendered = []
    for pool in _keyword(request, candidates):
        view = pool_view(catalog, pool)
        view["suitableformigration"] = (pool_suitable(catalog, pool, volume) and pool_reachable(catalog, pool, volume)
                                        and tags_match(pool, volume))
        rendered.append(view)
    rendered.sort(key=lambda view: (not view["suitableformigration"], view["name"]))
    window, count = paged(request.short_name, request.params, rendered)
    return list_content("storagepool", window, count)


def pool_reachable(catalog, pool: dict, volume: dict) -> bool:
    """The allocators offer an attached volume only the cluster-scoped pools of its VM's cluster."""
    vm = catalog.vm(volume["vm_id"])
    host = catalog.hosts.get(vm["host_id"] or vm["last_host_id"]) if vm else None
    return pool["scope"] != "CLUSTER" or host is None or pool["cluster_id"] == host["cluster_id"]


def tags_match(pool: dict, volume: dict) -> bool:
    """Every storage tag of the volume's disk offering must be among the pool's tags."""
    wanted = {tag.strip() for tag in (volume.get("tags") or "").split(",") if tag.strip()}
    offered = {tag.strip() for tag in (pool.get("tags") or "").split(",") if tag.strip()}
    return wanted <= offered


def pool_suitable(catalog, pool: dict, volume: dict) -> bool:
    # The allocators count capacity times the overprovisioning factor, as listStoragePools shows it.
    free = pool["capacity"] * OVERPROVISION_FACTOR - catalog.allocated_bytes(pool["id"])
    return pool["state"] == "Up" and free >= volume["size"]


def list_virtual_machines(request) -> dict:
    catalog = request.catalog
    rows = _owned(request, _with_ids(request, _narrowed(request, "SELECT * FROM vms"), "vms"))
    rows = _by_uuid_param(request, rows, "zoneid", "zone_id", "zones")
    if request.full:
        rows = _by_uuid_param(request, rows, "hostid", "host_id", "hosts")
    name = request.get("name")
    if name is not None:
        rows = [row for row in rows if name.lower() in row["name"].lower()]
    rows = _equal(request, _keyword(request, rows), "state", "state")
    return _listing(request, "virtualmachine", rows, lambda row: vm_view(catalog, row, request.full))


def list_volumes(request) -> dict:
    catalog = request.catalog
    rows = _owned(request, _with_ids(request, _narrowed(request, "SELECT * FROM volumes WHERE removed IS NULL"), "volumes"))
    rows = _by_uuid_param(request, rows, "zoneid", "zone_id", "zones")
    rows = _by_uuid_param(request, rows, "virtualmachineid", "vm_id", "vms")
    if request.full:
        rows = _by_uuid_param(request, rows, "storageid", "pool_id", "pools")
        rows = _by_volume_cluster(request, rows)
    for param, field in (("name", "name"), ("type", "type"), ("state", "state")):
        rows = _equal(request, rows, param, field)
    rows = _keyword(request, rows)
    return _listing(request, "volume", rows, lambda row: volume_view(catalog, row, request.full))


def _by_volume_cluster(request, rows: list[dict]) -> list[dict]:
    cluster_uuid = request.get("clusterid")
    if cluster_uuid is None:
        return rows
    pools = {pool["id"] for pool in request.catalog.pools.values()
             if request.catalog.clusters.get(pool["cluster_id"], {}).get("uuid") == cluster_uuid}
    return [row for row in rows if row["pool_id"] in pools]


def query_async_job_result(request) -> dict:
    job_uuid = request.require("jobid")
    job = request.store.by_uuid("jobs", job_uuid) if job_uuid else None
    if job is None:
        raise invalid_entity(request.short_name, "jobid", job_uuid)
    if not request.full and job["account_id"] != request.account["id"]:
        # AccountManager.checkAccess on the job's owner: PermissionDeniedException
        owner = request.catalog.accounts[job["account_id"]]
        raise ApiError(PERMISSION_DENIED, f"{_account_text(request.account)} does not have permission to operate "
                                          f"with resource {_account_text(owner)}", CS_PERMISSION_DENIED)
    return job_view(request.catalog, job)


def _account_text(account: dict) -> str:
    """AccountVO.toString()."""
    return f"Acct[{account['uuid']}-{account['name']}]"


def list_async_jobs(request) -> dict:
    rows = _owned(request, request.store.all("SELECT * FROM jobs"))
    keyword = request.get("keyword")
    if keyword is not None:
        rows = [row for row in rows if keyword.lower() in row["cmd"].lower()]
    return _listing(request, "asyncjobs", rows, lambda row: job_view(request.catalog, row))
