# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The playbooks' option checks and the messages that name the playbook's variables."""

import json
from datetime import datetime, timezone

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.cloudstack_vmware.safe_migration.plugins.filter.plan_options import (
    FilterModule,
    option_errors,
    vcenter_list,
    window_end_at,
    zone_host_errors,
)

GOOD = {"safe_migration_on_false_success": "fail", "safe_migration_on_volume_failure": "finish_wave",
        "safe_migration_concurrency": 2, "safe_migration_wave_size": "5", "safe_migration_job_timeout": "60",
        "safe_migration_poll_interval": "0.05", "safe_migration_allow_live_migration": "false",
        "safe_migration_skip_preflight": False, "safe_migration_max_per_destination": "0",
        "safe_migration_window_end": "2h"}


def test_good_options_give_no_error():
    assert option_errors(GOOD) == []


@pytest.mark.parametrize("variable, value, message", [
    ("safe_migration_on_false_success", "restor", "safe_migration_on_false_success must be one of fail, restore (got 'restor')"),
    ("safe_migration_on_volume_failure", "continue",
     "safe_migration_on_volume_failure must be one of stop, finish_wave (got 'continue')"),
    ("safe_migration_concurrency", 0, "safe_migration_concurrency must be a whole number of at least 1 (got 0)"),
    ("safe_migration_max_per_destination", -1,
     "safe_migration_max_per_destination must be a whole number, 0 for no limit of its own (got -1)"),
    ("safe_migration_window_end", "05:30",
     "safe_migration_window_end must be a time with its timezone (2026-12-02T05:30:00+01:00 or ...Z) or a length from now "
     "(90m, 2h, 1h30m) (got '05:30')"),
    ("safe_migration_concurrency", "two", "safe_migration_concurrency must be a whole number of at least 1 (got 'two')"),
    ("safe_migration_wave_size", "1.5", "safe_migration_wave_size must be a whole number of at least 1 (got '1.5')"),
    ("safe_migration_wave_size", True, "safe_migration_wave_size must be a whole number of at least 1 (got True)"),
    ("safe_migration_job_timeout", "0", "safe_migration_job_timeout must be a number of seconds greater than 0 (got '0')"),
    ("safe_migration_job_timeout", -5, "safe_migration_job_timeout must be a number of seconds greater than 0 (got -5)"),
    ("safe_migration_poll_interval", "nan", "safe_migration_poll_interval must be a number of seconds greater than 0 (got 'nan')"),
    ("safe_migration_allow_live_migration", "maybe", "safe_migration_allow_live_migration must be true or false (got 'maybe')"),
    ("safe_migration_skip_preflight", 2, "safe_migration_skip_preflight must be true or false (got 2)"),
    ("safe_migration_progress", "loud", "safe_migration_progress must be true or false (got 'loud')"),
])
def test_each_wrong_option_is_one_line_naming_the_variable_and_the_allowed_values(variable, value, message):
    assert option_errors(dict(GOOD, **{variable: value})) == [message]


def test_every_wrong_option_is_listed_in_order():
    errors = option_errors(dict(GOOD, safe_migration_concurrency="0", safe_migration_on_false_success="restor"))

    assert [error.split(" ")[0] for error in errors] == ["safe_migration_on_false_success", "safe_migration_concurrency"]


def test_another_prefix_and_unknown_variables():
    assert option_errors({"preflight_concurrency": 0, "other": "x"}, "preflight_") == [
        "preflight_concurrency must be a whole number of at least 1 (got 0)"]


def test_a_non_mapping_is_a_filter_error():
    with pytest.raises(AnsibleFilterError):
        option_errors(["safe_migration_concurrency"])


def test_the_filters_are_registered():
    assert set(FilterModule().filters()) == {"option_errors", "window_end_at", "vcenter_list", "zone_host_errors"}


