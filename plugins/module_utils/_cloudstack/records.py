# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What CloudStack's records say, read the same way by every service: ids, the datastores behind a pool, its room,
and how a volume is named in a message."""

from __future__ import annotations

import re

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
NFS_POOL_TYPES = ("NetworkFilesystem",)
GIB = 1024.0 ** 3


def is_uuid(value):
    return bool(value) and bool(UUID_RE.match(str(value)))


def pool_datastores(pool):
    """Datastore identities (name or cloud.uuid) that back a pool (reference section 4.3)."""
    pool_id = pool["id"]
    identities = [pool_id.replace("-", ""), pool_id]
    path = (pool.get("path") or "").rstrip("/")
    if pool.get("type") not in NFS_POOL_TYPES and path:
        identities.append(path.rsplit("/", 1)[-1])
    return identities


def pool_datastore_name(pool):
    """The datastore name CloudStack gives a pool: the dash-less uuid (NFS), else the last part of the path."""
    return pool_datastores(pool)[-1] if pool.get("type") not in NFS_POOL_TYPES else pool_datastores(pool)[0]


def free_bytes(pool):
    """The room left on a pool (capacity x overprovisioning - allocated), or None when CloudStack gives no capacity."""
    total = pool.get("disksizetotal")
    if total is None:
        return None
    used = max(int(pool.get("disksizeallocated") or 0), int(pool.get("disksizeused") or 0))
    return int(float(total) * float(pool.get("overprovisionfactor") or 1)) - used


def gib_text(size):
    """A size in bytes as "12.5 GiB"."""
    return "%.1f GiB" % (size / GIB)


def truthy(value):
    """A CloudStack boolean, which the API may give as a string."""
    return value is True or str(value).lower() == "true"


def labelled(name, record_id):
    """"name (id)", or the id alone when there is no name."""
    return "%s (%s)" % (name, record_id) if name else record_id


def volume_label(volume):
    """A volume record as messages name it: "name (id)"."""
    return labelled(volume.get("name"), volume["id"])
