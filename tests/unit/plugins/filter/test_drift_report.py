# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The drift audit's report: its data, the summary it prints and report.html, escaped in Python."""

import re

from ansible_collections.cloudstack_vmware.safe_migration.plugins.filter.drift_report import (
    FilterModule,
    drift_report,
    drift_report_html,
    drift_report_lines,
)

COUNTS = {"volumes": 12, "vcenter_vms": 4, "datastores_listed": 3, "datastore_searches": 1}
CLEAN = {"clean": True, "summary": dict(COUNTS, drift=0, by_code={}), "drift": [],
         "scope": {"kind": "zone", "name": "zone1", "pools": [{"name": "nfs-1"}, {"name": "nfs-2"}]}}
HOSTILE = '<script>alert("x")</script> & \'q\''
DRIFT = {"clean": False, "summary": dict(COUNTS, drift=3, by_code={"vm_not_found": 2, "orphan_vmdk": 1}),
         "scope": {"kind": "all", "name": None, "pools": [{"name": "nfs<1>"}]},
         "drift": [{"code": "vm_not_found", "cloudstack": {"name": "data-1"}, "volume_id": "id-1", "instance_name": "i-2-1-VM",
                    "message": HOSTILE, "suggested_fix": "re-register | " + HOSTILE},
                   {"code": "vm_not_found", "volume_id": "id-2", "instance_name": None, "message": "m", "suggested_fix": "f"},
                   {"code": "orphan_vmdk", "message": "[ds1] a/b.vmdk", "suggested_fix": "delete it"}]}
# a failed audit's scope is what it could not resolve, as given
FAILED = {"failed": True, "msg": "No storage pool no-such-pool", "scope": "no-such-pool"}


def test_a_clean_audit_gives_the_status_the_scope_as_text_and_where_the_report_is():
    data = drift_report(CLEAN, report_dir="/reports", generated="2024-05-01T22:00:00Z")
    assert data == {"status": "clean", "generated": "2024-05-01T22:00:00Z", "scope": CLEAN["scope"], "error": None,
                    "drift": [], "summary": dict(CLEAN["summary"], clean=True, status="clean", scope="zone zone1",
                                                 report_dir="/reports")}


def test_a_failed_audit_keeps_its_error_and_an_unknown_scope():
    data = drift_report(FAILED, report_dir="/reports")
    assert data["status"] == "failed" and data["error"] == "No storage pool no-such-pool" and data["drift"] == []
    assert data["scope"] == "no-such-pool"
    assert data["summary"] == {"clean": False, "status": "failed", "scope": "unknown", "report_dir": "/reports"}
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", data["generated"])


def test_the_summary_lines_give_the_verdict_the_counts_and_the_files():
    tail = ["12 volume(s), 4 vCenter VM(s), 3 datastore(s) listed, 1 other search(es)",
            "report: /r/{report.json,report.md,report.html}"]
    assert drift_report_lines(drift_report(CLEAN, "/r")) == ["CLEAN: CloudStack and vCenter agree (zone zone1)"] + tail
    assert drift_report_lines(drift_report(DRIFT, "/r")) == ["DRIFT: 3 item(s) (all): orphan_vmdk 1, vm_not_found 2"] + tail
    assert drift_report_lines(drift_report(FAILED, "/r")) == [
        "AUDIT FAILED: No storage pool no-such-pool",
        "0 volume(s), 0 vCenter VM(s), 0 datastore(s) listed, 0 other search(es)",
        "report: /r/{report.json,report.md,report.html}"]


def test_the_html_page_escapes_every_value_it_takes_from_the_audit():
    page = drift_report_html(drift_report(DRIFT, "/r", generated="2024-05-01T22:00:00Z"))
    assert "<script>" not in page and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#x27;q&#x27;" in page
    assert "<li>Scope: all (nfs&lt;1&gt;)</li>" in page
    assert ('<tr><td>1</td><td><code>vm_not_found</code></td><td>data-1</td><td>i-2-1-VM</td>'
            in page)
    assert "<tr><td>2</td><td><code>vm_not_found</code></td><td>id-2</td><td></td><td>m</td><td>f</td></tr>" in page
    assert "<tr><td>3</td><td><code>orphan_vmdk</code></td><td></td><td></td>" in page
    assert '<span id="drift-count">3</span>' in page
    assert page.index("<code>orphan_vmdk</code></td><td>1</td>") < page.index("<code>vm_not_found</code></td><td>2</td>")
    assert page.startswith("<!DOCTYPE html>\n") and page.endswith("</html>\n")


def test_the_html_page_of_a_clean_audit_and_of_a_failed_one():
    clean = drift_report_html(drift_report(CLEAN, "/r"))
    assert '<strong class="clean">CLEAN</strong>' in clean and "<p class=\"clean\">No drift:" in clean
    assert '<span id="drift-count">0</span>' in clean and "<table>" not in clean
    failed = drift_report_html(drift_report(dict(FAILED, msg="pool <x>"), "/r"))
    assert '<p class="failed">The audit failed: pool &lt;x&gt;</p>' in failed and "No drift" not in failed
    assert "<title>Drift audit: FAILED</title>" in failed and "<li>Scope: unknown ()</li>" in failed


def test_the_filters_are_registered():
    assert set(FilterModule().filters()) == {"drift_report", "drift_report_lines", "drift_report_html"}
