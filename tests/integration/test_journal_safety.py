"""The journal is a safe place: a path that is no journal is refused before anything runs, and a damaged journal
is read around, never crashing a run or its report. Driven through migrate_volumes.yml against the lab."""

from __future__ import annotations

import hashlib
import json

import pytest

from integration.playbook_runner import lab_state, plan_of, run_playbook, stopped_vm_volumes  # pylint: disable=import-error

pytestmark = pytest.mark.lab


def submitted_jobs(lab):
    return lab.admin().listAsyncJobs(listall=True).get("asyncjobs", [])


@pytest.mark.parametrize("journal, refusal", [
    ("/etc/passwd", "it is in the system directory /etc"),
    ("/dev/null", "it is in the system directory /dev"),
    ("{tmp}", "it is a directory, not a regular file"),
    ("{tmp}/no-such-dir/journal.jsonl", "does not exist; create it, or set journal_create_directory=true"),
])
def test_a_path_that_is_no_journal_stops_the_run_before_anything_is_read(lab, tmp_path, journal, refusal):
    volumes = stopped_vm_volumes(lab, 1)
    before, jobs = lab_state(lab, volumes), len(submitted_jobs(lab))
    passwd = hashlib.sha256(open("/etc/passwd", "rb").read()).hexdigest()
    run = run_playbook(lab, tmp_path, plan_of(volumes), "-e", "safe_migration_journal_path=%s" % journal.format(tmp=tmp_path))
    assert run.returncode != 0 and run.failed == 1
    assert "Refuse options that are not allowed" in run.output and refusal in run.output
    assert "Preflight" not in run.output.split("Refuse options that are not allowed", 1)[1].split("PLAY RECAP")[0]
    assert lab_state(lab, volumes) == before and len(submitted_jobs(lab)) == jobs
    assert hashlib.sha256(open("/etc/passwd", "rb").read()).hexdigest() == passwd
    assert not (tmp_path / "no-such-dir").exists()


def test_the_module_refuses_a_device_as_journal_before_any_api_call(lab, module_runner):
    volume = stopped_vm_volumes(lab, 1)[0]
    before, jobs = lab_state(lab, [volume]), len(submitted_jobs(lab))
    result = module_runner("cs_volume_migrate_safe", {"volume": volume["id"], "destination": volume["destination"]["id"],
                                                      "journal_path": "/dev/null"}, lab.env)
    assert result["failed"] and "journal_path /dev/null cannot be the migration journal" in result["msg"]
    assert result["journal_path"] == "/dev/null" and "Traceback" not in result["_output"]
    assert lab_state(lab, [volume]) == before and len(submitted_jobs(lab)) == jobs


def test_a_damaged_journal_neither_stops_the_run_nor_its_report(fresh_lab, tmp_path):
    volumes = stopped_vm_volumes(fresh_lab, 1)
    journal = tmp_path / "journal.jsonl"
    # An earlier run killed mid-write, and a line of invalid bytes.
    journal.write_bytes(b'{"event": "plan", "volume": "elsewhere", "ts": 1}\n\xff\xfe not json\n{"event": "job_res')
    run = run_playbook(fresh_lab, tmp_path, plan_of(volumes), "-e", "safe_migration_journal_path=%s" % journal)
    assert run.returncode == 0, run.output
    report = run.report()
    assert report["status"] == "succeeded" and report["summary"]["migrated"] == 1
    record = fresh_lab.records()[volumes[0]["id"]]
    assert record["storageid"] == volumes[0]["destination"]["id"]
    assert fresh_lab.vmdk_locations(record["path"])
    lines = journal.read_bytes().split(b"\n")
    assert lines[2] == b'{"event": "job_res', "the torn line must stay alone on its line"
    events = [json.loads(line) for line in lines[3:] if line]
    assert {"job_submitting", "job_result", "outcome"} <= {event["event"] for event in events}
    assert all(event["volume"] == volumes[0]["id"] for event in events)
