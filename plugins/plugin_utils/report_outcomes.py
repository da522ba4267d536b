# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The outcomes of a maintenance window's volumes, one vocabulary for the report and the waves (controller side)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError


# The counts of a run, in this order wherever they are shown. planned = the sum of the five volume outcomes.
OUTCOMES = ("migrated", "already_in_place", "failed", "false_success", "not_started")
COUNTS = ("entries", "planned") + OUTCOMES + ("restored", "repaired")
LABELS = {"migrated": "migrated", "already_in_place": "already in place", "failed": "failed",
          "false_success": "false success", "not_started": "not started"}
# Status of a cs_volume_migrate_safe result -> outcome in the report.
RESULT_OUTCOMES = {"migrated": "migrated", "unchanged": "already_in_place", "failed": "failed"}


class ReportInvariantError(AnsibleFilterError):
    """The report's data contradict each other: a bug, never to be reported as a success."""

    def __init__(self, message):
        super().__init__("The migration report is inconsistent (%s); this is a bug of the collection, not of your plan: "
                         "check the lab or the systems by hand before trusting this run" % message)


def result_outcome(result):
    """The report's outcome of one cs_volume_migrate_safe volume result."""
    if result.get("false_success"):
        return "false_success"
    status = result.get("status")
    if status not in RESULT_OUTCOMES:
        raise ReportInvariantError("volume %s has the unknown result status %r" % (result_key(result), status))
    return RESULT_OUTCOMES[status]


def count_outcomes(items, key="outcome"):
    """{outcome: count} over OUTCOMES, plus restored and repaired, of items carrying ``key``, ``restored`` and
    ``repaired``."""
    counts = dict.fromkeys(OUTCOMES, 0)
    for item in items:
        counts[item[key]] += 1
    counts["restored"] = sum(1 for item in items if item.get("restored"))
    counts["repaired"] = sum(1 for item in items if item.get("repaired"))
    return counts


def counts_text(counts):
    """'1 migrated, 0 already in place, 1 failed, 0 false success (0 restored), 0 not started'."""
    parts = []
    for name in OUTCOMES:
        part = "%d %s" % (counts[name], LABELS[name])
        if name == "false_success":
            part += " (%d restored)" % counts["restored"]
        parts.append(part)
    text = ", ".join(parts)
    if counts.get("repaired"):
        text += " (%d damaged record(s) repaired first)" % counts["repaired"]
    return text


def result_key(result):
    return result.get("volume_id") or result.get("volume")


def restored(result):
    """This run's false success, its record put back to vCenter's truth (verified)."""
    return bool(result.get("false_success")) and bool((result.get("restore") or {}).get("verified"))


def repaired(result):
    """A record damaged by an earlier false success, put back to the truth before this run migrated the volume."""
    return bool(result.get("repaired")) and bool((result.get("restore") or {}).get("verified"))
