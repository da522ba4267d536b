# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the preflight prints and stops on: the plan's lines, why a plan did not resolve, every problem once."""

from ansible_collections.cloudstack_vmware.safe_migration.plugins.filter.preflight import (
    FilterModule,
    preflight_plan_lines,
    preflight_problems,
    preflight_resolution_problems,
    zone_preflight_problems,
)


def volume(volume_id, name, instance="i-2-10-VM", vm="web1", **fields):
    described = {"volume_id": volume_id, "volume_name": name, "volume_type": "DATADISK", "attached": bool(instance),
                 "vm_name": vm, "instance_name": instance, "vm_state": "Running", "already_on_destination": False,
                 "source_pool_name": "nfs-1", "destination_pool_name": "nfs-2"}
    described.update(fields)
    return described


RESOLVED = {"volumes": [volume("v1", "data-1"), volume("v2", "root-1", volume_type="ROOT"),
                        volume("v3", "spare", instance=None, vm=None)],
            "capacity": [{"fits": True, "message": "nfs-2 has room"}, {"fits": False, "message": "nfs-3 lacks 5 GiB"}]}
SNAPSHOTS = {"vm": "i-2-10-VM", "code": "vm_has_snapshots", "message": "the VM has 2 snapshots"}


def blocker(code, message):
    return {"code": code, "message": message, "facts": {}}


def test_the_plan_shows_each_volume_with_its_vm_and_move():
    resolved = {"volumes": [volume("v1", "data-1"), volume("v3", "spare", instance=None, vm=None),
                            volume("v2", "root-1", volume_type="ROOT", already_on_destination=True)]}
    assert preflight_plan_lines(resolved) == ["data-1 (DATADISK, web1/i-2-10-VM Running): nfs-1 -> nfs-2",
                                              "spare (DATADISK, detached): nfs-1 -> nfs-2",
                                              "root-1 (ROOT, web1/i-2-10-VM Running): already there"]


def test_a_plan_without_volumes_says_there_is_nothing_to_migrate():
    assert preflight_plan_lines({"volumes": []}) == ["nothing to migrate: no volume matches the plan"]


def test_each_bad_entry_is_a_problem_and_a_plan_error_adds_the_connection_settings():
    entries = [{"error": "entry 1: no volume data-9"}, {"error": None}, {"error": "entry 3: two destinations"}]
    assert preflight_resolution_problems({"entries": entries, "msg": "2 entries"}) == [
        "entry 1: no volume data-9", "entry 3: two destinations"]
    problems = preflight_resolution_problems({"entries": [], "plan_error": True, "msg": "Connection refused"})
    assert len(problems) == 1 and problems[0].startswith("CloudStack: Connection refused. Check the connection settings")
    assert "CLOUDSTACK_ENDPOINT" in problems[0] and problems[0].endswith("then run again")


def test_a_zone_that_no_vcenter_serves_is_said_as_such_not_as_a_cloudstack_error():
    problems = preflight_resolution_problems({"zone_routing": True, "msg": "Zone zone2 (z2): its datacenter DC0 is on "
                                              "vCenter vc2, which is not among the vCenters given (vc1:443)"})
    assert problems == ["Zones and vCenters: Zone zone2 (z2): its datacenter DC0 is on vCenter vc2, which is not among "
                        "the vCenters given (vc1:443)"]


def test_a_resolution_failure_without_a_bad_entry_gives_cloudstacks_message_or_a_default():
    assert preflight_resolution_problems({"entries": [{"error": None}], "msg": "no zone"}) == ["CloudStack: no zone"]
    assert preflight_resolution_problems({}) == ["CloudStack: the plan could not be resolved"]


def test_a_passed_preflight_has_no_problem():
    checks = {"volumes": [{"volume": "v1", "failed": False}]}
    assert preflight_problems({"volumes": [volume("v1", "data-1")]}, {"problems": []}, checks) == []


def test_problems_come_in_order_pools_vcenter_cloudstack_and_a_vcenter_fact_is_listed_once():
    inventory = {"problems": [SNAPSHOTS, {"vm": "i-9-9-VM", "code": "vm_not_found", "message": "not in vCenter"}]}
    checks = {"volumes": [
        {"volume": "v1", "failed": True, "blockers": [blocker("vm_has_snapshots", "snapshots"), blocker("pool_full", "full")]},
        {"volume": "v2", "failed": True, "blockers": [blocker("vm_has_snapshots", "snapshots")]},
        {"volume": "v3", "failed": True, "msg": "API error 431"},
        {"volume": "v1", "failed": False}]}
    assert preflight_problems(RESOLVED, inventory, checks) == [
        "Capacity: nfs-3 lacks 5 GiB",
        "vCenter, VM web1 (volumes data-1, root-1): the VM has 2 snapshots",
        "vCenter, VM i-9-9-VM (volumes ): not in vCenter",
        "CloudStack: volume data-1: full",
        "CloudStack: API error 431"]


