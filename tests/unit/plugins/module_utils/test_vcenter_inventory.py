# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inventory check over facts as the vCenter client returns them (a fake client: no vCenter, no sleep)."""

import threading

import pytest

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter import inventory
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter import datastore_paths
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import InvalidInput, VCenterError
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.inventory import check_inventory
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.inventory_facts import (
    DiskExpectation,
    VmExpectation,
)
from unit.plugins.module_utils.identity_read import clues_of, identities_of  # pylint: disable=import-error


def datastore(moid, name, cloud_uuid=None, accessible=True, maintenance_mode="normal"):
    return {"moid": moid, "name": name, "browser": "browser-" + moid, "cloud_uuid": cloud_uuid,
            "accessible": accessible, "maintenance_mode": maintenance_mode, "url": "/ds/" + name}


def vm(moid, name, disks=(), internal_name=None, connection_state="connected", power_state="poweredOn", snapshots=False):
    return {"moid": moid, "name": name, "instance_uuid": "inst-" + moid, "bios_uuid": "BIOS-" + moid,
            "internal_name": internal_name, "connection_state": connection_state, "power_state": power_state,
            "host": "esx-1", "vmx_path": "[ds1] %s/%s.vmx" % (name, name), "has_snapshots": snapshots,
            "disks": [dict({"key": 2000 + index, "datastore_moid": None, "parent_files": []}, **disk)
                      for index, disk in enumerate(disks)]}


def disk(file, datastore_moid="ds-1", parents=()):
    return {"file": file, "datastore_moid": datastore_moid, "parent_files": list(parents)}


class FakeClient:
    """Returns canned facts and answers searches from a set of files on "disk"; records every call."""

    def __init__(self, vms, datastores=None, files=(), refused=()):
        self.inventory = {"vms": vms, "datastores": {ds["moid"]: ds for ds in datastores or [datastore("ds-1", "ds1")]}}
        self.files = set(files)
        self.refused = set(refused)  # names of datastores whose search vCenter refuses
        self.reads = []
        self.searches = []

    def read_inventory(self, datacenter=None):
        self.reads.append(datacenter)
        return self.inventory

    def search_datastore(self, ds, file_names):
        self.searches.append((ds["name"], sorted(file_names)))
        if ds["name"] in self.refused:
            raise VCenterError("Failed to search datastore %s: CannotAccessFile" % ds["name"])
        prefix = "[%s] " % ds["name"]
        return [path for path in sorted(self.files) if path.startswith(prefix) and path.rsplit("/", 1)[-1] in file_names]


def codes(report):
    return [problem.code for problem in report.problems]


ROOT34 = "[ds1] i-2-34-VM/ROOT-34.vmdk"


def test_healthy_vm_passes_and_reports_its_facts():
    client = FakeClient([vm("vm-34", "i-2-34-VM", [disk(ROOT34)])], files=[ROOT34])
    report = check_inventory(client, [VmExpectation("I-2-34-vm", disks=[DiskExpectation("ROOT-34", ["ds1"])],
                                                    power_state="poweredOn")], datacenter="DC1")
    assert report.ok and codes(report) == []
    facts = report.vms[0]
    assert (facts.found, facts.moid, facts.host, facts.connection_state) == (True, "vm-34", "esx-1", "connected")
    assert facts.disks[0].file == ROOT34 and facts.disks[0].exists is True and facts.disks[0].device_key == 2000
    assert client.reads == ["DC1"]


def test_vm_renamed_in_vcenter_is_found_by_cloud_vm_internal_name():
    client = FakeClient([vm("vm-34", "web-frontend", [disk(ROOT34)], internal_name="i-2-34-VM")], files=[ROOT34])
    report = check_inventory(client, [VmExpectation("i-2-34-vm", disks=[DiskExpectation("ROOT-34")])])
    assert report.ok and report.vms[0].name == "web-frontend" and report.vms[0].internal_name == "i-2-34-VM"


