"""vmware_inventory_assert through ansible-playbook against a real vcsim: the cases of issue 3, exact problem codes."""

from __future__ import annotations

import pytest

from integration.conftest import run_module  # pylint: disable=import-error
from integration.vcenter_lab import POOL_UUID, InventoryLab  # pylint: disable=import-error

pytestmark = pytest.mark.lab

MODULE = "vmware_inventory_assert"
CASES = {
    "unregistered": {"name": "i-2-34-VM", "disks": [{"path": "ROOT-34", "datastores": ["ds1"]}]},
    "renamed": {"name": "i-2-40-VM", "disks": [{"path": "ROOT-40", "datastores": [POOL_UUID]}]},
    "duplicate": {"name": "i-2-50-VM"},
    "orphaned": {"name": "i-2-60-VM"},
    "inaccessible": {"name": "i-2-61-VM"},
    "other_datastore": {"name": "i-2-70-VM", "disks": [{"path": "ROOT-70", "datastores": ["ds1"]}]},
    "decoy": {"name": "i-2-3-VM", "disks": [{"path": "ROOT-34"}]},
    "exact_among_neighbours": {"name": "i-2-35-VM", "disks": [{"path": "ROOT-3"}, {"path": "[ds1] i-2-35-VM/ROOT-35.vmdk"}]},
    "maintenance": {"name": "i-2-80-VM", "disks": [{"path": "ROOT-80"}]},
    "inaccessible_datastore": {"name": "i-2-81-VM", "disks": [{"path": "ROOT-81"}]},
    "file_gone": {"name": "i-2-85-VM", "disks": [{"path": "ROOT-85"}]},
    "snapshot": {"name": "i-2-90-VM", "disks": [{"path": "ROOT-90"}]},
}


@pytest.fixture(scope="module")
def inventory_lab(tmp_path_factory):
    lab = InventoryLab(tmp_path_factory.mktemp("vcenter-lab"))
    try:
        lab.start().build_cases()
        yield lab
    finally:
        lab.stop()


@pytest.fixture(scope="module")
def report(inventory_lab, tmp_path_factory):
    """One run of the module over every case (fail_on_problems off): {case: (vm facts, problem codes)}."""
    result = run_module(MODULE, {"vms": list(CASES.values()), "fail_on_problems": False}, inventory_lab.env(),
                        tmp_path_factory.mktemp("run"), check_mode=True)
    assert result.get("failed") is not True, result
    by_ref = {}
    for problem in result["problems"]:
        by_ref.setdefault(problem["vm"], []).append(problem)
    return {case: (facts, by_ref.get(facts["ref"], [])) for case, facts in zip(CASES, result["vms"])}


def codes(problems):
    return [problem["code"] for problem in problems]


def test_unregistered_vm_is_reported_with_the_files_it_left_behind(report, inventory_lab):
    facts, problems = report["unregistered"]
    assert codes(problems) == ["vm_not_found"] and facts["found"] is False
    assert problems[0]["message"] == (
        "i-2-34-VM is not in the vCenter inventory; its disk ROOT-34.vmdk is still at [ds1] i-2-34-VM/ROOT-34.vmdk; "
        "its configuration is still at [ds1] i-2-34-VM/i-2-34-VM.vmx: re-register the VM in vCenter before migrating its volumes")
    assert (facts["disks"][0]["file_status"], facts["disks"][0]["exists"], facts["disks"][0]["datastore"]) == ("found", True, "ds1")
    assert inventory_lab.datastore_files("ds1", "i-2-34-VM/ROOT-34")  # where the lab's files really are
    assert problems[0]["facts"]["not_searched"] == ["datastore dsmaint is in maintenance mode (inMaintenance)",
                                                    "datastore dsoff is not accessible"]


def test_renamed_vm_is_found_by_its_internal_name_and_its_pool_uuid(report):
    facts, problems = report["renamed"]
    assert codes(problems) == []
    assert (facts["name"], facts["internal_name"], facts["connection_state"]) == ("web-frontend-40", "i-2-40-VM", "connected")
    assert facts["disks"][0]["file"] == "[ds1] i-2-40-VM/ROOT-40.vmdk" and facts["disks"][0]["exists"] is True


def test_two_vms_claiming_one_name_are_a_duplicate(report):
    facts, problems = report["duplicate"]
    assert codes(problems) == ["vm_duplicate"] and facts["matches"] == 2


