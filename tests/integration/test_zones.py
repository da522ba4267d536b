"""A cloud whose two zones live on two vCenters (the lab's `--zones 2`): the drift audit compares each zone with
its own vCenter and datacenter, found through listVmwareDcs or named in `vcenters[].zones`, from the module and
from playbooks/audit_drift.yml; a zone no vCenter serves stops the audit before anything is read."""

from __future__ import annotations

import json

import pytest
import yaml

from integration.lab_queries import assert_no_traceback  # pylint: disable=import-error
from integration.playbook_runner import REPO, plan_of, run_playbook  # pylint: disable=import-error
from integration.test_cs_volume_migrate_safe import migrate_jobs  # pylint: disable=import-error
from integration.test_audit_drift_playbook import audit as run_audit_playbook  # pylint: disable=import-error

pytestmark = pytest.mark.lab

MODULE = "cs_vmware_drift_info"
EVACUATE = REPO / "playbooks" / "evacuate_pool.yml"


@pytest.fixture
def drift_info(two_zones, module_runner):
    def run(**args):
        result = module_runner(MODULE, args, dict(two_zones.env))
        assert_no_traceback(result["_output"])
        assert "module_stderr" not in result, result
        return result
    return run


def _zone(lab, name):
    return next(zone for zone in lab.admin().listZones()["zone"] if zone["name"] == name)


def _stopped_vm(lab, zone_name):
    zone = _zone(lab, zone_name)
    return next(vm for vm in lab.admin().listVirtualMachines(listall=True, zoneid=zone["id"], state="Stopped")["virtualmachine"]
                if vm["account"] == "admin")


def test_each_zone_is_audited_against_its_own_vcenter_found_through_listvmwaredcs(two_zones, drift_info):
    result = drift_info(vcenters=two_zones.vcenters())

    assert result["clean"] is True and not result.get("failed"), result
    zones = {zone["zone_name"]: zone for zone in result["scope"]["zones"]}
    vcenters = ["%s:%s" % (entry["hostname"], entry["port"]) for entry in two_zones.vcenters()]
    assert [zones["zone1"]["vcenter"], zones["zone2"]["vcenter"]] == vcenters
    assert {zone["matched_by"] for zone in zones.values()} == {"listVmwareDcs"}
    assert {zone["datacenter"] for zone in zones.values()} == {"DC0"}
    ready = [row for row in two_zones.records().values() if row["state"] == "Ready"]
    assert result["summary"]["volumes"] == len(ready) and result["summary"]["vcenter_vms"] == 16
    assert "password" not in json.dumps(result["scope"])


def test_a_drift_in_the_second_zone_is_found_in_that_zones_vcenter_only(two_zones, drift_info):
    vm = _stopped_vm(two_zones, "zone2")
    two_zones.control("vcenter_unregister_vm", instance_name=vm["instancename"])

    result = drift_info(vcenters=two_zones.vcenters())

    assert result["clean"] is False
    assert [(drift["code"], drift["instance_name"]) for drift in result["drift"]] == [
        ("vm_not_found", vm["instancename"])] * len(result["drift"]) and result["drift"]
    # zone 1's vCenter alone (the VMWARE_* form) audits zone 1, where nothing drifted
    assert drift_info(zone="zone1")["clean"] is True


def test_one_vcenter_for_zones_on_two_is_refused_instead_of_reporting_the_other_zone_missing(two_zones, drift_info):
    result = drift_info()

    assert result["failed"] is True and "drift" not in result, result
    assert result["msg"].startswith("The scope spans zones on 2 vCenters (zone1 on %s:%s; zone2 on %s:%s, listVmwareDcs)" % (
        two_zones.env["VMWARE_HOST"], two_zones.env["VMWARE_PORT"], two_zones.env["VMWARE_HOST_ZONE2"],
        two_zones.env["VMWARE_PORT_ZONE2"])), result["msg"]
    assert "give each vCenter in vcenters" in result["msg"]


