"""A vcsim of its own for the vCenter integration tests, with the inventory cases of issue 3.

The tests change vCenter's state (unregister, orphan, maintenance), so they run on their own
vcsim (the lab's real vcsim and the lab's own pyVmomi toolkit), not on the shared lab.
"""

from __future__ import annotations

from lab.vcsim_process import VcsimProcess, build_vcsim
from lab.vsphere import LabVSphere

USER, PASSWORD = "vcenter-it", "it-password"
POOL_UUID = "5e0a1b2c-3d4e-4f50-8a9b-0c1d2e3f4a5b"


class InventoryLab:
    """vcsim started in ``lab_dir``, with datastores ds1 (pool ``POOL_UUID``), ds2 and dsmaint."""

    def __init__(self, lab_dir):
        self.lab_dir = lab_dir
        self.vcsim = VcsimProcess(lab_dir, binary=build_vcsim(lab_dir), clusters=1, hosts_per_cluster=1)
        self.vsphere = None
        self.hosts = []

    def start(self):
        self.vcsim.start()
        self.vsphere = LabVSphere(self.vcsim.host, self.vcsim.port, USER, PASSWORD, ca_file=str(self.vcsim.ca_file)).connect()
        self.hosts = [self.vsphere.hosts_by_name()[name] for name in sorted(self.vsphere.hosts_by_name())]
        for name, cloud_uuid in (("ds1", POOL_UUID), ("ds2", None), ("dsmaint", None)):
            self.vsphere.create_datastore(name, str(self.lab_dir / "datastores" / name), self.hosts, cloud_uuid=cloud_uuid)
        return self

    def stop(self):
        if self.vsphere is not None:
            self.vsphere.disconnect()
        self.vcsim.stop()

    def env(self, **overrides):
        """VMWARE_* variables as lab.env gives them."""
        env = {"VMWARE_HOST": self.vcsim.host, "VMWARE_PORT": str(self.vcsim.port), "VMWARE_USER": USER,
               "VMWARE_PASSWORD": PASSWORD, "VMWARE_VALIDATE_CERTS": "true", "VMWARE_CA_CERT": str(self.vcsim.ca_file)}
        env.update(overrides)
        return env

    def vm(self, name, disks, datastore="ds1", internal_name=None):
        """A VM with disks [volume path] created as "[datastore] <name>/<path>.vmdk"."""
        specs = [{"datastore": datastore, "file": "%s/%s.vmdk" % (name, path)} for path in disks]
        return self.vsphere.create_vm(name, self.hosts[0], specs, internal_name=internal_name)

    def build_cases(self):
        """The VMs of issue 3's cases; returns nothing, the names say what each is."""
        vsphere = self.vsphere
        vsphere.unregister(self.vm("i-2-34-VM", ["ROOT-34"]))                       # unregistered, files left behind
        vsphere.rename(self.vm("i-2-40-VM", ["ROOT-40"], internal_name="i-2-40-VM"), "web-frontend-40")
        self.vm("i-2-50-VM", ["ROOT-50"])
        self.vm("copy-of-50", ["ROOT-50C"], internal_name="i-2-50-VM")             # a second VM claiming i-2-50-VM
        self.vm("i-2-60-VM", ["ROOT-60"])
        vsphere.set_vm_connection_state("i-2-60-VM", "orphaned")
        self.vm("i-2-61-VM", ["ROOT-61"])
        vsphere.set_vm_connection_state("i-2-61-VM", "inaccessible")
        self.vm("i-2-70-VM", ["ROOT-70"], datastore="ds2")                          # not on the pool's datastore
        self.vm("i-2-3-VM", ["ROOT-3"])                                             # decoy for ROOT-34
        self.vm("i-2-35-VM", ["ROOT-3", "ROOT-35"])                                 # ROOT-3 must pick ROOT-3.vmdk only
        self.vm("i-2-80-VM", ["ROOT-80"], datastore="dsmaint")
        vsphere.set_datastore_flags("dsmaint", maintenance="inMaintenance")
