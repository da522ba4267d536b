# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

import json
import os
import stat

import pytest

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import InvalidInput
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.journal import Journal, without_secrets


class Ticks:
    def __init__(self):
        self.now = 0

    def __call__(self):
        self.now += 1
        return self.now


def test_appends_json_lines_in_a_private_file(tmp_path):
    path = tmp_path / "deep" / "journal.jsonl"
    journal = Journal(str(path), clock=Ticks(), run_id="run-1")
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
    journal = Journal(str(blocker / "journal.jsonl"))
    with pytest.raises(InvalidInput, match="journal_path"):
        journal.record("v1", "plan")
