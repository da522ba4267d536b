# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which vCenter, and which datacenter in it, serves a CloudStack zone, for clouds whose zones' datacenters live
on several vCenters.

CloudStack knows it: ``listVmwareDcs`` gives a zone's datacenter and the address of its vCenter. The user gives
each vCenter's login (``vcenters``); a vCenter is matched to a zone by that address, or by the zone named in its
``zones`` (an explicit mapping wins; it is the only way for a zone whose clusters were added without a zone-level
datacenter). A VM is then looked up in its zone's datacenter only: a VM of the same name elsewhere is not a duplicate.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Optional

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import InvalidInput
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.arguments import VCenterSettings
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.disks import VCenterDisks


@dataclass
class ZoneRoute:
    """The vCenter (settings with the datacenter to read) that serves one zone, and how that was decided."""
    zone_id: str
    zone_name: Optional[str]
    settings: VCenterSettings
    datacenter: Optional[str]
    matched_by: str  # "listVmwareDcs" or "zones"

    def as_dict(self):
        return {"zone_id": self.zone_id, "zone_name": self.zone_name, "vcenter": self.settings.address(),
                "datacenter": self.datacenter, "matched_by": self.matched_by}


class ZoneRouter:
    """Routes zones to the vCenters given in ``vcenters`` (a list of the option's validated entries)."""

    def __init__(self, cloudstack, vcenters):
        self._cs = cloudstack
        self._entries = list(vcenters)
        self._zones = None

    def route(self, zone_id):
        """The ZoneRoute of a zone (its UUID), or InvalidInput saying which vCenter is missing and how to add it."""
        zone = self._zone(zone_id)
        names = {zone_id, zone.get("name")}
        explicit = [entry for entry in self._entries if names & set(entry.get("zones") or [])]
        if len(explicit) > 1:
            addresses = ", ".join(_settings(entry).address() for entry in explicit)
            raise InvalidInput("Zone %s is named in the zones of %d vCenters (%s); name it in one only"
                               % (_zone_label(zone), len(explicit), addresses), zone=zone_id, zone_routing=True)
        dcs = self._cs.list_vmware_dcs(zone_id)
        if explicit:
            datacenter = explicit[0].get("datacenter") or (dcs[0].get("name") if len(dcs) == 1 else None)
            return ZoneRoute(zone_id, zone.get("name"), _settings(explicit[0], datacenter), datacenter, "zones")
        if len(dcs) != 1:
            raise InvalidInput(
                "Zone %s has no VMware datacenter in CloudStack (listVmwareDcs: its clusters were added without one), so "
                "its vCenter is not known; name the zone in the zones of the vCenter that serves it (vcenters, playbooks: "
                "safe_migration_vcenters)"
                % _zone_label(zone), zone=zone_id, zone_routing=True)
        return self._by_address(zone, dcs[0])

    def _by_address(self, zone, dc):
        host, port = _split_address(dc.get("vcenter"))
        matching = [entry for entry in self._entries if (entry.get("hostname") or "").lower() == host
                    and (port is None or _settings(entry).port == port)]
        if len(matching) != 1:
            given = ", ".join(_settings(entry).address() for entry in self._entries) or "none"
            trouble = "is not among the vCenters given" if not matching else "matches %d of the vCenters given" % len(matching)
            raise InvalidInput(
                "Zone %s: its datacenter %s is on vCenter %s (listVmwareDcs), which %s (%s); give that vCenter in "
                "vcenters (playbooks: safe_migration_vcenters) with the host name CloudStack uses, or name the zone in "
                "the zones of the vCenter that serves it"
                % (_zone_label(zone), dc.get("name"), dc.get("vcenter"), trouble, given), zone=zone["id"],
                vcenter=dc.get("vcenter"), datacenter=dc.get("name"), zone_routing=True)
        datacenter = matching[0].get("datacenter") or dc.get("name")
        return ZoneRoute(zone["id"], zone.get("name"), _settings(matching[0], datacenter), datacenter, "listVmwareDcs")

    def _zone(self, zone_id):
        if self._zones is None:
            self._zones = {zone["id"]: zone for zone in self._cs.list_zones()}
        if zone_id not in self._zones:
            raise InvalidInput("No zone %s in CloudStack" % zone_id, zone=zone_id, zone_routing=True)
        return self._zones[zone_id]


class ZonedVCenters:
    """The vCenter of each zone of a run, logged in to once (``connect_all``, before any work) and closed at the end."""

    def __init__(self, router, connect):
        self._router = router
        self._connect = connect  # VCenterSettings -> a connected vCenter client
        self._routes = {}
        self._open = {}
        self._lock = threading.Lock()

    def route_all(self, zone_ids):
        """Every zone's route, before any work: a zone that no vCenter serves stops the run here."""
        with self._lock:
            for zone_id in zone_ids:
                if zone_id not in self._routes:
                    self._routes[zone_id] = self._router.route(zone_id)
            return [self._routes[zone_id].as_dict() for zone_id in zone_ids]

    def connect_all(self, zone_ids):
        """Every zone routed and its vCenter logged in to, before any work: a zone that no vCenter serves, or a
        vCenter that refuses its login, stops the run here (one attempt per vCenter, never one per volume)."""
        routes = self.route_all(zone_ids)
        for zone_id in zone_ids:
            self.of(zone_id)
        return routes

    def of(self, zone_id):
        """The disks locator of the zone's vCenter, in the zone's datacenter."""
        self.route_all([zone_id])
        with self._lock:
            if zone_id not in self._open:
                route = self._routes[zone_id]
                client = self._connect(route.settings)
                self._open[zone_id] = (client, VCenterDisks(client, datacenter=route.datacenter))
            return self._open[zone_id][1]

    def close(self):
        with self._lock:
            for client, _disks in self._open.values():
                client.close()
            self._open.clear()


def refuse_zones_on_several_vcenters(cloudstack, zone_ids):
    """InvalidInput when the zones live on more than one vCenter (listVmwareDcs): one vCenter cannot check them all,
    and comparing a zone with another zone's vCenter would report every one of its VMs missing."""
    if len(zone_ids) < 2:
        return
    by_vcenter = {}
    for zone_id in zone_ids:
        for dc in cloudstack.list_vmware_dcs(zone_id):
            by_vcenter.setdefault((dc.get("vcenter") or "").lower(), []).append(zone_id)
    if len(by_vcenter) < 2:
        return
    names = {zone["id"]: zone.get("name") or zone["id"] for zone in cloudstack.list_zones()}
    groups = sorted((sorted(names.get(zone_id, zone_id) for zone_id in zones), vcenter) for vcenter, zones in by_vcenter.items())
    where = "; ".join("%s on %s" % (", ".join(zones), vcenter) for zones, vcenter in groups)
    raise InvalidInput(
        "The scope spans zones on %d vCenters (%s, listVmwareDcs), and one vCenter is given: give each vCenter in "
        "vcenters (playbook: safe_migration_vcenters), or limit the scope to the zones of this one (zone)"
        % (len(by_vcenter), where), vcenters=sorted(by_vcenter), zone_routing=True)


def _settings(entry, datacenter=None):
    return VCenterSettings.from_params(dict(entry, datacenter=datacenter or entry.get("datacenter")))


def _split_address(vcenter):
    """listVmwareDcs's ``vcenter``: a host name or address, with a port only when it is not the default."""
    text = (vcenter or "").strip().lower()
    if text.count(":") == 1:
        host, port = text.split(":")
        if port.isdigit():
            return host, int(port)
    return text, None


def _zone_label(zone):
    return "%s (%s)" % (zone.get("name"), zone["id"]) if zone.get("name") else zone["id"]
