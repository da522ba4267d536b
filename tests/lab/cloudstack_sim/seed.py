"""The seeded zone: records for vcsim's topology, pools, VMs, volumes; and their deployment into vcsim.

Deterministic: uuid5 names and a seeded RNG, so two labs built with the same options match.
"""
from __future__ import annotations

import random
import secrets
import shutil
import uuid as uuidlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from .protocol import now_text

NAMESPACE = uuidlib.UUID("0e7a3c1e-2f55-4a9c-9b1e-5a6d3c0f9b21")
GIB = 1024 ** 3
ADMIN_ACCOUNT_ID, TENANT_ACCOUNT_ID = 2, 3
DEPLOY_BATCH = 200
BASE_TIME = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)


@dataclass
class Scale:
    clusters: int = 0            # 0: every cluster vcsim has
    hosts_per_cluster: int = 0   # 0: every host
    pools: int = 4               # NFS pools, spread over the clusters; one VMFS pool comes on top
    vms: int = 24
    data_disks_per_vm: int = 1
    detached_volumes: int = 3


def uuid_for(kind: str, number) -> str:
    return str(uuidlib.uuid5(NAMESPACE, f"{kind}-{number}"))


def created(offset: int) -> str:
    return now_text(BASE_TIME + timedelta(minutes=offset))


def seed_accounts(store) -> None:
    """A root admin and a plain user, each with a fresh key pair."""
    for account_id, name, role in ((ADMIN_ACCOUNT_ID, "admin", "admin"), (TENANT_ACCOUNT_ID, "tenant1", "user")):
        store.insert("accounts", {"id": account_id, "uuid": uuid_for("account", account_id), "name": name, "role": role,
                                  "api_key": secrets.token_urlsafe(64), "secret": secrets.token_urlsafe(64),
                                  "user_uuid": uuid_for("user", account_id)})


@dataclass
class _Zone:
    id: int
    prefix: str  # of the names of its pools and datastores ("" in zone 1)
    topology: dict


def seed_zone(store, topology: dict, scale: Scale, zone_id: int = 1) -> None:
    """Records for a zone (a vcsim's datacenter and clusters), its pools, VMs and volumes. Zone 1 is the lab's first;
    a later zone takes the next free ids of every table, so its VMs and volumes are numbered on from the zones before
    it, and its pools and datastores are named ``z<N>-...``: every name is unique across the cloud."""
    rng = random.Random(20250301 + zone_id - 1)
    store.insert("zones", {"id": zone_id, "uuid": uuid_for("zone", zone_id), "name": f"zone{zone_id}",
                           "datacenter": topology["datacenter"], "datacenter_moid": topology["datacenter_moid"]})
    store.insert("pods", {"id": zone_id, "uuid": uuid_for("pod", zone_id), "name": f"pod{zone_id}", "zone_id": zone_id})
    zone = _Zone(zone_id, "" if zone_id == 1 else f"z{zone_id}-", topology)
    clusters = _seed_clusters(store, zone, scale)
    pools = _seed_pools(store, zone, clusters, scale)
    _seed_vms(store, rng, zone, clusters, pools, scale)
    _seed_detached(store, rng, zone, pools, scale)


def _next_id(store, table: str) -> int:
    return (store.one(f"SELECT MAX(id) AS last FROM {table}") or {}).get("last") or 0


def _seed_clusters(store, zone: _Zone, scale: Scale) -> list[dict]:
    chosen = zone.topology["clusters"][:scale.clusters or None]
    clusters, first_cluster, host_number = [], _next_id(store, "clusters"), _next_id(store, "hosts")
    for number, cluster in enumerate(chosen, start=first_cluster + 1):
        row = {"id": number, "uuid": uuid_for("cluster", number), "name": cluster["name"], "zone_id": zone.id,
               "pod_id": zone.id, "moid": cluster["moid"]}
        store.insert("clusters", row)
        row["hosts"] = []
        for host in cluster["hosts"][:scale.hosts_per_cluster or None]:
            host_number += 1
            host_row = {"id": host_number, "uuid": uuid_for("host", host_number), "name": host["name"],
                        "cluster_id": number, "zone_id": zone.id, "pod_id": zone.id, "moid": host["moid"],
                        "ipaddress": f"10.{zone.id}.{number}.{host_number}", "state": "Up", "resourcestate": "Enabled",
                        "created": created(host_number)}
            store.insert("hosts", host_row)
            row["hosts"].append(host_row)
        clusters.append(row)
    return clusters


def _seed_pools(store, zone: _Zone, clusters: list[dict], scale: Scale) -> list[dict]:
    pools, first = [], _next_id(store, "pools")
    for number in range(1, scale.pools + 1):
        pool_id = first + number
        pool_uuid = uuid_for("pool", pool_id)
        cluster = clusters[(number - 1) % len(clusters)]
        pools.append({"id": pool_id, "uuid": pool_uuid, "name": f"{zone.prefix}nfs-primary-{number}", "zone_id": zone.id,
                      "pod_id": zone.id, "cluster_id": cluster["id"], "type": "NetworkFilesystem", "scope": "CLUSTER",
                      "path": f"/export/primary/{pool_id}", "ipaddress": f"10.2.0.{pool_id}",
                      "datastore": pool_uuid.replace("-", ""), "capacity": 2048 * GIB, "state": "Up", "tags": None,
                      "created": created(100 + pool_id)})
    vmfs_id = first + scale.pools + 1
    pools.append({"id": vmfs_id, "uuid": uuid_for("pool", vmfs_id), "name": f"{zone.prefix}vmfs-primary-1",
                  "zone_id": zone.id, "pod_id": zone.id, "cluster_id": clusters[0]["id"], "type": "VMFS", "scope": "CLUSTER",
                  "path": f"/{zone.topology['datacenter']}/{zone.prefix}vmfs-ds-1", "ipaddress": "VMFS datastore",
                  "datastore": f"{zone.prefix}vmfs-ds-1", "capacity": 1024 * GIB, "state": "Up", "tags": None,
                  "created": created(100 + vmfs_id)})
    for pool in pools:
        store.insert("pools", pool)
    return pools


