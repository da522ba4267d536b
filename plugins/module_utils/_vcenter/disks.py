# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a CloudStack volume's disk really is, seen from vCenter.

A thin adapter over the shared inventory check (vcenter_inventory.check_inventory,
the same code vmware_inventory_assert runs): the migration service asks one
question, "is this volume's disk attached to this VM and on one of these
datastores?", and gets a ``DiskLocation``. The inventory is read once for all the
questions of a run (shared_inventory.py); the VM asked about is read again first.
"""

from __future__ import annotations

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import SafeMigrationError
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.inventory import (
    attached_disk_files,
    check_inventory,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common import problems as problem_codes
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.datastore_paths import (
    datastore_accepted,
    datastore_name,
    disk_file_name,
    disk_matches,
    normalize_path,
    order_copies,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.inventory_facts import (
    DiskExpectation,
    VmExpectation,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.shared_inventory import SharedInventory


class DiskLocation:
    """The answer for one disk: facts, and the problems found against the expectation.

    ``exists`` is True only when a datastore search saw the file, False when the search did not
    find it, None when no search could be made: only True is evidence. ``copies`` lists where the
    file was found when the VM itself is missing from the inventory.
    """

    def __init__(self, vm_found, problems, connection_state=None, power_state=None, file=None, datastore=None,
                 attached=False, exists=None, copies=None, issues=None, vm_name=None, host=None, destination=None,
                 registered_as=None):
        self.vm_found = vm_found
        self.problems = problems
        self.connection_state = connection_state
        self.power_state = power_state
        self.file = file
        self.datastore = datastore
        self.attached = attached
        self.exists = exists
        self.copies = list(copies or [])
        # the problems with their codes and facts: [{"code", "message", "facts"}] (``problems`` holds their messages)
        self.issues = list(issues or [])
        self.vm_name = vm_name          # the VM's name in vCenter
        self.host = host                # the VM's host in vCenter
        self.destination = destination  # {"datastore", "path", "status", "reason", "copies"} when one was checked
        self.registered_as = list(registered_as or [])

    @property
    def ok(self):
        return self.vm_found and not self.problems

    @property
    def confirmed(self):
        """Positive evidence: VM found, disk attached where expected, and its file seen on the datastore."""
        return self.ok and self.attached and self.exists is True

    @property
    def stranded(self):
        """The VM is missing from the inventory and its disk file was found in exactly one place."""
        return not self.vm_found and self.exists is True and len(self.copies) == 1

    def as_dict(self):
        answer = {"vm_found": self.vm_found, "connection_state": self.connection_state, "power_state": self.power_state,
                  "attached": self.attached, "file": self.file, "datastore": self.datastore, "exists": self.exists,
                  "copies": list(self.copies), "problems": list(self.problems)}
        for name in ("vm_name", "host", "destination"):
            if getattr(self, name) is not None:
                answer[name] = getattr(self, name)
        if self.registered_as:
            answer["registered_as"] = list(self.registered_as)
        return answer


class VCenterDisks:
    """Locates volume disks through the shared inventory check."""

    def __init__(self, client, datacenter=None, check=check_inventory):
        self._client = SharedInventory(client) if client is not None else None
        self._datacenter = datacenter
        self._check = check

    def read_ahead(self):
        """Read the run's shared inventory now (beside the CloudStack lookups that come before any look at a disk), so
        that the first look finds it read. A failure is left to that look: it reads again and reports the error with
        its volume's facts."""
        if self._client is None:
            return
        try:
            self._client.read_inventory(self._datacenter)
        except SafeMigrationError:
            pass

    def _refresh(self, instance_name):
        if self._client is not None:
            self._client.refresh_vm(instance_name, self._datacenter)

    def locate(self, instance_name, path, datastores=None):
        """Is disk ``path`` attached to VM ``instance_name`` (exact match), on one of ``datastores``?"""
        return self._locate(instance_name, DiskExpectation(path=path, datastores=list(datastores) if datastores else None))

    def locate_for_migration(self, instance_name, path, datastores, destination):
        """``locate``, plus the destination a migration would move the disk to (datastore identities): present,
        accessible, not in maintenance, mounted on the VM's host, and no file already at the path the move creates."""
        return self._locate(instance_name, DiskExpectation(path=path, datastores=list(datastores) if datastores else None,
                                                           destination=list(destination)))

    def _locate(self, instance_name, expectation):
        path = expectation.path
        self._refresh(instance_name)
        report = self._check(self._client, [VmExpectation(ref=instance_name, ref_type="instance_name", disks=[expectation])],
                             datacenter=self._datacenter)
        problems = [problem.message for problem in report.problems]
        issues = [{"code": problem.code, "message": problem.message, "facts": dict(getattr(problem, "facts", None) or {})}
                  for problem in report.problems]
        vm = report.vms[0] if report.vms else None
        if vm is None or not vm.found:
            # a copy on a datastore that could not be searched would make "the one place" a guess
            complete = not any((getattr(problem, "facts", None) or {}).get("not_searched") for problem in report.problems)
            if not issues:
                message = "VM %s is not in the vCenter inventory" % instance_name
                problems, issues = [message], [{"code": problem_codes.VM_NOT_FOUND, "message": message, "facts": {}}]
            location = _missing_vm(vm, path, problems, complete)
            location.issues = issues
            location.registered_as = list(getattr(vm, "registered_as", None) or [])
            return location
        disk = _disk_named(vm.disks, path)
        destination = getattr(disk, "destination", None)
        return DiskLocation(
            True, problems, connection_state=vm.connection_state, power_state=vm.power_state,
            file=getattr(disk, "file", None), datastore=getattr(disk, "datastore", None),
            attached=bool(getattr(disk, "attached", False)), exists=getattr(disk, "exists", None),
            issues=issues, vm_name=getattr(vm, "name", None), host=getattr(vm, "host", None),
            destination={"datastore": destination.datastore, "path": destination.path, "status": destination.status,
                         "reason": destination.reason, "copies": list(destination.copies)} if destination is not None else None,
        )

    def attached_disk_files(self, instance_name, read_again=True):
        """The files of the disks attached to VM ``instance_name``; None unless vCenter holds that VM exactly once.
        ``read_again=False``: as the caller's last look at that VM (``locate``) read them, with no read of its own."""
        if read_again:
            self._refresh(instance_name)
        return attached_disk_files(self._client, instance_name, datacenter=self._datacenter)

    def locate_detached(self, path, datastores=None):
        """Where the datastore browser finds the file of a volume without a VM (on ``datastores``, or on all)."""
        return locate_detached(self._client, path, datastores, self._datacenter)


