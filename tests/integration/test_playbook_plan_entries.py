"""Every plan entry accounted for: the playbooks, run as operators run them, fail before any change on a bad entry,
a CloudStack error while resolving, a plan that does not fit, or a wrong option, and say what is wrong with each."""

from __future__ import annotations

import types

import pytest

from integration.playbook_runner import lab_state, plan_of, run_playbook, stopped_vm_volumes  # pylint: disable=import-error
from integration.playbook_runner import REPO  # pylint: disable=import-error

pytestmark = pytest.mark.lab

PREFLIGHT = REPO / "playbooks" / "preflight.yml"


def _nothing_changed(lab, tmp_path, volumes, before, records):
    assert lab_state(lab, volumes) == before
    assert lab.records() == records
    # no job was submitted: the journal is written before any submission
    assert not (tmp_path / "journal.jsonl").exists()


def _tenant_volume(lab):
    return next(volume for volume in lab.admin().listVolumes(listall=True, type="DATADISK")["volume"]
                if volume["account"] == "tenant1")


def test_every_kind_of_bad_entry_is_listed_with_its_position_and_nothing_changes(fresh_lab, tmp_path):
    volumes = stopped_vm_volumes(fresh_lab, 3)
    good = plan_of(volumes)
    # A tenant's volume renamed like an admin volume: the name is ambiguous.
    twin = _tenant_volume(fresh_lab)
    fresh_lab.user().updateVolume(id=twin["id"], name=volumes[2]["name"])
    source_pool = volumes[1]["destination"]["name"]
    plan = [
        good[0],                                                                        # 1: good
        {"volume": "DATA-999999", "destination": good[0]["destination"]},               # 2: unknown volume
        dict(good[1], destination="nfs-primary-99"),                                    # 3: unknown destination pool
        {"volume": volumes[1]["name"], "destinaton": good[1]["destination"]},           # 4: misspelt key
        {"volume": volumes[2]["name"], "destination": good[2]["destination"]},          # 5: ambiguous name
        {"volume": volumes[0]["name"], "source_pool": source_pool, "destination": good[0]["destination"]},  # 6: both
        dict(good[0], destination=volumes[0]["storage"]),                               # 7: same volume, other destination
        {"source_pool": source_pool, "destination": source_pool},                       # 8: pool onto itself
        "DATA-1 to nfs-primary-2",                                                      # 9: not a mapping
        {"volume": 12, "destination": good[0]["destination"]},                          # 10: wrong type
        {"source_pool": source_pool, "destination": good[0]["destination"], "exclude": ["DATA-0000"]},  # 11: bad exclude
    ]
    before, records = lab_state(fresh_lab, volumes), fresh_lab.records()

    run = run_playbook(fresh_lab, tmp_path, plan)

    assert run.returncode != 0 and run.changed == 0, run.output
    assert "Preflight failed, nothing was changed: the plan did not resolve" in run.output
    assert "the plan did not resolve; 10 problem(s), each listed once in the run's summary below" in run.output
    expected = {
        2: "Volume DATA-999999 was not found in CloudStack",
        3: "Destination storage pool nfs-primary-99 was not found in CloudStack",
        4: "unknown key 'destinaton': did you mean destination?",
        5: "Volume name %s is ambiguous" % volumes[2]["name"],
        6: "has both volume and source_pool",
        7: "is planned to two destinations, %s by entry 1 and %s by entry 7" % (good[0]["destination"], volumes[0]["storage"]),
        8: "moves pool %s onto itself" % source_pool,
        9: "is a string",
        10: "volume must be a string, got a number",
        11: "exclude names DATA-0000, which is no volume of pool %s" % source_pool,
    }
    for position, reason in expected.items():
        assert any(("entry %d " % position in line or "entry %d:" % position in line) and reason in line
                   for line in run.output.splitlines()), (position, reason, run.output)
    assert "Wave 1" not in run.output and "SUCCEEDED" not in run.output
    _nothing_changed(fresh_lab, tmp_path, volumes, before, records)
    report = run.report()
    assert report["status"] != "succeeded"
    assert any("entry 3 " in problem for problem in report["preflight"]["problems"])