def test_without_vcenter_problems_every_blocker_is_listed_and_an_unknown_volume_by_its_id():
    checks = {"volumes": [{"volume": "v9", "failed": True, "blockers": [blocker("job_pending", "a job"),
                                                                        blocker("pool_full", "full")]}]}
    assert preflight_problems(RESOLVED, {"skipped": True}, checks)[1:] == ["CloudStack: volume v9: a job; full"]


def _moved_disk(datastore):
    return {"vm": "i-2-10-VM", "code": "disk_on_other_datastore", "message": "disk on %s" % datastore,
            "facts": {"disk": "data-1-path", "datastore": datastore, "expected": ["nfs1"]}}


def test_a_disk_on_the_destination_of_a_job_the_run_resumes_is_not_a_problem_anywhere_else_it_is():
    # an earlier run's job (unfinished, or failed and never judged) moved the disk: the run judges that job first
    resolved = {"volumes": [volume("v1", "data-1", path="data-1-path")]}
    resumed = {"volume": "v1", "volume_id": "v1", "failed": False, "resumed": True,
               "plan": {"destination": {"pool_id": "p2", "datastores": ["p2", "nfs2"]}}}
    inventory = {"problems": [_moved_disk("nfs2")]}
    assert preflight_problems(resolved, inventory, {"volumes": [resumed]}) == []
    elsewhere = {"problems": [_moved_disk("nfs9")]}
    assert preflight_problems(resolved, elsewhere, {"volumes": [resumed]}) == [
        "vCenter, VM web1 (volumes data-1): disk on nfs9"]
    not_resumed = dict(resumed, resumed=False)
    assert preflight_problems(resolved, inventory, {"volumes": [not_resumed]}) == [
        "vCenter, VM web1 (volumes data-1): disk on nfs2"]


def test_checks_that_could_not_run_are_one_problem_each():
    problems = preflight_problems({"volumes": []}, {"failed": True, "msg": "cannot log in to vCenter"},
                                  {"failed": True, "msg": "the journal is locked"})
    assert problems == ["vCenter: cannot log in to vCenter", "CloudStack: the journal is locked"]


def test_the_filters_are_registered():
    assert set(FilterModule().filters()) == {"preflight_plan_lines", "preflight_problems", "preflight_resolution_problems",
                                             "zone_preflight_problems"}


def zone_facts(zone_id, name, ok=True, others=()):
    return {"preflight_ok": ok, "safe_migration_zone": name, "preflight_zone_kept": {"id": zone_id, "name": name},
            "preflight_other_zones": [{"volume_id": "v-%s" % other, "zone_id": other, "zone_name": "zone-" + other}
                                      for other in others]}


def test_a_zone_may_migrate_when_every_zone_passed_and_each_has_its_host():
    hostvars = {"west": zone_facts("z1", "zone1", others=["z2"]), "east": zone_facts("z2", "zone2", others=["z1"])}
    assert zone_preflight_problems(hostvars, ["west", "east"], "west") == []


def test_another_zones_preflight_that_did_not_pass_or_did_not_complete_stops_this_one():
    hostvars = {"west": zone_facts("z1", "zone1"), "east": zone_facts("z2", "zone2", ok=False),
                "north": {"safe_migration_zone": "zone3"}}
    assert zone_preflight_problems(hostvars, ["west", "east", "north"], "west") == [
        "Zone zone2 (host east): its preflight did not pass, so nothing is migrated in any zone",
        "Zone zone3 (host north): its preflight did not pass, so nothing is migrated in any zone"]


def test_one_zone_by_name_and_by_uuid_on_two_hosts_stops_both():
    hostvars = {"west": zone_facts("z1", "zone1"), "west2": zone_facts("z1", "zone1")}
    assert zone_preflight_problems(hostvars, ["west", "west2"], "west2") == ["Zone zone1 is run by hosts west and west2: one host per zone"]


def test_a_zone_no_host_serves_stops_the_run_unless_left_to_another_run():
    hostvars = {"west": zone_facts("z1", "zone1", others=["z3", "z3"])}
    [problem] = zone_preflight_problems(hostvars, ["west"], "west")
    assert problem.startswith("Zone zone-z3 has 2 volume(s) of the plan, and no host of this run serves it: add a host with "
                              "safe_migration_zone: zone-z3, or set safe_migration_other_zones: leave")
    assert zone_preflight_problems(hostvars, ["west"], "west", "leave") == []
