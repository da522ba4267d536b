# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

import json
import os
import stat

import pytest

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import InvalidInput
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common import journal as journal_module
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.journal import Journal, without_secrets


class Ticks:
    def __init__(self):
        self.now = 0

    def __call__(self):
        self.now += 1
        return self.now


def test_appends_json_lines_in_a_private_file(tmp_path):
    path = tmp_path / "deep" / "journal.jsonl"
    journal = Journal(str(path), clock=Ticks(), run_id="run-1", create_directory=True)
    journal.record("v1", "plan", plan={"destination": "p2"})
    journal.record("v1", "job_submitting", job_id="j1")
    lines = path.read_text().splitlines()
    assert [json.loads(line)["event"] for line in lines] == ["plan", "job_submitting"]
    assert json.loads(lines[1]) == {"ts": 2, "run": "run-1", "volume": "v1", "event": "job_submitting", "job_id": "j1"}
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_never_writes_secrets(tmp_path):
    journal = Journal(str(tmp_path / "j.jsonl"))
    journal.record("v1", "plan", settings={"api_key": "K", "api_secret": "S", "endpoint": "e"}, items=[{"password": "P"}])
    text = (tmp_path / "j.jsonl").read_text()
    assert '"K"' not in text and "api_key" not in text
    assert '"S"' not in text and '"P"' not in text and "api_secret" not in text
    assert '"endpoint": "e"' in text


def test_without_secrets_keeps_the_rest():
    assert without_secrets({"a": [{"secret": 1, "b": 2}], "Token": 3}) == {"a": [{"b": 2}]}


def test_unfinished_job_is_the_last_submission_without_result(tmp_path):
    journal = Journal(str(tmp_path / "j.jsonl"), clock=Ticks())
    journal.record("v1", "job_submitting", job_id="j1")
    journal.record("v1", "job_result", job_id="j1", job_status=2)
    journal.record("v1", "job_submitting", job_id="j2")
    journal.record("v2", "job_submitting", job_id="j3")
    assert journal.unfinished_job("v1")["job_id"] == "j2"
    journal.record("v1", "job_abandoned", job_id="j2")
    assert journal.unfinished_job("v1") is None
    assert journal.unfinished_job("v2")["job_id"] == "j3"


def test_unjudged_failure_is_a_failed_job_result_that_no_outcome_followed(tmp_path):
    journal = Journal(str(tmp_path / "j.jsonl"), clock=Ticks())
    plan = {"destination": {"pool_id": "p2"}}
    journal.record("v1", "job_submitting", job_id="j1", plan=plan)
    assert journal.unjudged_failure("v1") is None, "still running: unfinished, not unjudged"
    journal.record("v1", "job_result", job_id="j1", job_status=2, job_result={"errortext": "cancelled"})
    submission, result = journal.unjudged_failure("v1")
    assert (submission["plan"], result["job_status"]) == (plan, 2)
    journal.record("v1", "outcome", status="failed", job_id="j1")
    assert journal.unjudged_failure("v1") is None, "judged: an outcome followed"


@pytest.mark.parametrize("events", [
    [("job_result", {"job_status": 1})],  # a success is judged by the plan (already there, or a damaged record)
    [("job_result", {"job_status": 2, "superseded_by": "p3"})],  # another destination was asked for since
    [("job_abandoned", {})],
    [("job_result", {"job_status": 2}), ("outcome", {"status": "failed"})],
])
def test_unjudged_failure_is_none_for_judged_successful_superseded_or_abandoned_jobs(tmp_path, events):
    journal = Journal(str(tmp_path / "j.jsonl"), clock=Ticks())
    journal.record("v1", "job_submitting", job_id="j1", plan={"destination": {"pool_id": "p2"}})
    for event, data in events:
        journal.record("v1", event, job_id="j1", **data)
    assert journal.unjudged_failure("v1") is None


def test_survives_a_torn_last_line(tmp_path):
    path = tmp_path / "j.jsonl"
    journal = Journal(str(path), clock=Ticks())
    journal.record("v1", "job_submitting", job_id="j1")
    with open(path, "a") as handle:
        handle.write('{"event": "job_res')
    assert journal.unfinished_job("v1")["job_id"] == "j1"


