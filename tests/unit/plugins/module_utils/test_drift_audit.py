# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The drift audit over fake CloudStack and vCenter clients: one case per drift code, scopes, call counts."""

import copy
import threading
from pathlib import Path

import pytest

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.drift_audit import DriftAudit
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.drift_findings import DRIFT_CODES
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.drift_sources import is_disk_descriptor
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.client import join_datastore_path
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import InvalidInput

ZONE = "0a0a0a0a-0000-4000-8000-000000000001"
ZONE2 = "0a0a0a0a-0000-4000-8000-000000000002"
CLUSTER = "0c0c0c0c-0000-4000-8000-000000000001"
SRC = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
DST = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
VMFS = "cccccccc-cccc-4ccc-8ccc-cccccccccccc"
KVM = "dddddddd-dddd-4ddd-8ddd-dddddddddddd"
SRC_DS, DST_DS = SRC.replace("-", ""), DST.replace("-", "")
VM7 = "77777777-7777-4777-8777-777777777777"
VOL_ROOT = "10000000-0000-4000-8000-000000000007"
VOL_DATA = "20000000-0000-4000-8000-000000000007"
VOL_FREE = "30000000-0000-4000-8000-000000000001"


def pool(pool_id, name, cluster=CLUSTER, zone=ZONE, kind="NetworkFilesystem", path="/export", hypervisor="VMware"):
    return dict(id=pool_id, name=name, zoneid=zone, clusterid=cluster, clustername="C1", type=kind, path=path,
                hypervisor=hypervisor, state="Up")


def volume(volume_id, name, path, storage, vm=VM7, state="Ready", kind="DATADISK", **extra):
    return dict(id=volume_id, name=name, path=path, storageid=storage, storage="pool-" + storage[:4], virtualmachineid=vm,
                state=state, type=kind, hypervisor="VMware", zoneid=ZONE, **extra)


class FakeCloudStack:
    """Three VMware pools (two NFS, one VMFS), one KVM pool, VM i-2-7-VM with ROOT-7 and DATA-7, one detached volume."""

    def __init__(self):
        self.pools = [pool(SRC, "nfs-src"), pool(DST, "nfs-dst"), pool(VMFS, "vmfs-1", kind="VMFS", path="/DC0/vmfs-ds-1"),
                      pool(KVM, "kvm-1", cluster="other", hypervisor="KVM")]
        self.volumes = [volume(VOL_ROOT, "ROOT-7", "ROOT-7", SRC, kind="ROOT"), volume(VOL_DATA, "DATA-7", "data7", SRC),
                        volume(VOL_FREE, "DATA-9", "free9", DST, vm=None)]
        self.vms = [dict(id=VM7, name="web-7", instancename="i-2-7-VM", state="Stopped", zoneid=ZONE)]
        self.zones = [dict(id=ZONE, name="zone1"), dict(id=ZONE2, name="zone2")]
        self.calls = []

    def list_storage_pools(self, **filters):
        self.calls.append(("listStoragePools", filters))
        return copy.deepcopy(self.pools)

    def list_volumes(self, **filters):
        self.calls.append(("listVolumes", filters))
        return [copy.deepcopy(item) for item in self.volumes if item["zoneid"] == filters.get("zoneid", item["zoneid"])]

    def list_virtual_machines(self, **filters):
        self.calls.append(("listVirtualMachines", filters))
        return [copy.deepcopy(item) for item in self.vms if item["zoneid"] == filters.get("zoneid", item["zoneid"])]

    def list_zones(self, **filters):
        self.calls.append(("listZones", filters))
        return copy.deepcopy(self.zones)


def datastore(moid, name, cloud_uuid=None, accessible=True):
    return {"moid": moid, "name": name, "browser": "browser-" + moid, "cloud_uuid": cloud_uuid, "accessible": accessible,
            "maintenance_mode": "normal"}


