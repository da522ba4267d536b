"""playbooks/evacuate_pool.yml run with ansible-playbook against the lab, as an operator runs it.

The lab's nfs-primary-2 (cluster DC0_C1) holds a dozen volumes of stopped and running VMs; the only other pool of
that cluster, nfs-primary-4, is the one CloudStack reports suitable for them, so the plan is known in advance.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]
PLAYBOOK = REPO / "playbooks" / "evacuate_pool.yml"
RECAP = re.compile(r"^localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)
SOURCE = "nfs-primary-2"
DESTINATION = "nfs-primary-4"
GIB = 1024 ** 3


class PlayRun:
    def __init__(self, completed, plan_file):
        self.returncode = completed.returncode
        self.output = completed.stdout + completed.stderr
        recap = RECAP.search(self.output)
        assert recap, "no PLAY RECAP:\n%s" % self.output
        self.changed = int(recap.group(2))
        self.plan_file = plan_file

    def plan(self):
        return yaml.safe_load(self.plan_file.read_text())


def evacuate(lab, tmp_path, *options, name="run", check=False):
    """ansible-playbook playbooks/evacuate_pool.yml for SOURCE, short polls, files in tmp_path."""
    plan_file = tmp_path / ("%s-evacuation.yml" % name)
    env = dict(os.environ, **lab.env)
    env.update(ANSIBLE_COLLECTIONS_PATH=str(REPO / ".venv" / "collections"), ANSIBLE_PYTHON_INTERPRETER=sys.executable,
               ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
               ANSIBLE_HOME=str(tmp_path / "ansible-home"))
    command = [str(Path(sys.executable).parent / "ansible-playbook"), str(PLAYBOOK),
               "-e", "safe_migration_source_pool=%s" % SOURCE, "-e", "safe_migration_plan_file=%s" % plan_file,
               "-e", "safe_migration_report_dir=%s" % (tmp_path / "report"),
               "-e", "safe_migration_journal_path=%s" % (tmp_path / "journal.jsonl"),
               "-e", "safe_migration_poll_interval=0.05", "-e", "safe_migration_job_timeout=60", *options]
    if check:
        command.append("--check")
    completed = subprocess.run(command, env=env, cwd=str(tmp_path), capture_output=True, text=True, timeout=600, check=False)
    return PlayRun(completed, plan_file)


def pools_by_name(lab):
    return {pool["name"]: pool for pool in lab.admin().listStoragePools()["storagepool"]}


def volumes_on(lab, pool_id):
    return [record for record in lab.records().values() if record["storageid"] == pool_id and record["state"] != "Expunged"]


def lab_state(lab):
    """Every volume's record (pool, path, state) and where its VMDK really is."""
    return {volume_id: (record["storageid"], record["path"], record["state"], tuple(lab.vmdk_locations(record["path"])))
            for volume_id, record in lab.records().items() if record["path"]}


def test_check_mode_writes_the_plan_and_changes_nothing(fresh_lab, tmp_path):
    pools = pools_by_name(fresh_lab)
    on_source = volumes_on(fresh_lab, pools[SOURCE]["id"])
    before = lab_state(fresh_lab)

    run = evacuate(fresh_lab, tmp_path, "-e", "safe_migration_concurrency=3", check=True)

    assert run.returncode == 0 and run.changed == 0, run.output
    plan = run.plan()
    assert sorted(item["volume"] for item in plan["safe_migration_plan"]) == sorted(record["id"] for record in on_source)
    assert {item["destination"] for item in plan["safe_migration_plan"]} == {pools[DESTINATION]["id"]}
    # One destination and at most one migration per destination: one volume at a time.
    assert (plan["safe_migration_concurrency"], plan["safe_migration_wave_size"]) == (1, 100)
    assert "# %s" % DESTINATION in run.plan_file.read_text()
    assert "Check mode: nothing else is done" in run.output
    assert not (tmp_path / "report").exists() and not (tmp_path / "journal.jsonl").exists()
    assert lab_state(fresh_lab) == before


