# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place where the collection's modules turn errors into ``fail_json``.

Services raise ``SafeMigrationError`` with a message and the facts an operator needs;
anything else is a bug, still reported as a message, never as a traceback.
"""

from __future__ import annotations

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._cloudstack import client as cloudstack_client

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter import client as vcenter_client
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import SafeMigrationError


def require_libraries(module, cloudstack=False, vcenter=False):
    """Fail with the installation hint when a client library the module needs is missing."""
    if cloudstack and not cloudstack_client.HAS_CS:
        module.fail_json(msg=missing_required_lib(cloudstack_client.CS_LIBRARY))
    if vcenter and not vcenter_client.HAS_PYVMOMI:
        module.fail_json(msg=missing_required_lib(vcenter_client.PYVMOMI_LIBRARY))


def run_service(module, call, *args, **kwargs):
    """Return call(*args, **kwargs); on an error, fail the task with its message and facts."""
    try:
        return call(*args, **kwargs)
    except SafeMigrationError as error:
        failure = error.to_fail_kwargs()
        diff = failure.pop("diff", None)
        if diff and module._diff:  # pylint: disable=protected-access
            failure["diff"] = diff
        module.fail_json(**failure)
    except Exception as error:  # pylint: disable=broad-exception-caught
        module.fail_json(msg="Unexpected error: %s: %s" % (type(error).__name__, error))
    return None  # not reached: fail_json exits