class FakeVCenter:
    """An inventory and the files of each datastore, consistent with FakeCloudStack until a test changes them."""

    def __init__(self):
        self.datastores = {"ds-src": datastore("ds-src", SRC_DS), "ds-dst": datastore("ds-dst", DST_DS),
                           "ds-vmfs": datastore("ds-vmfs", "vmfs-ds-1", cloud_uuid=VMFS), "ds-local": datastore("ds-local", "local-1")}
        self.vms = [self.vm("vm-7", "i-2-7-VM", {"ROOT-7": "ds-src", "data7": "ds-src"})]
        self.files = {"ds-src": ["[%s] i-2-7-VM/i-2-7-VM.vmx" % SRC_DS, "[%s] i-2-7-VM/ROOT-7.vmdk" % SRC_DS,
                                 "[%s] i-2-7-VM/ROOT-7-flat.vmdk" % SRC_DS, "[%s] i-2-7-VM/data7.vmdk" % SRC_DS,
                                 "[%s] i-2-7-VM/data7-flat.vmdk" % SRC_DS],
                      "ds-dst": ["[%s] free9.vmdk" % DST_DS, "[%s] free9-flat.vmdk" % DST_DS],
                      "ds-vmfs": [], "ds-local": []}
        self.reads = 0
        self.listed = []
        self.searched = []

    def vm(self, moid, name, disks, internal_name=None):
        return {"moid": moid, "name": name, "internal_name": internal_name, "connection_state": "connected",
                "power_state": "poweredOff", "vmx_path": "[%s] %s/%s.vmx" % (SRC_DS, name, name), "has_snapshots": False,
                "disks": [self.disk(name, path, ds) for path, ds in disks.items()]}

    def disk(self, folder, path, ds, parents=()):
        return {"key": 2000, "file": "[%s] %s/%s.vmdk" % (self.datastores[ds]["name"], folder, path), "datastore_moid": ds,
                "parent_files": list(parents)}

    def move(self, vm_name, path, ds):
        """Move a disk file to datastore ds (and repoint the VM's disk at it)."""
        name = self.datastores[ds]["name"]
        for vm in self.vms:
            for disk in vm["disks"]:
                if disk["file"].endswith("/%s.vmdk" % path):
                    disk.update(file="[%s] %s/%s.vmdk" % (name, vm_name, path), datastore_moid=ds)
        for files in self.files.values():
            files[:] = [item for item in files if not item.endswith("/%s.vmdk" % path)]
        self.files[ds].append("[%s] %s/%s.vmdk" % (name, vm_name, path))

    def unregister(self, name):
        self.vms = [vm for vm in self.vms if vm["name"] != name]

    # the client's interface
    def read_inventory(self, datacenter=None):
        self.reads += 1
        return copy.deepcopy({"vms": self.vms, "datastores": self.datastores})

    def list_datastore_files(self, ds):
        self.listed.append(ds["name"])
        return list(self.files[ds["moid"]])

    def search_datastore(self, ds, names, timeout=None):
        self.searched.append((ds["name"], tuple(names)))
        return [item for item in self.files[ds["moid"]] if item.rsplit("/", 1)[-1].split("] ")[-1] in names]


@pytest.fixture
def cloudstack():
    return FakeCloudStack()


@pytest.fixture
def vcenter():
    return FakeVCenter()


def run(cloudstack, vcenter, **scope):
    return DriftAudit(cloudstack, vcenter).run(**scope)


def codes(report):
    return [(drift.code, drift.volume_id or drift.datastore_path) for drift in report.drifts]


def only(report, code):
    found = [drift for drift in report.drifts if drift.code == code]
    assert len(found) == 1, codes(report)
    return found[0]