@pytest.mark.parametrize("case, state", [("orphaned", "orphaned"), ("inaccessible", "inaccessible")])
def test_vm_not_connected(report, case, state):
    facts, problems = report[case]
    assert codes(problems) == ["vm_not_connected"] and facts["connection_state"] == state


def test_disk_on_another_datastore(report):
    facts, problems = report["other_datastore"]
    assert codes(problems) == ["disk_on_other_datastore"] and facts["disks"][0]["datastore"] == "ds2"


def test_partial_name_decoy_is_not_a_match(report):
    facts, problems = report["decoy"]
    assert codes(problems) == ["disk_not_attached"] and facts["disks"][0]["attached"] is False


def test_exact_disk_among_prefix_neighbours(report):
    facts, problems = report["exact_among_neighbours"]
    assert codes(problems) == []
    assert [disk["file"] for disk in facts["disks"]] == ["[ds1] i-2-35-VM/ROOT-3.vmdk", "[ds1] i-2-35-VM/ROOT-35.vmdk"]


def test_datastore_in_maintenance(report):
    facts, problems = report["maintenance"]
    assert codes(problems) == ["datastore_in_maintenance"]
    assert (facts["disks"][0]["file_status"], facts["disks"][0]["exists"]) == ("not_searched", None)


def test_inaccessible_datastore_is_not_searched_and_never_ok(report):
    facts, problems = report["inaccessible_datastore"]
    assert codes(problems) == ["datastore_inaccessible"]
    assert (facts["disks"][0]["file_status"], facts["disks"][0]["file_status_reason"]) == (
        "not_searched", "datastore dsoff is not accessible")


def test_attached_disk_whose_file_was_deleted(report, inventory_lab):
    facts, problems = report["file_gone"]
    assert inventory_lab.datastore_files("ds1", "i-2-85-VM/ROOT-85") == []
    assert codes(problems) == ["disk_file_missing"] and facts["disks"][0]["attached"] is True
    assert (facts["disks"][0]["file_status"], facts["disks"][0]["exists"]) == ("missing", False)


def test_vm_with_a_snapshot(report):
    facts, problems = report["snapshot"]
    assert codes(problems) == ["vm_has_snapshots"] and facts["disks"][0]["file_status"] == "found"


def test_problems_fail_the_task_by_default(inventory_lab, module_runner):
    result = module_runner(MODULE, {"vms": [CASES["decoy"], CASES["renamed"]]}, inventory_lab.env())
    assert result["failed"] is True and codes(result["problems"]) == ["disk_not_attached"]
    assert result["msg"].startswith("vCenter does not hold what was asserted (1 problem)")


def test_tls_needs_the_ca_bundle_for_a_private_ca(inventory_lab, module_runner):
    without = module_runner(MODULE, {"vms": [CASES["renamed"]]}, inventory_lab.env(VMWARE_CA_CERT=""))
    assert without["failed"] is True and without["reason"] == "tls" and "ok" not in without
    assert without["msg"] == (
        "The TLS certificate of vCenter %s:%d could not be verified (self-signed certificate): give the CA that signed its "
        "certificate in ca_cert (or VMWARE_CA_CERT), or set validate_certs=false on a trusted network" % (
            inventory_lab.vcsim.host, inventory_lab.vcsim.port))
    with_ca = module_runner(MODULE, {"vms": [CASES["renamed"]], "ca_cert": str(inventory_lab.vcsim.ca_file)},
                            inventory_lab.env(VMWARE_CA_CERT=""))
    assert with_ca.get("failed") is not True and with_ca["ok"] is True
    unverified = module_runner(MODULE, {"vms": [CASES["renamed"]], "validate_certs": False}, inventory_lab.env(VMWARE_CA_CERT=""))
    assert unverified.get("failed") is not True and unverified["ok"] is True


def test_wrong_password_is_refused_and_never_shown(inventory_lab, module_runner):
    result = module_runner(MODULE, {"vms": [CASES["renamed"]], "password": "not-the-password"}, inventory_lab.env())
    assert result["failed"] is True and result["reason"] == "invalid_login" and "ok" not in result
    assert result["msg"] == "vCenter %s:%d refused the login of user vcenter-it: check username and password" % (
        inventory_lab.vcsim.host, inventory_lab.vcsim.port)
    assert "not-the-password" not in result["_output"] and "it-password" not in result["_output"]


def test_unreachable_vcenter(inventory_lab, module_runner):
    result = module_runner(MODULE, {"vms": [CASES["renamed"]], "port": 9}, inventory_lab.env())
    assert result["failed"] is True and result["reason"] == "unreachable" and "Cannot reach vCenter" in result["msg"]
