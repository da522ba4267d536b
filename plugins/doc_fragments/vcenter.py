# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the shared vCenter connection options."""

from __future__ import annotations


class ModuleDocFragment:

    DOCUMENTATION = r"""
options:
  hostname:
    description:
      - Name or IP address of the vCenter server.
      - If not set, the E(VMWARE_HOST) environment variable is used.
    type: str
  username:
    description:
      - User name to log in to vCenter with. Read-only rights on the inventory and the datastores are enough to check.
      - If not set, E(VMWARE_USER) is used.
    type: str
    aliases: [user, admin]
  password:
    description:
      - Password of O(username). Never logged, never returned.
      - If not set, E(VMWARE_PASSWORD) is used.
    type: str
    aliases: [pass, pwd]
  port:
    description:
      - TCP port of the vCenter API.
      - If not set, E(VMWARE_PORT) is used.
    type: int
    default: 443
  validate_certs:
    description:
      - Verify vCenter's TLS certificate (against the system CAs, or O(ca_cert) when given).
      - Set to V(false) only on a network you trust.
      - If not set, E(VMWARE_VALIDATE_CERTS) is used.
    type: bool
    default: true
  ca_cert:
    description:
      - Path of a PEM bundle of the CAs to trust for vCenter's certificate instead of the system CAs,
        for vCenters whose certificate is signed by a private CA (such as the VMCA).
      - Ignored when O(validate_certs=false).
      - If not set, E(VMWARE_CA_CERT) is used.
    type: path
  datacenter:
    description:
      - Inventory path of the datacenter to work in (for example V(DC1) or V(folder/DC1)).
      - When not set, the whole vCenter inventory is read.
    type: str
    aliases: [datacenter_name]
requirements:
  - pyvmomi >= 8.0
"""
