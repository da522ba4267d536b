"""playbooks/migrate_volumes.yml run the way AWX runs a job: ansible-runner's Python API, a private data dir
with the credentials as environment variables (what a custom credential type injects), the plan as extra vars.
Checked from the job's artifacts (status, rc, the set_stats summary, the events' stdout) and from the lab."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import ansible_runner
import pytest
import yaml

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]
PLAYBOOK = "playbooks/migrate_volumes.yml"
SURVEY = REPO / "docs" / "awx" / "survey.json"
# What the two custom credential types of docs/awx.md inject.
CREDENTIAL_VARIABLES = ("CLOUDSTACK_ENDPOINT", "CLOUDSTACK_KEY", "CLOUDSTACK_SECRET", "VMWARE_HOST", "VMWARE_PORT",
                        "VMWARE_USER", "VMWARE_PASSWORD", "VMWARE_VALIDATE_CERTS", "VMWARE_CA_CERT")
SECRET_VARIABLES = ("CLOUDSTACK_KEY", "CLOUDSTACK_SECRET", "VMWARE_PASSWORD")
# Stopped VMs of the seeded zone, destinations in each VM's cluster.
PLAN = [{"volume": "ROOT-7", "vm": "vm-0007", "destination": "nfs-primary-3"},
        {"volume": "ROOT-11", "vm": "vm-0011", "destination": "nfs-primary-1"}]


def survey_defaults():
    """The extra variables AWX passes when the survey of docs/awx/survey.json is launched with its defaults."""
    return {question["variable"]: question["default"] for question in json.loads(SURVEY.read_text())["spec"]}


def run_job(lab, tmp_path, plan):
    """One job: a private data dir as AWX prepares it (survey answers as extra vars), run through ansible_runner.run."""
    private_data_dir = tmp_path / "job"
    private_data_dir.mkdir()
    envvars = {name: lab.env[name] for name in CREDENTIAL_VARIABLES}
    envvars.update(ANSIBLE_COLLECTIONS_PATH=str(REPO / ".venv" / "collections"), ANSIBLE_NOCOLOR="1",
                   ANSIBLE_HOME=str(tmp_path / "ansible-home"))
    extravars = dict(survey_defaults(), safe_migration_plan=plan, safe_migration_poll_interval=0.2,
                     safe_migration_journal_path=str(tmp_path / "journal.jsonl"),
                     safe_migration_report_dir=str(tmp_path / "report"))
    inventory = {"all": {"hosts": {"localhost": {"ansible_connection": "local",
                                                 "ansible_python_interpreter": sys.executable}}}}
    runner = ansible_runner.run(private_data_dir=str(private_data_dir), project_dir=str(REPO), playbook=PLAYBOOK,
                                inventory=inventory, envvars=envvars, extravars=extravars, quiet=True, timeout=300)
    return runner, private_data_dir


def run_summary(runner):
    """The set_stats data of the run, as AWX stores it as the job's artifacts (playbook_on_stats' artifact_data)."""
    stats = [event for event in runner.events if event["event"] == "playbook_on_stats"]
    assert len(stats) == 1
    return stats[0]["event_data"]["artifact_data"]["safe_migration"]


def assert_no_secret_in_artifacts(lab, runner, private_data_dir):
    secrets = [lab.env[name] for name in SECRET_VARIABLES]
    events = list(runner.events)
    assert events
    for event in events:
        assert not [secret for secret in secrets if secret in event.get("stdout", "")], event["event"]
        assert not [secret for secret in secrets if secret in json.dumps(event.get("event_data", {}))], event["event"]
    # Files the job produced. Not env/ (the inputs AWX wrote: the credentials, by design) nor artifacts/*/command
    # (ansible-runner's record of the process environment); AWX deletes the private data dir after the job.
    for path in (private_data_dir / "artifacts").rglob("*"):
        if path.is_file() and path.name != "command":
            text = path.read_text(errors="replace")
            assert not [secret for secret in secrets if secret in text], path


def test_awx_job_migrates_the_plan_and_publishes_the_summary(fresh_lab, tmp_path):
    before = {name: fresh_lab.vmdk_locations(name) for name in ("ROOT-7", "ROOT-11")}

    runner, private_data_dir = run_job(fresh_lab, tmp_path, PLAN)

    assert (runner.status, runner.rc) == ("successful", 0), runner.stdout.read()
    assert json.loads((tmp_path / "report" / "report.json").read_text())["summary"] == run_summary(runner)
    summary = run_summary(runner)
    assert summary["status"] == "succeeded"
    assert (summary["planned"], summary["migrated"], summary["failed"], summary["false_success"]) == (2, 2, 0, 0)
    # The lab agrees: records on the destination pools, disks on their datastores and nowhere else.
    volumes = {volume["name"]: volume for volume in fresh_lab.admin().listVolumes(listall=True)["volume"]}
    for request in PLAN:
        volume = volumes[request["volume"]]
        assert (volume["storage"], volume["state"], volume["path"]) == (request["destination"], "Ready", request["volume"])
        datastore = volume["storageid"].replace("-", "")
        assert [location.split("]")[0].strip("[") for location in fresh_lab.vmdk_locations(request["volume"])] == [datastore]
        assert fresh_lab.vmdk_locations(request["volume"]) != before[request["volume"]]
    assert_no_secret_in_artifacts(fresh_lab, runner, private_data_dir)


def test_awx_job_fails_at_preflight_and_still_publishes_the_summary(fresh_lab, tmp_path):
    fresh_lab.control("vcenter_unregister_vm", instance_name="i-2-11-VM")
    records_before = fresh_lab.records()

    # The plan as a survey textarea gives it: YAML text, not a list.
    runner, private_data_dir = run_job(fresh_lab, tmp_path, yaml.safe_dump(PLAN))

    assert (runner.status, runner.rc) == ("failed", 2), runner.stdout.read()
    summary = run_summary(runner)
    assert summary["status"] == "preflight_failed"
    assert summary["migrated"] == 0
    assert fresh_lab.records() == records_before
    stdout = "".join(event.get("stdout", "") for event in runner.events)
    assert "i-2-11-VM is not in the vCenter inventory" in stdout
    assert_no_secret_in_artifacts(fresh_lab, runner, private_data_dir)
