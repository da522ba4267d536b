"""Global settings (listConfigurations / updateConfiguration) the simulator honours.

Values live in the database's meta table, so `reset` (which restores the seeded database)
brings the defaults back and a restart keeps what was set.
"""
from __future__ import annotations

from dataclasses import dataclass

from .protocol import invalid_parameter, list_content, paged

CONCURRENT_MIGRATIONS = "concurrent.migrations.per.target.datastore"


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    category: str
    component: str
    description: str


SETTINGS = {setting.name: setting for setting in (
    Setting(CONCURRENT_MIGRATIONS, "0", "Advanced", "VolumeApiService",
            "Limits number of migrations that can be handled per datastore concurrently; default is 0 - unlimited"),
    Setting("job.cancel.threshold.minutes", "60", "Advanced", "AsyncJobManager",
            "Time (in minutes) for async-jobs to be forcely cancelled if it has been in process for long"),
    Setting("vmware.vcenter.session.timeout", "1200", "Advanced", "VmwareManager",
            "VMware client timeout in seconds"),
)}


def value(store, name: str) -> str:
    return store.get_meta("configurations", {}).get(name, SETTINGS[name].default)


def int_value(store, name: str) -> int:
    return int(value(store, name))


def set_value(store, name: str, new_value) -> dict:
    """The texts of ConfigurationManagerImpl.updateConfiguration for what the lab checks (name, integer)."""
    if name not in SETTINGS:
        raise invalid_parameter(f"Config parameter with name {name} doesn't exist")
    text = str(new_value)
    try:
        int(text)
    except ValueError:
        raise invalid_parameter(f"Please enter a valid integer value for parameter {name}") from None
    with store.lock:
        overrides = store.get_meta("configurations", {})
        overrides[name] = text
        store.set_meta("configurations", overrides)
    return view(store, SETTINGS[name])


def view(store, setting: Setting) -> dict:
    return {"category": setting.category, "name": setting.name, "value": value(store, setting.name),
            "defaultvalue": setting.default, "description": setting.description, "component": setting.component,
            "isdynamic": True, "type": "Number", "group": "Miscellaneous", "subgroup": "Others"}


# --- API commands (admin) -------------------------------------------------------------------------
def list_configurations(request) -> dict:
    """name matches as a substring, as ListCfgsByCmd's search does; category and keyword too."""
    name, category, keyword = request.get("name"), request.get("category"), request.get("keyword")
    rows = [view(request.store, setting) for setting in SETTINGS.values()]
    if name is not None:
        rows = [row for row in rows if name.lower() in row["name"].lower()]
    if category is not None:
        rows = [row for row in rows if row["category"].lower() == category.lower()]
    if keyword is not None:
        rows = [row for row in rows if keyword.lower() in row["name"].lower()]
    window, count = paged(request.short_name, request.params, rows)
    return list_content("configuration", window, count)


def update_configuration(request) -> dict:
    name = request.require("name")
    return {"configuration": set_value(request.store, name, request.get("value", ""))}
