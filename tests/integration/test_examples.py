"""Every example is true as written: a ```yaml block in README.md or docs/, and every examples/*.yml, is runnable.

- it parses as YAML;
- a list of plays: ``ansible-playbook --syntax-check``; a list of tasks: the same, wrapped in a localhost play
  (the syntax checks of all examples go through one ansible-playbook run, and one run per example only when it fails);
- a vars file with ``safe_migration_plan``: ``playbooks/migrate_volumes.yml --check`` against the lab; it passes when
  the plan resolves in the lab (exit code 0, report status ``checked``) or when the only problems are names the lab
  does not know (every bad entry's ``error_code`` is a not-found code): never a key, type, option or shape error;
- any other vars file: its variables are the playbooks' (``safe_migration_*``).

Output and shortened excerpts are fenced ```text, not ```yaml (docs/development.md).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from integration.playbook_runner import REPO, run_playbook  # pylint: disable=import-error

COLLECTIONS = REPO / ".venv" / "collections"
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<lang>[^\s`]*)")
# The plan entry codes of a name CloudStack does not know (plugins/module_utils/_volume/plan_info.py error_code,
# docs/playbooks.md "Plan entries and errors"); every other code is a mistake of the example itself.
NOT_FOUND_CODES = {"volume_not_found", "source_pool_not_found", "destination_not_found", "entry_not_found",
                   "exclude_unknown"}
# Set by the runner: an example's report or journal location must not send the test's files elsewhere.
RUNNER_VARS = {"safe_migration_report_dir", "safe_migration_journal_path"}
PLAY_KEYS = {"hosts", "import_playbook", "ansible.builtin.import_playbook"}


class Example:
    def __init__(self, path, line, text):
        self.path = path
        self.line = line
        self.text = text

    @property
    def id(self):
        return "%s:%d" % (self.path.relative_to(REPO), self.line)


def markdown_files():
    return [REPO / "README.md"] + sorted((REPO / "docs").rglob("*.md"))


def yaml_blocks(path):
    """The ```yaml (or ```yml) blocks of a markdown file, each with the line of its opening fence."""
    blocks, lines, index = [], path.read_text(encoding="utf-8").splitlines(), 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        indent, fence = opening.group("indent"), opening.group("fence")
        end = index + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        if opening.group("lang").lower() in ("yaml", "yml"):
            body = [line[len(indent):] if line.startswith(indent) else line.lstrip() for line in lines[index + 1:end]]
            blocks.append(Example(path, index + 1, "\n".join(body) + "\n"))
        index = end + 1
    return blocks


def all_examples():
    examples = [block for path in markdown_files() for block in yaml_blocks(path)]
    examples += [Example(path, 1, path.read_text(encoding="utf-8")) for path in sorted((REPO / "examples").glob("*.yml"))]
    return examples


EXAMPLES = all_examples()


def kind_of(data):
    """plays, tasks, plan (a vars file with safe_migration_plan), vars (another vars file of the playbooks), or None."""
    if isinstance(data, list) and data and all(isinstance(item, dict) for item in data):
        if all(PLAY_KEYS & set(item) for item in data):
            return "plays"
        if not any(PLAY_KEYS & set(item) for item in data):
            return "tasks"
    if isinstance(data, dict) and data:
        if "safe_migration_plan" in data:
            return "plan"
        if all(str(key).startswith("safe_migration_") for key in data):
            return "vars"
    return None


def _foreign_modules(data):
    """FQCNs of the tasks' modules from collections other than ansible.builtin and this one."""
    found = set()
    if isinstance(data, list):
        for item in data:
            found |= _foreign_modules(item)
    elif isinstance(data, dict):
        for key, value in data.items():
            if key in ("block", "rescue", "always", "tasks", "pre_tasks", "post_tasks", "handlers"):
                found |= _foreign_modules(value)
            elif isinstance(key, str) and key.count(".") == 2 and not key.startswith(
                    ("ansible.builtin.", "ansible.legacy.", "cloudstack_vmware.safe_migration.")):
                found.add(key)
    return found


def _stub_collections(tmp_path, modules):
    """A collections path with a do-nothing module for each foreign FQCN (e.g. awx.awx.credential_type).

    A syntax check reads the example's structure and keywords; it does not check a module's options, so a stub
    module is enough to make the module name resolve when that collection is not installed here.
    """
    root = tmp_path / "stub-collections"
    for fqcn in modules:
        namespace, name, module = fqcn.split(".")
        directory = root / "ansible_collections" / namespace / name / "plugins" / "modules"
        directory.mkdir(parents=True, exist_ok=True)
        (directory / ("%s.py" % module)).write_text("# stub for the examples' syntax check\n")
    return root


def _playbook_of(example):
    data = yaml.safe_load(example.text)
    if kind_of(data) == "tasks":
        data = [{"name": "Example %s" % example.id, "hosts": "localhost", "connection": "local",
                 "gather_facts": False, "tasks": data}]
    return data


