# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs the module of the same name; ``validate_certs`` from the cloudstack group's defaults goes to CloudStack."""

from __future__ import annotations

from ansible_collections.cloudstack_vmware.safe_migration.plugins.plugin_utils.tls_action import ActionModule  # pylint: disable=unused-import
