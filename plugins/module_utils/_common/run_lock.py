# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Advisory locks on the machine that runs the modules: two runs never work on one journal, or one volume, at once.

A second run refuses at once, naming the run that holds the lock, rather than waiting: a maintenance window should
not hang silently behind another operator's run. The locks are ``flock`` locks, released by the kernel when a run
ends in any way (even SIGKILL), so a crashed run never leaves a stale lock. Across machines, the volume's CloudStack
job is checked again immediately before each submission (see the migration service).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import socket
import time

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import InvalidInput, RunInProgress

VOLUME_LOCK_DIRECTORY = "~/.ansible/safe_migration/locks"


@contextlib.contextmanager
def held(path, what, run_id):
    """Hold the lock file ``path`` for ``what`` ("the journal ...", "volume ...") or raise RunInProgress."""
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    except OSError as error:
        raise InvalidInput("Cannot open the lock file %s of %s: %s" % (path, what, error.strerror or error), lock_file=path) from None
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise
            holder = _holder(descriptor)
            raise RunInProgress(
                "Another run is working on %s (%s); this run changed nothing. Wait for that run to end, then run again: "
                "a re-run verifies what the other run did and submits nothing twice" % (what, _holder_text(holder)),
                lock_file=path, held_by=holder) from None
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "run": run_id,
                                          "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}).encode("utf-8"), 0)
        yield
    finally:
        os.close(descriptor)  # closing releases the flock


def journal_lock_path(journal_path):
    return journal_path + ".lock"


def volume_lock_path(volume_id, cloud, directory=VOLUME_LOCK_DIRECTORY):
    """The lock file of one volume of one cloud (its API endpoint), shared by every journal of this user here."""
    directory = os.path.expanduser(directory)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    return os.path.join(directory, "%s@%s.lock" % (volume_id, hashlib.sha256(str(cloud).encode("utf-8")).hexdigest()[:12]))


def _holder(descriptor):
    try:
        return json.loads(os.pread(descriptor, 4096, 0).decode("utf-8") or "{}")
    except (OSError, ValueError):
        return {}


def _holder_text(holder):
    if not holder:
        return "its holder is unknown"
    return "held by process %s on %s since %s, run %s" % (holder.get("pid"), holder.get("host"), holder.get("since"),
                                                          holder.get("run"))