def _syntax_check(tmp_path, examples):
    """One ansible-playbook --syntax-check over the examples' playbooks: (returncode, output)."""
    foreign = set()
    files = []
    for number, example in enumerate(examples):
        playbook = _playbook_of(example)
        foreign |= _foreign_modules(playbook)
        path = tmp_path / ("example-%02d.yml" % number)
        path.write_text(yaml.safe_dump(playbook, sort_keys=False))
        files.append(str(path))
    paths = [str(COLLECTIONS)]
    if foreign:
        paths.append(str(_stub_collections(tmp_path, foreign)))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.pathsep.join(paths), ANSIBLE_PYTHON_INTERPRETER=sys.executable,
               ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
               ANSIBLE_HOME=str(tmp_path / "ansible-home"))
    completed = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "--syntax-check", *files],
                               env=env, cwd=str(REPO), capture_output=True, text=True, timeout=600, check=False)
    return completed.returncode, completed.stdout + completed.stderr


def _parse(example):
    try:
        return yaml.safe_load(example.text)
    except yaml.YAMLError as error:
        pytest.fail("%s is fenced ```yaml but is not YAML (fence an output excerpt as ```text): %s" % (example.id, error))
    return None


def _kinds():
    kinds = {}
    for example in EXAMPLES:
        try:
            kinds[example.id] = kind_of(yaml.safe_load(example.text))
        except yaml.YAMLError:
            kinds[example.id] = None
    return kinds


KINDS = _kinds()
SYNTAX_EXAMPLES = [example for example in EXAMPLES if KINDS[example.id] in ("plays", "tasks")]
PLAN_EXAMPLES = [example for example in EXAMPLES if KINDS[example.id] == "plan"]


def test_the_examples_are_found():
    """The extraction works: the README's plan and tasks, the lab's worked plan and examples/plan.yml are there."""
    ids = {example.id for example in EXAMPLES}
    assert "examples/plan.yml:1" in ids
    assert any(example_id.startswith("README.md:") for example_id in ids)
    assert len(SYNTAX_EXAMPLES) >= 2 and len(PLAN_EXAMPLES) >= 3, sorted(ids)


@pytest.mark.parametrize("example", EXAMPLES, ids=[example.id for example in EXAMPLES])
def test_example_is_yaml_of_a_known_kind(example):
    data = _parse(example)
    assert kind_of(data) is not None, (
        "%s is fenced ```yaml but is neither plays, tasks, nor a vars file of the collection's playbooks "
        "(safe_migration_*): make it runnable, or fence it as ```text" % example.id)


@pytest.fixture(scope="module")
def batch_syntax_check(tmp_path_factory):
    return _syntax_check(tmp_path_factory.mktemp("syntax"), SYNTAX_EXAMPLES)


@pytest.mark.parametrize("example", SYNTAX_EXAMPLES, ids=[example.id for example in SYNTAX_EXAMPLES])
def test_example_passes_the_syntax_check(example, batch_syntax_check, tmp_path):
    returncode = batch_syntax_check[0]
    if returncode == 0:
        return
    # The batch failed: find out whether this example is the one (ansible-playbook stops at the first error).
    returncode, output = _syntax_check(tmp_path, [example])
    assert returncode == 0, "%s fails ansible-playbook --syntax-check:\n%s\n%s" % (example.id, example.text, output)


@pytest.mark.lab
@pytest.mark.parametrize("example", PLAN_EXAMPLES, ids=[example.id for example in PLAN_EXAMPLES])
def test_example_plan_runs_in_check_mode_against_the_lab(example, lab, tmp_path):
    data = _parse(example)
    others = {key: value for key, value in data.items() if key != "safe_migration_plan" and key not in RUNNER_VARS}
    options = []
    if others:
        variables = tmp_path / "example-vars.yml"
        variables.write_text(yaml.safe_dump(others))
        options = ["-e", "@%s" % variables]

    records = lab.records()

    run = run_playbook(lab, tmp_path, data["safe_migration_plan"], *options, name="example", check=True)

    # --check: nothing changed in the lab (the preflight's checks report `changed` for the volumes a run would move)
    assert lab.records() == records
    report_file = run.report_dir / "report.json"
    assert report_file.exists(), "%s: no report was written:\n%s" % (example.id, run.output)
    report = run.report()
    assert report["check_mode"] is True
    if run.returncode == 0:
        assert report["status"] == "checked", run.output
        assert all(entry["status"] in ("resolved", "empty") for entry in report["entries"]), report["entries"]
        return
    # Not runnable in the lab: only because the lab does not know its names, never a mistake of the example.
    assert report["status"] == "preflight_failed", run.output
    bad = [entry for entry in report["entries"] if entry.get("error_code")]
    assert bad, "%s fails for another reason than its plan entries:\n%s\n%s" % (
        example.id, report["preflight"]["problems"], run.output[-3000:])
    codes = {problem["code"] for entry in bad for problem in entry.get("problems") or [{"code": entry["error_code"]}]}
    assert codes <= NOT_FOUND_CODES, "%s: %s" % (example.id, [entry["error"] for entry in bad])
    assert len(report["entries"]) == len(data["safe_migration_plan"])