@pytest.mark.parametrize("ref, ref_type", [("INST-VM-34", "instance_uuid"), ("bios-vm-34", "bios_uuid"), ("vm-34", "moid")])
def test_vm_found_by_uuid_or_moid(ref, ref_type):
    report = check_inventory(FakeClient([vm("vm-34", "i-2-34-VM"), vm("vm-35", "i-2-35-VM")]), [VmExpectation(ref, ref_type)])
    assert report.ok and report.vms[0].moid == "vm-34"


def test_two_vms_with_the_same_name_are_a_duplicate_even_through_the_internal_name():
    client = FakeClient([vm("vm-34", "i-2-34-VM"), vm("vm-99", "copy", internal_name="I-2-34-VM")])
    report = check_inventory(client, [VmExpectation("i-2-34-VM")])
    assert codes(report) == ["vm_duplicate"]
    assert report.vms[0].found is False and report.vms[0].matches == 2
    assert report.problems[0].facts["matches"] == ["copy (vm-99)", "i-2-34-VM (vm-34)"]


@pytest.mark.parametrize("state", ["orphaned", "inaccessible", "disconnected", "invalid"])
def test_vm_not_connected(state):
    report = check_inventory(FakeClient([vm("vm-34", "i-2-34-VM", connection_state=state)]), [VmExpectation("i-2-34-VM")])
    assert codes(report) == ["vm_not_connected"] and report.problems[0].facts == {"connection_state": state}


def test_partial_name_decoy_is_never_matched():
    decoy = "[ds1] i-2-3-VM/ROOT-3.vmdk"
    client = FakeClient([vm("vm-3", "i-2-3-VM", [disk(decoy)])], files=[decoy])
    report = check_inventory(client, [VmExpectation("i-2-3-VM", disks=[DiskExpectation("ROOT-34")])])
    assert codes(report) == ["disk_not_attached"] and report.vms[0].disks[0].attached is False


def test_exact_disk_chosen_among_prefix_neighbours():
    files = ["[ds1] i-2-34-VM/ROOT-3.vmdk", "[ds1] i-2-34-VM/ROOT-345.vmdk", ROOT34]
    client = FakeClient([vm("vm-34", "i-2-34-VM", [disk(path) for path in files])], files=files)
    report = check_inventory(client, [VmExpectation("i-2-34-VM", disks=[DiskExpectation("ROOT-3"), DiskExpectation(ROOT34)])])
    assert report.ok
    assert [d.file for d in report.vms[0].disks] == ["[ds1] i-2-34-VM/ROOT-3.vmdk", ROOT34]


def test_disk_on_another_datastore_than_expected():
    other = "[ds2] i-2-34-VM/ROOT-34.vmdk"
    client = FakeClient([vm("vm-34", "i-2-34-VM", [disk(other, "ds-2")])],
                        [datastore("ds-1", "ds1"), datastore("ds-2", "ds2")], files=[other])
    report = check_inventory(client, [VmExpectation("i-2-34-VM", disks=[DiskExpectation("ROOT-34", ["ds1"])])])
    assert codes(report) == ["disk_on_other_datastore"]
    assert report.problems[0].facts["datastore"] == "ds2" and report.problems[0].facts["expected"] == ["ds1"]


def test_datastore_accepted_by_cloud_uuid_with_or_without_dashes():
    path = "[a8e3f1c2b4d5] i-2-34-VM/ROOT-34.vmdk"
    pool = datastore("ds-9", "a8e3f1c2b4d5", cloud_uuid="A8E3F1C2-B4D5")
    client = FakeClient([vm("vm-34", "i-2-34-VM", [disk(path, "ds-9")])], [pool], files=[path])
    for acceptable in (["a8e3f1c2-b4d5"], ["A8E3F1C2B4D5"]):
        assert check_inventory(client, [VmExpectation("i-2-34-VM", disks=[DiskExpectation("ROOT-34", acceptable)])]).ok


