"""Run the collection's modules the way users do: through ansible-playbook, against the lab."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest_plugins = ["lab.fixtures"]

REPO = Path(__file__).resolve().parents[2]
COLLECTIONS = REPO / ".venv" / "collections"
FQCN_PREFIX = "cloudstack_vmware.safe_migration."


def _playbook(module, args, result_file, check_mode, diff):
    task = {"name": "Module under test", FQCN_PREFIX + module: args, "register": "result",
            "ignore_errors": True, "check_mode": check_mode, "diff": diff}
    save = {"name": "Save the result", "ansible.builtin.copy": {"content": "{{ result | to_json }}", "dest": str(result_file)},
            "check_mode": False}
    return [{"name": "Integration test", "hosts": "localhost", "connection": "local", "gather_facts": False,
             "tasks": [task, save]}]


def run_module(module, args, env, tmp_path, check_mode=False, diff=False):
    """Run one module task through ansible-playbook; return its registered result and the play's output."""
    playbook = tmp_path / ("play-%s.yml" % module)
    result_file = tmp_path / ("result-%s.json" % module)
    result_file.unlink(missing_ok=True)
    playbook.write_text(json.dumps(_playbook(module, args, result_file, check_mode, diff)))
    run_env = dict(os.environ, **env)
    run_env.update(ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS), ANSIBLE_PYTHON_INTERPRETER=sys.executable,
                   ANSIBLE_NOCOLOR="1", ANSIBLE_DEPRECATION_WARNINGS="0", ANSIBLE_LOCALHOST_WARNING="0",
                   ANSIBLE_INVENTORY_UNPARSED_WARNING="0", ANSIBLE_HOME=str(tmp_path / "ansible-home"))
    completed = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), str(playbook)], env=run_env,
                               capture_output=True, text=True, timeout=600, check=False)
    if not result_file.exists():
        raise AssertionError("the play did not finish:\n%s\n%s" % (completed.stdout, completed.stderr))
    result = json.loads(result_file.read_text())
    result["_output"] = completed.stdout + completed.stderr
    return result


@pytest.fixture
def module_runner(tmp_path):
    """``module_runner(module, args, env, check_mode=False, diff=False) -> result``."""
    def run(module, args, env, check_mode=False, diff=False):
        return run_module(module, args, env, tmp_path, check_mode=check_mode, diff=diff)
    return run