def test_two_good_entries_and_one_mistyped_destination_migrate_nothing(fresh_lab, tmp_path):
    volumes = stopped_vm_volumes(fresh_lab, 3)
    plan = plan_of(volumes)
    plan[2]["destination"] = plan[2]["destination"] + "x"
    before, records = lab_state(fresh_lab, volumes), fresh_lab.records()

    run = run_playbook(fresh_lab, tmp_path, plan)

    assert run.returncode != 0 and run.changed == 0, run.output
    assert "entry 3 (volume %s -> %s): Destination storage pool %s was not found" % (
        volumes[2]["name"], plan[2]["destination"], plan[2]["destination"]) in run.output
    assert "the plan did not resolve; 1 problem(s), each listed once in the run's summary below" in run.output
    assert "Preflight passed" not in run.output and "SUCCEEDED" not in run.output
    _nothing_changed(fresh_lab, tmp_path, volumes, before, records)


def test_preflight_playbook_fails_the_same_way(fresh_lab, tmp_path):
    volumes = stopped_vm_volumes(fresh_lab, 2)
    plan = plan_of(volumes) + [{"volume": "DATA-999999", "destination": plan_of(volumes)[0]["destination"]},
                               {"volumes": volumes[0]["name"], "destination": plan_of(volumes)[0]["destination"]}]
    before, records = lab_state(fresh_lab, volumes), fresh_lab.records()

    run = run_playbook(fresh_lab, tmp_path, plan, playbook=PREFLIGHT)

    assert run.returncode != 0 and run.changed == 0, run.output
    assert "entry 3 (volume DATA-999999" in run.output and "Volume DATA-999999 was not found" in run.output
    assert "entry 4: unknown key 'volumes': did you mean volume?" in run.output
    assert "Preflight passed" not in run.output
    _nothing_changed(fresh_lab, tmp_path, volumes, before, records)


def test_a_wrong_cloudstack_secret_fails_the_play_once_with_what_to_check(fresh_lab, tmp_path):
    volumes = stopped_vm_volumes(fresh_lab, 2)
    wrong = types.SimpleNamespace(env=dict(fresh_lab.env, CLOUDSTACK_SECRET="Wr0ng-S3cret-4-tests"))
    before, records = lab_state(fresh_lab, volumes), fresh_lab.records()

    for playbook in (PREFLIGHT, REPO / "playbooks" / "migrate_volumes.yml"):
        run = run_playbook(wrong, tmp_path, plan_of(volumes), playbook=playbook, name=playbook.stem)

        assert run.returncode != 0 and run.changed == 0, run.output
        assert "CloudStack could not resolve the plan, nothing was changed" in run.output
        assert "refused the credentials" in run.output and "CLOUDSTACK_SECRET" in run.output
        assert "Preflight passed" not in run.output and "SUCCEEDED" not in run.output
        assert "Wr0ng-S3cret-4-tests" not in run.output
    _nothing_changed(fresh_lab, tmp_path, volumes, before, records)


def test_cloudstack_answering_530_while_resolving_fails_the_play(fresh_lab, tmp_path):
    volumes = stopped_vm_volumes(fresh_lab, 2)
    before, records = lab_state(fresh_lab, volumes), fresh_lab.records()
    # more failures than the reads' retries
    fresh_lab.control("fault_next_calls", count=20, status=530, command="listVolumes")

    run = run_playbook(fresh_lab, tmp_path, plan_of(volumes))

    assert run.returncode != 0 and run.changed == 0, run.output
    assert "CloudStack could not resolve the plan, nothing was changed: Failed to list volumes" in run.output
    assert "Preflight passed" not in run.output and "SUCCEEDED" not in run.output
    _nothing_changed(fresh_lab, tmp_path, volumes, before, records)
    assert run.report()["status"] != "succeeded"


