"""vcsim as the lab runs it: build cache, TLS validation, the /lab/ control endpoint, reset by restart."""

from __future__ import annotations

import hashlib
import json
import ssl

import pytest
from pyVmomi import vim

from lab.vcsim_process import SOURCE, build_vcsim
from lab.vsphere import LabVSphere, VSphereError

CLUSTER = "DC0_C0"


def _connect(process, **kwargs):
    return LabVSphere(kwargs.pop("host", process.host), process.port, "user", "password", **kwargs).connect()


def test_build_is_skipped_when_the_stamp_matches(vcsim_binary):
    before = vcsim_binary.stat().st_mtime_ns
    again = build_vcsim(vcsim_binary.parent.parent)
    assert again == vcsim_binary
    assert again.stat().st_mtime_ns == before
    assert (again.parent / "vcsim.sha256").read_text().strip() == hashlib.sha256(SOURCE.read_bytes()).hexdigest()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_tls_is_validated_with_the_ca_file(vcsim, host):
    client = _connect(vcsim, host=host, ca_file=str(vcsim.ca_file))
    try:
        assert client.content.about.apiType == "VirtualCenter"
    finally:
        client.disconnect()


def test_tls_is_rejected_without_the_ca_file(vcsim):
    with pytest.raises(ssl.SSLCertVerificationError):
        _connect(vcsim, ca_file=None)


def test_restart_keeps_the_port_and_empties_the_inventory(fresh_vcsim, tmp_path):
    vcsim = fresh_vcsim  # the session's vcsim, emptied: other tests of this worker leave VMs in it
    client = _connect(vcsim, ca_file=str(vcsim.ca_file))
    hosts = client.cluster_hosts(CLUSTER)[1]
    client.create_datastore("ds1", str(tmp_path / "ds1"), hosts)
    client.create_vm("vm1", hosts[0], [{"datastore": "ds1", "file": "vm1/vm1.vmdk", "size_mb": 1}])
    assert [props["name"] for _moref, props in client.retrieve(vim.VirtualMachine, ["name"])] == ["vm1"]
    port = vcsim.port

    vcsim.restart()

    client = _connect(vcsim, ca_file=str(vcsim.ca_file))
    assert vcsim.port == port
    assert client.retrieve(vim.VirtualMachine, ["name"]) == []
    assert client.retrieve(vim.Datastore, ["name"]) == []
    assert len(client.retrieve(vim.HostSystem, ["name"])) == 2


def test_datastore_flags_set_through_lab_are_visible_through_soap(fresh_vcsim, tmp_path):
    client = _connect(fresh_vcsim, ca_file=str(fresh_vcsim.ca_file))
    hosts = client.cluster_hosts(CLUSTER)[1]
    client.create_datastore("pool1", str(tmp_path / "pool1"), hosts)

    client.set_datastore_flags("pool1", accessible=False, maintenance="inMaintenance")

    (_moref, props), = client.retrieve(vim.Datastore, ["summary.accessible", "summary.maintenanceMode", "host"])
    assert props["summary.accessible"] is False
    assert props["summary.maintenanceMode"] == "inMaintenance"
    assert [mount.mountInfo.accessible for mount in props["host"]] == [False, False]


def test_cluster_datastore_is_mounted_on_every_host_once(fresh_vcsim, tmp_path):
    client = _connect(fresh_vcsim, ca_file=str(fresh_vcsim.ca_file))
    hosts = client.cluster_hosts(CLUSTER)[1]
    client.create_datastore("pool1", str(tmp_path / "pool1"), hosts)

    (_moref, props), = client.retrieve(vim.Datastore, ["host"])
    assert sorted(mount.key._moId for mount in props["host"]) == sorted(h._moId for h in hosts)
    assert len(client.datacenter.datastoreFolder.childEntity) == 1
    for _moref, host_props in client.retrieve(vim.HostSystem, ["datastore"]):
        assert len(host_props["datastore"]) == 1


def test_vm_connection_state_set_through_lab_is_visible_through_soap(fresh_vcsim, tmp_path):
    client = _connect(fresh_vcsim, ca_file=str(fresh_vcsim.ca_file))
    hosts = client.cluster_hosts(CLUSTER)[1]
    client.create_datastore("pool1", str(tmp_path / "pool1"), hosts)
    client.create_vm("vm1", hosts[0], [{"datastore": "pool1", "file": "vm1/vm1.vmdk", "size_mb": 1}])

    client.set_vm_connection_state("vm1", "orphaned")

    (_moref, props), = client.retrieve(vim.VirtualMachine, ["runtime.connectionState", "summary.runtime.connectionState"])
    assert props == {"runtime.connectionState": "orphaned", "summary.runtime.connectionState": "orphaned"}


def test_lab_endpoint_refuses_unknown_objects_and_states(fresh_vcsim):
    client = _connect(fresh_vcsim, ca_file=str(fresh_vcsim.ca_file))
    with pytest.raises(VSphereError, match="no datastore named"):
        client.set_datastore_flags("missing", accessible=False)
    with pytest.raises(VSphereError, match="no VM named"):
        client.set_vm_connection_state("missing", "orphaned")


# ---- labctl and the lab fixture: vcsim and the simulator together -------------------------

EXPECTED_ENV = {"CLOUDSTACK_ENDPOINT", "CLOUDSTACK_KEY", "CLOUDSTACK_SECRET", "VMWARE_HOST", "VMWARE_USER",
                "VMWARE_PASSWORD", "VMWARE_PORT", "VMWARE_VALIDATE_CERTS", "VMWARE_CA_CERT", "LAB_CONTROL_URL",
                "LAB_USER_KEY", "LAB_USER_SECRET", "LAB_DIR", "LAB_ZONES"}


@pytest.mark.lab
def test_labctl_up_reset_down(tmp_path):
    from lab import labctl  # pylint: disable=import-outside-toplevel
    from lab.fixtures import Lab  # pylint: disable=import-outside-toplevel
    lab = Lab.up(tmp_path / "lab")
    try:
        assert set(lab.env) == EXPECTED_ENV
        assert labctl.read_env(lab.lab_dir) == lab.env
        assert "vmware_ca_cert: %s" % json.dumps(lab.env["VMWARE_CA_CERT"]) in (lab.lab_dir / "lab_vars.yml").read_text()
        vms = lab.admin().listVirtualMachines(listall=True)["virtualmachine"]
        in_vcenter = lab.vsphere.vsphere.retrieve(vim.VirtualMachine, ["name"])
        assert len(in_vcenter) == len(vms) > 0
        lab.vsphere.unregister_vm(vms[0]["instancename"])

        lab.reset()

        assert len(lab.vsphere.vsphere.retrieve(vim.VirtualMachine, ["name"])) == len(vms)
        assert labctl.read_env(lab.lab_dir)["VMWARE_PORT"] == str(lab.vsphere.vsphere.port)
        assert labctl.status(lab.lab_dir)["simulator"] and labctl.status(lab.lab_dir)["vcsim"]
    finally:
        lab.down()
    assert not labctl.status(lab.lab_dir)["simulator"]
    assert not labctl.status(lab.lab_dir)["vcsim"]
