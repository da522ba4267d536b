"""The simulator's VMware backend against a real vcsim: files really move, lookups behave as the agent's."""

from __future__ import annotations

import concurrent.futures
import threading

import pytest
from pyVmomi import vim

from lab.cloudstack_sim.vmware_backend import BackendError, DatastoreNotFound, DiskNotFound, VmNotFound
from lab.vsphere import LabVSphere


def _deploy(backend, host, name="i-2-34-VM", files=("ROOT-34", "ROOT-3"), powered_on=False, datastore="aaaa1111"):
    disks = [{"datastore": datastore, "file": "%s/%s.vmdk" % (name, f), "size_mb": 1} for f in files]
    return backend.create_vm(name, name, host, disks, powered_on)


def _disk_files(backend, name):
    vm = backend.vsphere.find_vms(name)[0]
    return sorted(d.backing.fileName for d in backend.vsphere.vm_disks(vm))


def test_create_vm_writes_its_files_and_reports_its_identity(backend, host_names):
    created = _deploy(backend, host_names[0], powered_on=True)

    assert created["moid"].startswith("vm-")
    assert created["instance_uuid"] != created["bios_uuid"]
    assert backend.vmdk_locations("ROOT-34") == ["[aaaa1111] i-2-34-VM/ROOT-34.vmdk"]
    assert (backend.datastore_root / "aaaa1111" / "i-2-34-VM" / "i-2-34-VM.vmx").is_file()
    vm = backend.vsphere.find_vms("i-2-34-VM")[0]
    assert backend.vsphere.power_state(vm) == "poweredOn"


def test_attached_migration_moves_the_file_on_disk_and_repoints_the_disk(backend, host_names):
    _deploy(backend, host_names[0])

    new_path = backend.migrate_attached_volume("i-2-34-VM", "ROOT-34", "bbbb2222-0000")

    assert new_path == "ROOT-34"
    assert backend.vmdk_locations("ROOT-34") == ["[bbbb2222] i-2-34-VM/ROOT-34.vmdk"]
    assert (backend.datastore_root / "bbbb2222" / "i-2-34-VM" / "ROOT-34-flat.vmdk").is_file()
    assert _disk_files(backend, "i-2-34-VM") == ["[aaaa1111] i-2-34-VM/ROOT-3.vmdk", "[bbbb2222] i-2-34-VM/ROOT-34.vmdk"]


def test_disk_match_is_exact_root_3_never_takes_root_34(backend, host_names):
    _deploy(backend, host_names[0])

    backend.migrate_attached_volume("i-2-34-VM", "ROOT-3", "bbbb2222")

    assert backend.vmdk_locations("ROOT-3") == ["[bbbb2222] i-2-34-VM/ROOT-3.vmdk"]
    assert backend.vmdk_locations("ROOT-34") == ["[aaaa1111] i-2-34-VM/ROOT-34.vmdk"]
    with pytest.raises(DiskNotFound, match=r"^No such disk device: ROOT-\.vmdk$"):
        backend.migrate_attached_volume("i-2-34-VM", "ROOT-", "bbbb2222")


def test_vm_not_found_after_unregister_while_its_files_stay(backend, host_names):
    _deploy(backend, host_names[1], powered_on=True)
    datacenter_moid = backend.topology()["datacenter_moid"]

    backend.unregister_vm("i-2-34-VM")

    with pytest.raises(VmNotFound) as raised:
        backend.migrate_attached_volume("i-2-34-VM", "ROOT-34", "bbbb2222")
    assert str(raised.value) == "VM i-2-34-VM does not exist in VMware datacenter %s" % datacenter_moid
    assert backend.vmdk_locations("ROOT-34") == ["[aaaa1111] i-2-34-VM/ROOT-34.vmdk"]


def test_unknown_destination_datastore_gives_the_agents_text(backend, host_names):
    _deploy(backend, host_names[0])

    with pytest.raises(DatastoreNotFound, match="^Unable to find the mounted datastore with name: cccc3333 on source host: %s"
                       % host_names[0]):
        backend.migrate_attached_volume("i-2-34-VM", "ROOT-34", "cccc3333")
    assert backend.vmdk_locations("ROOT-34") == ["[aaaa1111] i-2-34-VM/ROOT-34.vmdk"]


def test_vm_is_found_case_insensitively_by_internal_name_after_a_rename(backend, host_names):
    _deploy(backend, host_names[0])
    backend.rename_vm("i-2-34-VM", "web-server")

    backend.migrate_attached_volume("I-2-34-vm", "ROOT-34", "bbbb2222")

    assert backend.vmdk_locations("ROOT-34") == ["[bbbb2222] i-2-34-VM/ROOT-34.vmdk"]


def test_inaccessible_or_maintenance_destination_is_refused(backend, host_names):
    _deploy(backend, host_names[0])

    backend.set_datastore_state("bbbb2222", accessible=False)
    with pytest.raises(BackendError, match="not accessible"):
        backend.migrate_attached_volume("i-2-34-VM", "ROOT-34", "bbbb2222")
    backend.set_datastore_state("bbbb2222", accessible=True, maintenance=True)
    with pytest.raises(BackendError, match="maintenance"):
        backend.migrate_attached_volume("i-2-34-VM", "ROOT-34", "bbbb2222")
    assert backend.vmdk_locations("ROOT-34") == ["[aaaa1111] i-2-34-VM/ROOT-34.vmdk"]


