# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Resolution of a plan into volumes, against a fake CloudStack client that refuses any change."""

import copy
import threading

import pytest

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.arguments import VCenterSettings
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import (
    CloudStackApiError,
    ConnectionFailed,
    InvalidInput,
    PreflightFailed,
)
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._volume.plan_info import (
    PlanItem,
    inventory_expectations,
    resolve_plan,
)

ZONE = "dddddddd-dddd-4ddd-8ddd-dddddddddddd"
NFS1 = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
NFS2 = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
VMFS = "eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee"
VM7 = "77777777-7777-4777-8777-777777777777"
VM8 = "88888888-8888-4888-8888-888888888888"
VOLUME_IDS = {number: "%08d-0000-4000-8000-000000000000" % number for number in range(1, 6)}


def _volume(number, name, pool, pool_name, vm=None, vmname=None, path=None):
    return dict(id="%08d-0000-4000-8000-000000000000" % number, name=name, type="ROOT" if name.startswith("ROOT") else "DATADISK",
                state="Ready", storageid=pool, storage=pool_name, path=path if path is not None else name, zoneid=ZONE,
                zonename="zone1", virtualmachineid=vm, vmname=vmname, account="admin", size=1024)


class FakeCloudStack:
    """Reads only: every mutation is a test failure."""

    def __init__(self):
        self.pools = {
            NFS1: dict(id=NFS1, name="nfs-1", state="Up", zoneid=ZONE, zonename="zone1", type="NetworkFilesystem", path="/export/1"),
            NFS2: dict(id=NFS2, name="nfs-2", state="Up", zoneid=ZONE, zonename="zone1", type="NetworkFilesystem", path="/export/2"),
            VMFS: dict(id=VMFS, name="vmfs-1", state="Up", zoneid=ZONE, zonename="zone1", type="VMFS", path="/DC0/vmfs-ds-1"),
        }
        self.vms = {VM7: dict(id=VM7, name="web-7", state="Stopped", instancename="i-2-7-VM"),
                    VM8: dict(id=VM8, name="app-8", state="Running", instancename="i-2-8-VM")}
        volumes = [_volume(1, "ROOT-7", NFS1, "nfs-1", VM7, "web-7"), _volume(2, "DATA-7", NFS1, "nfs-1", VM7, "web-7"),
                   _volume(3, "ROOT-8", NFS1, "nfs-1", VM8, "app-8"), _volume(4, "DATA-9", NFS1, "nfs-1"),
                   _volume(5, "DATA-10", NFS2, "nfs-2", VM8, "app-8")]
        self.volumes = {volume["id"]: volume for volume in volumes}
        self.calls = []

    def get_volume(self, volume_id):
        self.calls.append(("get_volume", volume_id))
        return copy.deepcopy(self.volumes.get(volume_id))

    def list_volumes(self, **filters):
        self.calls.append(("list_volumes", filters))
        return [copy.deepcopy(volume) for volume in self.volumes.values()
                if all(volume.get({"storageid": "storageid", "name": "name"}[key]) == value for key, value in filters.items())]

    def get_storage_pool(self, pool_id):
        self.calls.append(("get_storage_pool", pool_id))
        return copy.deepcopy(self.pools.get(pool_id))

    def list_storage_pools(self, **filters):
        self.calls.append(("list_storage_pools", filters))
        return [copy.deepcopy(pool) for pool in self.pools.values() if pool["name"] == filters.get("name", pool["name"])]

    def get_virtual_machine(self, vm_id):
        self.calls.append(("get_virtual_machine", vm_id))
        return copy.deepcopy(self.vms.get(vm_id))

    def migrate_volume(self, *args, **kwargs):
        raise AssertionError("resolution must not migrate")

    def update_volume(self, *args, **kwargs):
        raise AssertionError("resolution must not update")


@pytest.fixture
def cloudstack():
    return FakeCloudStack()