def test_unwritable_journal_is_an_input_error_naming_the_option(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(InvalidInput, match="journal_path .* is not a directory"):
        Journal(str(blocker / "journal.jsonl"))


def test_a_journal_that_became_unwritable_is_an_input_error_naming_the_option(tmp_path):
    journal = Journal(str(tmp_path / "j.jsonl"))
    (tmp_path / "j.jsonl").mkdir()
    with pytest.raises(InvalidInput, match="Cannot write the migration journal .*set journal_path"):
        journal.record("v1", "plan")


@pytest.mark.parametrize("path, why", [
    ("/etc/passwd", "system directory /etc"),
    ("/etc/safe_migration.jsonl", "system directory /etc"),
    ("/dev/null", "system directory /dev"),
    ("/usr/share/journal.jsonl", "system directory /usr"),
])
def test_a_system_file_is_refused_before_anything_is_written(path, why):
    with pytest.raises(InvalidInput, match="cannot be the migration journal: it is in the " + why) as raised:
        Journal(path)
    assert "Nothing was changed" in raised.value.message
    assert raised.value.facts == {"journal_path": path}


def test_a_directory_a_pipe_and_a_link_to_a_device_are_refused(tmp_path):
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    link = tmp_path / "link.jsonl"
    link.symlink_to("/dev/null")
    with pytest.raises(InvalidInput, match="it is a directory, not a regular file"):
        Journal(str(tmp_path))
    with pytest.raises(InvalidInput, match="it is a named pipe, not a regular file"):
        Journal(str(pipe))
    with pytest.raises(InvalidInput, match="system directory /dev"):
        Journal(str(link))


def test_a_missing_directory_is_created_only_when_asked(tmp_path):
    path = tmp_path / "new" / "journal.jsonl"
    with pytest.raises(InvalidInput, match="does not exist; create it, or set journal_create_directory=true"):
        Journal(str(path))
    assert not path.parent.exists()
    Journal(str(path), create_directory=True).record("v1", "plan")
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert json.loads(path.read_text())["event"] == "plan"


def test_the_default_directory_is_created(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    journal = Journal()
    journal.record("v1", "plan")
    assert (tmp_path / ".ansible" / "safe_migration" / "journal.jsonl").is_file()
    assert journal.path == str(tmp_path / ".ansible" / "safe_migration" / "journal.jsonl")


def test_a_torn_last_line_is_completed_before_appending(tmp_path):
    path = tmp_path / "j.jsonl"
    path.write_bytes(b'{"event": "plan", "volume": "v1", "ts": 1}\n{"event": "job_res')
    journal = Journal(str(path), clock=Ticks())
    journal.record("v1", "job_submitting", job_id="j2")
    journal.record("v1", "job_result", job_id="j2", job_status=1)
    lines = path.read_bytes().split(b"\n")
    assert lines[1] == b'{"event": "job_res'
    assert [json.loads(line)["event"] for line in lines[2:] if line] == ["job_submitting", "job_result"]
    fresh = Journal(str(path))
    assert [entry["event"] for entry in fresh.entries("v1")] == ["plan", "job_submitting", "job_result"]
    assert fresh.skipped_lines == 1


def test_invalid_bytes_are_skipped_and_counted(tmp_path):
    path = tmp_path / "j.jsonl"
    path.write_bytes(b'{"event": "plan", "volume": "v1", "ts": 1}\n\xff\xfe garbage\n{"event": "outcome", "volume": "v1", "ts": 2}\n')
    journal = Journal(str(path))
    assert [entry["event"] for entry in journal.entries("v1")] == ["plan", "outcome"]
    assert journal.skipped_lines == 1


def test_the_file_is_read_once_per_run(tmp_path, monkeypatch):
    path = tmp_path / "j.jsonl"
    Journal(str(path)).record("v0", "plan")
    reads = []
    real_read = journal_module.read_damaged
    monkeypatch.setattr(journal_module, "read_damaged", lambda *args: reads.append(args) or real_read(*args))
    journal = Journal(str(path), clock=Ticks())
    for number in range(50):
        journal.record("v%d" % number, "job_submitting", job_id="j%d" % number)
        assert journal.unfinished_job("v%d" % number)["job_id"] == "j%d" % number
    assert len(reads) == 1
    assert len(journal.entries()) == 51
