# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Keeps ``module_defaults`` meant for CloudStack from turning off vCenter's certificate validation.

In the modules that talk to both services, ``validate_certs`` is vCenter's switch (as in vmware.vmware) and
``api_validate_certs`` CloudStack's. These modules are also members of the collection's ``cloudstack`` action
group, whose other member takes ``validate_certs`` as CloudStack's switch (as ngine_io.cloudstack does). Ansible
hands a group's defaults to every member unchanged, so ``validate_certs: false`` in the defaults of
``group/cloudstack_vmware.safe_migration.cloudstack``, meant for CloudStack, would reach these modules as
vCenter's switch. The action plugins of these modules call ``route_validate_certs`` before the module runs: a
``validate_certs`` that only the cloudstack group's defaults gave is applied as ``api_validate_certs``, and
vCenter's switch keeps what the task, the module's own defaults, the vmware group's defaults, the environment or
its default say.
"""

from __future__ import annotations

VCENTER_SWITCH = "validate_certs"
CLOUDSTACK_SWITCH = "api_validate_certs"
VCENTER_GROUP = "group/cloudstack_vmware.safe_migration.vmware"
CLOUDSTACK_GROUP = "group/cloudstack_vmware.safe_migration.cloudstack"
OUR_GROUPS = (VCENTER_GROUP, CLOUDSTACK_GROUP)


def merged_defaults(module_defaults):
    """One dict of a task's ``module_defaults`` (a list of dicts, the later winning, as Ansible merges them)."""
    merged = {}
    for entry in module_defaults or []:
        if isinstance(entry, dict):
            merged.update(entry)
    return merged


def route_validate_certs(args, task_keys, module_defaults, action, resolve=lambda value: value):
    """The module's arguments, with a ``validate_certs`` that came from the cloudstack group given to CloudStack.

    ``args``: the task's arguments as Ansible merged them with the defaults. ``task_keys``: the names the task
    itself set (None when they cannot be known: then a value the cloudstack group also gives is taken as the
    group's, which keeps vCenter's validation on). ``module_defaults``: the task's ``module_defaults`` as Ansible
    stores them (fully qualified group and action names). ``action``: the module's fully qualified name.
    ``resolve``: templates a value of the defaults. Returns (arguments, whether anything was moved).
    """
    defaults = merged_defaults(module_defaults)
    if VCENTER_SWITCH in (task_keys or ()) or VCENTER_SWITCH in (resolve(defaults.get(action)) or {}):
        return args, False
    setters = []
    for key, value in defaults.items():
        if key in OUR_GROUPS:
            value = resolve(value) or {}
            if isinstance(value, dict) and VCENTER_SWITCH in value:
                setters.append((key, value[VCENTER_SWITCH]))
    # Ansible applies the groups in the order of the merged defaults: the last one that sets the option wins.
    if not setters or setters[-1][0] != CLOUDSTACK_GROUP or VCENTER_SWITCH not in args:
        return args, False
    routed = dict(args)
    cloudstack_value = routed.pop(VCENTER_SWITCH)
    routed.setdefault(CLOUDSTACK_SWITCH, cloudstack_value)
    vcenter_values = [value for key, value in setters if key == VCENTER_GROUP]
    if vcenter_values:
        routed[VCENTER_SWITCH] = vcenter_values[-1]
    return routed, True


def task_argument_names(task, templar=None):
    """The argument names the task itself gives (not its defaults), or None when they cannot be known."""
    try:
        from ansible.parsing.mod_args import ModuleArgsParser
        data = task.get_ds()
        if not isinstance(data, dict):
            return None
        args = ModuleArgsParser(task_ds=data, collection_list=task.collections).parse(skip_action_validation=True)[1]
    except Exception:  # pylint: disable=broad-exception-caught
        return None
    names = set(args or {})
    variable = (args or {}).get("_variable_params")
    if variable is not None:
        try:
            resolved = templar.template(variable) if templar is not None else None
        except Exception:  # pylint: disable=broad-exception-caught
            return None
        if not isinstance(resolved, dict):
            return None
        names.update(resolved)
    return names - {"_variable_params", "_raw_params"}
