"""vmware_inventory_assert's service reads any number of VMs in the same SOAP calls (issue 3's speed design).

The timings at 1,000 and 5,000 VMs are the benchmark's job (bench/inventory_assert.py); this only proves
the property the timings rest on, on a real vcsim: the calls do not grow with the number of VMs.
"""

from __future__ import annotations

import pytest
from pyVmomi import vim

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.client import VCenterClient
from ansible_collections.cloudstack_vmware.safe_migration.plugins.modules.vmware_inventory_assert import assert_inventory
from integration.vcenter_lab import InventoryLab, SoapCalls, scale_expectations  # pylint: disable=import-error

pytestmark = pytest.mark.lab


def assert_all(lab, count):
    with SoapCalls() as calls:
        report = assert_inventory(lab.module_params(scale_expectations(0, count)))
    assert report.ok, report.problems[:3]
    assert len(report.vms) == count and all(disk.file_status == "found" for vm in report.vms for disk in vm.disks)
    return calls.by_method


def test_soap_calls_do_not_grow_with_the_number_of_vms(tmp_path):
    lab = InventoryLab(tmp_path, hosts=2)
    try:
        lab.start()
        lab.add_scale_vms(0, 10)
        with_10 = assert_all(lab, 10)
        lab.add_scale_vms(10, 190)
        with_200 = assert_all(lab, 200)
    finally:
        lab.stop()
    assert with_200 == with_10
    # one container view and one retrieval of what identifies the VMs, one retrieval of the details of those
    # asserted; one search per datastore (ds1, ds2), each followed by one read of its task's state (vcsim
    # finishes tasks within the call)
    assert (with_10["CreateContainerView"], with_10["SearchDatastoreSubFolders_Task"], with_10["RetrievePropertiesEx"]) == (1, 2, 4)


def test_a_few_vms_in_a_large_inventory_have_only_their_own_devices_read(tmp_path, monkeypatch):
    retrievals = []
    original = VCenterClient._retrieve  # pylint: disable=protected-access

    def recorded(client, spec):
        objects = original(client, spec)
        vm_paths = [path for prop in spec.propSet if prop.type is vim.VirtualMachine for path in prop.pathSet]
        if vm_paths:  # not the reads of the datastore searches' tasks
            details = "config.hardware.device" in vm_paths
            retrievals.append((details, sum(isinstance(ref, vim.VirtualMachine) for ref, unused in objects),
                               None if details else sorted(vm_paths)))
        return objects
    monkeypatch.setattr(VCenterClient, "_retrieve", recorded)
    lab = InventoryLab(tmp_path, hosts=2)
    try:
        lab.start()
        lab.add_scale_vms(0, 200)
        report = assert_inventory(lab.module_params(scale_expectations(10, 2)))
    finally:
        lab.stop()
    assert report.ok and [disk.file_status for vm in report.vms for disk in vm.disks] == ["found", "found"]
    # what finds every VM (names and custom attributes, nothing else), then the 2 asserted in full
    assert retrievals == [(False, 200, ["customValue", "name"]), (True, 2, None)]
