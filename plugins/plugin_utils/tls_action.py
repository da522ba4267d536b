# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action of the modules that talk to both CloudStack and vCenter (see ``tls_defaults``)."""

from __future__ import annotations

from ansible.plugins.action.normal import ActionModule as NormalAction
from ansible.utils.display import Display

from ansible_collections.cloudstack_vmware.safe_migration.plugins.plugin_utils.tls_defaults import (
    CLOUDSTACK_GROUP,
    CLOUDSTACK_SWITCH,
    VCENTER_SWITCH,
    route_validate_certs,
    task_argument_names,
)

display = Display()


class ActionModule(NormalAction):
    """The normal action (check mode, async, diff as for any module), after ``route_validate_certs``."""

    def run(self, tmp=None, task_vars=None):
        args, moved = route_validate_certs(
            self._task.args, task_argument_names(self._task, self._templar), self._task.module_defaults,
            self._task.resolved_action, resolve=self._resolve)
        if moved:
            display.vvv("%s: %s from the module_defaults of %s is CloudStack's switch here (%s); %s stays vCenter's"
                        % (self._task.resolved_action, VCENTER_SWITCH, CLOUDSTACK_GROUP, CLOUDSTACK_SWITCH, VCENTER_SWITCH))
            self._task.args = args
        return super().run(tmp, task_vars)

    def _resolve(self, value):
        return self._templar.template(value) if value is not None else None
