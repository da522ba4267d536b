# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which switch a validate_certs of module_defaults is, in the modules that talk to both services."""

import pytest

from ansible_collections.cloudstack_vmware.safe_migration.plugins.plugin_utils.tls_defaults import (
    CLOUDSTACK_GROUP,
    VCENTER_GROUP,
    merged_defaults,
    route_validate_certs,
)

ACTION = "cloudstack_vmware.safe_migration.cs_volume_migrate_safe"


def route(args, task_keys, defaults):
    return route_validate_certs(args, task_keys, defaults, ACTION)


def test_the_cloudstack_groups_validate_certs_goes_to_cloudstack():
    args, moved = route({"validate_certs": False, "volume": "v"}, {"volume"}, [{CLOUDSTACK_GROUP: {"validate_certs": False}}])
    assert moved and args == {"api_validate_certs": False, "volume": "v"}


def test_the_vmware_groups_value_stays_vcenters_whatever_the_order_of_the_groups():
    for defaults in ([{VCENTER_GROUP: {"validate_certs": True}, CLOUDSTACK_GROUP: {"validate_certs": False}}],
                     [{VCENTER_GROUP: {"validate_certs": True}}, {CLOUDSTACK_GROUP: {"validate_certs": False}}]):
        args, moved = route({"validate_certs": False}, set(), defaults)
        assert moved and args == {"validate_certs": True, "api_validate_certs": False}
    # vmware group applied last: what Ansible merged is already vCenter's
    args, moved = route({"validate_certs": False}, set(), [{CLOUDSTACK_GROUP: {"validate_certs": True},
                                                           VCENTER_GROUP: {"validate_certs": False}}])
    assert not moved and args == {"validate_certs": False}


def test_the_task_and_the_modules_own_defaults_speak_for_vcenter():
    defaults = [{CLOUDSTACK_GROUP: {"validate_certs": False}}]
    assert route({"validate_certs": False}, {"validate_certs"}, defaults) == ({"validate_certs": False}, False)
    defaults.append({ACTION: {"validate_certs": False}})
    assert route({"validate_certs": False}, set(), defaults) == ({"validate_certs": False}, False)


def test_an_explicit_api_validate_certs_wins_over_the_moved_value():
    args, moved = route({"validate_certs": False, "api_validate_certs": True}, {"api_validate_certs"},
                        [{CLOUDSTACK_GROUP: {"validate_certs": False}}])
    assert moved and args == {"api_validate_certs": True}


@pytest.mark.parametrize("defaults", [[], [{"group/ngine_io.cloudstack.cloudstack": {"validate_certs": False}}],
                                      [{VCENTER_GROUP: {"validate_certs": False}}], [{CLOUDSTACK_GROUP: {"api_url": "x"}}]])
def test_nothing_moves_without_the_cloudstack_groups_validate_certs(defaults):
    assert route({"validate_certs": False}, set(), defaults) == ({"validate_certs": False}, False)


def test_unknown_task_arguments_keep_vcenters_validation_on():
    args, moved = route({"validate_certs": False}, None, [{CLOUDSTACK_GROUP: {"validate_certs": False}}])
    assert moved and "validate_certs" not in args


def test_templated_group_defaults_are_resolved():
    resolve = {"{{ cs }}": {"validate_certs": False}}.get
    args, moved = route_validate_certs({"validate_certs": False}, set(), [{CLOUDSTACK_GROUP: "{{ cs }}"}], ACTION,
                                       resolve=lambda value: resolve(value, value) if isinstance(value, str) else value)
    assert moved and args == {"api_validate_certs": False}


def test_merged_defaults_later_entries_win():
    assert merged_defaults([{"a": 1}, {"a": 2, "b": 3}, "ignored"]) == {"a": 2, "b": 3}
    assert merged_defaults(None) == {}
