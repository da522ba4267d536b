# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the preflight role prints and stops on, built in Python (documented in the ``.yml`` files of the same names
next to this one): ``preflight_plan_lines`` shows the resolved plan, ``preflight_resolution_problems`` says why a plan
did not resolve, ``preflight_problems`` lists every problem of the checks, each once."""

from __future__ import annotations

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common import problems as problem_codes

CONNECTION_HINT = ("Check the connection settings (CLOUDSTACK_ENDPOINT, CLOUDSTACK_KEY, CLOUDSTACK_SECRET, or "
                   "module_defaults api_url, api_key, api_secret of group/cloudstack_vmware.safe_migration.cloudstack) "
                   "and that CloudStack answers, then run again")


def _text(value):
    """A message as Jinja's ``~`` showed it: missing is empty, anything else is its string."""
    return "" if value is None else str(value)


def preflight_plan_lines(resolved):
    """One line per resolved volume: name, type, VM (or detached), and its move (or that it is already there)."""
    lines = []
    for volume in resolved.get("volumes") or []:
        if volume.get("attached"):
            vm = "%s/%s %s" % (volume.get("vm_name"), volume.get("instance_name"), volume.get("vm_state"))
        else:
            vm = "detached"
        if volume.get("already_on_destination"):
            action = "already there"
        else:
            action = "%s -> %s" % (volume.get("source_pool_name"), volume.get("destination_pool_name"))
        lines.append("%s (%s, %s): %s" % (volume.get("volume_name"), volume.get("volume_type"), vm, action))
    return lines or ["nothing to migrate: no volume matches the plan"]


def preflight_resolution_problems(resolved):
    """Why the plan did not resolve: every bad entry (its error names its position), then an error of CloudStack."""
    problems = [entry["error"] for entry in resolved.get("entries") or [] if entry.get("error")]
    if resolved.get("zone_routing"):
        problems.append("Zones and vCenters: " + _text(resolved.get("msg")))
    elif resolved.get("plan_error"):
        problems.append("CloudStack: %s. %s" % (resolved.get("msg"), CONNECTION_HINT))
    elif not problems:
        message = resolved["msg"] if "msg" in resolved else "the plan could not be resolved"
        problems.append("CloudStack: " + _text(message))
    return problems


def _volumes_by_id(resolved):
    return {volume.get("volume_id"): volume for volume in resolved.get("volumes") or []}


def _moved_by_earlier_job(resolved, checks):
    """``(VM, disk path)`` -> the datastores of the destination of an earlier run's job that the run will wait for or
    judge first (the check says ``resumed``): a disk found there is that job's doing, not a problem of the plan."""
    volumes = _volumes_by_id(resolved)
    moved = {}
    for result in checks.get("volumes") or []:
        volume = volumes.get(result.get("volume_id"))
        if result.get("resumed") and not result.get("failed") and volume and volume.get("path"):
            destination = (result.get("plan") or {}).get("destination") or {}
            moved[(volume.get("instance_name"), volume["path"])] = set(destination.get("datastores") or [])
    return moved


def _inventory_problems(resolved, inventory, checks):
    """A line per vCenter problem, naming the VM and the plan's volumes on it; or the check's own failure. A disk on
    the destination of an earlier run's job that this run resumes is not a problem: the run judges that job first."""
    lines = []
    moved = _moved_by_earlier_job(resolved, checks)
    for problem in inventory.get("problems") or []:
        facts = problem.get("facts") or {}
        if problem.get("code") == problem_codes.DISK_ON_OTHER_DATASTORE and facts.get("datastore") in moved.get(
                (problem.get("vm"), facts.get("disk")), ()):
            continue
        affected = [volume for volume in resolved.get("volumes") or [] if volume.get("instance_name") == problem.get("vm")]
        vm_name = affected[0].get("vm_name") if affected else problem.get("vm")
        lines.append("vCenter, VM %s (volumes %s): %s" % (
            vm_name, ", ".join(_text(volume.get("volume_name")) for volume in affected), problem.get("message")))
    if "msg" in inventory and "problems" not in inventory:
        lines.append("vCenter: " + _text(inventory["msg"]))
    return lines


