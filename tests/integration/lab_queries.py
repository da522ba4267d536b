"""Questions the integration tests ask the lab's CloudStack, in one place."""

from __future__ import annotations


def stopped_vm_volumes(admin):
    """A Stopped VM and its volumes (ROOT first)."""
    vm = next(vm for vm in admin.listVirtualMachines(listall=True, fetch_list=True) if vm["state"] == "Stopped")
    volumes = admin.listVolumes(listall=True, virtualmachineid=vm["id"], fetch_list=True)
    return vm, sorted(volumes, key=lambda volume: volume["type"] != "ROOT")


def other_pool(admin, volume):
    """Another pool of the volume's cluster."""
    return next(pool for pool in admin.listStoragePools(fetch_list=True)
                if pool["clusterid"] == volume["clusterid"] and pool["id"] != volume["storageid"])


def datastore_of(pool):
    """The lab's datastore name of a pool: the dash-less uuid (NFS) or the last part of the path (VMFS)."""
    return pool["id"].replace("-", "") if pool["type"] == "NetworkFilesystem" else pool["path"].rsplit("/", 1)[-1]


def placement(lab, volume_id):
    """(pool uuid, path, state) of the volume row as the simulator stores it."""
    row = lab.records()[volume_id]
    return row["storageid"], row["path"], row["state"]


def assert_no_traceback(output):
    """What a user saw has no Python traceback and no module crash."""
    assert "Traceback" not in output, output
    assert "MODULE FAILURE" not in output, output