# ---- clean, and the speed design -------------------------------------------------------------------
def test_a_consistent_cloud_audits_clean_with_one_pass_over_each_side(cloudstack, vcenter):
    report = run(cloudstack, vcenter)
    assert report.clean and codes(report) == []
    assert [call[0] for call in cloudstack.calls] == ["listStoragePools", "listVolumes", "listVirtualMachines"]
    assert cloudstack.calls[1][1] == {"listsystemvms": True}
    assert vcenter.reads == 1 and vcenter.searched == []
    assert sorted(vcenter.listed) == sorted([SRC_DS, DST_DS, "vmfs-ds-1"])  # the pools' datastores, each once, not local-1
    assert report.summary() == {"volumes": 3, "vcenter_vms": 1, "datastores_listed": 3, "datastore_searches": 0,
                                "drift": 0, "by_code": {}}
    assert report.as_dict()["scope"]["kind"] == "all" and {p["name"] for p in report.scope["pools"]} == {"nfs-src", "nfs-dst",
                                                                                                         "vmfs-1"}


def test_descriptor_companions_are_not_disks():
    assert is_disk_descriptor("[ds] vm/ROOT-7.vmdk")
    for companion in ("ROOT-7-flat", "ROOT-7-delta", "ROOT-7-ctk", "ROOT-7-sesparse"):
        assert not is_disk_descriptor("[ds] vm/%s.vmdk" % companion)
    assert not is_disk_descriptor("[ds] vm/vm.vmx")


@pytest.mark.parametrize("folder, expected", [("[ds] i-2-7-VM", "[ds] i-2-7-VM/x.vmdk"), ("[ds] i-2-7-VM/", "[ds] i-2-7-VM/x.vmdk"),
                                              ("[ds]/i-2-7-VM", "[ds] i-2-7-VM/x.vmdk"), ("[ds]", "[ds] x.vmdk")])
def test_search_results_become_datastore_paths(folder, expected):
    assert join_datastore_path(folder, "x.vmdk") == expected


# ---- the #9881 fingerprint -------------------------------------------------------------------------
def test_past_false_success_is_a_missing_vm_and_a_null_path_with_the_repair(cloudstack, vcenter):
    """Legacy migrateVolume after the VM left the inventory: record on DST with no path, disk still on SRC."""
    vcenter.unregister("i-2-7-VM")
    root = cloudstack.volumes[0]
    root.update(storageid=DST, path=None)
    report = run(cloudstack, vcenter)
    assert codes(report) == [("vm_not_found", VOL_ROOT), ("vm_not_found", VOL_DATA), ("volume_path_null", VOL_ROOT)]
    missing_data = [drift for drift in report.drifts if drift.volume_id == VOL_DATA][0]
    assert missing_data.vcenter["file"] == "[%s] i-2-7-VM/data7.vmdk" % SRC_DS
    assert missing_data.fix == {"action": "register_vm", "vmx": "[%s] i-2-7-VM/i-2-7-VM.vmx" % SRC_DS}
    null = only(report, "volume_path_null")
    assert null.vcenter["candidates"] == ["[%s] i-2-7-VM/ROOT-7.vmdk" % SRC_DS]
    assert null.fix == {"action": "update_volume", "volume_id": VOL_ROOT, "params": {"path": "ROOT-7", "storageid": SRC}}
    assert null.cloudstack["storageid"] == DST and null.cloudstack["path"] is None
    assert "updateVolume id=%s path=ROOT-7 storageid=%s" % (VOL_ROOT, SRC) in null.suggested_fix


def test_null_path_with_two_unclaimed_disks_is_not_guessed(cloudstack, vcenter):
    cloudstack.volumes[0]["path"] = None
    cloudstack.volumes[1]["path"] = None
    report = run(cloudstack, vcenter)
    assert [drift.code for drift in report.drifts] == ["volume_path_null", "volume_path_null"]
    assert all(drift.fix == {"action": "investigate"} and len(drift.vcenter["candidates"]) == 2 for drift in report.drifts)


def test_null_path_with_the_vm_present_names_its_one_unclaimed_disk(cloudstack, vcenter):
    cloudstack.volumes[1]["path"] = None
    null = only(run(cloudstack, vcenter), "volume_path_null")
    assert null.fix == {"action": "update_volume", "volume_id": VOL_DATA, "params": {"path": "data7"}}
    assert null.vcenter["vm_found"] is True


