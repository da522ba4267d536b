# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The drift audit: does CloudStack's record of every VMware volume match vCenter? Read-only.

One paged pass over CloudStack's pools, volumes and VMs; one property-collector read of
the vCenter inventory; one file listing per datastore of the pools in scope (the orphans
need it, and it answers every "is this file there?" of the shared inventory check);
exact-name searches of other datastores only for what the listings could not place.
The VM and disk checks are those of ``_vcenter.inventory.check_inventory``, run over
that single read; pools map to datastores as in ``_cloudstack.records.pool_datastores``.
What is compared is read in ``drift_sources``; the findings' shape is ``drift_findings``; the findings of
vCenter's side alone (orphan files, unrecorded VMs) are ``drift_vcenter``'s.
"""

from __future__ import annotations

import posixpath

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common import problems as problem_codes
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.inventory import check_inventory
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.datastore_paths import (
    datastore_accepted,
    datastore_name,
    normalize_path,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.inventory_facts import (
    DiskExpectation,
    VmExpectation,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._cloudstack.records import volume_label
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.drift_findings import (
    AuditReport,
    Drift,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.drift_sources import (
    VMWARE,
    CloudStackRecords,
    DatastoreFiles,
    Scope,
    base_name,
    cloudstack_record,
    folder_of,
    is_disk_descriptor,
    job_pending,
    relative_path,
    resolve_scope,
    usable,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.zones import refuse_zones_on_several_vcenters
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.drift_vcenter import (
    orphan_drifts,
    unrecorded_vm_drifts,
)


# Volumes whose disk should exist where the record says; others (Allocated, Creating, Destroy...) are not audited.
AUDITED_STATES = ("Ready", "Migrating")
# ---- scope ------------------------------------------------------------------------------------


# ---- the audit --------------------------------------------------------------------------------
class DriftAudit:
    """Compares CloudStack's records with vCenter for a scope; never changes anything."""

    def __init__(self, cloudstack, vcenter, datacenter=None):
        self._cs = cloudstack
        self._vcenter = vcenter
        self._datacenter = datacenter

    def run(self, zone=None, cluster=None, pool=None):
        pools = self._cs.list_storage_pools()
        scope = resolve_scope(self._cs, pools, zone=zone, cluster=cluster, pool=pool)
        refuse_zones_on_several_vcenters(self._cs, sorted({item.get("zoneid") for item in scope.pools if item.get("zoneid")}))
        return compare(self._cs, scope, pools, self._vcenter, self._datacenter)


def compare(cloudstack, scope, pools, vcenter, datacenter):
    """The report of one scope against one vCenter: the scope's records (one paged pass), one inventory read."""
    records = CloudStackRecords.read(cloudstack, pools, scope.zone_id)
    inventory = vcenter.read_inventory(datacenter)
    return Comparison(scope, records, inventory, DatastoreFiles(vcenter, inventory)).report()


class ZonedDriftAudit:
    """The audit of a cloud whose zones' datacenters live on several vCenters: each zone of the scope compared with
    its own vCenter and datacenter (``ZoneRouter``), one connection at a time, the findings merged into one report."""

    def __init__(self, cloudstack, router, connect):
        self._cs = cloudstack
        self._router = router
        self._connect = connect  # VCenterSettings -> a connected vCenter client (closed here)

    def run(self, zone=None, cluster=None, pool=None):
        pools = self._cs.list_storage_pools()
        scope = resolve_scope(self._cs, pools, zone=zone, cluster=cluster, pool=pool)
        zone_ids = sorted({item.get("zoneid") for item in scope.pools if item.get("zoneid")})
        # every route first: a vCenter missing for one zone stops the audit before any vCenter is read
        routes = [self._router.route(zone_id) for zone_id in zone_ids]
        reports = [self._zone_report(scope, pools, route) for route in routes]
        drifts = sorted([drift for report in reports for drift in report.drifts], key=Drift.sort_key)
        counts = {}
        for report in reports:
            for name, value in report.counts.items():
                counts[name] = counts.get(name, 0) + value
        return AuditReport(dict(scope.as_dict(), zones=[route.as_dict() for route in routes]), drifts, counts)

    def _zone_report(self, scope, pools, route):
        zone_scope = Scope(scope.kind, [item for item in scope.pools if item.get("zoneid") == route.zone_id], route.zone_id,
                           scope.label)
        vcenter = self._connect(route.settings)
        try:
            return compare(self._cs, zone_scope, pools, vcenter, route.datacenter)
        finally:
            vcenter.close()


