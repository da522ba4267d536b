# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shape of a migration run's result: its counts and its diff (before/after of each volume that changes)."""

from __future__ import annotations


def summarize(results):
    """Counts per outcome."""
    summary = {"total": len(results), "migrated": 0, "unchanged": 0, "planned": 0, "failed": 0, "false_success": 0, "restored": 0}
    for result in results:
        summary[result["status"]] = summary.get(result["status"], 0) + 1
        if result.get("false_success"):
            summary["false_success"] += 1
        if (result.get("restore") or {}).get("verified"):
            summary["restored"] += 1
    return summary


def diff_of(results):
    """before/after pool and datastore path of each volume that changes (or would, in check mode)."""
    before, after = {}, {}
    for result in results:
        repair = result.get("repair")
        if result.get("status") not in ("migrated", "planned") and not (repair and result.get("changed")):
            continue
        plan = result.get("plan") or {}
        key = result.get("volume_name") or result.get("volume_id") or result.get("volume")
        source, destination = plan.get("source") or {}, plan.get("destination") or {}
        before[key] = {"pool": source.get("pool_name"), "datastore_path": source.get("datastore_path")}
        # check mode: where the disk is expected to land; after a migration: where vCenter shows it
        seen = ((result.get("verification") or {}).get("vcenter") or {}).get("file")
        after[key] = {"pool": destination.get("pool_name"), "datastore_path": seen or destination.get("expected_datastore_path")}
        if repair:
            # the record fix: what CloudStack's record said, and the truth it is (or would be) restored to
            damaged, truth = repair.get("before") or {}, repair.get("truth") or {}
            before[key]["pool"] = damaged.get("pool_name") or damaged.get("pool_id")
            before[key]["record"] = {"pool": damaged.get("pool_name") or damaged.get("pool_id"), "path": damaged.get("path"),
                                     "state": damaged.get("state")}
            before[key]["datastore_path"] = truth.get("file") or before[key]["datastore_path"]
            after[key]["record"] = {"pool": destination.get("pool_name"), "path": truth.get("path"), "state": "Ready"}
            if plan.get("action") == "repair" or result.get("status") == "unchanged":
                after[key] = {"pool": truth.get("pool_name"), "datastore_path": truth.get("file"),
                              "record": {"pool": truth.get("pool_name"), "path": truth.get("path"), "state": "Ready"}}
    return {"before": before, "after": after}
