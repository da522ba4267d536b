# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the option that gives several vCenters, for clouds whose zones live on several."""

from __future__ import annotations


class ModuleDocFragment:

    DOCUMENTATION = r"""
options:
  vcenters:
    description:
      - The vCenters of a cloud whose zones' VMware datacenters live on different vCenters, each with its own login.
      - Each zone is served by the vCenter that CloudStack names for it (C(listVmwareDcs) gives the zone's datacenter
        and its vCenter's address, matched with O(vcenters[].hostname) and, when CloudStack gives one,
        O(vcenters[].port)), or by the vCenter whose O(vcenters[].zones) names it (this wins; it is the only way for a
        zone whose clusters were added without a zone-level datacenter). VMs are looked up in their zone's datacenter
        only.
      - A zone of the scope that no vCenter serves stops the task before any vCenter is read, naming the zone and the
        vCenter CloudStack gives for it.
      - When set, the single-vCenter options of the modules that have them (C(hostname), C(username), C(password),
        C(port), C(validate_certs), C(ca_cert), C(proxy_host), C(proxy_port), C(datacenter)) and the E(VMWARE_*)
        variables are not used.
    type: list
    elements: dict
    suboptions:
      hostname:
        description: Name or address of the vCenter, as CloudStack knows it (C(listVmwareDcs) C(vcenter)).
        type: str
        required: true
      username:
        description: User name to log in to this vCenter with.
        type: str
        required: true
      password:
        description: Password of O(vcenters[].username). Never logged, never returned.
        type: str
        required: true
      port:
        description: TCP port of this vCenter's API.
        type: int
        default: 443
      validate_certs:
        description: Validate this vCenter's TLS certificate (against the system CAs, or O(vcenters[].ca_cert)).
        type: bool
        default: true
      ca_cert:
        description: Path of a PEM bundle of the CAs to trust for this vCenter's certificate.
        type: path
      proxy_host:
        description: Host name or address of an HTTP proxy that relays the connection to this vCenter.
        type: str
      proxy_port:
        description: Port of O(vcenters[].proxy_host) (80 when not set).
        type: int
      datacenter:
        description:
          - Inventory path of the datacenter to read in this vCenter; by default the zone's datacenter as
            C(listVmwareDcs) names it (the whole vCenter for a zone named in O(vcenters[].zones) without one).
        type: str
      zones:
        description:
          - Names or UUIDs of the zones this vCenter serves, whatever C(listVmwareDcs) says.
        type: list
        elements: str
        default: []
"""
