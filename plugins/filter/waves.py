# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Waves of a maintenance window: ``migration_waves`` cuts the volumes into waves that keep each VM whole,
``migration_wave_outcome`` turns one wave's task result into its volumes, counts and progress line, in the
report's vocabulary (documented in the ``.yml`` files of the same names next to this one)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudstack_vmware.safe_migration.plugins.plugin_utils.report_outcomes import (
    count_outcomes,
    counts_text,
    repaired,
    restored,
    result_outcome,
)


def migration_waves(volumes, wave_size, groups=None):
    """The volumes in waves of ``wave_size``, the volumes of one VM (``groups``: {volume id: VM id}) in one wave.

    A VM's volumes are moved together to where its first volume is; a VM with more volumes than ``wave_size``
    gets a wave of its own, larger than ``wave_size``, rather than being split.
    """
    try:
        size = int(wave_size)
    except (TypeError, ValueError):
        size = 0
    if size < 1:
        raise AnsibleFilterError("wave_size must be a whole number of at least 1, got %r" % (wave_size,))
    groups = groups or {}
    together = {}
    order = []
    for position, request in enumerate(volumes or []):
        volume = request.get("volume") if isinstance(request, dict) else request
        owner = groups.get(volume)
        key = ("vm", owner) if owner else ("volume", position)
        if key not in together:
            together[key] = []
            order.append(key)
        together[key].append(request)
    waves, current = [], []
    for key in order:
        group = together[key]
        if current and len(current) + len(group) > size:
            waves.append(current)
            current = []
        current = current + group
        if len(current) >= size:
            waves.append(current)
            current = []
    if current:
        waves.append(current)
    return waves


def migration_wave_outcome(call, wave, number, count=None, done_before=0, total=None, labels=None):
    """One wave's outcome from the registered result of its cs_volume_migrate_safe task."""
    labels = labels or {}
    call = call or {}
    volumes, window_ended = [], False
    if call.get("volumes") is not None:
        # a volume not started (the window's end, or a failure under on_volume_failure=stop) is counted below as
        # the wave's not started
        window_ended = any(volume.get("status") == "not_started" and volume.get("not_started_reason") == "window_ended"
                           for volume in call["volumes"])
        volumes = [dict(volume) for volume in call["volumes"] if volume.get("status") != "not_started"]
    elif not call.get("skipped"):
        # the task failed before it returned any volume (a connection, the credentials): each volume failed
        volumes = [{"volume": request.get("volume"), "status": "failed", "failed": True, "changed": False,
                    "msg": call.get("msg") or "the task failed before migrating this volume"} for request in wave or []]
    for volume in volumes:
        volume["wave"] = number
        volume["outcome"] = result_outcome(volume)
        volume["restored"] = restored(volume)
        volume["repaired"] = repaired(volume)
    planned = len(wave or [])
    if len(volumes) > planned:
        raise AnsibleFilterError("wave %s: %d results for %d volumes" % (number, len(volumes), planned))
    summary = {"wave": number, "planned": planned}
    summary.update(count_outcomes(volumes))
    summary["not_started"] = planned - len(volumes)
    summary["window_ended"] = window_ended
    summary["volume_seconds"] = round(sum(float(volume.get("duration") or 0) for volume in volumes), 1)
    failures = ["%s: %s" % (labels.get(volume.get("volume_id") or volume.get("volume"))
                            or volume.get("volume_name") or volume.get("volume"), volume.get("msg"))
                for volume in volumes if volume["outcome"] in ("failed", "false_success")]
    line = "Wave %s%s: %d volume(s): %s" % (number, "/%s" % count if count else "", planned, counts_text(summary))
    if total is not None:
        line += "; %d of %d planned volume(s) done" % (int(done_before) + len(volumes), int(total))
    for volume in volumes:
        volume.pop("outcome")
    return {"volumes": volumes, "summary": summary, "failures": failures, "line": line}


class FilterModule:
    """The wave filters."""

    def filters(self):
        return {"migration_waves": migration_waves, "migration_wave_outcome": migration_wave_outcome}