def test_path_matching_no_disk_exactly(cloudstack, vcenter):
    """data7 is recorded as "data", a prefix: never a match (CLOUDSTACK-8598)."""
    cloudstack.volumes[1]["path"] = "data"
    drift = only(run(cloudstack, vcenter), "volume_path_unmatched")
    assert drift.volume_id == VOL_DATA and drift.vcenter["found_at"] == []
    assert drift.vcenter["unclaimed_disks"] == ["[%s] i-2-7-VM/data7.vmdk" % SRC_DS]
    assert drift.fix == {"action": "update_volume", "volume_id": VOL_DATA, "params": {"path": "data7"}}


# ---- disks where the record does not say --------------------------------------------------------------
def test_disk_on_another_pools_datastore_suggests_that_pool(cloudstack, vcenter):
    vcenter.move("i-2-7-VM", "data7", "ds-vmfs")
    drift = only(run(cloudstack, vcenter), "disk_on_other_datastore")
    assert drift.volume_id == VOL_DATA and drift.vcenter["datastore"] == "vmfs-ds-1" and drift.vcenter["pool_id"] == VMFS
    assert drift.fix == {"action": "update_volume", "volume_id": VOL_DATA, "params": {"storageid": VMFS}}


def test_disk_on_a_datastore_of_no_pool_is_left_to_investigate(cloudstack, vcenter):
    vcenter.move("i-2-7-VM", "data7", "ds-local")
    drift = only(run(cloudstack, vcenter), "disk_on_other_datastore")
    assert drift.fix == {"action": "investigate"} and drift.vcenter["pool_id"] is None
    assert ("local-1", ("data7.vmdk",)) in vcenter.searched  # not a pool's datastore: searched, not listed


def test_attached_disk_whose_file_is_gone(cloudstack, vcenter):
    vcenter.files["ds-src"].remove("[%s] i-2-7-VM/data7.vmdk" % SRC_DS)
    drift = only(run(cloudstack, vcenter), "disk_file_missing")
    assert drift.volume_id == VOL_DATA and drift.fix == {"action": "restore_disk"} and drift.vcenter["exists"] is False


def test_detached_volume_elsewhere_then_nowhere(cloudstack, vcenter):
    vcenter.files["ds-dst"] = []
    vcenter.files["ds-vmfs"] = ["[vmfs-ds-1] free9.vmdk"]
    drift = only(run(cloudstack, vcenter), "disk_on_other_datastore")
    assert drift.volume_id == VOL_FREE and drift.fix["params"] == {"storageid": VMFS}
    vcenter.files["ds-vmfs"] = []
    drift = only(run(cloudstack, vcenter), "disk_file_missing")
    assert drift.volume_id == VOL_FREE and drift.vcenter == {"file": None, "exists": False}


def test_detached_volume_on_an_unreadable_datastore_is_not_called_missing(cloudstack, vcenter):
    vcenter.datastores["ds-dst"]["accessible"] = False
    report = run(cloudstack, vcenter)
    assert report.clean and DST_DS not in vcenter.listed


def test_vm_name_matching_two_vms(cloudstack, vcenter):
    vcenter.vms.append(vcenter.vm("vm-8", "copy-of-7", {"copy7": "ds-src"}, internal_name="i-2-7-VM"))
    vcenter.files["ds-src"].append("[%s] copy-of-7/copy7.vmdk" % SRC_DS)
    drift = only(run(cloudstack, vcenter), "vm_duplicate")
    assert drift.instance_name == "i-2-7-VM" and len(drift.vcenter["matches"]) == 2
    assert drift.cloudstack == {"volumes": [VOL_ROOT, VOL_DATA]}


