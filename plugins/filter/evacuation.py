# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the evacuate_plan role prints of an evacuation planned by cs_volume_plan_info, built in Python (documented in
the ``.yml`` files of the same names next to this one): ``evacuation_plan_lines`` the plan, ``evacuation_refusal``
why it is refused."""

from __future__ import annotations

GIB = 1073741824


def _gib(size):
    """Bytes as GiB with one decimal; a size CloudStack did not give counts as 0."""
    try:
        size = int(size or 0)
    except (TypeError, ValueError):
        size = 0
    return "%.1f" % (size / GIB)


def _vm_text(volume):
    return volume.get("vm_name") or "detached"


def evacuation_plan_lines(evacuation, per_destination):
    """The plan: a headline of counts, a line per planned volume and a line per destination used."""
    summary = evacuation["summary"]
    lines = ["%s: %d volume(s), %d planned on %d destination(s), %d fit nowhere; %d at a time, at most %d per destination"
             % (evacuation["source_pool"]["pool_name"], summary["volumes"], summary["planned"], summary["destinations"],
                summary["unplaced"], evacuation["concurrency"], int(per_destination))]
    for volume in evacuation.get("volumes") or []:
        lines.append("%s (%s, %s, %s GiB) -> %s" % (volume.get("volume_name"), volume.get("volume_type"), _vm_text(volume),
                                                    _gib(volume.get("size")), volume.get("destination_pool_name")))
    for destination in evacuation.get("destinations") or []:
        lines.append("%s: %d volume(s), %s GiB; room left %s GiB" % (
            destination["pool_name"], destination["planned_volumes"], _gib(destination["planned_bytes"]),
            _gib(destination["room_after"])))
    return lines


def evacuation_refusal(evacuation):
    """Why nothing is planned: how many volumes fit nowhere, then each with its reason."""
    unplaced = evacuation.get("unplaced") or []
    lines = ["Cannot evacuate %s: %d of %d volume(s) fit on no destination; nothing was changed and no plan was written:"
             % (evacuation["source_pool"]["pool_name"], len(unplaced), evacuation["summary"]["volumes"])]
    for volume in unplaced:
        lines.append("%s (%s, %s GiB): %s"
                     % (volume.get("volume_name"), _vm_text(volume), _gib(volume.get("size")), volume.get("reason")))
    return lines


class FilterModule:
    """The evacuation's filters."""

    def filters(self):
        return {"evacuation_plan_lines": evacuation_plan_lines, "evacuation_refusal": evacuation_refusal}