def test_a_volume_item_resolves_everything_preflight_and_migration_need(cloudstack):
    result = resolve_plan(cloudstack, [{"volume": "DATA-7", "vm": "web-7", "destination": "nfs-2"}])

    [volume] = result["volumes"]
    assert volume["volume_id"] == "00000002-0000-4000-8000-000000000000"
    assert (volume["vm_name"], volume["instance_name"], volume["vm_state"]) == ("web-7", "i-2-7-VM", "Stopped")
    assert (volume["source_pool_name"], volume["destination_pool_name"], volume["path"]) == ("nfs-1", "nfs-2", "DATA-7")
    assert volume["source_datastores"][0] == NFS1.replace("-", "")
    assert volume["destination_datastores"][0] == NFS2.replace("-", "")
    assert volume["migration"] == {"volume": volume["volume_id"], "destination": NFS2}
    assert volume["already_on_destination"] is False and volume["attached"] is True and volume["item"] == 0
    assert result["changed"] is False
    assert volume["entry"] == 1
    assert result["summary"] == {"items": 1, "volumes": 1, "to_migrate": 1, "already_on_destination": 0, "detached": 0,
                                 "excluded": 0, "vms": 1}
    assert result["entries"] == [{"index": 1, "entry": {"volume": "DATA-7", "vm": "web-7", "destination": "nfs-2"},
                                  "volume_ids": [volume["volume_id"]], "excluded_ids": [], "other_zone_volume_ids": [],
                                  "error": None, "error_code": None, "problems": []}]


ZONE2 = "d2d2d2d2-dddd-4ddd-8ddd-dddddddddddd"


def _two_zones(cloudstack):
    """DATA-10 (on nfs-2) is in zone2; the fake lists both zones."""
    cloudstack.volumes[VOLUME_IDS[5]].update(zoneid=ZONE2, zonename="zone2")
    cloudstack.list_zones = lambda: [{"id": ZONE, "name": "zone1"}, {"id": ZONE2, "name": "zone2"}]
    return [{"volume": "DATA-7", "vm": "web-7", "destination": "nfs-2"}, {"volume": "DATA-10", "destination": "nfs-1"}]


@pytest.mark.parametrize("zone", ["zone2", ZONE2])
def test_a_run_kept_to_one_zone_resolves_the_whole_plan_and_keeps_that_zones_volumes(cloudstack, zone):
    result = resolve_plan(cloudstack, _two_zones(cloudstack), zone=zone)

    assert [volume["volume_name"] for volume in result["volumes"]] == ["DATA-10"]
    assert [vm["name"] for vm in result["vms"]] == ["i-2-8-VM"]
    assert result["zone"] == {"id": ZONE2, "name": "zone2"}
    assert [(other["volume_name"], other["zone_name"], other["entry"]) for other in result["other_zones"]] == [("DATA-7", "zone1", 1)]
    assert [(entry["volume_ids"], entry["other_zone_volume_ids"]) for entry in result["entries"]] == [
        ([], [VOLUME_IDS[2]]), ([VOLUME_IDS[5]], [])]
    assert result["summary"]["volumes"] == 1 and result["summary"]["other_zones"] == 1
    assert [capacity["pool_name"] for capacity in result["capacity"]] == ["nfs-1"]


def test_a_zone_that_is_not_one_of_cloudstacks_is_refused_listing_its_zones(cloudstack):
    plan = _two_zones(cloudstack)

    with pytest.raises(InvalidInput) as error:
        resolve_plan(cloudstack, plan, zone="zone-2")

    assert error.value.message == ("Zone zone-2 is not a zone of this CloudStack: give one zone by name or UUID (its zones: "
                                   "zone1 (%s), zone2 (%s))" % (ZONE, ZONE2))
    assert not any(call[0] == "list_volumes" for call in cloudstack.calls)