def _missing_vm(vm, path, problems, complete=True):
    """The answer for a VM missing from the inventory, with where its disk file was found, if anywhere.

    The file counts as found (``exists``) only when it was found once and every datastore was searched.
    ``copies`` lists the one next to the VM's configuration (.vmx) first.
    """
    leftovers = getattr(vm, "leftovers", None) or []
    copies = order_copies([found for found in leftovers if disk_matches(path, found)],
                          [found for found in leftovers if found.endswith(".vmx")])
    if len(copies) != 1 or not complete:
        return DiskLocation(False, problems, copies=copies)
    return DiskLocation(False, problems, file=copies[0], datastore=datastore_name(copies[0]), exists=True, copies=copies)


def _disk_named(disks, path):
    for disk in disks or []:
        if getattr(disk, "path", None) == path:
            return disk
    return disks[0] if disks else None


# ---- detached volumes: no VM to ask, so the datastore browser is asked --------------------------
class DetachedDisk:
    """What the searches saw of a detached volume's file on the datastores of one pool.

    ``exists`` is True when the file was found there, False when every datastore of the pool was
    searched without finding it, None when one of them could not be searched: only True is evidence.
    ``confirmed`` also needs the file in exactly one place of the pool.
    """

    vm_found = None
    attached = False

    def __init__(self, files, searched, copies, datastores):
        self.files = list(files)
        self.searched = searched
        self.copies = list(copies)
        self.datastores = list(datastores)
        self.file = self.files[0] if len(self.files) == 1 else None
        self.datastore = datastore_name(self.file) if self.file else None
        self.exists = True if self.files else (False if searched else None)

    @property
    def confirmed(self):
        return self.exists is True and len(self.files) == 1

    @property
    def problems(self):
        if len(self.files) > 1:
            return ["the file is in %d places on the pool's datastores: %s" % (len(self.files), ", ".join(self.files))]
        return []

    def as_dict(self):
        return {"vm_found": None, "attached": False, "file": self.file, "datastore": self.datastore, "exists": self.exists,
                "files": list(self.files), "searched": self.searched, "datastores": list(self.datastores),
                "copies": list(self.copies), "problems": self.problems}