# ---- records stuck in Migrating --------------------------------------------------------------------
def test_migrating_without_a_job_is_stuck_with_a_job_it_is_left_alone(cloudstack, vcenter):
    cloudstack.volumes[1]["state"] = "Migrating"
    drift = only(run(cloudstack, vcenter), "volume_stuck_migrating")
    assert drift.fix == {"action": "update_volume", "volume_id": VOL_DATA, "params": {"state": "Ready"}}
    assert drift.vcenter == {"file": "[%s] i-2-7-VM/data7.vmdk" % SRC_DS, "datastore": SRC_DS, "pool_id": SRC}
    cloudstack.volumes[1].update(jobid="j-1", jobstatus=0)
    vcenter.files["ds-src"].remove("[%s] i-2-7-VM/data7.vmdk" % SRC_DS)  # mid-migration: not judged
    report = run(cloudstack, vcenter)
    assert report.clean and report.summary()["volumes"] == 2


def test_stuck_volume_whose_disk_did_move_gets_the_pool_in_its_fix(cloudstack, vcenter):
    cloudstack.volumes[2]["state"] = "Migrating"
    vcenter.files["ds-dst"] = []
    vcenter.files["ds-vmfs"] = ["[vmfs-ds-1] free9.vmdk"]
    report = run(cloudstack, vcenter)
    assert codes(report) == [("disk_on_other_datastore", VOL_FREE), ("volume_stuck_migrating", VOL_FREE)]
    stuck = only(report, "volume_stuck_migrating")
    assert stuck.fix["params"] == {"state": "Ready", "storageid": VMFS}
    assert "updateVolume id=%s state=Ready storageid=%s" % (VOL_FREE, VMFS) in stuck.suggested_fix


def test_stuck_volume_whose_disk_is_nowhere_is_not_declared_ready(cloudstack, vcenter):
    cloudstack.volumes[2]["state"] = "Migrating"
    vcenter.files["ds-dst"] = []
    report = run(cloudstack, vcenter)
    stuck = only(report, "volume_stuck_migrating")
    assert stuck.fix == {"action": "investigate", "volume_id": VOL_FREE}
    assert "Find the volume's disk first" in stuck.suggested_fix and "state=Ready" not in stuck.suggested_fix


def test_volumes_in_other_states_are_not_compared(cloudstack, vcenter):
    cloudstack.volumes.append(volume("40000000-0000-4000-8000-000000000001", "DATA-new", None, DST, vm=None, state="Allocated"))
    assert run(cloudstack, vcenter).clean


# ---- vCenter's side ------------------------------------------------------------------------------
def test_orphans_exclude_companions_snapshot_deltas_and_files_vms_use(cloudstack, vcenter):
    vcenter.files["ds-dst"] += ["[%s] lost/lost.vmdk" % DST_DS, "[%s] lost/lost-flat.vmdk" % DST_DS,
                                "[%s] free9-000001.vmdk" % DST_DS, "[%s] tmpl/template-disk.vmdk" % DST_DS]
    vcenter.vms.append(vcenter.vm("vm-9", "template-centos", {}))
    vcenter.vms[-1]["disks"] = [vcenter.disk("tmpl", "template-disk", "ds-dst")]
    drift = only(run(cloudstack, vcenter), "orphan_vmdk")
    assert drift.datastore_path == "[%s] lost/lost.vmdk" % DST_DS and drift.volume_id is None
    assert drift.cloudstack == {"pool_id": DST, "pool_name": "nfs-dst"} and drift.vcenter["datastore"] == DST_DS


def test_vm_looking_like_an_instance_without_a_record(cloudstack, vcenter):
    vcenter.vms += [vcenter.vm("vm-99", "i-2-99-VM", {}), vcenter.vm("vm-100", "renamed-7", {}, internal_name="I-2-7-vm"),
                    vcenter.vm("vm-101", "build-box", {})]
    drift = only(run(cloudstack, vcenter), "unrecorded_vm")
    assert drift.instance_name == "i-2-99-VM" and drift.vcenter["moid"] == "vm-99"


