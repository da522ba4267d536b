# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The drift audit's findings on vCenter's side alone: disk files no volume and no VM uses, and VMs that look like
CloudStack instances without a record. Both read one ``drift_audit.Comparison`` (its records, its read of vCenter and
its datastore listings); read-only."""

from __future__ import annotations

import re

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common import problems as problem_codes
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.drift_findings import Drift
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.drift_sources import (
    is_disk_descriptor,
    touches,
)

# User VM instance names: i-<account id>-<vm id>-<instance.name setting>.
INSTANCE_NAME = re.compile(r"^i-\d+-\d+-\S+$", re.IGNORECASE)


def orphan_drifts(comparison):
    drifts = []
    for datastore in comparison.datastores:
        if datastore["moid"] not in comparison.files.listed():
            continue
        pool = comparison.records.pool_of(datastore)
        for path in comparison.files.listing(datastore):
            if is_disk_descriptor(path) and path not in comparison.attached_files and path not in comparison.candidates \
                    and not comparison.records.referenced(path):
                drifts.append(Drift(
                    problem_codes.ORPHAN_VMDK, "%s is on datastore %s of pool %s, but no CloudStack volume and no vCenter VM uses it"
                    % (path, datastore["name"], pool.get("name")),
                    "Check that nothing needs it (a backup, a volume of another cloud, a disk to import), then import "
                    "it as a volume or delete it", {"action": "investigate"}, datastore_path=path,
                    cloudstack={"pool_id": pool["id"], "pool_name": pool.get("name")},
                    vcenter={"datastore": datastore["name"], "file": path}))
    return drifts


def unrecorded_vm_drifts(comparison):
    scoped = {ds["name"] for ds in comparison.datastores}
    return [Drift(
        problem_codes.UNRECORDED_VM, "vCenter VM %s (%s) looks like a CloudStack instance but CloudStack has no record of it" % (
            vm.get("name"), vm["moid"]),
        "Import it into CloudStack (importUnmanagedInstance) or, once nothing needs it, remove it from vCenter",
        {"action": "investigate"}, instance_name=vm.get("internal_name") or vm.get("name"), datastore_path=vm.get("vmx_path"),
        vcenter={"moid": vm["moid"], "name": vm.get("name"), "internal_name": vm.get("internal_name"),
                 "power_state": vm.get("power_state"), "vmx_path": vm.get("vmx_path"),
                 "disks": [disk.get("file") for disk in vm.get("disks") or []]})
        for vm in comparison.vms
        if _looks_unrecorded(comparison.records, vm) and (comparison.scope.kind == "all" or touches(vm, scoped))]


def _looks_unrecorded(records, vm):
    names = [name for name in (vm.get("name"), vm.get("internal_name")) if name]
    return any(INSTANCE_NAME.match(name) for name in names) and \
        not any(name.lower() in records.instance_names for name in names)