@pytest.mark.parametrize("ds_kwargs, expected", [
    (dict(maintenance_mode="inMaintenance"), ["datastore_in_maintenance"]),
    (dict(maintenance_mode="enteringMaintenance"), ["datastore_in_maintenance"]),
    (dict(accessible=False), ["datastore_inaccessible"]),
])
def test_datastore_state_problems(ds_kwargs, expected):
    client = FakeClient([vm("vm-34", "i-2-34-VM", [disk(ROOT34)])], [datastore("ds-1", "ds1", **ds_kwargs)], files=[ROOT34])
    report = check_inventory(client, [VmExpectation("i-2-34-VM", disks=[DiskExpectation("ROOT-34")])])
    assert codes(report) == expected  # the datastore problem explains the unverified file: no second problem
    disk_facts = report.vms[0].disks[0]
    assert (disk_facts.exists, disk_facts.file_status) == (None, "not_searched") and client.searches == []
    assert disk_facts.file_status_reason.startswith("datastore ds1 is ")


def test_snapshots_found_by_tree_and_by_delta_chain():
    delta = "[ds1] i-2-34-VM/ROOT-34-000001.vmdk"
    by_chain = FakeClient([vm("vm-34", "i-2-34-VM", [disk(delta, parents=[ROOT34])])], files=[delta, ROOT34])
    report = check_inventory(by_chain, [VmExpectation("i-2-34-VM", disks=[DiskExpectation("ROOT-34")])])
    assert codes(report) == ["vm_has_snapshots"] and report.vms[0].disks[0].file == delta
    by_tree = FakeClient([vm("vm-34", "i-2-34-VM", [disk(ROOT34)], snapshots=True)], files=[ROOT34])
    assert codes(check_inventory(by_tree, [VmExpectation("i-2-34-VM", disks=[DiskExpectation("ROOT-34")])])) == ["vm_has_snapshots"]


def test_attached_disk_whose_file_is_gone():
    client = FakeClient([vm("vm-34", "i-2-34-VM", [disk(ROOT34)])], files=[])
    report = check_inventory(client, [VmExpectation("i-2-34-VM", disks=[DiskExpectation("ROOT-34")])])
    assert codes(report) == ["disk_file_missing"]
    assert (report.vms[0].disks[0].exists, report.vms[0].disks[0].file_status) == (False, "missing")


def test_verify_files_off_makes_no_search():
    client = FakeClient([vm("vm-34", "i-2-34-VM", [disk(ROOT34)])], files=[])
    report = check_inventory(client, [VmExpectation("i-2-34-VM", disks=[DiskExpectation("ROOT-34")])], verify_files=False)
    assert report.ok and client.searches == []
    disk_facts = report.vms[0].disks[0]
    assert (disk_facts.exists, disk_facts.file_status, disk_facts.file_status_reason) == (None, "not_searched", "verify_files is off")


def test_power_state_mismatch():
    report = check_inventory(FakeClient([vm("vm-34", "i-2-34-VM")]), [VmExpectation("i-2-34-VM", power_state="poweredOff")])
    assert codes(report) == ["power_state_mismatch"]


def test_missing_vm_says_where_its_files_were_left():
    left = [ROOT34, "[ds1] i-2-34-VM/i-2-34-VM.vmx", "[ds1] i-2-3-VM/ROOT-3.vmdk"]
    client = FakeClient([vm("vm-3", "i-2-3-VM")], files=left)
    report = check_inventory(client, [VmExpectation("i-2-34-VM", disks=[DiskExpectation("ROOT-34")])])
    assert codes(report) == ["vm_not_found"]
    assert report.problems[0].message == (
        "i-2-34-VM is not in the vCenter inventory; its disk ROOT-34.vmdk is still at [ds1] i-2-34-VM/ROOT-34.vmdk; "
        "its configuration is still at [ds1] i-2-34-VM/i-2-34-VM.vmx: re-register the VM in vCenter before migrating its volumes")
    assert report.vms[0].leftovers == [ROOT34, "[ds1] i-2-34-VM/i-2-34-VM.vmx"]
    assert (report.vms[0].disks[0].exists, report.vms[0].disks[0].datastore) == (True, "ds1")


def test_missing_vm_without_leftovers():
    report = check_inventory(FakeClient([]), [VmExpectation("i-2-34-VM", disks=[DiskExpectation("ROOT-34")])])
    assert codes(report) == ["vm_not_found"] and "none of its files was found" in report.problems[0].message
    assert (report.vms[0].disks[0].exists, report.vms[0].disks[0].file_status) == (False, "missing")


