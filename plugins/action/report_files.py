# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Writes the run's report files on the controller, in one step (documentation: modules/report_files.py).

The report describes the run for the operator: it is written where ansible-playbook runs, in check mode too,
and writing it is no change to a managed system. One controller-side step instead of a module run per file
(each costs a module round trip of about a second).
"""

from __future__ import annotations

import os
import tempfile

from ansible.module_utils.common.text.converters import to_bytes
from ansible.plugins.action import ActionBase

FILE_MODE = 0o644
DIRECTORY_MODE = 0o755


class ReportFilesError(Exception):
    pass


def _check(dest, files):
    if not isinstance(dest, str) or not dest:
        raise ReportFilesError("dest must be the path of the report directory")
    if not isinstance(files, dict) or not files:
        raise ReportFilesError("files must map file names to their contents")
    for name, content in files.items():
        if not isinstance(name, str) or not name or name != os.path.basename(name) or name.startswith("."):
            raise ReportFilesError("file name %r is not a plain file name: give names such as report.json" % (name,))
        if not isinstance(content, str):
            raise ReportFilesError("the content of %s must be text" % name)


def _write(path, content):
    """Whole or not at all: a reader never sees half a report."""
    handle, partial = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=os.path.dirname(path))
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(to_bytes(content))
        os.chmod(partial, FILE_MODE)
        os.replace(partial, path)
    except BaseException:
        if os.path.exists(partial):
            os.unlink(partial)
        raise


def write_report_files(dest, files):
    """The paths written, in name order."""
    _check(dest, files)
    dest = os.path.abspath(os.path.expanduser(dest))
    if os.path.exists(dest) and not os.path.isdir(dest):
        raise ReportFilesError("%s exists and is not a directory: choose another report directory" % dest)
    os.makedirs(dest, mode=DIRECTORY_MODE, exist_ok=True)
    written = []
    for name in sorted(files):
        path = os.path.join(dest, name)
        _write(path, files[name])
        written.append(path)
    return written


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("dest", "files"))
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        try:
            written = write_report_files(self._task.args.get("dest"), self._task.args.get("files"))
        except (ReportFilesError, OSError) as error:
            result.update(failed=True, msg="The report could not be written: %s" % error)
            return result
        result.update(changed=False, dest=os.path.dirname(written[0]), files=written)
        return result
