# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Waves that keep a VM whole, and a wave's outcome in the report's counts."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.cloudstack_vmware.safe_migration.plugins.plugin_utils.report_outcomes import ReportInvariantError
from ansible_collections.cloudstack_vmware.safe_migration.plugins.filter.waves import (
    FilterModule, migration_wave_outcome, migration_waves)


def requests(*names):
    return [{"volume": name, "destination": "pool-2"} for name in names]


def names(waves):
    return [[request["volume"] for request in wave] for wave in waves]


def test_without_groups_waves_are_plain_batches():
    assert names(migration_waves(requests("a", "b", "c", "d", "e"), 2)) == [["a", "b"], ["c", "d"], ["e"]]


def test_the_volumes_of_one_vm_stay_in_one_wave():
    groups = {"a": "vm1", "b": "vm2", "c": "vm2", "d": "vm3"}
    assert names(migration_waves(requests("a", "b", "c", "d"), 2)) == [["a", "b"], ["c", "d"]]
    assert names(migration_waves(requests("a", "b", "c", "d"), 2, groups)) == [["a"], ["b", "c"], ["d"]]


def test_a_vm_larger_than_a_wave_gets_a_wave_of_its_own():
    groups = {"b": "vm2", "c": "vm2", "d": "vm2"}
    assert names(migration_waves(requests("a", "b", "c", "d", "e"), 2, groups)) == [["a"], ["b", "c", "d"], ["e"]]


def test_a_vm_whose_volumes_are_apart_in_the_plan_is_gathered_where_it_first_appears():
    groups = {"a": "vm1", "c": "vm1"}
    assert names(migration_waves(requests("a", "b", "c"), 5, groups)) == [["a", "c", "b"]]


def test_detached_volumes_stand_alone():
    groups = {"a": None, "b": None}
    assert names(migration_waves(requests("a", "b", "c"), 1, groups)) == [["a"], ["b"], ["c"]]


def test_every_volume_is_in_exactly_one_wave():
    volumes = requests(*("v%d" % number for number in range(23)))
    groups = {"v%d" % number: "vm%d" % (number % 5) for number in range(23)}
    waves = migration_waves(volumes, 3, groups)
    flat = [name for wave in names(waves) for name in wave]
    assert sorted(flat) == sorted(request["volume"] for request in volumes)
    for vm in set(groups.values()):
        assert sum(1 for wave in names(waves) if any(groups[name] == vm for name in wave)) == 1


@pytest.mark.parametrize("size", [0, -1, "x", None])
def test_a_wave_size_below_one_is_refused(size):
    with pytest.raises(AnsibleFilterError, match="wave_size must be"):
        migration_waves(requests("a"), size)


def test_the_outcome_counts_in_the_report_vocabulary_and_gives_one_progress_line():
    wave = requests("v1", "v2", "v3", "v4")
    call = {"volumes": [{"volume": "v1", "status": "migrated", "duration": 2},
                        {"volume": "v2", "status": "unchanged", "duration": 1},
                        {"volume": "v3", "status": "failed", "false_success": True, "msg": "no",
                         "restore": {"verified": True}},
                        {"volume": "v4", "status": "not_started", "not_started_reason": "volume_failed", "failed": True,
                         "msg": "Not started: volume v3 failed"}]}
    outcome = migration_wave_outcome(call, wave, 2, count=3, done_before=4, total=12, labels={"v3": "DATA-3"})
    assert outcome["summary"] == {"wave": 2, "planned": 4, "migrated": 1, "already_in_place": 1, "failed": 0,
                                  "false_success": 1, "restored": 1, "repaired": 0, "not_started": 1, "volume_seconds": 3.0,
                                  "window_ended": False}
    assert outcome["line"] == ("Wave 2/3: 4 volume(s): 1 migrated, 1 already in place, 0 failed, 1 false success "
                               "(1 restored), 1 not started; 7 of 12 planned volume(s) done")
    assert outcome["failures"] == ["DATA-3: no"]
    assert [volume["wave"] for volume in outcome["volumes"]] == [2, 2, 2]
    assert "outcome" not in outcome["volumes"][0]


def test_a_task_that_failed_before_any_volume_fails_each_volume_of_the_wave():
    wave = requests("v1", "v2")
    outcome = migration_wave_outcome({"failed": True, "msg": "module crashed"}, wave, 1)
    assert [(volume["volume"], volume["status"], volume["msg"]) for volume in outcome["volumes"]] == [
        ("v1", "failed", "module crashed"), ("v2", "failed", "module crashed")]
    assert outcome["summary"]["failed"] == 2 and outcome["line"].startswith("Wave 1: 2 volume(s)")
    assert outcome["failures"] == ["v1: module crashed", "v2: module crashed"]


def test_a_skipped_task_leaves_every_volume_not_started():
    wave = requests("v1", "v2")
    outcome = migration_wave_outcome({"skipped": True}, wave, 1)
    assert (outcome["volumes"], outcome["summary"]["not_started"], outcome["failures"]) == ([], 2, [])


def test_more_results_than_volumes_raise():
    wave = requests("v1")
    call = {"volumes": [{"volume": "v1", "status": "migrated"}, {"volume": "v2", "status": "migrated"}]}
    with pytest.raises(AnsibleFilterError, match="2 results for 1 volumes"):
        migration_wave_outcome(call, wave, 1)


def test_an_unknown_status_raises():
    wave = requests("v1")
    with pytest.raises(ReportInvariantError):
        migration_wave_outcome({"volumes": [{"volume": "v1", "status": "weird"}]}, wave, 1)


def test_the_filters_are_registered():
    assert set(FilterModule().filters()) == {"migration_waves", "migration_wave_outcome"}


def test_volumes_the_window_left_alone_are_the_waves_not_started_and_say_the_window_ended():
    wave = requests("v1", "v2", "v3")
    call = {"volumes": [{"volume": "v1", "status": "migrated", "duration": 2},
                        {"volume": "v2", "status": "not_started", "not_started_reason": "window_ended", "failed": True,
                         "msg": "Not started"},
                        {"volume": "v3", "status": "not_started", "not_started_reason": "window_ended", "failed": True,
                         "msg": "Not started"}]}
    outcome = migration_wave_outcome(call, wave, 1)
    assert (outcome["summary"]["not_started"], outcome["summary"]["window_ended"]) == (2, True)
    assert [volume["volume"] for volume in outcome["volumes"]] == ["v1"] and outcome["failures"] == []