def test_missing_vm_disk_is_not_called_missing_when_a_datastore_could_not_be_searched():
    client = FakeClient([], [datastore("ds-1", "ds1"), datastore("ds-2", "ds2", accessible=False)])
    report = check_inventory(client, [VmExpectation("i-2-34-VM", disks=[DiskExpectation("ROOT-34")])])
    disk_facts = report.vms[0].disks[0]
    assert codes(report) == ["vm_not_found"] and (disk_facts.exists, disk_facts.file_status) == (None, "not_searched")
    assert disk_facts.file_status_reason == "not found on the datastores searched; not searched: datastore ds2 is not accessible"
    assert report.problems[0].message.endswith("searched (not searched: datastore ds2 is not accessible)")
    assert report.problems[0].facts["not_searched"] == ["datastore ds2 is not accessible"]


def test_disk_on_a_datastore_outside_the_inventory_read_is_unverified_never_ok():
    elsewhere = "[ds-other-dc] i-2-34-VM/ROOT-34.vmdk"
    client = FakeClient([vm("vm-34", "i-2-34-VM", [disk(elsewhere, "datastore-77")])], files=[elsewhere])
    report = check_inventory(client, [VmExpectation("i-2-34-VM", disks=[DiskExpectation("ROOT-34")])])
    assert codes(report) == ["disk_file_unverified"] and not report.ok
    disk_facts = report.vms[0].disks[0]
    assert (disk_facts.attached, disk_facts.file_status, disk_facts.datastore) == (True, "not_searched", "ds-other-dc")
    assert report.problems[0].facts["reason"] == "the datastore of %s is not in the inventory read" % elsewhere


def test_a_refused_search_leaves_that_datastore_unverified_and_searches_the_others():
    on_ds2 = "[ds2] i-2-35-VM/ROOT-35.vmdk"
    client = FakeClient([vm("vm-34", "i-2-34-VM", [disk(ROOT34)]), vm("vm-35", "i-2-35-VM", [disk(on_ds2, "ds-2")])],
                        [datastore("ds-1", "ds1"), datastore("ds-2", "ds2")], files=[ROOT34, on_ds2], refused=["ds2"])
    report = check_inventory(client, [VmExpectation("i-2-34-VM", disks=[DiskExpectation("ROOT-34")]),
                                      VmExpectation("i-2-35-VM", disks=[DiskExpectation("ROOT-35")])])
    assert codes(report) == ["disk_file_unverified"] and report.problems[0].vm == "i-2-35-VM"
    assert [d.file_status for vm_facts in report.vms for d in vm_facts.disks] == ["found", "not_searched"]
    assert "the search of datastore ds2 failed: Failed to search datastore ds2: CannotAccessFile" in report.problems[0].message


def test_same_datastore_name_in_two_datacenters_is_searched_by_identity():
    class ByMoid(FakeClient):
        def search_datastore(self, ds, file_names):
            self.searches.append((ds["moid"], sorted(file_names)))
            return [ROOT34] if ds["moid"] == "ds-other" else []
    client = ByMoid([vm("vm-34", "i-2-34-VM", [disk(ROOT34, "ds-1")])], [datastore("ds-1", "ds1"), datastore("ds-other", "ds1")])
    report = check_inventory(client, [VmExpectation("i-2-34-VM", disks=[DiskExpectation("ROOT-34")])])
    assert client.searches == [("ds-1", ["ROOT-34.vmdk"])] and codes(report) == ["disk_file_missing"]


DATA1 = "[ds2] i-2-34-VM/DATA-1.vmdk"


