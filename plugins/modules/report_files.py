#!/usr/bin/python
# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# This module is implemented as an action plugin (plugins/action/report_files.py): it runs on the controller.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: report_files
short_description: Write a run's report files on the controller
version_added: 0.1.0
description:
  - Writes text files (the report of a maintenance window, for example V(report.json), V(report.md) and
    V(junit.xml)) into one directory on the Ansible controller, creating the directory when needed.
  - Each file is written whole or not at all (a temporary file renamed into place), mode V(0644).
  - The report describes the run for the operator; it changes no managed system, so the task never reports
    a change, and it writes in check mode too.
  - Runs on the controller only (an action plugin); the directory is relative to where C(ansible-playbook) runs.
author:
  - cloudstack_vmware.safe_migration contributors (!UNKNOWN)
options:
  dest:
    description: The report directory.
    type: path
    required: true
  files:
    description: File names (plain names, no directories) mapped to their text contents.
    type: dict
    required: true
notes:
  - Runs on the controller only (an action plugin); check mode writes the files too.
"""

EXAMPLES = r"""
- name: Write the report
  cloudstack_vmware.safe_migration.report_files:
    dest: ./safe_migration_report
    files:
      report.json: "{{ report_data | to_nice_json(indent=2) }}\n"
      report.md: "{{ lookup('ansible.builtin.template', 'report.md.j2') }}"
"""

RETURN = r"""
dest:
  description: The report directory, absolute.
  returned: success
  type: str
  sample: /home/operator/safe_migration_report
files:
  description: The files written, absolute paths in name order.
  returned: success
  type: list
  elements: str
  sample: [/home/operator/safe_migration_report/report.json, /home/operator/safe_migration_report/report.md]
"""