def test_a_source_pool_item_expands_to_every_volume_on_the_pool_by_vm_name(cloudstack):
    result = resolve_plan(cloudstack, [{"source_pool": "nfs-1", "destination": "nfs-2"}])

    assert [volume["volume_name"] for volume in result["volumes"]] == ["DATA-9", "ROOT-8", "DATA-7", "ROOT-7"]
    assert [volume["attached"] for volume in result["volumes"]] == [False, True, True, True]
    assert {volume["destination_pool_id"] for volume in result["volumes"]} == {NFS2}
    assert result["summary"]["detached"] == 1 and result["summary"]["vms"] == 2
    # each VM is read once, whatever the number of its volumes
    assert sorted(call[1] for call in cloudstack.calls if call[0] == "get_virtual_machine") == [VM7, VM8]


def test_an_empty_source_pool_resolves_to_nothing(cloudstack):
    result = resolve_plan(cloudstack, [{"source_pool": "vmfs-1", "destination": "nfs-2"}])

    assert result["volumes"] == [] and result["vms"] == [] and result["summary"]["to_migrate"] == 0


def test_a_volume_already_on_its_destination_is_expected_on_the_destination_datastores(cloudstack):
    result = resolve_plan(cloudstack, [{"volume": "DATA-10", "destination": "nfs-2"}])

    assert result["volumes"][0]["already_on_destination"] is True
    assert result["vms"] == [{"name": "i-2-8-VM", "disks": [{"path": "DATA-10", "datastores": result["volumes"][0]["destination_datastores"]}]}]
    assert result["summary"]["already_on_destination"] == 1


def test_a_vmfs_pool_is_known_by_its_datastore_name(cloudstack):
    result = resolve_plan(cloudstack, [{"volume": "ROOT-7", "destination": VMFS}])

    assert "vmfs-ds-1" in result["volumes"][0]["destination_datastores"]


def test_the_same_volume_twice_to_one_destination_is_planned_once(cloudstack):
    result = resolve_plan(cloudstack, [{"volume": "ROOT-7", "destination": "nfs-2"},
                                       {"source_pool": "nfs-1", "destination": "nfs-2"}])

    names = [volume["volume_name"] for volume in result["volumes"]]
    assert names.count("ROOT-7") == 1 and len(names) == 4
    assert result["volumes"][0]["item"] == 0


def _refusal(cloudstack, plan):
    with pytest.raises(PreflightFailed) as refused:
        resolve_plan(cloudstack, plan)
    return refused.value


def test_the_same_volume_to_two_destinations_is_refused_naming_both_entries(cloudstack):
    refused = _refusal(cloudstack, [{"volume": "ROOT-7", "destination": "nfs-2"}, {"volume": "ROOT-7", "destination": "vmfs-1"}])

    assert "ROOT-7 is planned to two destinations, nfs-2 by entry 1 and vmfs-1 by entry 2" in refused.message
    assert [entry["error_code"] for entry in refused.facts["entries"]] == [None, "two_destinations"]


def test_a_pool_onto_itself_is_refused(cloudstack):
    refused = _refusal(cloudstack, [{"source_pool": "nfs-1", "destination": NFS1}])

    assert "moves pool nfs-1 onto itself" in refused.message
    assert refused.facts["entries"][0]["error_code"] == "pool_onto_itself"


def test_an_empty_source_pool_with_an_unknown_destination_is_refused(cloudstack):
    refused = _refusal(cloudstack, [{"source_pool": "vmfs-1", "destination": "nfs-9"}])

    assert refused.facts["entries"][0]["error_code"] == "destination_not_found"
    assert "Destination storage pool nfs-9 was not found" in refused.message


