"""The simulator's queues (as CloudStack's sync queues), its job log, the server's refusals with their real codes,
and the commands peer modules run beside the collection (listPods, attach/detachVolume)."""
from __future__ import annotations

import time
import uuid
from urllib.parse import urlsplit

import pytest
import requests
from cs import CloudStackApiException

from lab.cloudstack_sim.app import Settings, Simulator
from lab.cloudstack_sim.testing import SimLab

pytestmark = pytest.mark.lab

THRESHOLD = "concurrent.migrations.per.target.datastore"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    started = SimLab(tmp_path_factory.mktemp("queues"), vms=8, data_disks_per_vm=1, detached_volumes=5).start()
    yield started
    started.stop()


@pytest.fixture
def fresh(lab):
    lab.reset()
    return lab


def _api_error(call, **params) -> dict:
    with pytest.raises(CloudStackApiException) as failure:
        call(**params)
    return failure.value.error


def _job_log(lab) -> dict:
    return requests.get(f"{lab.info['control_url']}/control/job_log", timeout=10).json()


def _wait_for_jobs(lab, job_ids, timeout=20.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = _job_log(lab)
        entries = {entry["jobid"]: entry for entry in log["jobs"]}
        if all(entries.get(job_id, {}).get("ended") for job_id in job_ids):
            return log
        time.sleep(0.05)
    raise AssertionError(f"jobs {job_ids} did not end")


def _detached_to_one_pool(lab, count: int):
    """count detached volumes and one pool none of them is on."""
    admin = lab.client()
    detached = [v for v in admin.listVolumes(listall=True, type="DATADISK", fetch_list=True) if "virtualmachineid" not in v]
    for pool in admin.listStoragePools()["storagepool"]:
        movable = [volume for volume in detached if volume["storageid"] != pool["id"]]
        if len(movable) >= count:
            return movable[:count], pool
    raise AssertionError("the seed has no pool with enough detached volumes elsewhere")


def _stopped_vm_with_two_volumes(lab):
    admin = lab.client()
    vm = admin.listVirtualMachines(listall=True, state="Stopped")["virtualmachine"][0]
    volumes = admin.listVolumes(listall=True, virtualmachineid=vm["id"])["volume"]
    pools = admin.listStoragePools(clusterid=volumes[0]["clusterid"])["storagepool"]
    moves = [(volume, next(p for p in pools if p["id"] != volume["storageid"])) for volume in volumes]
    return vm, moves


# ---- 5. queues -----------------------------------------------------------------------------------------

def test_default_setting_runs_migrations_to_one_pool_side_by_side(fresh):
    fresh.control("job_seconds", seconds=0.6)
    volumes, pool = _detached_to_one_pool(fresh, 3)
    admin = fresh.client(fetch_result=False)

    jobs = [admin.migrateVolume(volumeid=volume["id"], storageid=pool["id"])["jobid"] for volume in volumes]

    log = _wait_for_jobs(fresh, jobs)
    assert log["peak_concurrent_migrations"]["per_pool"][pool["id"]] == 3
    entries = [entry for entry in log["jobs"] if entry["jobid"] in jobs]
    assert all(entry["jobstatus"] == 1 and entry["storageid"] == pool["id"] for entry in entries)
    assert max(entry["started"] for entry in entries) < min(entry["ended"] for entry in entries)
    assert all(entry["ended"] - entry["started"] >= 0.6 for entry in entries)   # a job lasts job_seconds at least


def test_a_threshold_queues_per_pool_and_refuses_beyond_it(fresh):
    admin = fresh.client()
    assert admin.updateConfiguration(name=THRESHOLD, value="1")["configuration"]["value"] == "1"
    volumes, pool = _detached_to_one_pool(fresh, 3)
    submit = fresh.client(fetch_result=False).migrateVolume
    fresh.control("fault_next_job", mode="hang")
    first = submit(volumeid=volumes[0]["id"], storageid=pool["id"])["jobid"]
    while fresh.records()[volumes[0]["id"]]["state"] != "Migrating":
        time.sleep(0.02)
    second, third = (submit(volumeid=volume["id"], storageid=pool["id"])["jobid"] for volume in volumes[1:])
    fresh.control("release_jobs")

    log = _wait_for_jobs(fresh, [first, second, third])

    entries = {entry["jobid"]: entry for entry in log["jobs"]}
    assert [entries[job]["jobstatus"] for job in (first, second, third)] == [1, 2, 1]
    assert entries[second]["errortext"] == ("Number of concurrent migration jobs per datastore exceeded the threshold: 1. "
                                            "Please try again after some time.")
    assert entries[second]["started"] >= entries[first]["ended"]
    assert log["peak_concurrent_migrations"]["per_pool"][pool["id"]] == 1
    assert fresh.records()[volumes[1]["id"]]["storageid"] == volumes[1]["storageid"]


def test_the_volumes_of_one_vm_migrate_one_at_a_time(fresh):
    fresh.control("job_seconds", seconds=0.3)
    vm, moves = _stopped_vm_with_two_volumes(fresh)
    admin = fresh.client(fetch_result=False)

    jobs = [admin.migrateVolume(volumeid=volume["id"], storageid=pool["id"])["jobid"] for volume, pool in moves]

    log = _wait_for_jobs(fresh, jobs)
    assert log["peak_concurrent_migrations"]["per_vm"][vm["id"]] == 1
    first, second = (next(e for e in log["jobs"] if e["jobid"] == job) for job in jobs)
    assert second["started"] >= first["ended"] and (first["jobstatus"], second["jobstatus"]) == (1, 1)


def test_list_and_update_configuration_and_the_control_action(fresh):
    admin = fresh.client()
    listed = admin.listConfigurations(name="per.target.datastore")["configuration"]
    assert [(c["name"], c["value"], c["defaultvalue"]) for c in listed] == [(THRESHOLD, "0", "0")]
    fresh.control("configuration", name=THRESHOLD, value=2)
    assert admin.listConfigurations(name=THRESHOLD)["configuration"][0]["value"] == "2"
    error = _api_error(admin.updateConfiguration, name="no.such.setting", value="1")
    assert (error["errorcode"], error["errortext"]) == (431, "Config parameter with name no.such.setting doesn't exist")
    assert _api_error(fresh.client("user").listConfigurations)["errorcode"] == 401


# ---- 6. refusals -------------------------------------------------------------------------------------

def test_storage_tags_of_the_volume_make_an_untagged_pool_unsuitable_and_fail_the_job(fresh):
    admin = fresh.client()
    volumes, pool = _detached_to_one_pool(fresh, 1)
    volume = volumes[0]
    fresh.control("volume_tags", volume_id=volume["id"], tags="gold")
    offered = {p["id"]: p["suitableformigration"] for p in admin.findStoragePoolsForMigration(id=volume["id"])["storagepool"]}
    assert offered[pool["id"]] is False

    error = _api_error(admin.migrateVolume, volumeid=volume["id"], storageid=pool["id"])

    assert error["errorcode"] == 530 and "does not have the storage tags gold" in error["errortext"]
    assert fresh.records()[volume["id"]]["storageid"] == volume["storageid"]
    fresh.control("pool_tags", pool_id=pool["id"], tags="gold,fast")
    assert admin.migrateVolume(volumeid=volume["id"], storageid=pool["id"])["volume"]["storageid"] == pool["id"]


def test_an_unknown_uuid_in_a_list_filter_is_431(fresh):
    unknown = str(uuid.uuid4())
    for params, name in (({"virtualmachineid": unknown}, "virtualmachineid"), ({"id": unknown}, "id")):
        error = _api_error(fresh.client().listVolumes, **params)
        assert (error["errorcode"], error["cserrorcode"]) == (431, 9999)
        assert error["errortext"] == (
            f"Unable to execute API command listvolumes due to invalid value. Invalid parameter {name} value={unknown} "
            "due to incorrect long value format, or entity does not exist or due to incorrect parameter annotation "
            "for the field in api cmd class.")


def test_another_accounts_job_is_531(fresh):
    volumes, pool = _detached_to_one_pool(fresh, 1)
    job = fresh.client(fetch_result=False).migrateVolume(volumeid=volumes[0]["id"], storageid=pool["id"])["jobid"]

    error = _api_error(fresh.client("user", fetch_result=False).queryAsyncJobResult, jobid=job)

    assert (error["errorcode"], error["cserrorcode"]) == (531, 4365)
    assert "does not have permission to operate with resource Acct[" in error["errortext"]


def test_customjobid_must_be_a_lower_case_uuid_and_unique(fresh):
    volumes, pool = _detached_to_one_pool(fresh, 1)
    submit = fresh.client(fetch_result=False).migrateVolume
    upper = str(uuid.uuid4()).upper()
    error = _api_error(submit, volumeid=volumes[0]["id"], storageid=pool["id"], customjobid=upper)
    assert (error["errorcode"], error["errortext"]) == (431, f"UUID: {upper} doesn't follow the UUID format")
    job_id = str(uuid.uuid4())
    submit(volumeid=volumes[0]["id"], storageid=pool["id"], customjobid=job_id)
    error = _api_error(submit, volumeid=volumes[0]["id"], storageid=pool["id"], customjobid=job_id)
    assert error["errortext"] == f"UUID: {job_id} already exists so can't create/update with custom id"


def test_live_migration_to_a_pool_of_another_cluster_is_431(fresh):
    admin = fresh.client()
    vm = admin.listVirtualMachines(listall=True, state="Running")["virtualmachine"][0]
    volume = admin.listVolumes(listall=True, virtualmachineid=vm["id"], type="DATADISK")["volume"][0]
    elsewhere = next(p for p in admin.listStoragePools(scope="CLUSTER")["storagepool"] if p["clusterid"] != volume["clusterid"])

    error = _api_error(admin.migrateVolume, volumeid=volume["id"], storageid=elsewhere["id"], livemigrate=True)

    assert error["errorcode"] == 431 and "the pool is in another cluster than the VM's host" in error["errortext"]
    assert fresh.records()[volume["id"]]["storageid"] == volume["storageid"]


# ---- 7. peer modules' commands ---------------------------------------------------------------------

def test_list_pods_by_name(fresh):
    pods = fresh.client().listPods(name="pod1")
    assert pods["count"] == 1 and pods["pod"][0]["zonename"] == "zone1"


def test_list_vmware_dcs_gives_the_zones_datacenter_and_vcenter_to_admins_only(fresh):
    admin = fresh.client()
    zone = admin.listZones()["zone"][0]

    dcs = admin.listVmwareDcs(zoneid=zone["id"])

    [dc] = dcs["VMwareDC"]
    vcenter = urlsplit(fresh.vcsim.url)
    assert dcs["count"] == 1 and dc["zoneid"] == zone["id"] and dc["name"] == "DC0"  # vcsim's datacenter
    assert dc["vcenter"] == "%s:%d" % (vcenter.hostname, vcenter.port)
    assert _api_error(admin.listVmwareDcs)["errorcode"] == 431  # zoneid is required
    assert _api_error(admin.listVmwareDcs, zoneid="00000000-0000-4000-8000-000000000000")["errorcode"] == 431
    assert _api_error(fresh.client("user").listVmwareDcs, zoneid=zone["id"])["errorcode"] == 401


def test_detach_keeps_the_file_at_the_datastore_root_and_attach_puts_it_back(fresh):
    admin = fresh.client()
    vm = admin.listVirtualMachines(listall=True, state="Stopped")["virtualmachine"][0]
    volume = admin.listVolumes(listall=True, virtualmachineid=vm["id"], type="DATADISK")["volume"][0]
    datastore = volume["storageid"].replace("-", "")

    detached = admin.detachVolume(id=volume["id"])["volume"]

    assert "virtualmachineid" not in detached and fresh.records()[volume["id"]]["virtualmachineid"] is None
    assert fresh.vmdk_locations(volume["path"]) == [f"[{datastore}] {volume['path']}.vmdk"]

    attached = admin.attachVolume(id=volume["id"], virtualmachineid=vm["id"])["volume"]

    assert attached["virtualmachineid"] == vm["id"] and attached["deviceid"] >= 1
    assert fresh.vmdk_locations(volume["path"]) == [f"[{datastore}] {vm['instancename']}/{volume['path']}.vmdk"]
    moved = admin.migrateVolume(volumeid=volume["id"], storageid=next(
        p["id"] for p in admin.listStoragePools(clusterid=volume["clusterid"])["storagepool"] if p["id"] != volume["storageid"]))
    assert fresh.records()[volume["id"]]["storageid"] == moved["volume"]["storageid"]
    assert len(fresh.vmdk_locations(volume["path"])) == 1


def test_a_migration_job_lasts_job_seconds_its_vcenter_work_included(tmp_path):
    sim = Simulator(Settings(state_dir=tmp_path, job_seconds=3.0))
    try:
        assert sim.migration_pause() == 1.5   # no migration yet: half the time, the rest after the work
        for seconds in (0.4, 0.9, 0.5):
            sim.note_migration_work(seconds)
        assert sim.migration_pause() == pytest.approx(2.5)   # less the median of the last works
        assert sim.rest_of_job(time.monotonic() - 0.1) == pytest.approx(2.9, abs=0.05)   # waited after the work
        assert sim.rest_of_job(time.monotonic() - 3.5) == 0.0   # the work took longer than the job: no wait after
        sim.job_seconds = 0.05
        assert sim.migration_pause() == 0.0   # work longer than the job: no wait at all
    finally:
        sim.close()