def test_a_run_empties_the_pool_and_a_second_run_changes_nothing(fresh_lab, tmp_path):
    pools = pools_by_name(fresh_lab)
    source, destination = pools[SOURCE]["id"].replace("-", ""), pools[DESTINATION]["id"].replace("-", "")
    on_source = volumes_on(fresh_lab, pools[SOURCE]["id"])
    assert len(on_source) >= 5 and all(fresh_lab.vmdk_locations(record["path"])[0].startswith("[%s]" % source)
                                       for record in on_source)

    # The pool holds volumes of running VMs: they move live (storage vMotion). Two at a time, in one wave.
    first = evacuate(fresh_lab, tmp_path, "-e", "safe_migration_allow_live_migration=true", "-e", "safe_migration_concurrency=2",
                     "-e", "safe_migration_per_destination_concurrency=2", "-e", "safe_migration_wave_size=%d" % (2 * len(on_source)))

    assert first.returncode == 0, first.output
    assert first.changed == 1  # one wave
    assert (first.plan()["safe_migration_concurrency"], first.plan()["safe_migration_wave_size"]) == (2, 2 * len(on_source))
    records = fresh_lab.records()
    for volume in on_source:
        record = records[volume["id"]]
        assert (record["storageid"], record["state"], record["path"]) == (pools[DESTINATION]["id"], "Ready", volume["path"])
        [location] = fresh_lab.vmdk_locations(volume["path"])
        assert location.startswith("[%s] " % destination), (volume["name"], location)
    assert volumes_on(fresh_lab, pools[SOURCE]["id"]) == []
    assert "%d volume(s): %d migrated" % (len(on_source), len(on_source)) in first.output
    after = lab_state(fresh_lab)

    second = evacuate(fresh_lab, tmp_path, "-e", "safe_migration_allow_live_migration=true", name="again")

    assert second.returncode == 0 and second.changed == 0, second.output
    assert second.plan()["safe_migration_plan"] == []
    assert "The pool holds no volume: nothing to evacuate." in second.output
    assert lab_state(fresh_lab) == after


def test_volumes_that_cannot_fit_are_refused_and_nothing_changes(fresh_lab, tmp_path):
    pools = pools_by_name(fresh_lab)
    on_source = volumes_on(fresh_lab, pools[SOURCE]["id"])
    smallest = min(int(record["size"]) for record in on_source)
    # The destination keeps room for the smallest volume only (capacity counts twice, the overprovisioning
    # factor listStoragePools shows): CloudStack reports it unsuitable for the others.
    factor = float(pools[DESTINATION]["overprovisionfactor"])
    fresh_lab.control("pool_capacity", pool_id=pools[DESTINATION]["id"],
                      bytes=int((int(pools[DESTINATION]["disksizeallocated"]) + smallest) / factor))
    before = lab_state(fresh_lab)

    run = evacuate(fresh_lab, tmp_path, "-e", "safe_migration_allow_live_migration=true")

    assert run.returncode != 0, run.output
    assert "Cannot evacuate %s:" % SOURCE in run.output and "fit on no destination" in run.output
    refused = [record for record in on_source if int(record["size"]) > smallest]
    for record in refused:
        assert re.search(r"%s \([^)]*\): CloudStack reports no pool suitable for it" % re.escape(record["name"]), run.output), record["name"]
    assert not run.plan_file.exists()
    assert not (tmp_path / "journal.jsonl").exists()
    assert lab_state(fresh_lab) == before


def test_storage_tags_of_the_source_must_be_on_the_destination(fresh_lab, tmp_path):
    pools = pools_by_name(fresh_lab)
    fresh_lab.control("pool_tags", pool_id=pools[SOURCE]["id"], tags="ssd,gold")
    fresh_lab.control("pool_tags", pool_id=pools[DESTINATION]["id"], tags="ssd")
    before = lab_state(fresh_lab)

    refused = evacuate(fresh_lab, tmp_path, "-e", "safe_migration_allow_live_migration=true", name="untagged", check=True)

    assert refused.returncode != 0, refused.output
    assert "Cannot evacuate %s:" % SOURCE in refused.output and "gold" in refused.output
    assert not refused.plan_file.exists()

    fresh_lab.control("pool_tags", pool_id=pools[DESTINATION]["id"], tags="gold,ssd,fast")
    planned = evacuate(fresh_lab, tmp_path, "-e", "safe_migration_allow_live_migration=true", name="tagged", check=True)

    assert planned.returncode == 0, planned.output
    assert {item["destination"] for item in planned.plan()["safe_migration_plan"]} == {pools[DESTINATION]["id"]}
    assert lab_state(fresh_lab) == before
