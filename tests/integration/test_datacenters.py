"""Two datacenters in one vCenter, each holding a VM of the same name: looked up in its own datacenter (as a zone's
VMs are, through the datacenter listVmwareDcs names), a VM is found once, never a duplicate of the other's; read
vCenter-wide, the two are the duplicate they would be in one datacenter."""

from __future__ import annotations

import pytest

from integration.conftest import run_module  # pylint: disable=import-error
from integration.vcenter_lab import PASSWORD, USER  # pylint: disable=import-error
from lab.vcsim_process import VcsimProcess, build_vcsim
from lab.vsphere import LabVSphere

pytestmark = pytest.mark.lab

MODULE = "vmware_inventory_assert"
VM = {"name": "i-2-7-VM", "disks": [{"path": "ROOT-7"}]}


@pytest.fixture(scope="module")
def two_datacenters(tmp_path_factory):
    """A vcsim with DC0 and DC1, each with a datastore of its own and a VM i-2-7-VM whose ROOT-7 is on it."""
    lab_dir = tmp_path_factory.mktemp("datacenters")
    vcsim = VcsimProcess(lab_dir, binary=build_vcsim(lab_dir), clusters=1, hosts_per_cluster=1,
                         credentials=(USER, PASSWORD), datacenters=2).start()
    vsphere = LabVSphere(vcsim.host, vcsim.port, USER, PASSWORD, ca_file=str(vcsim.ca_file)).connect()
    try:
        for datacenter in ("DC0", "DC1"):
            hosts = list(vsphere.use_datacenter(datacenter).hosts_by_name().values())
            datastore = "ds-%s" % datacenter.lower()
            vsphere.create_datastore(datastore, str(lab_dir / "datastores" / datastore), hosts)
            vsphere.create_vm(VM["name"], hosts[0], [{"datastore": datastore, "file": "i-2-7-VM/ROOT-7.vmdk"}])
        yield vcsim, tmp_path_factory.mktemp("runs")
    finally:
        vsphere.disconnect()
        vcsim.stop()


def _env(vcsim):
    return {"VMWARE_HOST": vcsim.host, "VMWARE_PORT": str(vcsim.port), "VMWARE_USER": USER, "VMWARE_PASSWORD": PASSWORD,
            "VMWARE_VALIDATE_CERTS": "true", "VMWARE_CA_CERT": str(vcsim.ca_file)}


@pytest.mark.parametrize("datacenter", ["DC0", "DC1"])
def test_a_vm_is_looked_up_in_its_own_datacenter_only(two_datacenters, datacenter):
    vcsim, runs = two_datacenters
    result = run_module(MODULE, {"vms": [VM], "datacenter": datacenter}, _env(vcsim), runs)

    assert result["ok"] is True and not result.get("failed"), result
    [disk] = result["vms"][0]["disks"]
    assert disk["datastore"] == "ds-%s" % datacenter.lower()


def test_each_vcenter_entry_reads_the_datacenter_its_vm_names(two_datacenters):
    vcsim, runs = two_datacenters
    entry = {"hostname": vcsim.host, "port": vcsim.port, "username": USER, "password": PASSWORD, "ca_cert": str(vcsim.ca_file)}
    vm = dict(VM, vcenter="%s:%s" % (vcsim.host, vcsim.port), datacenter="DC1")

    result = run_module(MODULE, {"vms": [vm], "vcenters": [entry]}, {}, runs)

    assert result["ok"] is True, result
    assert result["vms"][0]["disks"][0]["datastore"] == "ds-dc1"


def test_read_vcenter_wide_the_two_vms_are_a_duplicate(two_datacenters):
    vcsim, runs = two_datacenters
    result = run_module(MODULE, {"vms": [VM], "fail_on_problems": False}, _env(vcsim), runs)

    assert [problem["code"] for problem in result["problems"]] == ["vm_duplicate"], result["problems"]
