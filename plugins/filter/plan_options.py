# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the maintenance-window playbooks: their options checked before anything runs, and messages that
name the variable a playbook user sets.

Documentation: option_errors.yml next to this file (ansible-doc -t filter).
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone

import yaml
from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import BOOLEANS_FALSE, BOOLEANS_TRUE, boolean

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import InvalidInput
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.journal import checked_path
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.options import window_end_time

CHOICES = {
    "on_false_success": ("fail", "restore"),
    "on_volume_failure": ("stop", "finish_wave"),
    "other_zones": ("stop", "leave"),
}
WHOLE_AT_LEAST_1 = ("concurrency", "wave_size")
WHOLE_AT_LEAST_0 = ("max_per_destination",)
POSITIVE_NUMBERS = ("job_timeout", "poll_interval")
BOOLEANS = ("allow_live_migration", "skip_preflight", "journal_create_directory", "progress")
# what every entry of vcenters must give (the rest has defaults)
VCENTER_KEYS = ("hostname", "username", "password")


def option_errors(options, prefix="safe_migration_"):
    """One line per option of ``options`` (variable name -> value) that is not allowed; empty when all are fine.

    Variables are recognised by their name less ``prefix``; others are not checked. Values may be strings, as
    given with ``-e name=value``.
    """
    if not isinstance(options, dict):
        raise AnsibleFilterError("option_errors expects a mapping of variable names to values, got %s" % type(options).__name__)
    errors = []
    for variable, value in options.items():
        option = str(variable)[len(prefix):] if str(variable).startswith(prefix) else str(variable)
        error = _option_error(option, value)
        if error:
            # vcenters holds passwords: never shown
            errors.append("%s %s" % (variable, error) if option == "vcenters" else "%s %s (got %s)" % (variable, error, _shown(value)))
    journal_error = _journal_error(options, prefix)
    return errors + ([journal_error] if journal_error else [])


def _journal_error(options, prefix):
    """What is wrong with the journal path, checked as the modules will check it (they run on the controller)."""
    path = options.get(prefix + "journal_path")
    create = options.get(prefix + "journal_create_directory", False)
    if not path or not _is_boolean(create):
        return None
    try:
        checked_path(str(path), create_directory=boolean(create, strict=False))
    except InvalidInput as error:
        return error.message
    return None


def _option_error(option, value):
    if option in CHOICES:
        return None if value in CHOICES[option] else "must be one of %s" % ", ".join(CHOICES[option])
    if option in WHOLE_AT_LEAST_1:
        number = _whole(value)
        return None if number is not None and number >= 1 else "must be a whole number of at least 1"
    if option in WHOLE_AT_LEAST_0:
        number = _whole(value)
        return None if number is not None and number >= 0 else "must be a whole number, 0 for no limit of its own"
    if option == "window_end":
        return _window_end_error(value)
    if option in POSITIVE_NUMBERS:
        number = _number(value)
        return None if number is not None and number > 0 else "must be a number of seconds greater than 0"
    if option in BOOLEANS:
        return None if _is_boolean(value) else "must be true or false"
    if option == "vcenters":
        return _vcenters_error(value)
    return None


def vcenter_list(value):
    """``safe_migration_vcenters`` as the modules take it: a list, or the YAML (or JSON) text of one, as an AWX
    credential injects it; [] when empty. Entries are checked by the modules; a value that is no list is refused."""
    error = _vcenters_error(value)
    if error:
        raise AnsibleFilterError("safe_migration_vcenters %s" % error)
    return _parsed_vcenters(value) or []


def _parsed_vcenters(value):
    if isinstance(value, str):
        return yaml.safe_load(value) if value.strip() else []
    return value


def _vcenters_error(value):
    """What is wrong with a vcenters value, without showing it (it holds passwords); None when it is fine."""
    try:
        entries = _parsed_vcenters(value)
    except yaml.YAMLError:
        return "is text that is not YAML: give a list of {hostname, username, password} entries"
    if entries is None:
        return None
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        return "must be a list of {hostname, username, password} entries (optionally port, validate_certs, ca_cert, " \
               "datacenter, zones)"
    for number, entry in enumerate(entries, start=1):
        missing = [key for key in VCENTER_KEYS if not entry.get(key)]
        if missing:
            return "entry %d (%s) lacks %s" % (number, entry.get("hostname") or "no hostname", ", ".join(missing))
    return None


def zone_host_errors(zones):
    """What is wrong with the hosts of a run ({inventory host: its safe_migration_zone, '' when it has none}): one host
    per zone, so that no two hosts migrate the same volumes; empty when they are fine."""
    if not isinstance(zones, dict):
        raise AnsibleFilterError("zone_host_errors expects a mapping of hosts to zones, got %s" % type(zones).__name__)
    errors = ["host %s has safe_migration_zone %s: give a zone's name or UUID as text" % (host, _shown(zone))
              for host, zone in zones.items() if not isinstance(zone, str)]
    named = {host: zone.strip() for host, zone in zones.items() if isinstance(zone, str)}
    unzoned = sorted(host for host, zone in named.items() if not zone)
    if len(zones) > 1 and unzoned:
        lacking = ", ".join(unzoned) + (" has" if len(unzoned) == 1 else " have")
        errors.append("hosts %s run this play together, and %s no safe_migration_zone: give each host its zone (one "
                      "host per zone), or run the play on one host" % (", ".join(sorted(zones)), lacking))
    by_zone = {}
    for host, zone in sorted(named.items()):
        if zone:
            by_zone.setdefault(zone, []).append(host)
    errors += ["hosts %s all have safe_migration_zone %s: one host per zone" % (" and ".join(hosts), zone)
               for zone, hosts in sorted(by_zone.items()) if len(hosts) > 1]
    return errors


def _window_end_error(value):
    try:
        window_end_time(value, datetime.now(timezone.utc))
    except InvalidInput:
        return "must be a time with its timezone (2026-12-02T05:30:00+01:00 or ...Z) or a length from now (90m, 2h, 1h30m)"
    return None


def window_end_at(value, now=None):
    """The window's end as an absolute UTC time (ISO 8601), a length (90m) counted from ``now`` (the play's start);
    "" when there is no window. Every wave of the run then stops at the same moment."""
    try:
        end = window_end_time(value, now or datetime.now(timezone.utc))
    except InvalidInput as error:
        raise AnsibleFilterError(error.message) from None
    return end.isoformat() if end else ""


def _whole(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str) and re.match(r"^\s*[+-]?\d+\s*$", value):
        return int(value)
    return None


def _number(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _is_boolean(value):
    if isinstance(value, bool):
        return True
    if isinstance(value, str):
        return value.strip().lower() in BOOLEANS_TRUE or value.strip().lower() in BOOLEANS_FALSE
    return isinstance(value, int) and value in (0, 1)


def _shown(value):
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:40] + "..."


class FilterModule:
    """The playbooks' option checks and messages."""

    def filters(self):
        return {"option_errors": option_errors, "window_end_at": window_end_at, "vcenter_list": vcenter_list,
                "zone_host_errors": zone_host_errors}