@pytest.mark.parametrize("data_disk, ds2, files, refused, ok", [
    (disk(DATA1, "ds-2"), {}, [ROOT34, DATA1], [], True),                                      # both found
    (disk(DATA1, "ds-2"), {"accessible": False}, [ROOT34, DATA1], [], False),                   # ds2 not searchable
    (disk(DATA1, "ds-2"), {"maintenance_mode": "inMaintenance"}, [ROOT34, DATA1], [], False),   # idem
    (disk(DATA1, "ds-2"), {}, [ROOT34], [], False),                                            # searched, missing
    (disk("[ds-gone] x/DATA-1.vmdk", "ds-404"), {}, [ROOT34, DATA1], [], False),                # datastore unknown
    (disk(DATA1, "ds-2"), {}, [ROOT34, DATA1], ["ds2"], False),                                # search refused
])
def test_ok_only_with_a_found_file_for_every_expected_disk(data_disk, ds2, files, refused, ok):
    """The invariant cs_volume_migrate_safe relies on: with verify_files on, ok means every disk's file was found."""
    client = FakeClient([vm("vm-34", "i-2-34-VM", [disk(ROOT34), data_disk])],
                        [datastore("ds-1", "ds1"), datastore("ds-2", "ds2", **ds2)], files=files, refused=refused)
    report = check_inventory(client, [VmExpectation("i-2-34-VM", disks=[DiskExpectation("ROOT-34"), DiskExpectation("DATA-1")])])
    every_found = all(d.file_status == "found" and d.exists is True and d.verified for d in report.vms[0].disks)
    assert report.ok is every_found is ok


def test_every_problem_is_reported_not_only_the_first():
    other = "[ds2] i-2-34-VM/ROOT-34.vmdk"
    client = FakeClient([vm("vm-34", "i-2-34-VM", [disk(other, "ds-2")], connection_state="orphaned", snapshots=True)],
                        [datastore("ds-1", "ds1"), datastore("ds-2", "ds2", maintenance_mode="inMaintenance")])
    report = check_inventory(client, [VmExpectation("i-2-34-VM", disks=[DiskExpectation("ROOT-34", ["ds1"]), DiskExpectation("DATA-35")]),
                                      VmExpectation("i-2-40-VM")])
    assert codes(report) == ["vm_not_connected", "disk_on_other_datastore", "datastore_in_maintenance", "disk_not_attached",
                             "vm_has_snapshots", "vm_not_found"]


def test_searches_are_per_datastore_never_per_vm():
    vms = [vm("vm-%d" % n, "i-2-%d-VM" % n, [disk("[ds%d] i-2-%d-VM/ROOT-%d.vmdk" % (n % 2 + 1, n, n), "ds-%d" % (n % 2 + 1))])
           for n in range(50)]
    files = [v["disks"][0]["file"] for v in vms]
    client = FakeClient(vms, [datastore("ds-1", "ds1"), datastore("ds-2", "ds2")], files=files)
    expectations = [VmExpectation("i-2-%d-VM" % n, disks=[DiskExpectation("ROOT-%d" % n)]) for n in range(50)]
    expectations += [VmExpectation("i-2-%d-VM" % n) for n in range(100, 120)]  # missing VMs
    report = check_inventory(client, expectations)
    assert len(client.reads) == 1
    assert len(client.searches) == 4  # disks on 2 datastores, then leftovers on 2 datastores
    assert codes(report) == ["vm_not_found"] * 20


def test_the_datastores_are_searched_side_by_side_each_answer_kept_to_its_datastore():
    """A search task mostly waits on vCenter: three datastores' searches are all in flight at once (a barrier that
    only three concurrent searches pass), and each datastore keeps its own answer or failure."""
    in_flight = threading.Barrier(3, timeout=5)

    class Concurrent(FakeClient):
        def search_datastore(self, ds, file_names):
            in_flight.wait()
            return super().search_datastore(ds, file_names)
    vms = [vm("vm-%d" % n, "i-2-%d-VM" % n, [disk("[ds%d] i-2-%d-VM/ROOT-%d.vmdk" % (n, n, n), "ds-%d" % n)]) for n in (1, 2, 3)]
    client = Concurrent(vms, [datastore("ds-%d" % n, "ds%d" % n) for n in (1, 2, 3)],
                        files=["[ds1] i-2-1-VM/ROOT-1.vmdk", "[ds3] i-2-3-VM/ROOT-3.vmdk"], refused=["ds2"])
    report = check_inventory(client, [VmExpectation("i-2-%d-VM" % n, disks=[DiskExpectation("ROOT-%d" % n)]) for n in (1, 2, 3)])
    assert sorted(name for name, _names in client.searches) == ["ds1", "ds2", "ds3"]
    assert [d.file_status for vm_facts in report.vms for d in vm_facts.disks] == ["found", "not_searched", "found"]
    assert codes(report) == ["disk_file_unverified"] and report.problems[0].vm == "i-2-2-VM"