class Comparison:
    """One comparison of the records with one read of vCenter."""

    def __init__(self, scope, records, inventory, files):
        self.scope = scope
        self.records = records
        self.vms = inventory.get("vms") or []
        self.datastores_by_moid = inventory.get("datastores") or {}
        self._by_name = {ds["name"]: ds for ds in self.datastores_by_moid.values()}
        self.files = files
        scoped_ids = {pool["id"] for pool in scope.pools}
        self.volumes = [volume for volume in records.volumes if volume.get("storageid") in scoped_ids
                        and volume.get("hypervisor") in (VMWARE, None) and volume.get("state") in AUDITED_STATES
                        and not job_pending(volume)]
        self.datastores = [ds for ds in self.datastores_by_moid.values()
                           if (records.pool_of(ds) or {}).get("id") in scoped_ids]
        self.candidates = {}
        self.locations = {}  # volume id -> where vCenter shows its disk
        # every file a vCenter VM uses, delta chains included
        self.attached_files = {normalize_path(path) for vm in self.vms for disk in vm.get("disks") or []
                               for path in [disk.get("file")] + list(disk.get("parent_files") or []) if path}

    def datastore_named(self, name):
        return self._by_name.get(name)

    def report(self):
        self.files.list_all([datastore for datastore in self.datastores if usable(datastore)])
        drifts = self.attached_drifts() + self.detached_drifts() + self.stuck_drifts()
        drifts += orphan_drifts(self) + unrecorded_vm_drifts(self)
        counts = {"volumes": len(self.volumes), "vcenter_vms": len(self.vms), "datastores_listed": len(self.files.listed()),
                  "datastore_searches": self.files.searches}
        return AuditReport(self.scope.as_dict(), sorted(drifts, key=Drift.sort_key), counts)

    # ---- volumes attached to a VM: the shared inventory check over the single read -----------------
    def attached_drifts(self):
        by_vm = {}
        for volume in self.volumes:
            name = self.records.instance_name(volume)
            if volume.get("virtualmachineid") and name:
                by_vm.setdefault(name, []).append(volume)
        expectations = [VmExpectation(ref=name, disks=[DiskExpectation(path=volume["path"],
                                                                       datastores=self.records.identities(volume["storageid"]))
                                                       for volume in volumes if volume.get("path")])
                        for name, volumes in sorted(by_vm.items())]
        report = check_inventory(self.files, expectations)
        problems = {}
        for problem in report.problems:
            problems.setdefault(problem.vm, []).append(problem)
        drifts = []
        for facts in report.vms:
            self._note_locations(facts, by_vm[facts.ref])
            drifts.extend(self._vm_drifts(facts, problems.get(facts.ref, []), by_vm[facts.ref]))
        return drifts

    def _note_locations(self, facts, volumes):
        for volume in volumes:
            disk = _disk_facts(facts, volume.get("path"))
            if disk is not None and disk.file:
                self.locations[volume["id"]] = normalize_path(disk.file)

    def _vm_drifts(self, facts, problems, volumes):
        codes = {problem.code for problem in problems}
        if problem_codes.VM_REGISTERED_AS_OTHER_NAME in codes:
            return [self._vm_renamed(facts, problems, volume) for volume in volumes] + \
                [self._path_null(volume, facts) for volume in volumes if not volume.get("path")]
        if problem_codes.VM_NOT_FOUND in codes:
            return [self._vm_missing(facts, volume) for volume in volumes] + \
                [self._path_null(volume, facts) for volume in volumes if not volume.get("path")]
        if problem_codes.VM_DUPLICATE in codes:
            return [self._vm_duplicate(facts, problems, volumes)]
        drifts = [self._path_null(volume, facts) for volume in volumes if not volume.get("path")]
        by_path = {volume["path"]: volume for volume in volumes if volume.get("path")}
        for problem in problems:
            volume = by_path.get(problem.facts.get("disk"))
            translate = self._disk_translations().get(problem.code)
            if volume is not None and translate is not None:
                drifts.append(translate(volume, facts, problem))
        return drifts

    def _disk_translations(self):
        return {problem_codes.DISK_NOT_ATTACHED: self._path_unmatched, problem_codes.DISK_ON_OTHER_DATASTORE: self._attached_elsewhere,
                problem_codes.DISK_FILE_MISSING: self._attached_file_missing}

    def _vm_missing(self, facts, volume):
        disk = _disk_facts(facts, volume.get("path"))
        vmx = [path for path in facts.leftovers if path.endswith(".vmx")]
        where = _disk_whereabouts(volume, disk)
        fix = {"action": "register_vm", "vmx": vmx[0]} if len(vmx) == 1 else {"action": "investigate"}
        return self._drift(
            problem_codes.VM_NOT_FOUND, volume, "VM %s of volume %s is not in the vCenter inventory; %s%s" % (
                facts.ref, volume_label(volume), where, "; its configuration is at %s" % vmx[0] if vmx else ""),
            "Register the VM in vCenter again from %s (as %s), then audit again; migrate none of its volumes before"
            % (vmx[0], facts.ref) if len(vmx) == 1 else "Find the VM's files and register it again, or restore it",
            fix, vcenter={"vm_found": False, "leftovers": list(facts.leftovers), "file": disk.file if disk else None,
                          "datastore": disk.datastore if disk else None})

    def _vm_renamed(self, facts, problems, volume):
        """The VM is in the inventory under another name (by its .vmx path or annotation): not to be registered again."""
        problem = next(problem for problem in problems if problem.code == problem_codes.VM_REGISTERED_AS_OTHER_NAME)
        found = problem.facts.get("registered_as") or []
        return self._drift(
            problem_codes.VM_NOT_FOUND, volume, "VM %s of volume %s is not found by its name: %s" % (facts.ref, volume_label(volume), problem.message),
            "Rename the VM %s back to %s in vCenter (or set its custom attribute cloud.vm.internal.name to %s), then audit "
            "again; migrate none of its volumes before" % (found[0].get("name") if found else "?", facts.ref, facts.ref),
            {"action": "investigate"}, vcenter={"vm_found": False, "registered_as": [dict(item) for item in found]})

    def _vm_duplicate(self, facts, problems, volumes):
        found = next(problem.facts.get("matches") for problem in problems if problem.code == problem_codes.VM_DUPLICATE)
        return Drift(problem_codes.VM_DUPLICATE, "%s matches %d VMs of the vCenter inventory: %s" % (facts.ref, facts.matches, ", ".join(found)),
                     "Rename or remove the VMs that are not CloudStack's %s, so that its name finds one VM" % facts.ref,
                     {"action": "investigate"}, instance_name=facts.ref,
                     cloudstack={"volumes": [volume["id"] for volume in volumes]}, vcenter={"matches": found})

    def _path_unmatched(self, volume, facts, problem):
        places = self._places(volume["path"])
        unclaimed = self._unclaimed_disks(facts)
        if len(places) == 1:
            text = "the file %s.vmdk is at %s, not attached to the VM" % (volume["path"], places[0])
        else:
            text = "no file %s.vmdk was found on the datastores" % volume["path"] if not places else \
                "files %s.vmdk are at %s" % (volume["path"], ", ".join(places))
        fix = self._path_fix(volume, unclaimed)
        return self._drift(
            problem_codes.VOLUME_PATH_UNMATCHED, volume, "Volume %s has path %s, but VM %s has no such disk (exact name); %s" % (
                volume_label(volume), volume["path"], facts.ref, text),
            self._update_text(fix, "the VM's disks do not tell which disk the volume is: compare the VM's disks with the "
                              "volume's size and history"),
            fix, vcenter={"vm": facts.ref, "attached": problem.facts.get("attached"), "found_at": places,
                          "unclaimed_disks": unclaimed})

    def _attached_elsewhere(self, volume, facts, problem):
        disk = _disk_facts(facts, volume["path"])
        datastore = self.datastore_named(disk.datastore) if disk else None
        pool = self.records.pool_of(datastore) if datastore else None
        return self._elsewhere(volume, disk.file if disk else problem.facts.get("file"), datastore, pool, facts.ref)

    def _attached_file_missing(self, volume, facts, problem):
        return self._drift(
            problem_codes.DISK_FILE_MISSING, volume, "Disk %s of VM %s (volume %s) is attached, but its file is not on the datastore" % (
                problem.facts.get("file"), facts.ref, volume_label(volume)),
            "Restore the disk from a backup; the record cannot be repaired from vCenter, and the volume must not be "
            "migrated", {"action": "restore_disk"}, vcenter={"vm": facts.ref, "file": problem.facts.get("file"), "exists": False})

    def _path_null(self, volume, facts=None):
        candidates = self._null_path_candidates(volume, facts)
        for path in candidates:
            self.candidates[path] = volume["id"]
        fix = self._path_fix(volume, candidates)
        return self._drift(
            problem_codes.VOLUME_PATH_NULL, volume, "Volume %s has no path in CloudStack (the fingerprint of apache/cloudstack#9881: a "
            "migration reported as a success that moved nothing)%s" % (
                volume_label(volume), "; its disk is probably %s" % candidates[0] if len(candidates) == 1 else
                "; candidate disks: %s" % ", ".join(candidates) if candidates else "; no candidate disk was found"),
            self._update_text(fix, "no single disk is left for the volume: find its disk before any change"),
            fix, vcenter={"vm": facts.ref if facts else None, "vm_found": facts.found if facts else None,
                          "candidates": candidates})

    def _null_path_candidates(self, volume, facts):
        """Disks that no volume claims: the VM's own, or files in a missing VM's folder."""
        if facts is None:
            return []
        if facts.found:
            return self._unclaimed_disks(facts)
        vmx_folders = {folder_of(path) for path in facts.leftovers if path.endswith(".vmx")}
        for datastore_path in facts.leftovers:
            datastore = self.datastore_named(datastore_name(datastore_path))
            if datastore is not None and usable(datastore):
                self.files.listing(datastore)

        def in_vmfolder_of(path):
            if vmx_folders:
                return folder_of(path) in vmx_folders
            return posixpath.dirname(relative_path(path)).lower() == facts.ref.lower()

        return sorted(path for path in self.files.every_listed_file() if in_vmfolder_of(path) and is_disk_descriptor(path)
                      and not self.records.referenced(path) and path not in self.attached_files)

    def _unclaimed_disks(self, facts):
        vm = next(vm for vm in self.vms if vm["moid"] == facts.moid)
        return sorted(normalize_path(disk["file"]) for disk in vm.get("disks") or []
                      if disk.get("file") and not self.records.referenced(disk["file"]))

    def _path_fix(self, volume, candidates):
        if len(candidates) != 1:
            return {"action": "investigate"}
        datastore = self.datastore_named(datastore_name(candidates[0]))
        pool = self.records.pool_of(datastore) if datastore else None
        if pool is None:
            return {"action": "investigate"}
        params = {"path": base_name(candidates[0])}
        if pool["id"] != volume.get("storageid"):
            params["storageid"] = pool["id"]
        return {"action": "update_volume", "volume_id": volume["id"], "params": params}

    @staticmethod
    def _update_text(fix, otherwise):
        if fix["action"] != "update_volume":
            return "Investigate: %s" % otherwise
        return "Repair the record: updateVolume id=%s %s" % (
            fix["volume_id"], " ".join("%s=%s" % item for item in sorted(fix["params"].items())))

    # ---- volumes without a VM: the listings say where their file is --------------------------------
    def detached_drifts(self):
        drifts = []
        for volume in self.volumes:
            if volume.get("virtualmachineid"):
                continue
            if not volume.get("path"):
                drifts.append(self._path_null(volume))
                continue
            places = self._places(volume["path"])
            if places:
                self.locations[volume["id"]] = places[0]
            identities = self.records.identities(volume["storageid"])
            if any(datastore_accepted(self.datastore_named(datastore_name(path)), identities) for path in places):
                continue
            if places:
                datastore = self.datastore_named(datastore_name(places[0]))
                drifts.append(self._elsewhere(volume, places[0], datastore, self.records.pool_of(datastore), None))
            elif self._readable(identities):
                drifts.append(self._drift(
                    problem_codes.DISK_FILE_MISSING, volume,
                    "The file %s.vmdk of detached volume %s is on no datastore" % (volume["path"], volume_label(volume)),
                    "Restore the disk from a backup; the record cannot be repaired from vCenter", {"action": "restore_disk"},
                    vcenter={"file": None, "exists": False}))
        return drifts

    def _places(self, path):
        """Where <path>.vmdk is: in the listings, else by searches of the other usable datastores."""
        name = path + ".vmdk"
        found = self.files.named(name)
        if found:
            return found
        for datastore in [ds for ds in self.datastores_by_moid.values() if usable(ds)]:
            if datastore["moid"] not in self.files.listed():
                found.extend(normalize_path(item) for item in self.files.search_datastore(datastore, [name]))
        return sorted(found)

    def _readable(self, identities):
        """A file is "missing" only when the record's datastore could be read."""
        return any(datastore_accepted(ds, identities) and usable(ds) for ds in self.datastores_by_moid.values())

    def _elsewhere(self, volume, file_path, datastore, pool, instance_name):
        name = datastore.get("name") if datastore else datastore_name(file_path)
        if pool is not None:
            fix = {"action": "update_volume", "volume_id": volume["id"], "params": {"storageid": pool["id"]}}
            text = "Repair the record: updateVolume id=%s storageid=%s (pool %s)" % (
                volume["id"], pool["id"], pool.get("name"))
        else:
            fix = {"action": "investigate"}
            text = "Datastore %s belongs to no CloudStack pool: move the disk back to a datastore of pool %s" % (
                name, volume.get("storage"))
        return self._drift(
            problem_codes.DISK_ON_OTHER_DATASTORE, volume, "The disk of volume %s is at %s, on datastore %s%s, but the record says pool %s" % (
                volume_label(volume), file_path, name, " (pool %s)" % pool.get("name") if pool else "", volume.get("storage")),
            text, fix, datastore_path=file_path, vcenter={"vm": instance_name, "file": file_path, "datastore": name,
                                                          "pool_id": pool["id"] if pool else None,
                                                          "pool_name": pool.get("name") if pool else None})

    # ---- records stuck in Migrating -----------------------------------------------------------------
    def stuck_drifts(self):
        return [self._stuck(volume) for volume in self.volumes if volume.get("state") == "Migrating"]

    def _stuck(self, volume):
        location = self.locations.get(volume["id"])
        datastore = self.datastore_named(datastore_name(location)) if location else None
        pool = self.records.pool_of(datastore) if datastore else None
        if location is None:
            # Ready would claim a disk nobody can find: find the disk first (its other drift items say what is known).
            fix = {"action": "investigate", "volume_id": volume["id"]}
            text = "Find the volume's disk first (see its other drift items); then set the record's pool, path and state"
        else:
            params = {"state": "Ready"}
            if pool is not None and pool["id"] != volume.get("storageid"):
                params["storageid"] = pool["id"]
            fix = {"action": "update_volume", "volume_id": volume["id"], "params": params}
            text = self._update_text(fix, "")
        return self._drift(
            problem_codes.VOLUME_STUCK_MIGRATING, volume, "Volume %s is Migrating but no CloudStack job is running on it (a management server "
            "restart during a migration leaves it so); vCenter shows its disk %s" % (
                volume_label(volume), "at %s" % location if location else "nowhere (see its other drift)"),
            text, fix,
            vcenter={"file": location, "datastore": datastore.get("name") if datastore else None,
                     "pool_id": pool["id"] if pool else None})

    # ---- shapes ---------------------------------------------------------------------------------------
    def _drift(self, code, volume, message, suggested_fix, fix, datastore_path=None, vcenter=None):
        return Drift(code, message, suggested_fix, fix, volume_id=volume["id"], instance_name=self.records.instance_name(volume),
                     datastore_path=datastore_path, cloudstack=cloudstack_record(volume), vcenter=vcenter or {})


def _disk_whereabouts(volume, disk):
    if not volume.get("path"):
        return "the record has no path, so its disk is unknown"
    if disk is not None and disk.file:
        return "its disk is still at %s" % disk.file
    return "its disk %s.vmdk was not found on the datastores searched" % volume["path"]


def _disk_facts(facts, path):
    return next((disk for disk in facts.disks if disk.path == path), None)
