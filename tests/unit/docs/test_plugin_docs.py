# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every plugin's documentation parses as ansible-doc parses it, in the first minute of a test run.

A plain-scalar description holding ": " is a YAML mapping, not text: the module still runs, but ansible-doc,
antsibull-docs, sanity's validate-modules and the installed copy's check all refuse it, minutes later in CI.
"""

from pathlib import Path

import pytest
import yaml
from ansible.parsing.plugin_docs import read_docstring

PLUGINS = Path(__file__).resolve().parents[3] / "plugins"


def python_plugins():
    return sorted(path for kind in ("modules", "filter") for path in (PLUGINS / kind).glob("*.py")
                  if "DOCUMENTATION" in path.read_text(encoding="utf-8"))


def yaml_plugin_docs():
    return sorted((PLUGINS / "filter").glob("*.yml"))


@pytest.mark.parametrize("path", python_plugins(), ids=lambda path: "%s/%s" % (path.parent.name, path.name))
def test_python_plugin_docs_parse(path):
    docs = read_docstring(str(path), ignore_errors=False)
    assert isinstance(docs["doc"], dict) and docs["doc"].get("short_description"), "%s: no DOCUMENTATION" % path
    assert isinstance(docs["returndocs"], dict), "%s: RETURN is not a mapping" % path
    if docs["plainexamples"]:
        assert isinstance(yaml.safe_load(docs["plainexamples"]), list), "%s: EXAMPLES is not a list of tasks" % path


@pytest.mark.parametrize("path", yaml_plugin_docs(), ids=lambda path: path.name)
def test_yaml_plugin_docs_parse(path):
    docs = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(docs["DOCUMENTATION"], dict) and docs["DOCUMENTATION"].get("short_description")
    assert isinstance(yaml.safe_load(docs["EXAMPLES"]), list)
    assert isinstance(docs["RETURN"], dict)
