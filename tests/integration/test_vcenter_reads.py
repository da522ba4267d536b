"""vCenter reads that do not grow with the plan (issue 13, part 1): the migration service, run in this process
against the lab with the real clients, reads the whole inventory once whatever the number of volumes; each volume
adds a constant number of calls (its VM read again by moref, its datastore searches). Calls are counted by SOAP
method as pyVmomi sends them."""

from __future__ import annotations

import pytest

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._cloudstack import client as cloudstack_client
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._cloudstack.arguments import CloudStackSettings
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.journal import Journal
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter import client as vcenter_client
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.arguments import VCenterSettings
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.disks import VCenterDisks
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.migration import VolumeMigrationService
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.options import (
    MigrationOptions,
    MigrationRequest,
)
from integration.playbook_runner import lab_state, stopped_vm_volumes  # pylint: disable=import-error
from integration.vcenter_lab import SoapCalls  # pylint: disable=import-error

pytestmark = pytest.mark.lab


def migrate_counted(lab, volumes, workdir, concurrency=2):
    """Migrate ``volumes`` with the service in this process; the result and the SOAP calls it made, by method."""
    env = lab.env
    cloudstack = cloudstack_client.connect(CloudStackSettings(endpoint=env["CLOUDSTACK_ENDPOINT"], key=env["CLOUDSTACK_KEY"],
                                                              secret=env["CLOUDSTACK_SECRET"]))
    settings = VCenterSettings(hostname=env["VMWARE_HOST"], port=int(env["VMWARE_PORT"]), username=env["VMWARE_USER"],
                               password=env["VMWARE_PASSWORD"], ca_cert=env["VMWARE_CA_CERT"])
    with SoapCalls() as calls:
        vcenter = vcenter_client.connect(settings)
        try:
            service = VolumeMigrationService(cloudstack, VCenterDisks(vcenter), Journal(str(workdir / "journal.jsonl")),
                                             MigrationOptions(poll_interval=0.05, job_timeout=60, concurrency=concurrency),
                                             cloud=env["CLOUDSTACK_ENDPOINT"], lock_directory=str(workdir / "locks"))
            result = service.run([MigrationRequest(volume["id"], volume["destination"]["id"]) for volume in volumes])
        finally:
            vcenter.close()
    return result, calls.by_method


def test_the_inventory_is_read_once_per_run_and_each_volume_adds_a_constant(fresh_lab, tmp_path):
    fresh_lab.control("job_seconds", seconds=0.05)
    volumes = stopped_vm_volumes(fresh_lab, 7)
    counted = []
    for number, batch in enumerate((volumes[:1], volumes[1:4], volumes[4:7])):
        workdir = tmp_path / ("run-%d" % number)
        workdir.mkdir()
        result, calls = migrate_counted(fresh_lab, batch, workdir)
        assert [entry["status"] for entry in result["volumes"]] == ["migrated"] * len(batch)
        assert calls["CreateContainerView"] == 1, "one read of the whole inventory per run: %s" % dict(calls)
        counted.append((len(batch), sum(calls.values())))
    (one, total_one), (three, total_three), (three_again, total_three_again) = counted
    per_volume = (total_three - total_one) / (three - one)
    assert (three_again, total_three_again) == (three, total_three), "the same plan size, the same calls"
    assert per_volume <= 10, "calls per volume: %s (%s)" % (per_volume, counted)
    for volume_id, (pool_id, _path, state, files) in lab_state(fresh_lab, volumes).items():
        destination = next(volume["destination"]["id"] for volume in volumes if volume["id"] == volume_id)
        assert (pool_id, state, len(files)) == (destination, "Ready", 1)