@pytest.mark.parametrize("expectation", [VmExpectation(""), VmExpectation("x", ref_type="hostname"),
                                         VmExpectation("x", disks=[DiskExpectation("")])])
def test_invalid_expectations_are_refused_before_reading(expectation):
    client = FakeClient([])
    with pytest.raises(InvalidInput):
        check_inventory(client, [expectation])
    assert client.reads == []


@pytest.mark.parametrize("expected, file, matches", [
    ("ROOT-34", ROOT34, True), ("ROOT-3", ROOT34, False), ("ROOT-34", "[ds1] x/ROOT-345.vmdk", False),
    ("ROOT-34.vmdk", ROOT34, True), ("[ds1]  i-2-34-VM/ROOT-34.vmdk", ROOT34, True),
    ("[ds2] i-2-34-VM/ROOT-34.vmdk", ROOT34, False), ("ROOT-34", "[ds1]/i-2-34-VM/ROOT-34.vmdk", True), ("ROOT-34", None, False),
])
def test_disk_matches_exactly(expected, file, matches):
    assert datastore_paths.disk_matches(expected, file) is matches


def test_expectations_from_options():
    options = [{"name": "i-2-34-VM", "disks": [{"path": "ROOT-34", "datastores": ["ds1"]}], "power_state": "poweredOn"},
               {"moid": "vm-7", "disks": None}]
    first, second = inventory.expectations_from_options(options)
    assert first == VmExpectation("i-2-34-VM", "instance_name", [DiskExpectation("ROOT-34", ["ds1"])], "poweredOn")
    assert second == VmExpectation("vm-7", "moid", [], None)
    with pytest.raises(InvalidInput, match="exactly one of name, instance_uuid, bios_uuid, moid; got name, moid"):
        inventory.expectations_from_options([{"name": "a", "moid": "vm-1"}])


def test_report_shape_and_failure_message():
    report = check_inventory(FakeClient([]), [VmExpectation("i-2-34-VM")])
    result = report.as_dict()
    assert result["ok"] is False and result["problems"][0]["code"] == "vm_not_found"
    assert result["vms"][0]["ref"] == "i-2-34-VM" and inventory.summary(report) == {"total": 1, "found": 0, "problems": 1}
    assert inventory.failure_message(report).startswith("vCenter does not hold what was asserted (1 problem): i-2-34-VM is not")


class TwoPassClient(FakeClient):
    """A FakeClient that also answers the two-pass reads, recording which VMs' details were read."""

    def __init__(self, vms, gone=(), **kwargs):
        super().__init__(vms, **kwargs)
        self.gone = set(gone)
        self.detailed = []
        self.identity_reads, self.clue_reads = [], 0

    def read_vm_identities(self, datacenter=None, uuids=False):
        self.identity_reads.append(uuids)
        return identities_of(self.inventory, uuids)

    def read_vm_clues(self, datacenter=None):
        self.clue_reads += 1
        return clues_of(self.inventory)

    def read_vms(self, moids, hosts, field_names):  # pylint: disable=unused-argument
        self.detailed.append(list(moids))
        if self.gone & set(moids):
            return None
        return [item for item in self.inventory["vms"] if item["moid"] in moids]


