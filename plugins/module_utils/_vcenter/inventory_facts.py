# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shapes of the inventory check: what is expected of vCenter, what it holds, and the problems found."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import List, Optional

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common import problems as problem_codes


REF_TYPES = ("instance_name", "instance_uuid", "bios_uuid", "moid")
CONNECTED = "connected"
NORMAL_MODE = "normal"

# DestinationFacts.status: is the path a migration would create free on the destination datastore?
DESTINATION_FREE = "free"            # searched, nothing there
DESTINATION_TAKEN = "taken"          # searched, a file is already there
# FILE_NOT_SEARCHED: no conclusive search (DestinationFacts.reason says why)

# DiskFacts.file_status: the outcome of the datastore search for a disk's file
FILE_FOUND = "found"                # searched, and the file is there (exists is True)
FILE_MISSING = "missing"            # searched, and the file is not there (exists is False)
FILE_NOT_SEARCHED = "not_searched"  # no conclusive search (exists is None); file_status_reason says why
_EXISTS = {FILE_FOUND: True, FILE_MISSING: False, FILE_NOT_SEARCHED: None}
INTERNAL_NAME_FIELD = "cloud.vm.internal.name"


@dataclass
class DiskExpectation:
    """A disk a VM must have: a volume path ("ROOT-34") or a full datastore path ("[ds] dir/file.vmdk").

    ``datastores``: acceptable datastore identities (name or ``cloud.uuid``); None accepts any.
    ``destination``: identities of the datastore the disk is to move to (preflight of a migration): that
    datastore must be in the inventory, accessible, not in maintenance, mounted on the VM's host, and hold
    no file at the path the move would create (searched: only a search that finds nothing clears it).
    """
    path: str
    datastores: Optional[List[str]] = None
    destination: Optional[List[str]] = None


@dataclass
class VmExpectation:
    """A VM that must be in the inventory, by CloudStack instance name, instance UUID, BIOS UUID or moid."""
    ref: str
    ref_type: str = "instance_name"
    disks: List[DiskExpectation] = field(default_factory=list)
    power_state: Optional[str] = None


@dataclass
class DiskFacts:
    """What vCenter holds for one expected disk.

    ``file_status`` / ``exists``: see FILE_FOUND, FILE_MISSING, FILE_NOT_SEARCHED; they always agree.
    Only ``file_status == "found"`` (``exists is True``) proves the file is there.
    """
    path: str
    file: Optional[str] = None
    datastore: Optional[str] = None
    exists: Optional[bool] = None
    attached: bool = False
    device_key: Optional[int] = None
    datastore_moid: Optional[str] = None
    file_status: str = FILE_NOT_SEARCHED
    file_status_reason: Optional[str] = None
    # not dataclass fields (the shape vmware_inventory_assert returns stays as documented):
    # ``destination`` (a DestinationFacts) when the expectation has a destination
    destination = None

    @property
    def verified(self):
        """True only when a datastore search found the file."""
        return self.file_status == FILE_FOUND

    def set_file_status(self, status, reason=None):
        self.file_status, self.exists, self.file_status_reason = status, _EXISTS[status], reason


@dataclass
class DestinationFacts:
    """Where a migration would put a disk: the datastore, the path the move creates, and whether it is free.

    ``status``: DESTINATION_FREE (searched, nothing there), DESTINATION_TAKEN (a file is there: ``path`` is it) or
    FILE_NOT_SEARCHED (``reason`` says why). Only DESTINATION_FREE proves the path is free. ``copies``: every file of
    the disk's name found on the destination datastore (in any folder).
    """
    datastore: Optional[str] = None
    moid: Optional[str] = None
    path: Optional[str] = None
    status: str = FILE_NOT_SEARCHED
    reason: Optional[str] = None
    copies: List[str] = field(default_factory=list)


@dataclass
class VmFacts:
    ref: str
    ref_type: str
    found: bool = False
    matches: int = 0
    moid: Optional[str] = None
    name: Optional[str] = None
    internal_name: Optional[str] = None
    instance_uuid: Optional[str] = None
    bios_uuid: Optional[str] = None
    connection_state: Optional[str] = None
    power_state: Optional[str] = None
    host: Optional[str] = None
    disks: List[DiskFacts] = field(default_factory=list)
    leftovers: List[str] = field(default_factory=list)
    # not dataclass fields (the returned shape stays as documented): the VM's .vmx path, and for a VM not
    # found by its name, the VMs that are it under another name ([{"name", "moid", "by", "vmx_path"}])
    vmx_path = None
    registered_as = ()


@dataclass
class Problem:
    code: str
    vm: str
    message: str
    facts: dict = field(default_factory=dict)

    def __post_init__(self):
        problem_codes.known(self.code)


@dataclass
class InventoryReport:
    vms: List[VmFacts]
    problems: List[Problem]

    @property
    def ok(self):
        return not self.problems

    def as_dict(self):
        return {"ok": self.ok, "vms": [asdict(vm) for vm in self.vms], "problems": [asdict(problem) for problem in self.problems]}
