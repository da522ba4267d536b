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
      - Validate vCenter's TLS certificate (against the system CAs, or O(ca_cert) when given).
      - If V(false), the certificate is not validated and the module warns. Set it only on a network you trust.
      - If not set, E(VMWARE_VALIDATE_CERTS) is used.
      - This is vCenter's switch, as in C(vmware.vmware), also in the modules that talk to CloudStack too (their
        CloudStack switch is C(api_validate_certs)). C(module_defaults) for
        C(group/cloudstack_vmware.safe_migration.vmware) or the module itself set it; V(validate_certs) in
        C(module_defaults) for C(group/cloudstack_vmware.safe_migration.cloudstack) does not.
    type: bool
    default: true
  ca_cert:
    description:
      - Path of a PEM bundle of the CAs to trust for vCenter's certificate instead of the system CAs,
        for vCenters whose certificate is signed by a private CA (such as the VMCA).
      - Ignored when O(validate_certs=false).
      - If not set, E(VMWARE_CA_CERT) is used.
    type: path
  proxy_host:
    description:
      - Host name or address of an HTTP proxy that relays the connection to vCenter (an HTTP C(CONNECT) tunnel;
        TLS and its certificate validation stay end to end with vCenter).
      - If not set, E(VMWARE_PROXY_HOST) is used.
    type: str
  proxy_port:
    description:
      - Port of the HTTP proxy of O(proxy_host) (80 when not set).
      - If not set, E(VMWARE_PROXY_PORT) is used.
    type: int
  datacenter:
    description:
      - Inventory path of the datacenter to work in (for example V(DC1) or V(folder/DC1)).
      - When not set, the whole vCenter inventory is read.
    type: str
    aliases: [datacenter_name]
requirements:
  - pyvmomi >= 8.0
"""