@pytest.mark.parametrize("item, code, text", [
    ({"destination": "nfs-2"}, "no_volume_or_source_pool", "has neither volume nor source_pool"),
    ({"volume": "ROOT-7", "source_pool": "nfs-1", "destination": "nfs-2"}, "volume_and_source_pool",
     "has both volume and source_pool"),
    ({"volume": "ROOT-7"}, "no_destination", "has no destination"),
    ({"source_pool": "nfs-1", "vm": "web-7", "destination": "nfs-2"}, "volume_option_on_pool", "do not apply to a source_pool"),
    ({"volume": "ROOT-7", "exclude": ["DATA-7"], "destination": "nfs-2"}, "exclude_on_volume", "exclude applies to a source_pool"),
    ({"volume": "ROOT-7", "destinaton": "nfs-2"}, "unknown_key", "unknown key 'destinaton': did you mean destination?"),
    ({"volume": 7, "destination": "nfs-2"}, "wrong_type", "volume must be a string, got a number"),
    ({"source_pool": "nfs-1", "exclude": "DATA-7", "destination": "nfs-2"}, "wrong_type", "exclude must be a list"),
    ("ROOT-7 -> nfs-2", "not_a_mapping", "is a string"),
])
def test_malformed_entries_are_refused_before_any_read_of_them(cloudstack, item, code, text):
    refused = _refusal(cloudstack, [{"volume": "DATA-7", "destination": "nfs-2"}, item])

    entries = refused.facts["entries"]
    assert (entries[0]["error"], entries[1]["error_code"]) == (None, code)
    assert entries[1]["error"].startswith("entry 2") and text in entries[1]["error"]
    assert "1 of the plan's 2 entries cannot be used" in refused.message
    # only the good entry was read
    assert all(call[1] != "ROOT-7" and call[1] != {"name": "ROOT-7"} for call in cloudstack.calls)


def test_every_bad_entry_is_listed_with_its_position_and_the_good_ones_still_resolve(cloudstack):
    plan = [{"volume": "DATA-7", "destination": "nfs-2"},
            {"volume": "DATA-77", "destination": "nfs-2"},
            {"volume": "ROOT-7", "destination": "nfs-9"},
            {"source_pool": "nfs-8", "destination": "nfs-2"},
            {"volume": "DATA-404", "destination": "nfs-404"},
            {"volume": "ROOT-8", "destination": "nfs-2"}]

    refused = _refusal(cloudstack, plan)

    entries = refused.facts["entries"]
    assert [entry["error_code"] for entry in entries] == [
        None, "volume_not_found", "destination_not_found", "source_pool_not_found", "volume_not_found", None]
    assert entries[0]["volume_ids"] == ["00000002-0000-4000-8000-000000000000"]
    assert entries[5]["volume_ids"] == ["00000003-0000-4000-8000-000000000000"]
    # the volume and the destination of entry 5 are both unknown: both are said
    assert [problem["code"] for problem in entries[4]["problems"]] == ["volume_not_found", "destination_not_found"]
    assert "4 of the plan's 6 entries cannot be used" in refused.message
    for position in (2, 3, 4, 5):
        assert "entry %d (" % position in refused.message
    assert refused.facts["problems"][0].startswith("entry 2 (volume DATA-77 -> nfs-2): Volume DATA-77 was not found")


def test_an_ambiguous_volume_name_is_an_entry_error(cloudstack):
    twin = dict(cloudstack.volumes["00000002-0000-4000-8000-000000000000"], id="00000099-0000-4000-8000-000000000000",
                virtualmachineid=VM8, vmname="app-8")
    cloudstack.volumes[twin["id"]] = twin

    refused = _refusal(cloudstack, [{"volume": "DATA-7", "destination": "nfs-2"}])
    narrowed = resolve_plan(cloudstack, [{"volume": "DATA-7", "vm": "app-8", "destination": "nfs-2"}])

    assert refused.facts["entries"][0]["error_code"] == "volume_ambiguous" and "ambiguous" in refused.message
    assert narrowed["volumes"][0]["volume_id"] == twin["id"]


def test_an_ambiguous_destination_is_an_entry_error(cloudstack):
    other = dict(cloudstack.pools[NFS2], id="ffffffff-ffff-4fff-8fff-ffffffffffff")
    cloudstack.pools[other["id"]] = other

    refused = _refusal(cloudstack, [{"volume": "DATA-7", "destination": "nfs-2"}])

    assert refused.facts["entries"][0]["error_code"] == "destination_ambiguous"


