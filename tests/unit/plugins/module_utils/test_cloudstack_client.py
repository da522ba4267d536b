# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The CloudStack façade: error translation, classified retries, no resubmission of mutations."""

import pytest
import requests
from cs import CloudStackApiException, CloudStackException

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._cloudstack import client as cloudstack_client
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._cloudstack.arguments import CloudStackSettings
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._cloudstack.client import CloudStackClient
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import (
    CloudStackApiError,
    ConnectionFailed,
    InvalidInput,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.waiter import Backoff


class Response:
    def __init__(self, status_code):
        self.status_code = status_code


def api_error(status, text="boom"):
    return CloudStackApiException("HTTP %d response from CloudStack" % status, error={"errorcode": status, "errortext": text},
                                  response=Response(status))


class ScriptedApi:
    """Answers each command from a script of results or exceptions; records the calls."""

    def __init__(self, **scripts):
        self.scripts = scripts
        self.calls = []

    def __getattr__(self, command):
        def handler(**params):
            self.calls.append((command, params))
            outcome = self.scripts[command].pop(0)
            if isinstance(outcome, Exception):
                raise outcome
            return outcome
        return handler


def client_for(api):
    sleeps = []
    client = CloudStackClient(api, endpoint="https://cs.example/client/api", read_attempts=3,
                              backoff=Backoff(first=1, factor=2, cap=4, jitter=0), sleep=sleeps.append)
    return client, sleeps


@pytest.mark.parametrize("transient", [
    requests.exceptions.ConnectionError("dropped"),
    api_error(429, "The given user has reached his/her account api limit"),
    api_error(530, "internal"),
    CloudStackException("HTTP 502 Bad Gateway", response=Response(502)),
])
def test_reads_retry_transient_failures_with_backoff(transient):
    api = ScriptedApi(listVolumes=[transient, [{"id": "v1"}]])
    client, sleeps = client_for(api)
    assert client.get_volume("v1") == {"id": "v1"}
    assert sleeps == [1]
    assert api.calls[0] == ("listVolumes", {"fetch_list": True, "id": "v1", "listall": True})


def test_reads_give_up_after_the_attempts_and_say_what_failed():
    api = ScriptedApi(listStoragePools=[api_error(530)] * 3)
    client, sleeps = client_for(api)
    with pytest.raises(CloudStackApiError) as caught:
        client.list_storage_pools(name="p")
    assert caught.value.message == "Failed to list storage pools: boom"
    assert caught.value.facts["errorcode"] == 530 and caught.value.facts["command"] == "listStoragePools"
    assert sleeps == [1, 2]


def test_permanent_errors_are_not_retried():
    api = ScriptedApi(listVirtualMachines=[api_error(531, "not yours")])
    client, sleeps = client_for(api)
    with pytest.raises(CloudStackApiError, match="not yours"):
        client.list_virtual_machines()
    assert sleeps == []


def test_wrong_credentials_are_a_connection_failure_naming_the_options():
    api = ScriptedApi(listZones=[api_error(401, "unable to verify user credentials and/or request signature")])
    client = client_for(api)[0]
    with pytest.raises(ConnectionFailed) as caught:
        client.list_zones()
    assert "api_key and api_secret" in caught.value.message


def test_connection_errors_never_leak_the_signed_url():
    leak = requests.exceptions.ConnectionError("Max retries exceeded with url: /client/api?apiKey=SECRETKEY&signature=x")
    api = ScriptedApi(listZones=[leak] * 3)
    client = client_for(api)[0]
    with pytest.raises(ConnectionFailed) as caught:
        client.list_zones()
    assert "SECRETKEY" not in str(caught.value.to_fail_kwargs())
    assert "https://cs.example/client/api" in caught.value.message


def test_unknown_ids_read_as_none():
    api = ScriptedApi(listVolumes=[api_error(431, "entity does not exist")], queryAsyncJobResult=[api_error(431)])
    client = client_for(api)[0]
    assert client.get_volume("nope") is None
    assert client.query_job("nope") is None


def test_migrate_volume_sends_the_custom_job_id_and_is_never_retried():
    api = ScriptedApi(migrateVolume=[requests.exceptions.ConnectionError("dropped")])
    client, sleeps = client_for(api)
    with pytest.raises(ConnectionFailed) as caught:
        client.migrate_volume("v1", "p2", "job-1", live=True)
    assert caught.value.transient is True
    assert api.calls == [("migrateVolume", {"volumeid": "v1", "storageid": "p2", "customjobid": "job-1", "livemigrate": True})]
    assert sleeps == []


def test_update_volume_sends_only_given_fields_and_returns_the_job():
    api = ScriptedApi(updateVolume=[{"jobid": "job-9"}])
    client = client_for(api)[0]
    assert client.update_volume("v1", "job-9", storage_id="p1", path="ROOT-5", state="Ready") == "job-9"
    assert api.calls == [("updateVolume", {"id": "v1", "customjobid": "job-9", "storageid": "p1", "path": "ROOT-5", "state": "Ready"})]


def test_settings_are_completed_from_cloudstack_ini():
    settings = CloudStackSettings(endpoint="https://env/client/api", region="lab")
    asked = []

    def reader(region):
        asked.append(region)
        return {"endpoint": "https://ini/client/api", "key": "k", "secret": "s", "timeout": "20"}
    merged = cloudstack_client.resolve_settings(settings, ini_reader=reader)
    assert asked == ["lab"]
    assert (merged.endpoint, merged.key, merged.secret, merged.timeout) == ("https://env/client/api", "k", "s", "20")


def test_missing_settings_name_what_is_missing():
    def no_ini(region):
        raise SystemExit("Config file not found")
    with pytest.raises(InvalidInput) as caught:
        cloudstack_client.resolve_settings(CloudStackSettings(endpoint="https://x"), ini_reader=no_ini)
    assert caught.value.facts["missing"] == ["api_key", "api_secret"]


def test_connect_builds_a_cs_client_without_tls_verification_when_disabled():
    warnings = []
    client = cloudstack_client.connect(CloudStackSettings(endpoint="https://x/client/api", key="k", secret="s",
                                                          verify="/ca.pem", validate_certs=False), warn=warnings.append)
    assert client._api.verify is False
    assert len(warnings) == 1 and "not validated" in warnings[0]
    assert client._api.retry == 0
    client = cloudstack_client.connect(CloudStackSettings(endpoint="https://x/client/api", key="k", secret="s", verify="/ca.pem"))
    assert client._api.verify == "/ca.pem"


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def outage_client(api, clock):
    return CloudStackClient(api, endpoint="https://cs.example/client/api", read_attempts=3, outage_seconds=300,
                            backoff=Backoff(first=1, factor=2, cap=4, jitter=0), sleep=clock.sleep, clock=clock)


def test_a_cloudstack_that_answered_is_waited_for_through_a_restart():
    down = [requests.exceptions.ConnectionError("refused")] * 20 + [CloudStackException("HTTP 503", response=Response(503))] * 5
    api = ScriptedApi(listZones=[[{"id": "z1"}]], listVolumes=down + [[{"id": "v1"}]])
    clock = Clock()
    client = outage_client(api, clock)
    assert client.list_zones() == [{"id": "z1"}]
    assert client.get_volume("v1") == {"id": "v1"}
    assert len(api.calls) == 27 and 60 < clock.now < 300


def test_a_cloudstack_that_never_answered_fails_after_the_attempts():
    api = ScriptedApi(listVolumes=[requests.exceptions.ConnectionError("refused")] * 3)
    clock = Clock()
    with pytest.raises(ConnectionFailed, match="cannot reach CloudStack at https://cs.example/client/api"):
        outage_client(api, clock).get_volume("v1")
    assert len(api.calls) == 3 and clock.now == 3


def test_an_outage_is_waited_for_only_so_long_and_an_error_answer_is_no_outage():
    api = ScriptedApi(listZones=[[{"id": "z1"}]], listVolumes=[requests.exceptions.ConnectionError("refused")] * 200,
                      listStoragePools=[api_error(530, "internal")] * 10)
    clock = Clock()
    client = outage_client(api, clock)
    client.list_zones()
    with pytest.raises(ConnectionFailed):
        client.get_volume("v1")
    assert 300 <= clock.now < 310
    with pytest.raises(CloudStackApiError, match="internal"):
        client.list_storage_pools()
    assert len([call for call in api.calls if call[0] == "listStoragePools"]) == 3, "a 530 is an answer: a few attempts"
