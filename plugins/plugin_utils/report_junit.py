# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The maintenance-window report as JUnit XML, built with xml.etree (controller side)."""

from __future__ import annotations

from xml.etree import ElementTree


def _xml_text(text):
    """Text without the control characters XML 1.0 cannot hold."""
    return "".join(char for char in str(text or "") if char in "\t\n\r" or ord(char) >= 0x20)


def _case(parent, classname, name, seconds=None):
    case = ElementTree.SubElement(parent, "testcase", classname=classname, name=name)
    if seconds is not None:
        case.set("time", "%.3f" % float(seconds))
    return case


def migration_report_junit(report):
    """The report as JUnit XML (a string): suites plan (one case per entry), preflight, migration (one per volume)."""
    root = ElementTree.Element("testsuites", name="safe_migration")
    plan = ElementTree.SubElement(root, "testsuite", name="plan")
    for entry in report["entries"]:
        case = _case(plan, "safe_migration.plan", _xml_text("entry %d: %s" % (entry["index"], entry["description"])))
        if entry["status"] == "error":
            ElementTree.SubElement(case, "failure", message=entry["error_code"] or "error").text = _xml_text(entry["error"])
        elif entry["status"] == "unresolved":
            ElementTree.SubElement(case, "skipped", message="not resolved: the run stopped before")
        elif entry["status"] == "empty":
            ElementTree.SubElement(case, "system-out").text = "no volumes"
    preflight = ElementTree.SubElement(root, "testsuite", name="preflight")
    case = _case(preflight, "safe_migration.preflight", "plan preflight")
    if not report["preflight"]["ok"]:
        message = "preflight failed (skipped: the migration ran anyway)" if report["preflight"]["skipped"] else "preflight failed, nothing was changed"
        ElementTree.SubElement(case, "failure", message=message).text = _xml_text("\n".join(report["preflight"]["problems"]))
    migration = ElementTree.SubElement(root, "testsuite", name="migration")
    for volume in report["volumes"]:
        name = "%s (%s): %s to %s" % (volume["volume_name"], volume["vm_name"] or "detached", volume["source_pool"],
                                      volume["destination_pool"])
        case = _case(migration, "safe_migration.migrate", _xml_text(name), volume["seconds"] or 0)
        if volume["outcome"] in ("failed", "false_success"):
            ElementTree.SubElement(case, "failure", message=volume["outcome"]).text = _xml_text(volume["msg"])
        elif volume["outcome"] == "not_started":
            ElementTree.SubElement(case, "skipped", message="not started")
    for suite in (plan, preflight, migration):
        cases = suite.findall("testcase")
        suite.set("tests", str(len(cases)))
        suite.set("failures", str(sum(1 for item in cases if item.find("failure") is not None)))
        suite.set("errors", "0")
        suite.set("skipped", str(sum(1 for item in cases if item.find("skipped") is not None)))
    for name in ("tests", "failures", "errors", "skipped"):
        root.set(name, str(sum(int(suite.get(name)) for suite in (plan, preflight, migration))))
    root.set("time", "%.3f" % report["duration_seconds"])
    text = ElementTree.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + text + "\n"