def test_a_focused_read_details_only_the_expected_vms_and_checks_them_as_a_full_read_does():
    vms = [vm("vm-34", "i-2-34-VM", [disk(ROOT34)], snapshots=True), vm("vm-35", "i-2-35-VM", [disk("[ds1] i-2-35-VM/ROOT-35.vmdk")]),
           vm("vm-36", "i-2-36-VM")]
    expectations = [VmExpectation(ref="i-2-34-VM", disks=[DiskExpectation(path="ROOT-34")])]
    client = TwoPassClient(vms, files=[ROOT34])
    focused = check_inventory(client, expectations, focused_read=True)
    assert client.detailed == [["vm-34"]] and client.reads == []
    full = check_inventory(FakeClient(vms, files=[ROOT34]), expectations)
    assert codes(focused) == codes(full) == ["vm_has_snapshots"]
    assert [d.file for d in focused.vms[0].disks] == [ROOT34]


def test_a_focused_read_sees_duplicates_among_the_vms_of_the_first_pass():
    vms = [vm("vm-34", "i-2-34-VM", [disk(ROOT34)]), vm("vm-90", "web", internal_name="i-2-34-VM"), vm("vm-91", "other")]
    client = TwoPassClient(vms, files=[ROOT34])
    report = check_inventory(client, [VmExpectation(ref="i-2-34-VM")], focused_read=True)
    assert client.detailed == [["vm-34", "vm-90"]]
    assert codes(report) == codes(check_inventory(FakeClient(vms, files=[ROOT34]), [VmExpectation(ref="i-2-34-VM")]))
    assert codes(report) and all(code == "vm_duplicate" for code in codes(report))


def test_a_focused_read_reads_uuids_only_when_a_vm_is_asked_for_by_uuid():
    vms = [vm("vm-34", "i-2-34-VM", [disk(ROOT34)]), vm("vm-35", "i-2-35-VM")]
    by_name = TwoPassClient(vms, files=[ROOT34])
    assert check_inventory(by_name, [VmExpectation(ref="i-2-34-VM")], focused_read=True).ok
    by_uuid = TwoPassClient(vms, files=[ROOT34])
    report = check_inventory(by_uuid, [VmExpectation(ref="inst-vm-35", ref_type="instance_uuid")], focused_read=True)
    assert (by_name.identity_reads, by_uuid.identity_reads) == ([False], [True])
    assert report.ok and report.vms[0].moid == "vm-35" and by_uuid.detailed == [["vm-35"]]


def test_a_focused_read_reads_the_clues_of_every_vm_only_when_one_is_missing():
    """The first pass leaves out .vmx paths and notes: a VM not found by name has them read then, once, and is found
    registered under another name as a full read finds it."""
    renamed = dict(vm("vm-90", "restored-copy"), vmx_path="[ds1] i-2-40-VM/i-2-40-VM.vmx")
    vms = [vm("vm-34", "i-2-34-VM", [disk(ROOT34)]), renamed, vm("vm-91", "notes", ), vm("vm-92", "other")]
    vms[2]["annotation"] = "was i-2-41-VM before the restore"
    found_all = TwoPassClient(vms, files=[ROOT34])
    assert check_inventory(found_all, [VmExpectation(ref="i-2-34-VM")], focused_read=True).ok
    missing = TwoPassClient(vms, files=[ROOT34])
    expectations = [VmExpectation(ref="i-2-40-VM"), VmExpectation(ref="i-2-41-VM"), VmExpectation(ref="i-2-42-VM")]
    report = check_inventory(missing, expectations, focused_read=True)
    assert (found_all.clue_reads, missing.clue_reads) == (0, 1)
    assert [[item["moid"] for item in facts.registered_as] for facts in report.vms] == [["vm-90"], ["vm-91"], []]
    assert report.vms[0].registered_as[0]["vmx_path"] == "[ds1] i-2-40-VM/i-2-40-VM.vmx"
    assert codes(report) == codes(check_inventory(FakeClient(vms, files=[ROOT34]), expectations))


def test_a_vm_gone_between_the_passes_makes_one_full_read():
    vms = [vm("vm-34", "i-2-34-VM", [disk(ROOT34)])]
    client = TwoPassClient(vms, gone={"vm-34"}, files=[ROOT34])
    report = check_inventory(client, [VmExpectation(ref="i-2-34-VM", disks=[DiskExpectation(path="ROOT-34")])], focused_read=True)
    assert client.detailed == [["vm-34"]] and client.reads == [None]
    assert report.ok
