# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the drift audit compares: the scope, CloudStack's records (one paged pass) and the datastores' files (one
listing per datastore of the scope, exact-name searches elsewhere)."""

from __future__ import annotations

import posixpath
import re
import threading
from dataclasses import dataclass
from typing import Optional

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._cloudstack.records import is_uuid, pool_datastores
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import InvalidInput
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.parallel import in_parallel
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.datastore_paths import (
    datastore_accepted,
    datastore_name,
    normalize_path,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.inventory import SEARCHES_AT_ONCE


VMWARE = "VMware"
PENDING_JOB = 0
POOL_HYPERVISORS = (VMWARE, "Any", None)
# Files that belong to a disk descriptor, not disks of their own.
COMPANION_SUFFIX = re.compile(r"-(flat|delta|ctk|sesparse|digest|rdm|rdmp)$")
SNAPSHOT_SUFFIX = re.compile(r"-\d{6}$")


@dataclass
class Scope:
    """What is audited: the pools of the scope, and the zone they are in (None: every zone)."""
    kind: str
    pools: list
    zone_id: Optional[str] = None
    label: Optional[str] = None

    def as_dict(self):
        return {"kind": self.kind, "name": self.label, "zone_id": self.zone_id,
                "pools": [{"id": pool["id"], "name": pool.get("name")} for pool in self.pools]}


def resolve_scope(cloudstack, pools, zone=None, cluster=None, pool=None):
    """The Scope named by at most one of zone, cluster or pool (a name or a UUID); all VMware pools when none is."""
    vmware_pools = [item for item in pools if item.get("hypervisor") in POOL_HYPERVISORS]
    if zone:
        found = _one("zone", zone, cloudstack.list_zones())
        return Scope("zone", [item for item in vmware_pools if item.get("zoneid") == found["id"]], found["id"], found.get("name"))
    if cluster:
        members = [item for item in vmware_pools if cluster in (item.get("clusterid"), item.get("clustername"))]
        if not members:
            raise InvalidInput("No VMware primary storage pool belongs to cluster %s in CloudStack; give the name or UUID "
                               "of a cluster with cluster-scoped pools" % cluster, cluster=cluster)
        return Scope("cluster", members, members[0].get("zoneid"), members[0].get("clustername"))
    if pool:
        found = _one("storage pool", pool, vmware_pools)
        return Scope("pool", [found] + _children(found, vmware_pools), found.get("zoneid"), found.get("name"))
    return Scope("all", vmware_pools)


def _one(kind, reference, candidates):
    key = "id" if is_uuid(reference) else "name"
    found = [item for item in candidates if item.get(key) == reference]
    if not found:
        raise InvalidInput("No %s %s in CloudStack (VMware only); check the name or UUID" % (kind, reference), scope=reference)
    if len(found) > 1:
        candidates = [item["id"] for item in found]
        raise InvalidInput("The %s name %s is ambiguous (%s); give its UUID" % (kind, reference, ", ".join(candidates)),
                           scope=reference, candidates=candidates)
    return found[0]


def _children(pool, pools):
    """The member pools of a datastore cluster pool (their volumes show the parent's id)."""
    return [item for item in pools if item.get("parent") == pool["id"]]


class CloudStackRecords:
    """One paged pass over the lists, and lookups over them."""

    def __init__(self, pools, volumes, vms):
        self.pools = {pool["id"]: pool for pool in pools}
        self.volumes = volumes
        self.vms = {vm["id"]: vm for vm in vms}
        self.instance_names = {vm["instancename"].lower() for vm in vms if vm.get("instancename")}
        self.paths = {volume["path"] for volume in volumes if volume.get("path")}

    @classmethod
    def read(cls, cloudstack, pools, zone_id):
        zone = {"zoneid": zone_id} if zone_id else {}
        # listsystemvms: system VMs' disks are referenced too (older releases ignore the parameter).
        volumes = cloudstack.list_volumes(listsystemvms=True, **zone)
        return cls(pools, volumes, cloudstack.list_virtual_machines(**zone))

    def instance_name(self, volume):
        return (self.vms.get(volume.get("virtualmachineid")) or {}).get("instancename")

    def identities(self, pool_id):
        """Datastore identities of a pool, its datastore-cluster members included."""
        pool = self.pools.get(pool_id)
        if pool is None:
            return pool_datastores({"id": pool_id})
        identities = pool_datastores(pool)
        for child in _children(pool, self.pools.values()):
            identities.extend(pool_datastores(child))
        return identities

    def pool_of(self, datastore):
        """The pool whose datastore this is (a datastore dict), or None."""
        for pool in self.pools.values():
            if pool.get("type") != "DatastoreCluster" and datastore_accepted(datastore, pool_datastores(pool)):
                return pool
        return None

    def referenced(self, file_path):
        """Is this .vmdk a volume's disk (or a snapshot delta of one), by exact base name?"""
        base = base_name(file_path)
        return base in self.paths or SNAPSHOT_SUFFIX.sub("", base) in self.paths


class DatastoreFiles:
    """Datastore contents for the audit: one listing per listed datastore, exact-name searches elsewhere.

    Also stands in for the vCenter client in ``check_inventory``: its inventory read returns the
    read already made, and its searches are answered from the listings where there is one.
    """

    def __init__(self, client, inventory):
        self._client = client
        self._inventory = inventory
        self._listings = {}
        self._by_file_name = {}
        self.searches = 0
        self._searches_lock = threading.Lock()  # the inventory check searches several datastores at once

    def read_inventory(self, datacenter=None):  # pylint: disable=unused-argument
        return self._inventory

    def listing(self, datastore):
        """Every .vmdk and .vmx of the datastore (listed once)."""
        if datastore["moid"] not in self._listings:
            self._keep(datastore, self._client.list_datastore_files(datastore))
        return self._listings[datastore["moid"]]

    def list_all(self, datastores):
        """``listing`` of every datastore of ``datastores`` not listed yet, several at once (each listing is a vCenter task
        that mostly waits); a failed listing is raised, the first in the order given."""
        wanted = [datastore for datastore in datastores if datastore["moid"] not in self._listings]
        for datastore, paths in zip(wanted, in_parallel(self._client.list_datastore_files, wanted, SEARCHES_AT_ONCE)):
            self._keep(datastore, paths)

    def _keep(self, datastore, paths):
        paths = [normalize_path(path) for path in paths]
        self._listings[datastore["moid"]] = paths
        for path in paths:
            self._by_file_name.setdefault(posixpath.basename(relative_path(path)), []).append(path)

    def named(self, file_name):
        """The listed files called exactly ``file_name``, on every datastore listed so far."""
        return sorted(self._by_file_name.get(file_name, []))

    def every_listed_file(self):
        return [path for paths in self._listings.values() for path in paths]

    def listed(self):
        return list(self._listings)

    def search_datastore(self, datastore, file_names, timeout=None):  # pylint: disable=unused-argument
        wanted = set(file_names)
        if datastore["moid"] in self._listings:
            return [path for path in self._listings[datastore["moid"]] if posixpath.basename(relative_path(path)) in wanted]
        with self._searches_lock:
            self.searches += 1
        return self._client.search_datastore(datastore, sorted(wanted))


def relative_path(path):
    return normalize_path(path).split("] ", 1)[-1]


def base_name(path):
    """"ROOT-3" from "[ds] i-2-3-VM/ROOT-3.vmdk"."""
    name = posixpath.basename(relative_path(path))
    return name[:-len(".vmdk")] if name.endswith(".vmdk") else name


def is_disk_descriptor(path):
    return path.endswith(".vmdk") and not COMPANION_SUFFIX.search(base_name(path))


def usable(datastore):
    return datastore.get("accessible") is not False and (datastore.get("maintenance_mode") or "normal") == "normal" \
        and bool(datastore.get("browser"))


def job_pending(volume):
    return bool(volume.get("jobid")) and str(volume.get("jobstatus", PENDING_JOB)) == str(PENDING_JOB)


def folder_of(path):
    """"[ds] i-2-3-VM" from "[ds] i-2-3-VM/ROOT-3.vmdk"."""
    return "[%s] %s" % (datastore_name(path), posixpath.dirname(relative_path(path)))


def touches(vm, datastore_names):
    files = [vm.get("vmx_path")] + [disk.get("file") for disk in vm.get("disks") or []]
    return any(datastore_name(path) in datastore_names for path in files if path)


def cloudstack_record(volume):
    keys = ("id", "name", "type", "state", "path", "storageid", "storage", "virtualmachineid", "vmname", "zoneid", "jobid")
    return {key: volume.get(key) for key in keys}
