# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation of the options that choose among CloudStack volumes of the same name."""

from __future__ import annotations


class ModuleDocFragment:

    DOCUMENTATION = r"""
options:
  vm:
    description:
      - Name or UUID of the VM the volume is attached to, to choose among volumes of the same name.
    type: str
  zone:
    description:
      - Name or UUID of the zone of the volume, to choose among volumes of the same name.
    type: str
  account:
    description:
      - Account owning the volume, to choose among volumes of the same name.
    type: str
"""