def test_a_zone_named_in_a_vcenters_zones_is_served_by_it_whatever_its_address(two_zones, drift_info):
    first, second = two_zones.vcenters()
    # "localhost" is not the address listVmwareDcs gives (127.0.0.1): only the explicit mapping can route zone2
    second = dict(second, hostname="localhost", zones=["zone2"])

    result = drift_info(vcenters=[first, second])

    assert result["clean"] is True, result
    zones = {zone["zone_name"]: zone for zone in result["scope"]["zones"]}
    assert zones["zone2"]["matched_by"] == "zones" and zones["zone2"]["vcenter"].startswith("localhost:")
    assert zones["zone2"]["datacenter"] == "DC0"


def test_a_zone_without_its_vcenter_stops_the_audit_naming_the_zone_and_the_vcenter_missing(two_zones, drift_info):
    first, second = two_zones.vcenters()

    result = drift_info(vcenters=[first])

    assert result["failed"] is True and "drift" not in result
    assert result["msg"].startswith("Zone zone2 (%s): its datacenter DC0 is on vCenter %s:%s (listVmwareDcs), which is "
                                    "not among the vCenters given" % (_zone(two_zones, "zone2")["id"], second["hostname"],
                                                                      second["port"])), result["msg"]
    assert second["password"] not in json.dumps(result)


def test_the_audit_playbook_audits_both_zones_from_a_list_of_vcenters(two_zones, tmp_path):
    vm = _stopped_vm(two_zones, "zone2")
    two_zones.control("vcenter_unregister_vm", instance_name=vm["instancename"])
    variables = tmp_path / "vcenters.json"
    # as an AWX credential injects it (docs/awx/credential_type_vcenters.yml): the list as YAML text
    variables.write_text(json.dumps({"safe_migration_vcenters": yaml.safe_dump(two_zones.vcenters())}))

    run = run_audit_playbook(two_zones, tmp_path, "-e", "@%s" % variables, "-e", "safe_migration_fail_on_drift=true")

    assert run.returncode != 0, run.output
    report = run.report()
    assert report["status"] == "drift" and [zone["zone_name"] for zone in report["scope"]["zones"]] == ["zone1", "zone2"]
    assert {item["instance_name"] for item in report["drift"]} == {vm["instancename"]}
    assert two_zones.env["VMWARE_PASSWORD_ZONE2"] not in run.output


# ---- cs_volume_migrate_safe: one run, volumes of both zones, each checked in its own vCenter -----------------

def _volume_to_move(lab, zone_name):
    """A data disk of a stopped admin VM of the zone, with another NFS pool of its cluster as destination."""
    admin = lab.admin()
    vm = _stopped_vm(lab, zone_name)
    volume = admin.listVolumes(listall=True, virtualmachineid=vm["id"], type="DATADISK")["volume"][0]
    destination = next(pool for pool in admin.listStoragePools(clusterid=volume["clusterid"])["storagepool"]
                       if pool["id"] != volume["storageid"] and pool["type"] == "NetworkFilesystem")
    return dict(volume, vm=vm, destination=destination)


def _where(lab, zone_id, volume):
    """The VM's disk file as that zone's vCenter shows it."""
    vsphere = lab.vcenter_backend(zone_id).vsphere
    [vm] = vsphere.find_vms(volume["vm"]["instancename"])
    return vsphere.find_disk(vm, volume["path"]).backing.fileName


@pytest.fixture
def migrate(two_zones, module_runner, tmp_path):
    def run(check_mode=False, **args):
        args = {"journal_path": str(tmp_path / "journal.jsonl"), "poll_interval": 0.05, "job_timeout": 30, **args}
        result = module_runner("cs_volume_migrate_safe", args, dict(two_zones.env), check_mode=check_mode)
        assert_no_traceback(result["_output"])
        assert "module_stderr" not in result, result
        return result
    return run


