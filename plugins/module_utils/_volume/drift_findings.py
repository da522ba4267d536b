# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The drift audit's result: one finding per difference between CloudStack's record and vCenter, and the report."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import List, Optional

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common import problems as problem_codes


# the codes of the drift audit, in the order its report lists them
DRIFT_CODES = (
    problem_codes.VM_NOT_FOUND,
    problem_codes.VM_DUPLICATE,
    problem_codes.DISK_ON_OTHER_DATASTORE,
    problem_codes.DISK_FILE_MISSING,
    problem_codes.VOLUME_PATH_NULL,
    problem_codes.VOLUME_PATH_UNMATCHED,
    problem_codes.VOLUME_STUCK_MIGRATING,
    problem_codes.ORPHAN_VMDK,
    problem_codes.UNRECORDED_VM,
)


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

    def __post_init__(self):
        problem_codes.known(self.code)

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
