# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the drift audit needs from vCenter beyond the shared client: a datastore's file listing.

The shared ``vcenter_client.VCenterClient`` searches datastores for exact file names.
The audit also needs every ``.vmdk`` and ``.vmx`` of a datastore (orphans, and where a
missing VM's files are), so this subclass adds a search by pattern. It reuses the shared
client's login (``vcenter_client.connect``, with its error translation) and task waiting.
Meant to move into ``vcenter_client.py``.
"""

from __future__ import annotations

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils import vcenter_client
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils.errors import SafeMigrationError, VCenterError

try:
    from pyVim.connect import SmartConnect
    from pyVmomi import vim, vmodl
except ImportError:  # the module reports it through vcenter_client.HAS_PYVMOMI
    pass

DISK_AND_CONFIG_PATTERNS = ("*.vmdk", "*.vmx")


class DriftVCenterClient(vcenter_client.VCenterClient):
    """The shared vCenter client plus a listing of a datastore's files by pattern."""

    def list_datastore_files(self, datastore, patterns=DISK_AND_CONFIG_PATTERNS):
        """Full datastore paths ("[ds] dir/file") of the files matching ``patterns``, in every folder.

        ``datastore`` is a datastore dict of ``read_inventory``.
        """
        what = "the listing of datastore %s" % datastore["name"]
        try:
            browser = vim.host.DatastoreBrowser(datastore["browser"], self._si._stub)  # pylint: disable=protected-access
            spec = vim.host.DatastoreBrowser.SearchSpec(matchPattern=list(patterns))
            task = browser.SearchDatastoreSubFolders_Task("[%s]" % datastore["name"], spec)
            results = self.wait_task(task, what)
        except SafeMigrationError:
            raise
        except vmodl.MethodFault as fault:
            raise VCenterError("vCenter failed %s: %s" % (what, getattr(fault, "msg", None) or type(fault).__name__),
                               datastore=datastore["name"]) from None
        return [datastore_path(result.folderPath, found.path) for result in results or [] for found in result.file or []]


def datastore_path(folder_path, file_name):
    """"[ds] dir/file" from a search result's folder ("[ds] dir", "[ds] dir/" or vcsim's "[ds]/dir")."""
    datastore = folder_path.split("]", 1)[0]
    folder = folder_path[len(datastore) + 1:].strip().strip("/")
    return "%s] %s" % (datastore, "%s/%s" % (folder, file_name) if folder else file_name)


def connect(settings):
    """Log in as ``vcenter_client.connect`` does (same checks and errors); return a DriftVCenterClient."""
    sessions = []

    def smart_connect(**options):
        sessions.append(SmartConnect(**options))
        return sessions[-1]

    vcenter_client.connect(settings, smart_connect=smart_connect)
    return DriftVCenterClient(sessions[-1])