def test_one_run_migrates_volumes_of_both_zones_each_verified_in_its_own_vcenter(two_zones, migrate):
    volumes = [_volume_to_move(two_zones, "zone1"), _volume_to_move(two_zones, "zone2")]
    plan = [{"volume": volume["id"], "destination": volume["destination"]["name"]} for volume in volumes]

    planned = migrate(volumes=plan, vcenters=two_zones.vcenters(), check_mode=True)
    assert [entry["status"] for entry in planned["volumes"]] == ["planned", "planned"], planned
    result = migrate(volumes=plan, vcenters=two_zones.vcenters(), concurrency=2)

    assert result["changed"] is True and not result.get("failed"), result
    assert [entry["status"] for entry in result["volumes"]] == ["migrated", "migrated"]
    assert sorted(zone["zone_name"] for zone in result["schedule"]["zones"]) == ["zone1", "zone2"]
    for zone_id, volume in zip((1, 2), volumes):
        assert two_zones.records()[volume["id"]]["storageid"] == volume["destination"]["id"]
        assert _where(two_zones, zone_id, volume).startswith("[%s] " % volume["destination"]["id"].replace("-", ""))
    again = migrate(volumes=plan, vcenters=two_zones.vcenters())
    assert again["changed"] is False and [entry["status"] for entry in again["volumes"]] == ["unchanged", "unchanged"]


def test_a_false_success_in_the_second_zone_is_caught_in_that_zones_vcenter(two_zones, migrate):
    volume = _volume_to_move(two_zones, "zone2")
    two_zones.control("fault_next_job", mode="false_success")

    result = migrate(volume=volume["id"], destination=volume["destination"]["name"], vcenters=two_zones.vcenters(),
                     on_false_success="restore")

    entry = result["volumes"][0]
    assert entry["false_success"] is True and entry["restore"]["verified"] is True, result
    record = two_zones.records()[volume["id"]]
    assert (record["storageid"], record["path"]) == (volume["storageid"], volume["path"]), "the record put back"
    assert _where(two_zones, 2, volume).startswith("[%s] " % volume["storageid"].replace("-", ""))


def test_a_plan_with_a_zone_no_vcenter_serves_changes_nothing(two_zones, migrate):
    volumes = [_volume_to_move(two_zones, "zone1"), _volume_to_move(two_zones, "zone2")]
    plan = [{"volume": volume["id"], "destination": volume["destination"]["name"]} for volume in volumes]

    result = migrate(volumes=plan, vcenters=two_zones.vcenters()[:1])

    assert result["failed"] is True and "Zone zone2" in result["msg"] and "not among the vCenters given" in result["msg"]
    assert all(two_zones.records()[volume["id"]]["storageid"] == volume["storageid"] for volume in volumes)
    assert migrate_jobs(two_zones) == [], "nothing submitted"


# ---- the playbooks: a two-zone plan, its preflight, a zone's pool evacuated -------------------------------------

def _vcenters_file(lab, tmp_path):
    variables = tmp_path / "vcenters.json"
    variables.write_text(json.dumps({"safe_migration_vcenters": lab.vcenters()}))
    return "@%s" % variables


def test_the_maintenance_window_migrates_a_plan_spanning_both_zones(two_zones, tmp_path):
    volumes = [_volume_to_move(two_zones, "zone1"), _volume_to_move(two_zones, "zone2")]

    run = run_playbook(two_zones, tmp_path, plan_of(volumes), "-e", _vcenters_file(two_zones, tmp_path))

    assert run.returncode == 0, run.output
    report = run.report()
    assert report["status"] == "succeeded" and [entry["outcome"] for entry in report["volumes"]] == ["migrated", "migrated"]
    for zone_id, volume in zip((1, 2), volumes):
        assert two_zones.records()[volume["id"]]["storageid"] == volume["destination"]["id"]
        assert _where(two_zones, zone_id, volume).startswith("[%s] " % volume["destination"]["id"].replace("-", ""))
    assert two_zones.env["VMWARE_PASSWORD_ZONE2"] not in run.output


def test_the_preflight_checks_each_zone_in_its_own_vcenter_and_stops_on_a_problem_in_either(two_zones, tmp_path):
    volumes = [_volume_to_move(two_zones, "zone1"), _volume_to_move(two_zones, "zone2")]
    two_zones.control("vcenter_unregister_vm", instance_name=volumes[1]["vm"]["instancename"])

    run = run_playbook(two_zones, tmp_path, plan_of(volumes), "-e", _vcenters_file(two_zones, tmp_path))

    assert run.returncode != 0, run.output
    report = run.report()
    assert report["status"] == "preflight_failed", report["status"]
    problems = [str(problem) for problem in report["preflight"]["problems"]]
    assert len(problems) == 1 and volumes[1]["vm"]["name"] in problems[0], problems
    assert migrate_jobs(two_zones) == [], "nothing migrated in either zone"


