# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The drift audit's report, built in Python (documented in the ``.yml`` files of the same names next to this one):
``drift_report`` makes report.json's data of a cs_vmware_drift_info result, ``drift_report_lines`` the summary a run
prints, ``drift_report_html`` report.html, every value escaped here (html.escape), so the template only writes it."""

from __future__ import annotations

import datetime
from html import escape

STYLE = """body { font-family: sans-serif; margin: 2em; }
table { border-collapse: collapse; }
th, td { border: 1px solid #999; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
.clean { color: #176117; } .drift, .failed { color: #a01616; }"""


def _scope_text(scope):
    """'zone zone1', 'pool nfs-1', or 'unknown' when the audit did not say (a failed audit's scope is the name it
    could not resolve)."""
    if not isinstance(scope, dict):
        return "unknown"
    text = scope.get("kind") or "unknown"
    return "%s %s" % (text, scope["name"]) if scope.get("name") else text


def drift_report(result, report_dir=None, generated=None):
    """report.json's data: status, generated (UTC), summary (the audit's counts, clean, status, scope, report_dir),
    scope, error (when the audit failed) and the drift items as the module returned them."""
    audited = "summary" in result
    clean = bool(result.get("clean", False))
    scope = result.get("scope") or {}
    status = ("clean" if clean else "drift") if audited else "failed"
    summary = dict(result.get("summary") or {}, clean=clean, status=status, scope=_scope_text(scope),
                   report_dir=report_dir)
    if generated is None:
        generated = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"status": status, "generated": generated, "summary": summary, "scope": scope,
            "error": None if audited else result.get("msg"), "drift": list(result.get("drift") or [])}


def _counts_text(summary):
    return "%d volume(s), %d vCenter VM(s), %d datastore(s) listed, %d other search(es)" % (
        summary.get("volumes", 0), summary.get("vcenter_vms", 0), summary.get("datastores_listed", 0),
        summary.get("datastore_searches", 0))


def _by_code(summary):
    return sorted((summary.get("by_code") or {}).items())


def drift_report_lines(data):
    """The summary a run prints: the verdict, what was compared, where the report files are."""
    summary = data["summary"]
    if summary["status"] == "failed":
        verdict = "AUDIT FAILED: %s" % data.get("error")
    elif summary["clean"]:
        verdict = "CLEAN: CloudStack and vCenter agree (%s)" % summary["scope"]
    else:
        verdict = "DRIFT: %d item(s) (%s): %s" % (summary["drift"], summary["scope"],
                                                  ", ".join("%s %s" % item for item in _by_code(summary)))
    return [verdict, _counts_text(summary), "report: %s/{report.json,report.md,report.html}" % summary["report_dir"]]


def _volume_label(drift):
    """The volume's name in CloudStack's record, else its id, else nothing."""
    record = drift.get("cloudstack")
    name = record.get("name", drift.get("volume_id")) if isinstance(record, dict) else drift.get("volume_id")
    return name or ""


def _cells(*values):
    return "<tr>%s</tr>" % "".join("<td>%s</td>" % value for value in values)


def _html_items(drift_items):
    rows = ["<tr><th>#</th><th>code</th><th>volume</th><th>VM</th><th>message</th><th>suggested fix</th></tr>"]
    for number, drift in enumerate(drift_items, start=1):
        rows.append(_cells(number, "<code>%s</code>" % escape(str(drift.get("code"))), escape(str(_volume_label(drift))),
                           escape(str(drift.get("instance_name") or "")), escape(str(drift.get("message"))),
                           escape(str(drift.get("suggested_fix")))))
    return rows


def _html_findings(data):
    lines = []
    if data.get("error"):
        lines.append('<p class="failed">The audit failed: %s</p>' % escape(str(data["error"])))
    if data["drift"]:
        lines += ["<h2>By code</h2>", "<table>", "<tr><th>code</th><th>items</th></tr>"]
        lines += [_cells("<code>%s</code>" % escape(str(code)), escape(str(count))) for code, count in _by_code(data["summary"])]
        lines += ["</table>", "<h2>Items</h2>", "<table>"] + _html_items(data["drift"]) + ["</table>"]
    elif not data.get("error"):
        lines.append('<p class="clean">No drift: every volume in scope is where CloudStack\'s record says.</p>')
    return lines


def drift_report_html(data):
    """report.html: the summary, the counts by code and one row per item, every value HTML-escaped."""
    summary, status = data["summary"], escape(str(data["status"]))
    scope = data.get("scope") if isinstance(data.get("scope"), dict) else {}
    pools = ", ".join(str(pool.get("name")) for pool in scope.get("pools") or [])
    lines = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        "<title>Drift audit: %s</title>" % status.upper(), "<style>", STYLE, "</style>", "</head>", "<body>",
        "<h1>Drift audit: CloudStack vs vCenter</h1>", "<ul>",
        '<li>Status: <strong class="%s">%s</strong></li>' % (status, status.upper()),
        "<li>Generated: %s</li>" % escape(str(data.get("generated"))),
        "<li>Scope: %s (%s)</li>" % (escape(str(summary.get("scope"))), escape(pools)),
        "<li>Compared: %s</li>" % escape(_counts_text(summary)),
        '<li>Drift: <span id="drift-count">%d</span> item(s)</li>' % summary.get("drift", 0), "</ul>"]
    lines += _html_findings(data)
    lines += ["</body>", "</html>"]
    return "\n".join(lines) + "\n"


class FilterModule:
    """The drift report's filters."""

    def filters(self):
        return {"drift_report": drift_report, "drift_report_lines": drift_report_lines,
                "drift_report_html": drift_report_html}