def _seed_vms(store, rng: random.Random, zone: _Zone, clusters: list[dict], pools: list[dict], scale: Scale) -> None:
    volume_id, first_vm = store.get_meta("next_volume_id", 1) - 1, max(_next_id(store, "vms"), 2) + 1
    for index in range(scale.vms):
        vm_id = first_vm + index
        account_id = TENANT_ACCOUNT_ID if index % 4 == 3 else ADMIN_ACCOUNT_ID
        cluster = clusters[index % len(clusters)]
        host = cluster["hosts"][(index // len(clusters)) % len(cluster["hosts"])]
        running = rng.random() < 0.6
        store.insert("vms", {"id": vm_id, "uuid": uuid_for("vm", vm_id), "name": f"vm-{vm_id:04d}",
                             "display_name": f"vm-{vm_id:04d}", "instance_name": f"i-{account_id}-{vm_id}-VM",
                             "account_id": account_id, "zone_id": zone.id, "host_id": host["id"] if running else None,
                             "last_host_id": host["id"], "state": "Running" if running else "Stopped",
                             "created": created(1000 + vm_id)})
        cluster_pools = [pool for pool in pools if pool["cluster_id"] == cluster["id"]]
        for disk in range(scale.data_disks_per_vm + 1):
            volume_id += 1
            kind = "ROOT" if disk == 0 else "DATADISK"
            path = f"ROOT-{vm_id}" if disk == 0 else uuid_for("volume", volume_id).replace("-", "")
            store.insert("volumes", {
                "id": volume_id, "uuid": uuid_for("volume", volume_id), "name": path if disk == 0 else f"DATA-{volume_id}",
                "type": kind, "account_id": account_id, "zone_id": zone.id, "vm_id": vm_id, "device_id": disk,
                "pool_id": rng.choice(cluster_pools)["id"], "path": path, "size": rng.choice((8, 10, 16, 20, 50)) * GIB,
                "state": "Ready", "created": created(1000 + vm_id)})
    store.set_meta("next_volume_id", volume_id + 1)


def _seed_detached(store, rng: random.Random, zone: _Zone, pools: list[dict], scale: Scale) -> None:
    volume_id = store.get_meta("next_volume_id", 1)
    for _number in range(scale.detached_volumes):
        path = uuid_for("volume", volume_id).replace("-", "")
        store.insert("volumes", {
            "id": volume_id, "uuid": uuid_for("volume", volume_id), "name": f"DATA-{volume_id}", "type": "DATADISK",
            "account_id": ADMIN_ACCOUNT_ID, "zone_id": zone.id, "vm_id": None, "device_id": None,
            "pool_id": rng.choice(pools)["id"], "path": path, "size": rng.choice((5, 10, 25)) * GIB,
            "state": "Ready", "created": created(5000 + volume_id)})
        volume_id += 1
    store.set_meta("next_volume_id", volume_id)


def deploy(sim) -> None:
    """Create in each zone's vcsim what the records describe: datastores, VMs with their disks, detached disks."""
    store = sim.store
    clusters = {row["id"]: row for row in store.all("SELECT * FROM clusters")}
    pools = {row["id"]: row for row in store.all("SELECT * FROM pools")}
    for pool in pools.values():
        cloud_uuid = pool["uuid"] if pool["type"] == "VMFS" else None
        sim.backend_of(pool["zone_id"]).create_datastore(pool["datastore"], clusters[pool["cluster_id"]]["name"],
                                                         cloud_uuid=cloud_uuid)
    hosts = {row["id"]: row for row in store.all("SELECT * FROM hosts")}
    volumes = store.all("SELECT * FROM volumes WHERE removed IS NULL ORDER BY vm_id, device_id")
    by_vm: dict = {}
    for volume in volumes:
        by_vm.setdefault(volume["vm_id"], []).append(volume)
    specs: dict = {}
    for vm in store.all("SELECT * FROM vms ORDER BY id"):
        disks = [{"datastore": pools[volume["pool_id"]]["datastore"], "file": f"{vm['instance_name']}/{volume['path']}.vmdk",
                  "size_mb": 1} for volume in by_vm.get(vm["id"], [])]
        specs.setdefault(vm["zone_id"], []).append({
            "instance_name": vm["instance_name"], "vcenter_name": vm["instance_name"],
            "host_name": hosts[vm["host_id"] or vm["last_host_id"]]["name"], "disks": disks,
            "powered_on": vm["state"] == "Running"})
    for zone_id, zone_specs in specs.items():
        for start in range(0, len(zone_specs), DEPLOY_BATCH):
            sim.backend_of(zone_id).create_vms(zone_specs[start:start + DEPLOY_BATCH])
    for volume in by_vm.get(None, []):
        pool = pools[volume["pool_id"]]
        sim.backend_of(pool["zone_id"]).create_detached_disk(pool["datastore"], f"{volume['path']}.vmdk", 1)


def redeploy(sim) -> None:
    """After a reset: the vcsims were restarted empty; the files of the last deployment go too (every zone's
    datastores are directories of one root)."""
    root = sim.backend.datastore_root
    for pool in sim.store.all("SELECT datastore FROM pools"):
        shutil.rmtree(root / pool["datastore"], ignore_errors=True)
    deploy(sim)
