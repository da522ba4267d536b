# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs the module of the same name (``validate_certs`` routed as in ``tls_action``) and shows its progress live.

While the module runs on this machine, the lines its run appends to the journal are shown as they come: a line per
volume as it starts and as it ends, with a running total (see ``migration_progress``). Not for a module run
elsewhere (another connection: its journal is not here), in check mode (nothing is journaled) or with ``async``.
"""

from __future__ import annotations

import uuid

from ansible.utils.display import Display

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.journal import DEFAULT_JOURNAL_PATH
from ansible_collections.cloudstack_vmware.safe_migration.plugins.plugin_utils.migration_progress import (
    JournalFollower,
    ProgressBook,
    ProgressPrinter,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.plugin_utils.tls_action import ActionModule as TlsAction

display = Display()


class ActionModule(TlsAction):

    def run(self, tmp=None, task_vars=None):
        if not self._shows_progress():
            return super().run(tmp, task_vars)
        args = dict(self._task.args)
        args["run_id"] = args.get("run_id") or str(uuid.uuid4())
        self._task.args = args
        volumes = args.get("volumes") or [args.get("volume")]
        printer = ProgressPrinter(JournalFollower(args.get("journal_path") or DEFAULT_JOURNAL_PATH, args["run_id"]),
                                  ProgressBook(len(volumes)), lambda line: display.display("progress: %s" % line))
        printer.start()
        try:
            return super().run(tmp, task_vars)
        finally:
            printer.stop()

    def _shows_progress(self):
        return (self._connection.transport == "local" and not self._task.async_val
                and not self._task.check_mode)
