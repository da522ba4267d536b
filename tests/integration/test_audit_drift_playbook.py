"""playbooks/audit_drift.yml run with ansible-playbook against the lab, as AWX runs it every night."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]
PLAYBOOK = REPO / "playbooks" / "audit_drift.yml"
RECAP = re.compile(r"^localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)


class AuditRun:
    def __init__(self, completed, report_dir):
        self.returncode = completed.returncode
        self.output = completed.stdout + completed.stderr
        recap = RECAP.search(self.output)
        assert recap, "no PLAY RECAP:\n%s" % self.output
        self.changed = int(recap.group(2))
        self.report_dir = report_dir

    def report(self):
        return json.loads((self.report_dir / "report.json").read_text())

    def text(self, name):
        return (self.report_dir / name).read_text()


def audit(lab, tmp_path, *options, name="audit"):
    report_dir = tmp_path / name
    env = dict(os.environ, **lab.env)
    env.update(ANSIBLE_COLLECTIONS_PATH=str(REPO / ".venv" / "collections"), ANSIBLE_PYTHON_INTERPRETER=sys.executable,
               ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
               ANSIBLE_SHOW_CUSTOM_STATS="1", ANSIBLE_HOME=str(tmp_path / "ansible-home"))
    command = [str(Path(sys.executable).parent / "ansible-playbook"), str(PLAYBOOK),
               "-e", "safe_migration_report_dir=%s" % report_dir, *options]
    completed = subprocess.run(command, env=env, cwd=str(tmp_path), capture_output=True, text=True, timeout=300, check=False)
    return AuditRun(completed, report_dir)


def test_a_clean_lab_exits_0_with_reports_of_zero_drift(fresh_lab, tmp_path):
    run = audit(fresh_lab, tmp_path, "-e", "safe_migration_fail_on_drift=true")

    assert run.returncode == 0 and run.changed == 0, run.output
    report = run.report()
    assert report["status"] == "clean" and report["drift"] == []
    assert report["summary"]["drift"] == 0 and report["summary"]["volumes"] == len(fresh_lab.records())
    assert "No drift" in run.text("report.md")
    assert '<span id="drift-count">0</span>' in run.text("report.html")
    assert "CLEAN: CloudStack and vCenter agree" in run.output
    assert "safe_migration_drift" in run.output.split("CUSTOM STATS", 1)[1]


def test_a_drift_is_listed_and_fails_the_run_only_when_asked(fresh_lab, tmp_path):
    vm = next(vm for vm in fresh_lab.admin().listVirtualMachines(listall=True, state="Stopped")["virtualmachine"]
              if vm["account"] == "admin")
    volume_names = {volume["name"] for volume in fresh_lab.admin().listVolumes(listall=True, virtualmachineid=vm["id"])["volume"]}
    fresh_lab.control("vcenter_unregister_vm", instance_name=vm["instancename"])

    run = audit(fresh_lab, tmp_path)

    assert run.returncode == 0, run.output
    report = run.report()
    assert report["status"] == "drift"
    missing = [drift for drift in report["drift"] if drift["code"] == "vm_not_found"]
    assert {drift["cloudstack"]["name"] for drift in missing} == volume_names
    assert all(drift["instance_name"] == vm["instancename"] for drift in missing)
    assert report["summary"]["by_code"]["vm_not_found"] == len(volume_names)
    markdown, html = run.text("report.md"), run.text("report.html")
    for name in volume_names:
        assert re.search(r"\| `vm_not_found` \| %s \| %s \|" % (re.escape(name), re.escape(vm["instancename"])), markdown)
        assert "<td>%s</td>" % name in html
    assert "DRIFT: %d item(s)" % len(report["drift"]) in run.output

    strict = audit(fresh_lab, tmp_path, "-e", "safe_migration_fail_on_drift=true", name="strict")

    assert strict.returncode != 0
    assert "Drift between CloudStack and vCenter: %d item(s)" % len(report["drift"]) in strict.output
    assert strict.report()["drift"] == report["drift"]


def test_an_audit_that_cannot_run_fails_and_the_reports_say_why(lab, tmp_path):
    run = audit(lab, tmp_path, "-e", "safe_migration_pool=no-such-pool")

    assert run.returncode != 0
    assert "The drift audit failed: No storage pool no-such-pool" in run.output
    report = run.report()
    assert report["status"] == "failed" and "no-such-pool" in report["error"] and report["drift"] == []
    assert "The audit failed: No storage pool no-such-pool" in run.text("report.md")
