# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action of cs_volume_migrate_safe: when it shows progress lines, the run id it gives the module, the last line."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest

from ansible_collections.cloudstack_vmware.safe_migration.plugins.action import cs_volume_migrate_safe as action
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.journal import Journal
from ansible_collections.cloudstack_vmware.safe_migration.plugins.plugin_utils.tls_action import ActionModule as TlsAction

PLAN = {"volume_name": "DATA-1", "source": {"pool_name": "nfs-1"}, "destination": {"pool_name": "nfs-2"}}


def action_of(tmp_path, transport="local", become=False, **task):
    values = dict(args={"volumes": [{"volume": "v1"}, {"volume": "v2"}], "journal_path": str(tmp_path / "journal.jsonl")},
                  async_val=0, check_mode=False, no_log=False)
    values.update(task)
    return action.ActionModule(SimpleNamespace(**values), SimpleNamespace(transport=transport),
                               SimpleNamespace(become=become), loader=None, templar=None)


@pytest.fixture(name="shown")
def shown_lines(monkeypatch):
    lines = []
    monkeypatch.setattr(action.display, "display", lambda message, *args, **kwargs: lines.append(message))
    return lines


@pytest.fixture(name="module_run")
def module_that_journals(monkeypatch):
    """The module's run as the action sees it: journal lines under the run id it was given, then its result."""
    seen = {}

    def run(self, tmp=None, task_vars=None):
        seen["args"] = dict(self._task.args)
        if "run_id" in self._task.args:
            journal = Journal(self._task.args["journal_path"], run_id=self._task.args["run_id"])
            journal.record("v1", "plan", plan=PLAN)
            journal.record("v1", "outcome", status="failed", duration=3, msg="FALSE SUCCESS: the disk did not move")
            Journal(self._task.args["journal_path"], run_id="another run").record("v9", "plan", plan=PLAN)
        return {"failed": True, "volumes": [{"volume": "v1", "status": "failed"},
                                            {"volume": "v2", "status": "not_started", "not_started_reason": "volume_failed"}]}
    monkeypatch.setattr(TlsAction, "run", run)
    return seen


def test_a_local_run_shows_its_own_volumes_as_they_start_and_end_and_what_did_not_start(tmp_path, shown, module_run):
    result = action_of(tmp_path).run(task_vars={})

    assert result["failed"] is True
    assert len(module_run["args"]["run_id"]) == 36, "the module was given the run id the lines are followed by"
    started, ended, closing = shown
    assert started == "progress: started DATA-1 (v1): nfs-1 -> nfs-2"
    assert ended.startswith("progress: [1/2 done, 1 not verified, about ")  # the time left: as fast as the test ran
    assert ended.endswith("] DATA-1 (v1) failed after 3 s: FALSE SUCCESS: the disk did not move")
    assert closing == ("progress: [1/2 done, 1 not verified] 1 not started: a volume failed (on_volume_failure=stop); "
                       "run the same plan again to go on")


def test_a_run_id_the_user_gave_is_kept(tmp_path, shown, module_run):
    acting = action_of(tmp_path)
    acting._task.args["run_id"] = "window-2026-12-02"

    acting.run(task_vars={})

    assert module_run["args"]["run_id"] == "window-2026-12-02" and len(shown) == 3


@pytest.mark.parametrize("settings", [
    {"transport": "ssh"}, {"become": True}, {"async_val": 600}, {"check_mode": True}, {"no_log": True},
    {"args": {"volume": "v1", "progress": False}}, {"args": {"volume": "v1", "progress": "no"}},
])
def test_no_lines_where_the_journal_is_not_this_one_or_output_must_stay_quiet(tmp_path, shown, module_run, settings):
    action_of(tmp_path, **settings).run(task_vars={})

    assert shown == [] and "run_id" not in module_run["args"]


@pytest.mark.parametrize("callback", ["json", "ansible.posix.json", "ansible.posix.jsonl"])
def test_no_lines_with_a_json_stdout_callback(tmp_path, shown, module_run, monkeypatch, callback):
    monkeypatch.setattr(action.C, "DEFAULT_STDOUT_CALLBACK", callback)

    action_of(tmp_path).run(task_vars={})

    assert shown == [] and "run_id" not in module_run["args"]


def test_the_journal_followed_is_the_file_the_module_writes(tmp_path, monkeypatch):
    (tmp_path / "real").mkdir()
    os.symlink(str(tmp_path / "real"), str(tmp_path / "link"))
    monkeypatch.setenv("JOURNALS", str(tmp_path / "link"))

    assert action.journal_file("$JOURNALS/journal.jsonl") == str(tmp_path / "real" / "journal.jsonl")
    assert action.journal_file(None) == os.path.realpath(os.path.expanduser("~/.ansible/safe_migration/journal.jsonl"))
