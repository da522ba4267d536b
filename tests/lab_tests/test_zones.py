"""A lab of two zones (`labctl up --zones 2`): each zone's datacenter on a vcsim of its own, with its own login;
CloudStack's records of both in one simulator, whose VMware work for a volume goes to its zone's vCenter."""

from __future__ import annotations

import pytest
from pyVmomi import vim

pytestmark = pytest.mark.lab
pytest_plugins = ["lab.fixtures"]  # zones_lab, two_zones


def _zone(admin, name):
    return next(zone for zone in admin.listZones()["zone"] if zone["name"] == name)


def _vm_names(backend):
    return {props["name"] for _vm, props in backend.vsphere.retrieve(vim.VirtualMachine, ["name"])}


def test_each_zone_names_its_own_vcenter_and_holds_its_own_vms(two_zones):
    admin = two_zones.admin()
    env = two_zones.env
    assert env["LAB_ZONES"] == "2" and env["VMWARE_PORT_ZONE2"] != env["VMWARE_PORT"]
    assert env["VMWARE_PASSWORD_ZONE2"] != env["VMWARE_PASSWORD"], "each vCenter has its own login"
    for number, port in ((1, env["VMWARE_PORT"]), (2, env["VMWARE_PORT_ZONE2"])):
        zone = _zone(admin, "zone%d" % number)
        [dc] = admin.listVmwareDcs(zoneid=zone["id"])["VMwareDC"]
        assert dc["vcenter"] == "%s:%s" % (env["VMWARE_HOST"], port) and dc["zoneid"] == zone["id"]
        instances = {vm["instancename"] for vm in admin.listVirtualMachines(listall=True, zoneid=zone["id"])["virtualmachine"]}
        in_vcenter = _vm_names(two_zones.vcenter_backend(number))
        assert len(instances) == 8 and instances <= in_vcenter
        other = _vm_names(two_zones.vcenter_backend(3 - number))
        assert not instances & other, "a zone's VMs are in its own vCenter only"
    pools = {pool["name"]: pool["zonename"] for pool in admin.listStoragePools()["storagepool"]}
    assert pools["z2-nfs-primary-1"] == "zone2" and pools["nfs-primary-1"] == "zone1"


def test_a_volume_of_the_second_zone_moves_in_that_zones_vcenter_and_a_reset_redeploys_both(two_zones):
    admin = two_zones.admin()
    zone = _zone(admin, "zone2")
    vm = admin.listVirtualMachines(listall=True, zoneid=zone["id"], state="Stopped")["virtualmachine"][0]
    volume = admin.listVolumes(listall=True, virtualmachineid=vm["id"], type="DATADISK")["volume"][0]
    destination = next(pool for pool in admin.listStoragePools(clusterid=volume["clusterid"])["storagepool"]
                       if pool["id"] != volume["storageid"] and pool["type"] == "NetworkFilesystem")

    moved = admin.migrateVolume(volumeid=volume["id"], storageid=destination["id"])["volume"]

    assert moved["storageid"] == destination["id"]
    vsphere = two_zones.vcenter_backend(2).vsphere
    [found] = vsphere.find_vms(vm["instancename"])
    disk = vsphere.find_disk(found, volume["path"])
    assert disk.backing.fileName.startswith("[%s] " % destination["id"].replace("-", ""))
    assert two_zones.vmdk_locations(volume["path"]) == ["[%s] %s/%s.vmdk" % (
        destination["id"].replace("-", ""), vm["instancename"], volume["path"])]
    # a reset restores the seeded records and deploys them again in both vCenters
    two_zones.reset()
    assert two_zones.records()[volume["id"]]["storageid"] == volume["storageid"]
    [again] = two_zones.vcenter_backend(2).vsphere.find_vms(vm["instancename"])
    source = volume["storageid"].replace("-", "")
    assert two_zones.vcenter_backend(2).vsphere.find_disk(again, volume["path"]).backing.fileName.startswith("[%s] " % source)