def _check_problems(resolved, inventory, checks):
    """A line per volume whose CloudStack-side check failed. A vCenter fact the inventory check already listed for
    the volume's VM (same code) is not listed again."""
    lines = []
    listed_by_vm = {}
    for problem in inventory.get("problems") or []:
        listed_by_vm.setdefault(problem.get("vm"), set()).add(problem.get("code"))
    volumes = _volumes_by_id(resolved)
    for result in checks.get("volumes") or []:
        if not result.get("failed"):
            continue
        blockers = result.get("blockers") or []
        volume = volumes.get(result.get("volume"), {})
        listed = listed_by_vm.get(volume.get("instance_name", ""), set())
        own = [blocker for blocker in blockers if blocker.get("code") not in listed]
        if not blockers:
            lines.append("CloudStack: " + _text(result.get("msg")))
        elif own:
            lines.append("CloudStack: volume %s: %s" % (volume.get("volume_name", result.get("volume")),
                                                        "; ".join(_text(blocker.get("message")) for blocker in own)))
    if "volumes" not in checks and "msg" in checks:
        lines.append("CloudStack: " + _text(checks["msg"]))
    return lines


def preflight_problems(resolved, inventory=None, checks=None):
    """Every problem of the preflight once: pools without room, vCenter's findings, CloudStack's blockers."""
    inventory, checks = inventory or {}, checks or {}
    problems = ["Capacity: " + _text(pool.get("message")) for pool in resolved.get("capacity") or [] if not pool.get("fits")]
    return problems + _inventory_problems(resolved, inventory, checks) + _check_problems(resolved, inventory, checks)


def _zone_name(facts):
    zone = facts.get("preflight_zone_kept") or {}
    return zone.get("name") or zone.get("id") or facts.get("safe_migration_zone") or "?"


def zone_preflight_problems(hostvars, hosts, host, other_zones="stop"):
    """What stops the run of ``host``, one host per zone, once every zone's preflight has run: another zone's
    preflight that did not pass, one zone run by two hosts, and (``other_zones='stop'``) plan volumes in a zone
    that no host serves. ``hostvars`` gives each of ``hosts`` its preflight facts."""
    runs = {name: hostvars[name] for name in hosts}
    failed = [name for name in hosts if name != host and not runs[name].get("preflight_ok")]
    if failed:
        return ["Zone %s (host %s): its preflight did not pass, so nothing is migrated in any zone"
                % (_zone_name(runs[name]), name) for name in failed]
    by_zone = {}
    for name in hosts:
        zone_id = (runs[name].get("preflight_zone_kept") or {}).get("id")
        by_zone.setdefault(zone_id, []).append(name)
    problems = ["Zone %s is run by hosts %s: one host per zone" % (_zone_name(runs[names[0]]), " and ".join(names))
                for zone_id, names in by_zone.items() if zone_id and len(names) > 1]
    if other_zones == "stop":
        unserved = {}
        for volume in runs[host].get("preflight_other_zones") or []:
            if volume.get("zone_id") not in by_zone:
                unserved.setdefault(volume.get("zone_name") or volume.get("zone_id"), []).append(volume)
        problems += ["Zone %s has %d volume(s) of the plan, and no host of this run serves it: add a host with "
                     "safe_migration_zone: %s, or set safe_migration_other_zones: leave when another run has that zone "
                     "(another slice of an AWX sliced job)" % (zone, len(volumes), zone)
                     for zone, volumes in sorted(unserved.items())]
    return problems


class FilterModule:
    """The preflight's filters."""

    def filters(self):
        return {"preflight_plan_lines": preflight_plan_lines, "preflight_problems": preflight_problems,
                "preflight_resolution_problems": preflight_resolution_problems, "zone_preflight_problems": zone_preflight_problems}
