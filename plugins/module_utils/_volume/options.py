# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a migration run is asked to do and how: the requests, the options checked before any API call, and how
a module user and a playbook user name each option in a message."""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import InvalidInput


LIVE_OPTION = "allow_live_migration"
POLICY_OPTION = "on_false_success"
# The variable a playbook user sets for each module option (playbooks/*.yml, roles/*/defaults).
PLAYBOOK_VARIABLES = {
    LIVE_OPTION: "safe_migration_allow_live_migration",
    POLICY_OPTION: "safe_migration_on_false_success",
    "job_timeout": "safe_migration_job_timeout",
    "poll_interval": "safe_migration_poll_interval",
    "concurrency": "safe_migration_concurrency",
    "journal_path": "safe_migration_journal_path",
    "max_per_destination": "safe_migration_max_per_destination",
    "window_end": "safe_migration_window_end",
}
# "90m", "2h", "1h30m", "45s": a window's length from now.
DURATION = re.compile(r"^(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?$")


def option_text(option, value=None):
    """``option=value (playbook: safe_migration_option)``: how both a module user and a playbook user set it."""
    setting = option if value is None else "%s=%s" % (option, value)
    variable = PLAYBOOK_VARIABLES.get(option)
    return "%s (playbook: %s)" % (setting, variable) if variable else setting


class MigrationRequest:
    """One volume (UUID, or name with vm/zone/account) to one destination pool (name or UUID)."""

    def __init__(self, volume, destination, vm=None, zone=None, account=None):
        self.volume = volume
        self.destination = destination
        self.vm = vm
        self.zone = zone
        self.account = account


class MigrationOptions:
    """How to migrate: opt-ins, limits and the false-success policy.

    Checked here, before any API call: a wrong value is an ``InvalidInput`` naming the option, the
    playbook variable and the allowed values (never a job submitted and then a timeout that cannot run).
    """

    def __init__(self, allow_live_migration=False, on_false_success="fail", job_timeout=1800, poll_interval=5.0,
                 concurrency=1, check_mode=False, max_per_destination=0, window_end=None, now=None,
                 on_volume_failure="continue"):
        self.allow_live_migration = bool(allow_live_migration)
        self.on_false_success = _choice("on_false_success", on_false_success, ("fail", "restore"))
        self.job_timeout = _positive("job_timeout", job_timeout, "seconds, e.g. 1800")
        self.poll_interval = _positive("poll_interval", poll_interval, "seconds, e.g. 5")
        self.concurrency = _whole_number("concurrency", concurrency, 1, "a whole number of at least 1")
        self.max_per_destination = _whole_number("max_per_destination", max_per_destination, 0,
                                                 "a whole number, 0 for no limit of its own")
        self.window_end = window_end_time(window_end, now or datetime.now(timezone.utc))
        self.on_volume_failure = _choice("on_volume_failure", on_volume_failure, ("continue", "stop"))
        self.check_mode = check_mode


def _number(option, value, kind=float):
    if isinstance(value, bool):
        value = None
    try:
        return kind(value)
    except (TypeError, ValueError):
        return None


def _positive(option, value, example):
    number = _number(option, value)
    if number is None or math.isnan(number) or number <= 0:
        raise InvalidInput("Invalid %s: %r; it must be a number greater than 0 (%s)" % (option_text(option), value, example),
                           option=option, value=value)
    return int(number) if float(number).is_integer() else number


def _whole_number(option, value, minimum, rule):
    """``value`` as an int of at least ``minimum``; else InvalidInput saying ``rule`` (what the option must be)."""
    number = _number(option, value)
    if number is None or not float(number).is_integer() or number < minimum:
        raise InvalidInput("Invalid %s: %r; it must be %s" % (option_text(option), value, rule), option=option, value=value)
    return int(number)


def window_end_time(value, now):
    """The window's end as an aware UTC datetime (None: no window): a time with its timezone
    (2026-12-02T05:30:00+01:00) or a length from ``now`` (90m, 2h, 1h30m, 45s)."""
    if value in (None, ""):
        return None
    text = str(value).strip()
    length = DURATION.match(text)
    if length and any(length.groupdict().values()):
        parts = {key: int(number or 0) for key, number in length.groupdict().items()}
        return now + timedelta(hours=parts["h"], minutes=parts["m"], seconds=parts["s"])
    try:
        end = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        end = None
    if end is None or end.tzinfo is None:
        raise InvalidInput("Invalid %s: %r; give a time with its timezone (2026-12-02T05:30:00+01:00 or ...Z) or a length "
                           "from now (90m, 2h, 1h30m)" % (option_text("window_end"), value), option="window_end", value=value)
    # an end that has passed is kept: nothing starts (a later wave of a window that ended)
    return end.astimezone(timezone.utc)


def _choice(option, value, choices):
    if value not in choices:
        raise InvalidInput("Invalid %s: %r; it must be one of %s" % (option_text(option), value, ", ".join(choices)),
                           option=option, value=value)
    return value


def requests_from_params(params):
    """The list of ``MigrationRequest`` described by a module's parameters."""
    scope = dict(vm=params.get("vm"), zone=params.get("zone"), account=params.get("account"))
    if params.get("volumes"):
        items = [MigrationRequest(item["volume"], item["destination"], vm=item.get("vm") or scope["vm"],
                                  zone=item.get("zone") or scope["zone"], account=item.get("account") or scope["account"])
                 for item in params["volumes"]]
    else:
        items = [MigrationRequest(params["volume"], params["destination"], **scope)]
    seen = set()
    for item in items:
        if item.volume in seen:
            raise InvalidInput("Volume %s is listed more than once; migrate each volume once per task" % item.volume,
                               volume=item.volume)
        seen.add(item.volume)
    return items