def test_a_pool_of_the_second_zone_is_evacuated_through_its_vcenter(two_zones, tmp_path):
    pools = {pool["name"]: pool for pool in two_zones.admin().listStoragePools()["storagepool"]}
    source = pools["z2-nfs-primary-2"]
    on_source = [record for record in two_zones.records().values() if record["storageid"] == source["id"]]
    assert on_source, "the lab seeds volumes on the pool"

    run = run_playbook(two_zones, tmp_path, [], "-e", _vcenters_file(two_zones, tmp_path), "-e",
                       "safe_migration_source_pool=z2-nfs-primary-2", "-e", "safe_migration_allow_live_migration=true",
                       "-e", "safe_migration_plan_file=%s" % (tmp_path / "evacuation.yml"), playbook=EVACUATE)

    assert run.returncode == 0, run.output
    planned = {entry["volume"]: entry["destination"] for entry in
               yaml.safe_load((tmp_path / "evacuation.yml").read_text())["safe_migration_plan"]}
    assert set(planned) == {volume["id"] for volume in on_source}
    records = two_zones.records()
    for volume in on_source:
        assert records[volume["id"]]["storageid"] == planned[volume["id"]] != source["id"]
        [location] = two_zones.vmdk_locations(volume["path"])
        assert location.startswith("[%s] " % planned[volume["id"]].replace("-", ""))
        if volume.get("virtualmachineid"):
            vm = two_zones.admin().listVirtualMachines(id=volume["virtualmachineid"], listall=True)["virtualmachine"][0]
            assert _where(two_zones, 2, dict(volume, vm=vm)) == location, "zone 2's vCenter shows the disk there"


def test_a_plan_with_a_zone_that_no_vcenter_serves_stops_before_anything_is_read_in_vcenter(two_zones, tmp_path):
    volumes = [_volume_to_move(two_zones, "zone1"), _volume_to_move(two_zones, "zone2")]
    variables = tmp_path / "vcenters.json"
    variables.write_text(json.dumps({"safe_migration_vcenters": two_zones.vcenters()[:1]}))

    run = run_playbook(two_zones, tmp_path, plan_of(volumes), "-e", "@%s" % variables)

    assert run.returncode != 0, run.output
    report = run.report()
    assert report["status"] == "preflight_failed"
    [problem] = report["preflight"]["problems"]
    assert problem.startswith("Zones and vCenters: Zone zone2 (") and "is not among the vCenters given" in problem, problem
    assert "safe_migration_vcenters" in problem
    assert "TASK [cloudstack_vmware.safe_migration.preflight : Check in vCenter" not in run.output
    assert migrate_jobs(two_zones) == []


def test_a_false_success_in_the_second_zone_is_audited_then_repaired_through_that_zones_vcenter(
        two_zones, tmp_path, drift_info):
    volume = _volume_to_move(two_zones, "zone2")
    two_zones.control("fault_next_job", mode="false_success")
    two_zones.admin().migrateVolume(volumeid=volume["id"], storageid=volume["destination"]["id"])
    assert two_zones.records()[volume["id"]]["storageid"] == volume["destination"]["id"], "the record lies"
    drift = [item for item in drift_info(vcenters=two_zones.vcenters())["drift"] if item["volume_id"] == volume["id"]]
    assert [item["code"] for item in drift] == ["disk_on_other_datastore"]
    variables = tmp_path / "approved.json"
    variables.write_text(json.dumps({"safe_migration_repair_items": drift, "safe_migration_vcenters": two_zones.vcenters(),
                                     "safe_migration_repair_journal_path": str(tmp_path / "journal.jsonl"),
                                     "safe_migration_repair_poll_interval": 0.05}))

    run = run_playbook(two_zones, tmp_path, [], "-e", "@%s" % variables, playbook=REPO / "playbooks" / "repair_records.yml")

    assert run.returncode == 0, run.output
    record = two_zones.records()[volume["id"]]
    assert (record["storageid"], record["path"], record["state"]) == (volume["storageid"], volume["path"], "Ready")
    assert _where(two_zones, 2, volume).startswith("[%s] " % volume["storageid"].replace("-", ""))
    assert drift_info(vcenters=two_zones.vcenters())["clean"] is True


