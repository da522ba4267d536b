# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The drift audit's result: one finding per difference between CloudStack's record and vCenter, and the report."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import List, Optional


VM_MISSING = "vm_missing"
VM_AMBIGUOUS = "vm_duplicate"
DISK_ELSEWHERE = "disk_on_other_datastore"
FILE_MISSING = "disk_file_missing"
PATH_NULL = "volume_path_null"
PATH_UNMATCHED = "volume_path_unmatched"
STUCK_MIGRATING = "volume_stuck_migrating"
ORPHAN_VMDK = "orphan_vmdk"
UNRECORDED_VM = "unrecorded_vm"
DRIFT_CODES = (VM_MISSING, VM_AMBIGUOUS, DISK_ELSEWHERE, FILE_MISSING, PATH_NULL, PATH_UNMATCHED, STUCK_MIGRATING,
               ORPHAN_VMDK, UNRECORDED_VM)


@dataclass
class Drift:
    """One difference between CloudStack's record and vCenter, with the evidence of both sides and a fix."""
    code: str
    message: str
    suggested_fix: str
    fix: dict = field(default_factory=dict)
    volume_id: Optional[str] = None
    instance_name: Optional[str] = None
    datastore_path: Optional[str] = None
    cloudstack: dict = field(default_factory=dict)
    vcenter: dict = field(default_factory=dict)

    def sort_key(self):
        return (DRIFT_CODES.index(self.code), self.instance_name or "", self.volume_id or "", self.datastore_path or "")


@dataclass
class AuditReport:
    scope: dict
    drifts: List[Drift]
    counts: dict

    @property
    def clean(self):
        return not self.drifts

    def summary(self):
        by_code = {}
        for drift in self.drifts:
            by_code[drift.code] = by_code.get(drift.code, 0) + 1
        return dict(self.counts, drift=len(self.drifts), by_code=by_code)

    def as_dict(self):
        return {"clean": self.clean, "scope": self.scope, "drift": [asdict(drift) for drift in self.drifts],
                "summary": self.summary()}