def test_exclude_leaves_volumes_of_a_pool_out_by_name_or_uuid(cloudstack):
    result = resolve_plan(cloudstack, [{"source_pool": "nfs-1", "destination": "nfs-2",
                                        "exclude": ["ROOT-8", "00000004-0000-4000-8000-000000000000"]}])

    assert [volume["volume_name"] for volume in result["volumes"]] == ["DATA-7", "ROOT-7"]
    # in the pool's order (by VM name; the detached volume first)
    assert result["entries"][0]["excluded_ids"] == ["00000004-0000-4000-8000-000000000000", "00000003-0000-4000-8000-000000000000"]
    assert result["summary"]["excluded"] == 2


def test_an_exclude_that_names_no_volume_of_the_pool_is_an_entry_error(cloudstack):
    refused = _refusal(cloudstack, [{"source_pool": "nfs-1", "destination": "nfs-2", "exclude": ["ROOT-7", "DATA-07"]}])

    entry = refused.facts["entries"][0]
    assert entry["error_code"] == "exclude_unknown"
    assert "exclude names DATA-07, which is no volume of pool nfs-1" in entry["error"] and "ROOT-7" in entry["error"]


def test_an_unknown_source_pool_says_so(cloudstack):
    refused = _refusal(cloudstack, [{"source_pool": "nfs-9", "zone": "zone1", "destination": "nfs-2"}])

    assert "Source storage pool nfs-9 in zone zone1 was not found in CloudStack" in refused.message
    assert refused.facts["entries"][0]["error_code"] == "source_pool_not_found"


def test_a_source_pool_name_in_two_zones_needs_a_zone(cloudstack):
    other = dict(cloudstack.pools[NFS1], id="ffffffff-ffff-4fff-8fff-ffffffffffff", zoneid="z2", zonename="zone2")
    cloudstack.pools[other["id"]] = other

    refused = _refusal(cloudstack, [{"source_pool": "nfs-1", "destination": "nfs-2"}])
    narrowed = resolve_plan(cloudstack, [{"source_pool": "nfs-1", "zone": "zone1", "destination": "nfs-2"}])

    assert "ambiguous" in refused.message and NFS1 in refused.message
    assert refused.facts["entries"][0]["error_code"] == "source_pool_ambiguous"
    assert len(narrowed["volumes"]) == 4


@pytest.mark.parametrize("error", [
    ConnectionFailed("Failed to list volumes: CloudStack refused the credentials (unable to verify user credentials); "
                     "check api_key and api_secret", command="listVolumes", errorcode=401),
    CloudStackApiError("Failed to list volumes: HTTP 530", command="listVolumes", errorcode=530),
])
def test_a_cloudstack_error_while_resolving_fails_the_whole_plan_once(cloudstack, error):
    def refuse(**filters):
        raise error
    cloudstack.list_volumes = refuse

    with pytest.raises(type(error)) as failed:
        resolve_plan(cloudstack, [{"volume": "DATA-7", "destination": "nfs-2"}, {"volume": "ROOT-7", "destination": "nfs-2"},
                                  {"volume": "ROOT-8", "destinaton": "nfs-2"}])

    assert failed.value.message.startswith("CloudStack could not resolve the plan, nothing was changed: Failed to list volumes")
    assert failed.value.facts["plan_error"] is True and failed.value.facts["errorcode"] == error.facts["errorcode"]
    assert [entry["error_code"] for entry in failed.value.facts["entries"]] == [None, None, "unknown_key"]
    assert len(failed.value.facts["problems"]) == 1


