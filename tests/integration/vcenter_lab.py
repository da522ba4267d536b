"""A vcsim of its own for the vCenter integration tests and the benchmark, with the inventory cases of issue 3.

The tests change vCenter's state (unregister, orphan, maintenance), so they run on their own
vcsim (the lab's real vcsim and the lab's own pyVmomi toolkit), not on the shared lab. This
vcsim accepts only USER/PASSWORD, as a vCenter does.
"""

from __future__ import annotations

from collections import Counter

from pyVmomi.SoapAdapter import SoapStubAdapter

from lab.vcsim_process import VcsimProcess, build_vcsim
from lab.vsphere import LabVSphere

USER, PASSWORD = "vcenter-it", "it-password"
POOL_UUID = "5e0a1b2c-3d4e-4f50-8a9b-0c1d2e3f4a5b"
CREATE_BATCH = 500  # VMs created per round of CreateVM_Task calls


class SoapCalls:
    """Counts every SOAP call pyVmomi makes, by method, while active (tests and bench only, never the collection).

    Property reads through attributes (``vm.name``) are SOAP calls too: pyVmomi sends them as ``Fetch``.
    """

    def __init__(self):
        self.by_method = Counter()
        self._original = None

    def __enter__(self):
        original, by_method = SoapStubAdapter.InvokeMethod, self.by_method

        def counted(stub, mo, info, *args, **kwargs):
            by_method[info.wsdlName] += 1
            return original(stub, mo, info, *args, **kwargs)
        self._original, SoapStubAdapter.InvokeMethod = original, counted
        return self

    def __exit__(self, *exc_info):
        SoapStubAdapter.InvokeMethod = self._original
        return False

    @property
    def total(self):
        return sum(self.by_method.values())


class InventoryLab:
    """vcsim started in ``lab_dir``, with datastores ds1 (pool ``POOL_UUID``), ds2, dsmaint and dsoff."""

    def __init__(self, lab_dir, hosts=1):
        self.lab_dir = lab_dir
        self.vcsim = VcsimProcess(lab_dir, binary=build_vcsim(lab_dir), clusters=1, hosts_per_cluster=hosts,
                                  credentials=(USER, PASSWORD))
        self.vsphere = None
        self.hosts = []

    def start(self):
        self.vcsim.start()
        self.vsphere = LabVSphere(self.vcsim.host, self.vcsim.port, USER, PASSWORD, ca_file=str(self.vcsim.ca_file)).connect()
        self.hosts = [self.vsphere.hosts_by_name()[name] for name in sorted(self.vsphere.hosts_by_name())]
        for name, cloud_uuid in (("ds1", POOL_UUID), ("ds2", None), ("dsmaint", None), ("dsoff", None)):
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

    def module_params(self, vms, **overrides):
        """The validated parameters vmware_inventory_assert would hand to its service."""
        params = {"hostname": self.vcsim.host, "port": self.vcsim.port, "username": USER, "password": PASSWORD,
                  "validate_certs": True, "ca_cert": str(self.vcsim.ca_file), "datacenter": None, "vms": vms,
                  "verify_files": True, "fail_on_problems": True}
        params.update(overrides)
        return params

    def add_scale_vms(self, first, count):
        """VMs i-2-<n>-VM for n in [first, first + count), each with ROOT-<n> on ds1 or ds2, spread over the hosts."""
        for start in range(first, first + count, CREATE_BATCH):
            numbers = range(start, min(first + count, start + CREATE_BATCH))
            self.vsphere.create_vms([{"name": "i-2-%d-VM" % n, "host": self.hosts[n % len(self.hosts)],
                                      "disks": [{"datastore": scale_datastore(n), "file": "i-2-%d-VM/ROOT-%d.vmdk" % (n, n)}]}
                                     for n in numbers])

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
        self.vm("i-2-81-VM", ["ROOT-81"], datastore="dsoff")
        vsphere.set_datastore_flags("dsoff", accessible=False)
        self.vm("i-2-85-VM", ["ROOT-85"])
        for leftover in self.datastore_files("ds1", "i-2-85-VM/ROOT-85"):                # deleted behind vCenter's back
            leftover.unlink()
        vsphere.create_snapshot(self.vm("i-2-90-VM", ["ROOT-90"]), "before-upgrade")

    def datastore_files(self, datastore, stem):
        """The files on disk behind "[datastore] <stem>.vmdk" (descriptor and extent): the lab's ground truth."""
        return sorted((self.lab_dir / "datastores" / datastore).glob(stem + "*.vmdk"))


def scale_datastore(number):
    return "ds1" if number % 2 == 0 else "ds2"


def scale_expectations(first, count):
    """The ``vms`` option asserting the VMs of ``add_scale_vms``: each on its datastore, with its ROOT disk."""
    return [{"name": "i-2-%d-VM" % n, "disks": [{"path": "ROOT-%d" % n, "datastores": [scale_datastore(n)]}]}
            for n in range(first, first + count)]