class DetachedDiskLocation:
    """Where the datastore searches found a detached volume's file, and which datastores they covered.

    ``datastores``: [{"name", "cloud_uuid", "searched", "reason"}] for every datastore considered;
    ``found``: the full datastore paths of the files named exactly like the volume's disk.
    """

    def __init__(self, path, file_name, datastores, found):
        self.path = path
        self.file_name = file_name
        self.datastores = list(datastores)
        self.found = sorted(found)

    @property
    def searched(self):
        return [datastore["name"] for datastore in self.datastores if datastore["searched"]]

    @property
    def not_searched(self):
        return {datastore["name"]: datastore["reason"] for datastore in self.datastores if not datastore["searched"]}

    def _of(self, identities):
        return [datastore for datastore in self.datastores if datastore_accepted(datastore, identities)]

    def on(self, identities):
        """The files found on the datastores of a pool (its datastore identities)."""
        names = {datastore["name"] for datastore in self._of(identities)}
        return [path for path in self.found if datastore_name(path) in names]

    def searched_all(self, identities):
        """Whether the pool has a datastore here and every one of its datastores was searched."""
        datastores = self._of(identities)
        return bool(datastores) and all(datastore["searched"] for datastore in datastores)

    def side(self, identities):
        """The ``DetachedDisk`` of one pool."""
        return DetachedDisk(self.on(identities), self.searched_all(identities), self.found,
                            [datastore["name"] for datastore in self._of(identities)])

    def as_dict(self):
        return {"path": self.path, "file_name": self.file_name, "found": list(self.found),
                "datastores_searched": self.searched, "datastores_not_searched": self.not_searched}


def locate_detached(client, path, identities=None, datacenter=None):
    """Search the datastores (those of ``identities``, or all) for the file of ``path``; a ``DetachedDiskLocation``.

    A datastore that is inaccessible, in maintenance, or whose search fails is listed as not searched
    (with the reason), never as searched: a file that could not be looked for is not "gone".
    """
    file_name = disk_file_name(path)
    inventory = client.read_inventory(datacenter)
    considered, found = [], []
    for datastore in sorted(inventory.get("datastores", {}).values(), key=lambda item: item.get("name") or ""):
        if identities is not None and not datastore_accepted(datastore, identities):
            continue
        entry = {"name": datastore.get("name"), "cloud_uuid": datastore.get("cloud_uuid"), "searched": False,
                 "reason": _unsearchable(datastore)}
        if entry["reason"] is None:
            try:
                found.extend(normalize_path(item) for item in client.search_datastore(datastore, [file_name])
                             if disk_matches(file_name, item))
                entry["searched"] = True
            except SafeMigrationError as error:
                entry["reason"] = error.message
        considered.append(entry)
    return DetachedDiskLocation(path, file_name, considered, found)


def _unsearchable(datastore):
    if datastore.get("accessible") is False:
        return "the datastore is not accessible"
    if (datastore.get("maintenance_mode") or "normal") != "normal":
        return "the datastore is in maintenance mode (%s)" % datastore.get("maintenance_mode")
    if not datastore.get("browser"):
        return "the datastore has no browser"
    return None