def test_the_plan_capacity_counts_every_volume_moved_onto_a_pool(cloudstack):
    cloudstack.pools[NFS2].update(disksizetotal=1500, overprovisionfactor="2.0", disksizeallocated=1024, disksizeused=0)

    fits = resolve_plan(cloudstack, [{"volume": "DATA-7", "destination": "nfs-2"}, {"volume": "DATA-10", "destination": "nfs-2"}])
    full = resolve_plan(cloudstack, [{"source_pool": "nfs-1", "destination": "nfs-2", "exclude": ["DATA-9"]}])

    assert [(item["pool_name"], item["needed_bytes"], item["free_bytes"], item["fits"]) for item in fits["capacity"]] == [
        ("nfs-2", 1024, 1976, True)]
    [pool] = full["capacity"]
    assert (pool["needed_bytes"], pool["fits"], pool["volumes"]) == (3072, False, ["ROOT-8", "DATA-7", "ROOT-7"])
    assert pool["message"].startswith("destination pool nfs-2 (datastore %s) has 0.0 GiB free" % NFS2.replace("-", ""))
    assert "choose another pool or split the plan" in pool["message"]


def test_inventory_expectations_group_disks_by_vm_and_keep_the_vm_of_a_volume_without_path():
    volumes = [
        dict(instance_name="i-2-7-VM", path="ROOT-7", already_on_destination=False, source_datastores=["s"], destination_datastores=["d"]),
        dict(instance_name="i-2-8-VM", path=None, already_on_destination=True, source_datastores=["s"], destination_datastores=["d"]),
        dict(instance_name=None, path="DATA-9", already_on_destination=False, source_datastores=["s"], destination_datastores=["d"]),
        dict(instance_name="i-2-7-VM", path="DATA-7", already_on_destination=True, source_datastores=["s"], destination_datastores=["d"]),
    ]

    assert inventory_expectations(volumes) == [
        {"name": "i-2-7-VM", "disks": [{"path": "ROOT-7", "datastores": ["s"]}, {"path": "DATA-7", "datastores": ["d"]}]},
        {"name": "i-2-8-VM", "disks": []}]


def test_with_zones_on_several_vcenters_each_vm_names_its_zones_vcenter_and_datacenter():
    class Route:  # what ZoneRouter.route gives
        datacenter = "DC-West"
        settings = VCenterSettings(hostname="vc-west", port=443)
    volumes = [dict(instance_name="i-2-7-VM", path="ROOT-7", zone_id="west", already_on_destination=False,
                    source_datastores=["s"], destination_datastores=["d"]),
               dict(instance_name="i-2-9-VM", path="ROOT-9", zone_id="east", already_on_destination=False,
                    source_datastores=["s"], destination_datastores=["d"])]

    assert inventory_expectations(volumes, {"west": Route()}) == [
        {"name": "i-2-7-VM", "disks": [{"path": "ROOT-7", "datastores": ["s"]}], "vcenter": "vc-west:443",
         "datacenter": "DC-West"},
        {"name": "i-2-9-VM", "disks": [{"path": "ROOT-9", "datastores": ["s"]}]}]


def test_plan_items_keep_their_position():
    item = PlanItem.from_dict(3, {"source_pool": "nfs-1", "destination": "nfs-2", "zone": "zone1"})

    assert (item.index, item.source_pool, item.destination, item.zone, item.volume) == (3, "nfs-1", "nfs-2", "zone1", None)
    assert item.exclude == []


def test_entries_are_looked_up_side_by_side_and_come_back_in_plan_order(cloudstack):
    # Two lookups must be in flight at once for either to end: a resolution one entry at a time would time out.
    both_asked = threading.Barrier(2, timeout=5)
    get_volume = cloudstack.get_volume

    def meeting_get_volume(volume_id):
        if volume_id in (VOLUME_IDS[1], VOLUME_IDS[3]):
            both_asked.wait()
        return get_volume(volume_id)
    cloudstack.get_volume = meeting_get_volume
    plan = [{"volume": VOLUME_IDS[number], "destination": "nfs-2"} for number in (3, 1, 4)]

    result = resolve_plan(cloudstack, plan)

    assert [volume["volume_id"] for volume in result["volumes"]] == [VOLUME_IDS[3], VOLUME_IDS[1], VOLUME_IDS[4]]
    assert [entry["index"] for entry in result["entries"]] == [1, 2, 3]