def _pool_volumes(lab, pool_name):
    admin = lab.admin()
    pool = admin.listStoragePools(name=pool_name)["storagepool"][0]
    on_pool = admin.listVolumes(listall=True, storageid=pool["id"])["volume"]
    return pool, on_pool


def test_exclude_leaves_volumes_of_a_pool_out_and_a_mistyped_exclude_stops_the_play(fresh_lab, tmp_path):
    pool, on_pool = _pool_volumes(fresh_lab, "nfs-primary-3")
    left_out = [volume["name"] for volume in on_pool[:-1]]
    kept = on_pool[-1]
    destination = next(other for other in fresh_lab.admin().listStoragePools(clusterid=pool["clusterid"])["storagepool"]
                       if other["id"] != pool["id"] and other["type"] == "NetworkFilesystem")
    plan = [{"source_pool": pool["name"], "destination": destination["name"], "exclude": left_out}]

    checked = run_playbook(fresh_lab, tmp_path, plan, playbook=PREFLIGHT, name="exclude", check=True)

    resolved = [line for line in checked.output.splitlines() if "-> %s" % destination["name"] in line]
    assert any(kept["name"] in line for line in resolved), checked.output
    assert not any("%s (" % name in line for name in left_out for line in resolved)

    records = fresh_lab.records()
    typo = [{"source_pool": pool["name"], "destination": destination["name"], "exclude": left_out + ["DATA-0"]}]
    refused = run_playbook(fresh_lab, tmp_path, typo, name="typo")

    assert refused.returncode != 0 and refused.changed == 0, refused.output
    assert "entry 1 (source_pool %s -> %s): exclude names DATA-0, which is no volume of pool %s" % (
        pool["name"], destination["name"], pool["name"]) in refused.output
    assert fresh_lab.records() == records and not (tmp_path / "journal.jsonl").exists()


def _same_cluster_volumes(lab, count):
    """``count`` volumes of stopped VMs of one cluster, all with the same NFS destination pool."""
    candidates = stopped_vm_volumes(lab, 6)
    for volume in candidates:
        together = [other for other in candidates if other["destination"]["id"] == volume["destination"]["id"]]
        if len(together) >= count:
            return together[:count]
    raise AssertionError("the lab has no %d stopped VMs' volumes with the same destination" % count)


def test_a_plan_that_does_not_fit_its_destination_fails_preflight_naming_the_pool(fresh_lab, tmp_path):
    volumes = _same_cluster_volumes(fresh_lab, 2)
    pool_name = volumes[0]["destination"]["name"]
    plan = plan_of(volumes)
    destination = fresh_lab.admin().listStoragePools(name=pool_name)["storagepool"][0]
    sizes = sorted(int(volume["size"]) for volume in volumes)
    allocated = max(int(destination["disksizeallocated"]), int(destination["disksizeused"]))
    factor = float(destination["overprovisionfactor"])
    # Free space between the largest volume and the sum of both: each fits alone, the plan does not.
    free = sizes[-1] + sizes[0] // 2
    fresh_lab.control("pool_capacity", pool_id=destination["id"], bytes=int((allocated + free) / factor) + 1)
    before, records = lab_state(fresh_lab, volumes), fresh_lab.records()

    run = run_playbook(fresh_lab, tmp_path, plan)

    assert run.returncode != 0 and run.changed == 0, run.output
    assert "Capacity: destination pool %s (datastore %s)" % (pool_name, destination["id"].replace("-", "")) in run.output
    assert "choose another pool or split the plan" in run.output
    assert all(volume["name"] in run.output.split("Capacity:")[1] for volume in volumes)
    _nothing_changed(fresh_lab, tmp_path, volumes, before, records)


