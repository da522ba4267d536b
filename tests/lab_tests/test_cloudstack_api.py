"""The simulator's API as the real `cs` client sees it: signatures, views, paging, errors, jobs, faults."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
import requests
from cs import CloudStackApiException

from lab.cloudstack_sim.testing import SimLab

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    started = SimLab(tmp_path_factory.mktemp("csapi"), vms=12, data_disks_per_vm=1, detached_volumes=2).start()
    yield started
    started.stop()


def _api_error(call, **params) -> dict:
    with pytest.raises(CloudStackApiException) as failure:
        call(**params)
    return failure.value.error


def _signed_get(lab, **params):
    params.update(apiKey=lab.info["admin"]["key"], response="json")
    lab.client()._sign(params)  # pylint: disable=protected-access
    return requests.get(lab.info["endpoint"], params=params, timeout=10)


def test_wrong_secret_is_refused_with_401(lab):
    client = lab.client()
    client.secret = "not-the-secret"
    error = _api_error(client.listZones)
    assert error == {"uuidList": [], "errorcode": 401,
                     "errortext": "unable to verify user credentials and/or request signature"}


def test_tampered_parameter_and_missing_signature_are_refused(lab):
    client = lab.client()
    params = {"command": "listVolumes", "apiKey": lab.info["admin"]["key"], "response": "json", "listall": "true"}
    client._sign(params)  # pylint: disable=protected-access
    assert requests.get(lab.info["endpoint"], params=params, timeout=10).status_code == 200
    tampered = dict(params, listall="false")
    assert requests.get(lab.info["endpoint"], params=tampered, timeout=10).status_code == 401
    unsigned = {k: v for k, v in params.items() if k != "signature"}
    answer = requests.get(lab.info["endpoint"], params=unsigned, timeout=10)
    assert answer.status_code == 401 and "listvolumesresponse" in answer.json()


def test_unknown_command_is_401_errorresponse(lab):
    answer = _signed_get(lab, command="noSuchCommand")
    assert (answer.status_code, list(answer.json())) == (401, ["errorresponse"])


def test_expired_request_is_refused(lab):
    unversioned = lab.client(expiration=-1)  # no signatureVersion/expires at all: accepted
    assert unversioned.listZones()["count"] == 1
    assert lab.client(expiration=timedelta(minutes=5)).listZones()["count"] == 1
    error = _api_error(lab.client().listZones, expires="2020-01-01T00:00:00+0000", signatureVersion="3")
    assert error["errorcode"] == 401


def test_user_gets_the_restricted_view_and_no_admin_commands(lab):
    user, admin = lab.client("user"), lab.client()
    user_volumes = user.listVolumes(fetch_list=True)
    assert user_volumes and all(volume["account"] == "tenant1" for volume in user_volumes)
    assert not {"path", "storageid", "storage", "clusterid"} & set().union(*user_volumes)
    user_vm = user.listVirtualMachines()["virtualmachine"][0]
    assert "instancename" not in user_vm and "hostid" not in user_vm
    admin_vm = admin.listVirtualMachines(id=user_vm["id"])["virtualmachine"][0]
    assert admin_vm["instancename"].startswith("i-3-")
    error = _api_error(user.listStoragePools)
    assert (error["errorcode"], error["errortext"]) == (
        401, "The given command 'listStoragePools' either does not exist, is not available for user.")


def test_admin_sees_other_accounts_only_with_listall(lab):
    admin = lab.client()
    own = admin.listVolumes(fetch_list=True)
    everything = admin.listVolumes(fetch_list=True, listall=True)
    assert {volume["account"] for volume in own} == {"admin"}
    assert {volume["account"] for volume in everything} == {"admin", "tenant1"}


def test_paging_rules_and_fetch_list(lab):
    admin = lab.client()
    total = admin.listVolumes(listall=True)["count"]
    paged = admin.listVolumes(fetch_list=True, listall=True, pagesize=5)
    assert len(paged) == total == len({volume["id"] for volume in paged})
    assert _api_error(admin.listVolumes, pagesize=5)["errortext"] == '"page" parameter is required when "pagesize" is specified'
    answer = _signed_get(lab, command="listVolumes", page="1")  # cs always adds pagesize to page
    assert (answer.status_code, answer.json()["listvolumesresponse"]["errortext"]) == (
        431, '"pagesize" parameter is required when "page" is specified')
    assert _api_error(admin.listVolumes, page=1, pagesize=501)["errorcode"] == 431
    assert len(admin.listVolumes(listall=True, pagesize=-1)["volume"]) == total
    assert admin.listVolumes(name="no-such-volume") == {}


def test_parameter_errors_are_synchronous_431(lab):
    admin = lab.client()
    error = _api_error(admin.migrateVolume, storageid="6d4a5b64-0000-4000-8000-000000000000")
    assert error == {"uuidList": [], "errorcode": 431, "cserrorcode": 9999,
                     "errortext": "Unable to execute API command migratevolume due to missing parameter volumeid"}
    error = _api_error(admin.queryAsyncJobResult, jobid="8c0e4a8e-0000-4000-8000-000000000000")
    assert error["errortext"].startswith("Unable to execute API command queryasyncjobresult due to invalid value. "
                                         "Invalid parameter jobid value=8c0e4a8e-0000-4000-8000-000000000000")


def _stopped_volume_and_destination(lab, volume_type="DATADISK"):
    admin = lab.client()
    vm = admin.listVirtualMachines(listall=True, state="Stopped")["virtualmachine"][0]
    volume = admin.listVolumes(listall=True, virtualmachineid=vm["id"], type=volume_type)["volume"][0]
    pools = admin.listStoragePools(clusterid=volume["clusterid"])["storagepool"]
    return vm, volume, next(pool for pool in pools if pool["id"] != volume["storageid"])


def test_job_validation_fails_inside_the_job(lab):
    lab.reset()
    admin = lab.client()
    running = admin.listVirtualMachines(listall=True, state="Running")["virtualmachine"][0]
    volume = admin.listVolumes(listall=True, virtualmachineid=running["id"], type="ROOT")["volume"][0]
    error = _api_error(admin.migrateVolume, volumeid=volume["id"], storageid=volume["storageid"])
    assert error == {"errorcode": 431, "errortext": f"Volume {volume['name']} is already on the destination storage pool"}
    pools = admin.listStoragePools(clusterid=volume["clusterid"])["storagepool"]
    other = next(pool for pool in pools if pool["id"] != volume["storageid"])
    error = _api_error(admin.migrateVolume, volumeid=volume["id"], storageid=other["id"])
    assert error["errortext"].endswith("is attached to a vm and for migrating it the parameter livemigrate should be specified")


def test_customjobid_becomes_the_job_id_and_cannot_be_reused(lab):
    admin = lab.client(fetch_result=False)
    volume, destination = _stopped_volume_and_destination(lab)[1:]
    job_id = "0f5c7a52-6a0b-4e43-9d4e-3c2f4e1b9a11"
    submitted = admin.migrateVolume(volumeid=volume["id"], storageid=destination["id"], customjobid=job_id)
    assert submitted == {"jobid": job_id}
    error = _api_error(admin.migrateVolume, volumeid=volume["id"], storageid=destination["id"], customjobid=job_id)
    assert error["errorcode"] == 431
    result = lab.client()._jobresult(job_id)  # pylint: disable=protected-access
    assert result["volume"]["storageid"] == destination["id"]


def test_pending_job_annotates_the_volume_and_hang_holds_it_migrating(lab):
    lab.reset()
    admin = lab.client(fetch_result=False)
    volume, destination = _stopped_volume_and_destination(lab)[1:]
    lab.control("fault_next_job", mode="hang")
    job_id = admin.migrateVolume(volumeid=volume["id"], storageid=destination["id"])["jobid"]
    time.sleep(0.3)
    listed = admin.listVolumes(id=volume["id"])["volume"][0]
    assert (listed["state"], listed["jobid"], listed["jobstatus"]) == ("Migrating", job_id, 0)
    job = admin.queryAsyncJobResult(jobid=job_id)
    assert (job["jobstatus"], job["jobresultcode"]) == (0, 0) and "jobresult" not in job
    lab.control("release_jobs")
    result = lab.client()._jobresult(job_id)  # pylint: disable=protected-access
    assert result["volume"]["state"] == "Ready"


def test_detached_volume_keeps_its_uuid_on_a_new_row(lab):
    lab.reset()
    admin = lab.client()
    volume = next(v for v in admin.listVolumes(listall=True, type="DATADISK", fetch_list=True) if "virtualmachineid" not in v)
    destination = next(p for p in admin.listStoragePools()["storagepool"] if p["id"] != volume["storageid"])
    result = admin.migrateVolume(volumeid=volume["id"], storageid=destination["id"])
    assert (result["volume"]["id"], result["volume"]["storageid"]) == (volume["id"], destination["id"])
    expected = f"[{destination['id'].replace('-', '')}]"
    assert [location.split(" ")[0] for location in lab.vmdk_locations(result["volume"]["path"])] == [expected]


def test_fault_429_is_not_retried_by_cs(lab):
    admin = lab.client(retry=3)
    lab.control("fault_next_calls", count=1, status=429, command="listZones")
    error = _api_error(admin.listZones)
    assert (error["errorcode"], error["cserrorcode"]) == (429, 4545)
    assert admin.listZones()["count"] == 1


def test_dropped_connection_is_retried_by_cs_for_lists(lab):
    admin = lab.client(retry=2, retry_backoff=0.01)
    lab.control("fault_next_calls", count=1, status="drop", command="listZones")
    assert admin.listZones()["count"] == 1


def test_restart_mid_job_fails_the_job_and_leaves_the_volume_migrating(lab):
    lab.reset()
    admin = lab.client(fetch_result=False)
    volume, destination = _stopped_volume_and_destination(lab)[1:]
    lab.control("fault_next_job", mode="hang")
    job_id = admin.migrateVolume(volumeid=volume["id"], storageid=destination["id"])["jobid"]
    time.sleep(0.3)
    lab.restart_simulator(kill=True)
    job = lab.client(fetch_result=False).queryAsyncJobResult(jobid=job_id)
    assert (job["jobstatus"], job["jobresultcode"]) == (2, 530)
    assert job["jobresult"]["errortext"] == "Job cancelled because of management server restart or shutdown"
    record = lab.records()[volume["id"]]
    assert (record["state"], record["storageid"]) == ("Migrating", volume["storageid"])
    repaired = lab.client().updateVolume(id=volume["id"], state="Ready")
    assert repaired["volume"]["state"] == "Ready"
