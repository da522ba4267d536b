# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs the module of the same name (``validate_certs`` routed as in ``tls_action``) and shows its progress live.

While the module runs on this machine, the lines its run appends to the journal are shown as they come: a line per
volume as it starts and as it ends, with a running total (see ``migration_progress``). Not for a module run
elsewhere or as another user (its journal is not the one here), in check mode (nothing is journaled), with ``async``
or ``no_log``, with ``progress=false``, or when a JSON stdout callback's output must stay JSON.
"""

from __future__ import annotations

import os
import uuid

from ansible import constants as C
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.utils.display import Display

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.journal import (
    DEFAULT_JOURNAL_PATH,
    resolved_path,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.plugin_utils.migration_progress import (
    JournalFollower,
    ProgressBook,
    ProgressPrinter,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.plugin_utils.tls_action import ActionModule as TlsAction

display = Display()

# Stdout callbacks whose output is read by programs: a progress line would break it.
JSON_CALLBACKS = ("json", "jsonl")


class ActionModule(TlsAction):

    def run(self, tmp=None, task_vars=None):
        if not self._shows_progress():
            return super().run(tmp, task_vars)
        args = dict(self._task.args)
        args["run_id"] = args.get("run_id") or str(uuid.uuid4())
        self._task.args = args
        volumes = args.get("volumes") or [args.get("volume")]
        book = ProgressBook(len(volumes) if isinstance(volumes, list) else 1)
        printer = ProgressPrinter(JournalFollower(journal_file(args.get("journal_path")), args["run_id"]), book,
                                  lambda line: display.display("progress: %s" % line),
                                  on_error=lambda error: display.vvv("progress: a journal line not shown: %s" % error))
        printer.start()
        result = {}
        try:
            result = super().run(tmp, task_vars)
            return result
        finally:
            printer.stop()
            for line in book.closing_lines(result.get("volumes") if isinstance(result, dict) else None):
                display.display("progress: %s" % line)

    def _shows_progress(self):
        return (self._connection.transport == "local" and not self._play_context.become
                and not self._task.async_val and not self._task.check_mode and not self._task.no_log
                and boolean(self._task.args.get("progress", True), strict=False)
                and str(C.DEFAULT_STDOUT_CALLBACK).rsplit(".", 1)[-1] not in JSON_CALLBACKS)


def journal_file(path):
    """The file the module writes: its ``journal_path`` as the module gets it (a ``path`` option: variables and ``~``
    expanded), then resolved as the journal resolves it."""
    return resolved_path(os.path.expandvars(os.path.expanduser(path or DEFAULT_JOURNAL_PATH)))