def test_the_journal_path_is_checked_as_the_modules_check_it(tmp_path):
    assert option_errors({"safe_migration_journal_path": str(tmp_path / "journal.jsonl")}) == []
    assert option_errors({"safe_migration_journal_path": ""}) == []
    [refusal] = option_errors({"safe_migration_journal_path": "/etc/passwd"})
    assert refusal.startswith("journal_path /etc/passwd cannot be the migration journal: it is in the system directory /etc")
    missing = str(tmp_path / "new" / "journal.jsonl")
    [refusal] = option_errors({"safe_migration_journal_path": missing, "safe_migration_journal_create_directory": "no"})
    assert "does not exist; create it, or set journal_create_directory=true" in refusal
    assert option_errors({"safe_migration_journal_path": missing, "safe_migration_journal_create_directory": "yes"}) == []
    assert not (tmp_path / "new").exists(), "checking a path creates nothing"
    assert option_errors({"safe_migration_journal_create_directory": "maybe"}) == [
        "safe_migration_journal_create_directory must be true or false (got 'maybe')"]


def test_the_window_end_is_fixed_once_as_an_absolute_time():
    now = datetime(2026, 12, 2, 3, 0, tzinfo=timezone.utc)
    assert window_end_at("90m", now) == "2026-12-02T04:30:00+00:00"
    assert window_end_at("2026-12-02T05:30:00+01:00", now) == "2026-12-02T04:30:00+00:00"
    assert window_end_at("", now) == ""
    with pytest.raises(AnsibleFilterError, match="give a time with its timezone"):
        window_end_at("half past five", now)


VCENTERS = [{"hostname": "vc-east", "username": "ro", "password": "s3cret-east"},
            {"hostname": "vc-west", "username": "ro", "password": "s3cret-west", "zones": ["west"]}]


def test_vcenters_come_as_a_list_or_as_the_yaml_text_an_awx_credential_injects():
    assert vcenter_list(VCENTERS) == VCENTERS
    assert vcenter_list(yaml.safe_dump(VCENTERS)) == VCENTERS
    assert vcenter_list(json.dumps(VCENTERS)) == VCENTERS
    assert vcenter_list("") == [] and vcenter_list([]) == [] and vcenter_list(None) == []


@pytest.mark.parametrize("value, text", [
    ("hostname: vc-east", "must be a list of {hostname, username, password} entries"),
    ("[unclosed", "is text that is not YAML"),
    ([{"hostname": "vc-east", "username": "ro"}], "entry 1 (vc-east) lacks password"),
    ([VCENTERS[0], {"username": "ro", "password": "s3cret-x"}], "entry 2 (no hostname) lacks hostname"),
])
def test_a_wrong_vcenters_value_is_refused_naming_what_is_wrong_never_its_passwords(value, text):
    with pytest.raises(AnsibleFilterError) as raised:
        vcenter_list(value)
    assert text in str(raised.value) and "s3cret" not in str(raised.value)
    [error] = option_errors({"safe_migration_vcenters": value})
    assert error.startswith("safe_migration_vcenters ") and text in error and "s3cret" not in error


@pytest.mark.parametrize("zones", [{"localhost": ""}, {"west": "zone1"}, {"west": "zone1", "east": " zone2 "}])
def test_one_host_or_one_host_per_zone_is_fine(zones):
    assert zone_host_errors(zones) == []


@pytest.mark.parametrize("zones, errors", [
    ({"west": "zone1", "east": ""}, [
        "hosts east, west run this play together, and east has no safe_migration_zone: give each host its zone (one host "
        "per zone), or run the play on one host"]),
    ({"a": "", "b": ""}, ["hosts a, b run this play together, and a, b have no safe_migration_zone: give each host its zone "
                          "(one host per zone), or run the play on one host"]),
    ({"west": "zone1", "east": "zone1 "}, ["hosts east and west all have safe_migration_zone zone1: one host per zone"]),
    ({"west": 2}, ["host west has safe_migration_zone 2: give a zone's name or UUID as text"]),
])
def test_hosts_that_would_migrate_the_same_volumes_are_refused(zones, errors):
    assert zone_host_errors(zones) == errors