def test_orphaned_vm_is_refused(backend, host_names):
    _deploy(backend, host_names[0])
    backend.set_vm_connection_state("i-2-34-VM", "orphaned")

    with pytest.raises(BackendError, match="orphaned"):
        backend.migrate_attached_volume("i-2-34-VM", "ROOT-34", "bbbb2222")


def test_detached_migration_moves_the_file_between_datastore_roots(backend):
    backend.create_detached_disk("aaaa1111", "f2a2e5.vmdk", 1)

    assert backend.migrate_detached_volume("f2a2e5", "aaaa1111-0000", "bbbb2222") == "f2a2e5"

    assert backend.vmdk_locations("f2a2e5") == ["[bbbb2222] f2a2e5.vmdk"]
    with pytest.raises(BackendError, match=r"^Migration of volume 'missing' failed; file \(\[aaaa1111\] missing.vmdk\) not found"):
        backend.migrate_detached_volume("missing", "aaaa1111", "bbbb2222")


def test_delete_vmdk_removes_descriptor_and_extent(backend):
    backend.create_detached_disk("aaaa1111", "gone.vmdk", 1)

    backend.delete_vmdk("aaaa1111", "gone.vmdk")

    assert backend.vmdk_locations("gone") == []
    assert not list((backend.datastore_root / "aaaa1111").glob("gone*"))


def test_reconnect_after_vcsim_restart_sees_the_new_inventory(backend, fresh_vcsim, host_names):
    _deploy(backend, host_names[0])
    fresh_vcsim.restart()

    backend.reconnect()

    assert backend.vsphere.retrieve(vim.VirtualMachine, ["name"]) == []
    with pytest.raises(VmNotFound):
        backend.power_on("i-2-34-VM")


def test_many_vms_are_created_in_one_batch(backend, host_names):
    specs = [{"instance_name": "i-2-%d-VM" % i, "vcenter_name": "i-2-%d-VM" % i, "host_name": host_names[i % 2],
              "disks": [{"datastore": "aaaa1111", "file": "i-2-%d-VM/ROOT-%d.vmdk" % (i, i), "size_mb": 1},
                        {"datastore": "bbbb2222", "file": "i-2-%d-VM/DATA-%d.vmdk" % (i, i), "size_mb": 1}],
              "powered_on": i % 2 == 0} for i in range(50)]

    created = backend.create_vms(specs)

    assert len({vm["moid"] for vm in created}) == 50
    assert backend.vmdk_locations("DATA-49") == ["[bbbb2222] i-2-49-VM/DATA-49.vmdk"]
    states = [props["runtime.powerState"] for _moref, props in backend.vsphere.retrieve(vim.VirtualMachine, ["runtime.powerState"])]
    assert states.count("poweredOn") == 25


def _deploy_many(backend, host, count):
    backend.create_vms([{"instance_name": "i-2-%d-VM" % i, "vcenter_name": "i-2-%d-VM" % i, "host_name": host,
                         "disks": [{"datastore": "aaaa1111", "file": "i-2-%d-VM/DATA-%d.vmdk" % (i, i), "size_mb": 1}],
                         "powered_on": False} for i in range(count)])


def _migrate_side_by_side(backend, count):
    """Migrate DATA-i of i-2-i-VM to bbbb2222 from ``count`` threads at once; the errors raised."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=count) as pool:
        moves = [pool.submit(backend.migrate_attached_volume, "i-2-%d-VM" % number, "DATA-%d" % number, "bbbb2222")
                 for number in range(count)]
    return [move.exception() for move in moves if move.exception() is not None]


def test_disk_moves_of_several_vms_run_in_vcenter_at_the_same_time(backend, host_names):
    # As CloudStack's job threads do: a move waiting for the others to start would break the barrier (serialised moves).
    _deploy_many(backend, host_names[0], 3)
    all_moving = threading.Barrier(3, timeout=10)
    move_file = backend.vsphere.move_file

    def meeting_move_file(source, destination):
        all_moving.wait()
        return move_file(source, destination)
    backend.vsphere.move_file = meeting_move_file

    assert _migrate_side_by_side(backend, 3) == []
    assert [backend.vmdk_locations("DATA-%d" % i) for i in range(3)] == [
        ["[bbbb2222] i-2-%d-VM/DATA-%d.vmdk" % (i, i)] for i in range(3)]


def test_a_session_found_gone_by_several_moves_is_renewed_once_and_every_move_lands(backend, fresh_vcsim, host_names):
    _deploy_many(backend, host_names[0], 3)
    other = LabVSphere(fresh_vcsim.host, fresh_vcsim.port, "administrator@vsphere.local", "lab-password",
                       ca_file=str(fresh_vcsim.ca_file)).connect()
    generation = backend._session.generation  # pylint: disable=protected-access
    try:
        own = backend.vsphere.content.sessionManager.currentSession.key
        other.content.sessionManager.TerminateSession(sessionId=[own])
    finally:
        other.disconnect()

    assert _migrate_side_by_side(backend, 3) == []
    assert backend._session.generation == generation + 1  # pylint: disable=protected-access
    assert [backend.vmdk_locations("DATA-%d" % i) for i in range(3)] == [
        ["[bbbb2222] i-2-%d-VM/DATA-%d.vmdk" % (i, i)] for i in range(3)]
