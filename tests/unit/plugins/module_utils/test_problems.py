# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one table of problem codes: complete, enforced where codes are made, and documented once in docs/problems.md."""

import ast
import re
from pathlib import Path

import pytest

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common import problems
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.inventory_facts import Problem
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.blockers import DESTINATION_BLOCKERS, Blocker
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.drift_findings import DRIFT_CODES, Drift

REPO = Path(__file__).resolve().parents[4]
MODULE_UTILS = REPO / "plugins" / "module_utils"
# the calls that make a coded problem, and the position of the code among their arguments
MAKERS = {"Blocker": 0, "Problem": 0, "Drift": 0, "_drift": 0, "Refused": 0, "add_problem": 0}


def table_constants():
    return {name: value for name, value in vars(problems).items()
            if name.isupper() and isinstance(value, str) and value not in problems.SEVERITIES}


def test_every_constant_is_a_row_of_the_table_and_every_row_a_constant():
    assert sorted(table_constants().values()) == sorted(problems.PROBLEMS)
    for name, code in table_constants().items():
        assert name == code.upper()


def test_one_fact_has_one_code():
    assert not {"no_path", "stuck_migrating"} & set(problems.PROBLEMS)


def test_every_row_says_what_it_means_how_grave_it_is_and_what_to_do():
    for entry in problems.PROBLEMS.values():
        assert entry.severity in problems.SEVERITIES
        assert entry.meaning.strip() and entry.action.strip()


def test_the_codes_of_the_drift_audit_and_of_the_destination_blockers_are_in_the_table():
    assert set(DRIFT_CODES) <= set(problems.PROBLEMS)
    assert set(DESTINATION_BLOCKERS) <= set(problems.PROBLEMS)


@pytest.mark.parametrize("make", [
    lambda code: Blocker(code, "text"),
    lambda code: Problem(code, "i-2-7-VM", "text"),
    lambda code: Drift(code, "text", "fix"),
])
def test_a_code_outside_the_table_is_refused_where_it_is_made(make):
    with pytest.raises(ValueError, match="not in the table"):
        make("vcenter")
    assert make(problems.VM_NOT_FOUND).code == "vm_not_found"


def test_a_blocker_carries_the_facts_of_its_problem():
    blocker = Blocker(problems.DISK_ON_OTHER_DATASTORE, "text", {"datastore": "ds2"})
    assert blocker.as_dict() == {"code": "disk_on_other_datastore", "message": "text", "facts": {"datastore": "ds2"}}


def test_no_code_is_written_as_a_string_where_a_problem_is_made():
    literal = []
    for path in sorted(MODULE_UTILS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            position = MAKERS.get(name)
            if position is not None and len(node.args) > position and isinstance(node.args[position], ast.Constant):
                literal.append("%s:%d %s(%r)" % (path.name, node.lineno, name, node.args[position].value))
    assert literal == []


def test_docs_problems_lists_exactly_the_codes_of_the_table():
    text = (REPO / "docs" / "problems.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([a-z_]+)` \| (\w+) \|", text, re.MULTILINE)
    assert sorted(code for code, severity in rows) == sorted(problems.PROBLEMS)
    assert all(problems.PROBLEMS[code].severity == severity for code, severity in rows)


def test_the_codes_of_plan_entries_and_of_record_sync_refusals_are_in_the_table():
    from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.plan_entries import EntryAccount
    from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.plan_info import LOOKUP_CODES
    from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.record_sync import Refused

    assert set(LOOKUP_CODES.values()) <= set(problems.PROBLEMS)
    for refuse in (lambda code: EntryAccount(1, {}).add_problem(code, "text"), lambda code: Refused(code, "text")):
        with pytest.raises(ValueError, match="not in the table"):
            refuse("no_path")
    assert Refused(problems.PATH_CLAIMED, "text").facts["reason"] == "path_claimed"
