# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which vCenter serves a zone: listVmwareDcs's address, or the zone named in a vCenter's zones (which wins)."""

import pytest

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import InvalidInput
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.zones import (
    ZoneRouter,
    refuse_zones_on_several_vcenters,
)

EAST, WEST = "z-east-uuid", "z-west-uuid"


class Cloud:
    """listZones and listVmwareDcs as CloudStack answers them."""

    def __init__(self, dcs):
        self.dcs = dcs
        self.asked = []

    def list_zones(self):
        return [{"id": EAST, "name": "east"}, {"id": WEST, "name": "west"}]

    def list_vmware_dcs(self, zone_id):
        self.asked.append(zone_id)
        return self.dcs.get(zone_id, [])


def vcenter(hostname, **fields):
    return dict({"hostname": hostname, "username": "ro", "password": "secret-%s" % hostname, "port": 443,
                 "validate_certs": True, "zones": []}, **fields)


DCS = {EAST: [{"name": "DC-East", "vcenter": "VC-East.example.com"}], WEST: [{"name": "DC-West", "vcenter": "vc-west:8443"}]}


def test_a_zone_goes_to_the_vcenter_listvmwaredcs_names_in_the_datacenter_it_names():
    router = ZoneRouter(Cloud(DCS), [vcenter("vc-east.example.com"), vcenter("vc-west", port=8443)])

    east, west = router.route(EAST), router.route(WEST)

    assert (east.settings.hostname, east.datacenter, east.matched_by) == ("vc-east.example.com", "DC-East", "listVmwareDcs")
    assert east.settings.datacenter == "DC-East" and east.settings.password == "secret-vc-east.example.com"
    assert (west.settings.hostname, west.settings.port, west.datacenter) == ("vc-west", 8443, "DC-West")
    assert "secret" not in repr(east.as_dict())


def test_a_port_listvmwaredcs_gives_must_match():
    with pytest.raises(InvalidInput, match="which is not among the vCenters given"):
        ZoneRouter(Cloud(DCS), [vcenter("vc-west", port=443)]).route(WEST)


def test_the_zones_of_a_vcenter_win_and_its_datacenter_overrides_cloudstacks():
    router = ZoneRouter(Cloud(DCS), [vcenter("vc-east.example.com"), vcenter("10.0.0.9", zones=["east"], datacenter="Other")])

    east = router.route(EAST)

    assert (east.settings.hostname, east.datacenter, east.matched_by) == ("10.0.0.9", "Other", "zones")


def test_a_zone_without_a_datacenter_needs_an_explicit_mapping():
    cloud = Cloud({})
    with pytest.raises(InvalidInput, match="has no VMware datacenter in CloudStack"):
        ZoneRouter(cloud, [vcenter("vc-east.example.com")]).route(EAST)
    mapped = ZoneRouter(cloud, [vcenter("vc-east.example.com", zones=[EAST])]).route(EAST)
    assert mapped.datacenter is None and mapped.matched_by == "zones"


@pytest.mark.parametrize("entries, text", [
    ([vcenter("a", zones=["east"]), vcenter("b", zones=[EAST])], "is named in the zones of 2 vCenters"),
    ([vcenter("vc-east.example.com"), vcenter("VC-EAST.example.com")], "matches 2 of the vCenters given"),
])
def test_an_ambiguous_route_is_refused(entries, text):
    with pytest.raises(InvalidInput, match=text):
        ZoneRouter(Cloud(DCS), entries).route(EAST)


def test_zones_on_several_vcenters_are_refused_to_a_single_vcenter_and_one_zone_is_not_even_asked():
    cloud = Cloud(DCS)
    refuse_zones_on_several_vcenters(cloud, [EAST])
    assert cloud.asked == []
    with pytest.raises(InvalidInput, match=r"zones on 2 vCenters \(east on vc-east.example.com; west on vc-west:8443"):
        refuse_zones_on_several_vcenters(cloud, [EAST, WEST])
    same = Cloud({EAST: DCS[EAST], WEST: [{"name": "DC-2", "vcenter": "vc-east.example.com"}]})
    refuse_zones_on_several_vcenters(same, [EAST, WEST])  # two datacenters of one vCenter: one vCenter audits both
