# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The roles' templates only render: what they show is built by the filters, in Python and unit-tested."""

import re
from pathlib import Path

import pytest

ROLES = Path(__file__).resolve().parents[4] / "roles"
TEMPLATES = sorted(ROLES.glob("*/templates/*.j2"))
# Building a list in Jinja (append, a throwaway set) is computing, not rendering.
COMPUTING = re.compile(r"\.append\(|\{%-?\s*set\s+_\s*=|\.update\(")


def test_the_roles_have_templates():
    assert TEMPLATES


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: "%s/%s" % (path.parts[-3], path.name))
def test_a_template_builds_no_data(template):
    assert not COMPUTING.search(template.read_text())


def test_the_drift_html_is_escaped_by_its_filter_not_by_the_template():
    template = (ROLES / "drift_report" / "templates" / "report.html.j2").read_text()
    assert "drift_report_html" in template and not re.search(r"\|\s*e\b", template)
