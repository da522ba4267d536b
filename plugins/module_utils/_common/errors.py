# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Domain exceptions of the collection.

Services raise these; only a module's boundary turns them into ``fail_json``.
Each carries a human message (what is wrong and what to do) and ``facts``: the
structured fields an operator needs (volume, vm, pool, datastore, job_id, ...).
"""

from __future__ import annotations


class SafeMigrationError(Exception):
    """Base of every error a module reports to the user."""

    def __init__(self, message, **facts):
        super().__init__(message)
        self.message = message
        self.facts = {key: value for key, value in facts.items() if value is not None}

    def to_fail_kwargs(self):
        """Keyword arguments for ``module.fail_json``: ``msg`` plus the facts."""
        kwargs = {"msg": self.message}
        kwargs.update(self.facts)
        return kwargs


class InvalidInput(SafeMigrationError):
    """The task's arguments are wrong; nothing was changed."""


class ConnectionFailed(SafeMigrationError):
    """An endpoint could not be reached or refused the credentials."""


class CloudStackApiError(SafeMigrationError):
    """CloudStack answered a command with an error."""


class VCenterError(SafeMigrationError):
    """vCenter answered a call with a fault."""


class PreflightFailed(SafeMigrationError):
    """A read-only check before any change found a blocker; nothing was changed."""


class UnsafeOperation(SafeMigrationError):
    """The operation is disruptive and the option that would allow it is off."""


class JobFailed(SafeMigrationError):
    """A CloudStack async job ended in failure."""


class WaitTimeout(SafeMigrationError):
    """A wait ran out of time; the outcome of what was awaited is unknown."""


class VerificationFailed(SafeMigrationError):
    """CloudStack and vCenter disagree after an operation (a false success)."""


class DriftDetected(SafeMigrationError):
    """CloudStack's record and vCenter's inventory already disagree."""


class RunInProgress(SafeMigrationError):
    """Another run works on the same journal or volume; this one changed nothing."""