@pytest.mark.parametrize("option, value, allowed", [
    ("safe_migration_on_false_success", "restor", "must be one of fail, restore"),
    ("safe_migration_on_volume_failure", "go_on", "must be one of stop, finish_wave"),
    ("safe_migration_concurrency", "0", "must be a whole number of at least 1"),
    ("safe_migration_wave_size", "-1", "must be a whole number of at least 1"),
    ("safe_migration_job_timeout", "0", "must be a number of seconds greater than 0"),
    ("safe_migration_poll_interval", "0", "must be a number of seconds greater than 0"),
    ("safe_migration_allow_live_migration", "sure", "must be true or false"),
    ("safe_migration_skip_preflight", "perhaps", "must be true or false"),
    ("safe_migration_progress", "loud", "must be true or false"),
])
def test_a_wrong_option_is_one_line_before_anything_is_read(lab, tmp_path, option, value, allowed):
    plan = [{"volume": "DATA-2", "destination": "nfs-primary-1"}]
    records = lab.records()

    for playbook in (REPO / "playbooks" / "migrate_volumes.yml", PREFLIGHT):
        run = run_playbook(lab, tmp_path, plan, "-e", "%s=%s" % (option, value), playbook=playbook, name=playbook.stem)

        assert run.returncode != 0 and run.changed == 0 and run.failed == 1, run.output
        assert '"msg": "%s %s (got \'%s\')"' % (option, allowed, value) in run.output, run.output
        assert "argument_spec" not in run.output and "Resolve the plan" not in run.output
    assert lab.records() == records and not (tmp_path / "journal.jsonl").exists()


def test_preflight_problems_name_the_variable_the_playbook_user_sets(fresh_lab, tmp_path):
    admin = fresh_lab.admin()
    vm = next(vm for vm in admin.listVirtualMachines(listall=True, state="Running")["virtualmachine"] if vm["account"] == "admin")
    volume = admin.listVolumes(listall=True, virtualmachineid=vm["id"], type="DATADISK")["volume"][0]
    destination = next(pool for pool in sorted(admin.listStoragePools()["storagepool"], key=lambda pool: pool["name"])
                       if pool["clusterid"] == volume["clusterid"] and pool["id"] != volume["storageid"])
    records = fresh_lab.records()

    run = run_playbook(fresh_lab, tmp_path, [{"volume": volume["id"], "destination": destination["name"]}], playbook=PREFLIGHT)

    assert run.returncode != 0 and run.changed == 0, run.output
    assert "set allow_live_migration=true (playbook: safe_migration_allow_live_migration) to migrate it live" in run.output
    assert fresh_lab.records() == records


@pytest.mark.parametrize("plan", [[], {"volume": "DATA-2", "destination": "nfs-primary-1"}])
def test_a_plan_that_is_empty_or_not_a_list_is_one_message_and_the_report_says_so(lab, tmp_path, plan):
    records = lab.records()

    run = run_playbook(lab, tmp_path, plan)

    assert run.returncode != 0 and run.changed == 0, run.output
    assert "The plan is empty or not a list" in run.output
    assert "argument_spec" not in run.output and "Resolve the plan" not in run.output
    assert any("The plan is empty or not a list" in problem for problem in run.report()["preflight"]["problems"])
    assert lab.records() == records and not (tmp_path / "journal.jsonl").exists()


def test_the_preflight_checks_get_the_playbooks_false_success_policy_and_journal(fresh_lab, tmp_path):
    volumes = stopped_vm_volumes(fresh_lab, 1)
    records = fresh_lab.records()

    run = run_playbook(fresh_lab, tmp_path, plan_of(volumes), "-e", "safe_migration_on_false_success=restore", "-vvv",
                       playbook=PREFLIGHT)

    assert run.returncode == 0, run.output
    checks = run.output.split("Run the CloudStack-side checks of every volume")[1].split("TASK [")[0]
    assert '"on_false_success": "restore"' in checks
    assert '"journal_path": "%s"' % (tmp_path / "journal.jsonl") in checks
    assert fresh_lab.records() == records