# ---- scopes ------------------------------------------------------------------------------------------
def test_the_pools_datastores_are_listed_side_by_side(cloudstack, vcenter, monkeypatch):
    """A listing is a vCenter task that mostly waits: the three pools' datastores are all being listed at once (a
    barrier that only three concurrent listings pass), and the audit is the one a listing after another gives."""
    in_flight = threading.Barrier(3, timeout=5)
    one_by_one = run(cloudstack, vcenter)
    listed = type(vcenter).list_datastore_files

    def concurrent(client, ds):
        in_flight.wait()
        return listed(client, ds)
    monkeypatch.setattr(type(vcenter), "list_datastore_files", concurrent)
    report = run(cloudstack, vcenter)
    assert report.clean and report.summary() == one_by_one.summary() and report.summary()["datastores_listed"] == 3


def test_zone_scope_filters_the_lists_by_zone(cloudstack, vcenter):
    report = run(cloudstack, vcenter, zone="zone1")
    assert report.scope["kind"] == "zone" and report.scope["zone_id"] == ZONE
    assert ("listVolumes", {"listsystemvms": True, "zoneid": ZONE}) in cloudstack.calls
    assert ("listVirtualMachines", {"zoneid": ZONE}) in cloudstack.calls
    assert run(cloudstack, vcenter, zone=ZONE2).summary()["volumes"] == 0


def test_pool_scope_lists_only_its_datastore_and_compares_only_its_volumes(cloudstack, vcenter):
    vcenter.vms.append(vcenter.vm("vm-99", "i-2-99-VM", {}))  # its files are on SRC: out of scope
    report = run(cloudstack, vcenter, pool="nfs-dst")
    assert vcenter.listed == [DST_DS] and report.summary()["volumes"] == 1 and report.clean
    assert codes(run(cloudstack, vcenter, pool=SRC)) == [("unrecorded_vm", "[%s] i-2-99-VM/i-2-99-VM.vmx" % SRC_DS)]


def test_cluster_scope_by_name_or_id(cloudstack, vcenter):
    for reference in ("C1", CLUSTER):
        report = run(cloudstack, vcenter, cluster=reference)
        assert report.scope["kind"] == "cluster" and len(report.scope["pools"]) == 3


@pytest.mark.parametrize("scope, text", [
    ({"pool": "no-such-pool"}, "No storage pool no-such-pool in CloudStack"),
    ({"pool": "kvm-1"}, "No storage pool kvm-1 in CloudStack (VMware only)"),
    ({"zone": "zone9"}, "No zone zone9"),
    ({"cluster": "C9"}, "No VMware primary storage pool belongs to cluster C9"),
])
def test_unknown_scope_is_bad_input(cloudstack, vcenter, scope, text):
    with pytest.raises(InvalidInput) as error:
        run(cloudstack, vcenter, **scope)
    assert text in error.value.message and vcenter.reads == 0


def test_ambiguous_pool_name_lists_the_candidates(cloudstack, vcenter):
    cloudstack.pools.append(pool("eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee", "nfs-src", zone=ZONE2))
    with pytest.raises(InvalidInput) as error:
        run(cloudstack, vcenter, pool="nfs-src")
    assert "ambiguous" in error.value.message and SRC in error.value.facts["candidates"]


def test_every_code_is_documented():
    text = (Path(__file__).resolve().parents[4] / "docs" / "drift_audit.md").read_text(encoding="utf-8")
    assert all("`%s`" % code in text for code in DRIFT_CODES)


def test_a_vm_renamed_in_vcenter_without_its_internal_name_is_not_called_unregistered(cloudstack, vcenter):
    """Found by its .vmx path under another name: rename it back, never register it again (issue 11)."""
    vcenter.vms[0]["name"] = "web-prod"
    report = run(cloudstack, vcenter)
    assert codes(report) == [("vm_not_found", VOL_ROOT), ("vm_not_found", VOL_DATA)]
    drift = report.drifts[0]
    assert "registered in vCenter as web-prod" in drift.message and drift.fix == {"action": "investigate"}
    assert "Rename the VM web-prod back to i-2-7-VM" in drift.suggested_fix
    assert drift.vcenter["registered_as"][0]["name"] == "web-prod"
