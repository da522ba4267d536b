# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Datastore paths ("[ds] dir/file.vmdk") and datastore identities: parsed, normalized and matched exactly, never by a
prefix (CLOUDSTACK-8598 moved the wrong disk that way)."""

from __future__ import annotations

import posixpath
import re


_DATASTORE_PATH = re.compile(r"^\[(?P<datastore>[^\]]*)\]\s*(?P<path>.*)$")


def datastore_name(file_path):
    """"ds" from "[ds] dir/file.vmdk"; None when the path has no datastore part."""
    match = _DATASTORE_PATH.match(file_path or "")
    return match.group("datastore") if match else None


def normalize_path(file_path):
    """"[ds] dir/file.vmdk" with exactly one space after the bracket."""
    match = _DATASTORE_PATH.match(file_path or "")
    return "[%s] %s" % (match.group("datastore"), match.group("path").lstrip("/")) if match else file_path


def disk_file_name(path):
    """The file name a disk expectation means: "ROOT-34" -> "ROOT-34.vmdk"; "[ds] d/x.vmdk" -> "x.vmdk"."""
    if _DATASTORE_PATH.match(path):
        return posixpath.basename(_DATASTORE_PATH.match(path).group("path"))
    return path if path.endswith(".vmdk") else path + ".vmdk"


def disk_matches(expected_path, file_path):
    """Exact match only: the full datastore path, or the file's base name (never a prefix)."""
    if not file_path:
        return False
    if _DATASTORE_PATH.match(expected_path):
        return normalize_path(expected_path) == normalize_path(file_path)
    return posixpath.basename(normalize_path(file_path).split("] ", 1)[-1]) == disk_file_name(expected_path)


def datastore_identity(value):
    """Datastore identities compare case-insensitively and without dashes (CloudStack names datastores
    after the pool UUID without its dashes)."""
    return (value or "").replace("-", "").lower()


def datastore_accepted(datastore, acceptable):
    identities = {datastore_identity(value) for value in acceptable}
    return bool(datastore) and bool({datastore_identity(datastore.get("name")), datastore_identity(datastore.get("cloud_uuid"))} & identities - {""})


def destination_paths(file_path, datastore, vmx_path=None):
    """The paths a move of ``file_path`` to ``datastore`` creates (same folder and file), then the same file in the
    VM's folder (where vSphere puts a moved disk when it follows the VM's configuration), without duplicates."""
    if not file_path or not datastore:
        return []
    relative = normalize_path(file_path).split("] ", 1)[-1]
    paths = ["[%s] %s" % (datastore, relative)]
    if vmx_path:
        folder = posixpath.dirname(normalize_path(vmx_path).split("] ", 1)[-1])
        paths.append("[%s] %s" % (datastore, posixpath.join(folder, posixpath.basename(relative)) if folder else
                                  posixpath.basename(relative)))
    return list(dict.fromkeys(paths))


def order_copies(copies, vmx_paths=()):
    """The places of a disk, the one next to the VM's configuration (same datastore and folder as a .vmx) first."""
    homes = {posixpath.dirname(normalize_path(path)) for path in vmx_paths or []}
    return sorted(copies, key=lambda path: (posixpath.dirname(normalize_path(path)) not in homes, path))


def next_to_configuration(path, vmx_paths=()):
    return posixpath.dirname(normalize_path(path)) in {posixpath.dirname(normalize_path(vmx)) for vmx in vmx_paths or []}