def test_the_inventory_check_on_several_vcenters_needs_each_vms_vcenter(two_zones, module_runner):
    vm = _stopped_vm(two_zones, "zone2")
    args = {"vcenters": two_zones.vcenters(), "vms": [{"name": vm["instancename"]}]}

    refused = module_runner("vmware_inventory_assert", args, dict(two_zones.env))
    where = "%s:%s" % (two_zones.env["VMWARE_HOST_ZONE2"], two_zones.env["VMWARE_PORT_ZONE2"])
    found = module_runner("vmware_inventory_assert", dict(args, vms=[{"name": vm["instancename"], "vcenter": where}]),
                          dict(two_zones.env))
    elsewhere = module_runner("vmware_inventory_assert", dict(args, vms=[{"name": vm["instancename"], "vcenter": "%s:%s" % (
        two_zones.env["VMWARE_HOST"], two_zones.env["VMWARE_PORT"])}]), dict(two_zones.env))

    assert refused["failed"] is True and refused["msg"].startswith("VM %s: no vcenter is given" % vm["instancename"])
    assert found["ok"] is True and not found.get("failed"), found
    assert elsewhere["failed"] is True and [problem["code"] for problem in elsewhere["problems"]] == ["vm_not_found"]


def test_a_vcenters_entry_without_its_password_is_refused_before_anything_runs(two_zones, tmp_path):
    volumes = [_volume_to_move(two_zones, "zone2")]
    entries = two_zones.vcenters()
    del entries[1]["password"]
    variables = tmp_path / "vcenters.json"
    variables.write_text(json.dumps({"safe_migration_vcenters": entries}))

    run = run_playbook(two_zones, tmp_path, plan_of(volumes), "-e", "@%s" % variables)

    assert run.returncode != 0
    assert "safe_migration_vcenters entry 2 (%s) lacks password" % entries[1]["hostname"] in run.output, run.output
    assert entries[0]["password"] not in run.output
    assert "Resolve the plan" not in run.output and migrate_jobs(two_zones) == []


def test_a_vcenter_that_refuses_its_login_stops_the_run_before_anything_is_submitted(two_zones, migrate):
    volumes = [_volume_to_move(two_zones, "zone1"), _volume_to_move(two_zones, "zone2")]
    plan = [{"volume": volume["id"], "destination": volume["destination"]["name"]} for volume in volumes]
    first, second = two_zones.vcenters()

    result = migrate(volumes=plan, vcenters=[first, dict(second, password="wrong-password")])

    assert result["failed"] is True and "refused the login of user" in result["msg"], result["msg"]
    assert second["port"] and str(second["port"]) in result["msg"] and "wrong-password" not in json.dumps(result)
    assert migrate_jobs(two_zones) == [], "nothing submitted in either zone"
    assert all(two_zones.records()[volume["id"]]["storageid"] == volume["storageid"] for volume in volumes)


def test_a_wrong_password_for_one_vcenter_stops_the_window_at_the_preflight_and_is_never_shown(two_zones, tmp_path):
    volumes = [_volume_to_move(two_zones, "zone1"), _volume_to_move(two_zones, "zone2")]
    first, second = two_zones.vcenters()
    variables = tmp_path / "vcenters.json"
    variables.write_text(json.dumps({"safe_migration_vcenters": [first, dict(second, password="typo-d-password")]}))

    run = run_playbook(two_zones, tmp_path, plan_of(volumes), "-e", "@%s" % variables)

    assert run.returncode != 0, run.output
    report = run.report()
    assert report["status"] == "preflight_failed" and report["summary"].get("migrated", 0) == 0, report["summary"]
    assert any("refused the login of user" in str(problem) for problem in report["preflight"]["problems"]), report["preflight"]
    assert "typo-d-password" not in run.output and first["password"] not in run.output
    assert "typo-d-password" not in (tmp_path / "report" / "report.json").read_text()
    assert migrate_jobs(two_zones) == [], "nothing migrated in either zone"
