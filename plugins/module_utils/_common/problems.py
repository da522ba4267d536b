# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one vocabulary of problems: every code that vmware_inventory_assert, the plan's blockers, the drift audit, the
plan's entries and the refusals of a record sync emit, with what it means, how grave it is and what to do.
docs/problems.md lists the same table.

A code names one fact wherever it is found: the inventory check, a blocker made of it and the drift item the audit
makes of it carry the same code. Emitters use the constants below, never a string of their own.
"""

from __future__ import annotations

from collections import namedtuple

# severity: blocker = stops the migration of the volumes concerned (the drift audit lists it too when it finds it,
# a record sync refuses on it); drift = found by the drift audit only: CloudStack and vCenter disagree, nothing is
# being moved; entry = a plan entry that cannot be used: nothing of the plan runs; refusal = a record sync
# (cs_volume_record_sync) writes nothing, the truth is not unambiguous (or not what was reviewed).
BLOCKER = "blocker"
DRIFT = "drift"
ENTRY = "entry"
REFUSAL = "refusal"
SEVERITIES = (BLOCKER, DRIFT, ENTRY, REFUSAL)

ProblemCode = namedtuple("ProblemCode", "code severity meaning action")
PROBLEMS = {}


def _problem(code, severity, meaning, action):
    PROBLEMS[code] = ProblemCode(code, severity, meaning, action)
    return code


# ---- the VM in vCenter ------------------------------------------------------------------------------------------------
VM_NOT_FOUND = _problem(
    "vm_not_found", BLOCKER, "The VM is not in the vCenter inventory (by its instance name or cloud.vm.internal.name).",
    "Re-register the VM in vCenter from its configuration file (the message says where its files were found), then "
    "run again.")
VM_REGISTERED_AS_OTHER_NAME = _problem(
    "vm_registered_as_other_name", BLOCKER, "The VM is in vCenter under another name, which CloudStack does not look for.",
    "Rename the VM back to its instance name, or set its custom attribute cloud.vm.internal.name to it.")
VM_DUPLICATE = _problem(
    "vm_duplicate", BLOCKER, "Several vCenter VMs answer to the VM's name: CloudStack cannot tell which one is its VM.",
    "Rename or remove the VMs that are not CloudStack's.")
VM_NOT_CONNECTED = _problem(
    "vm_not_connected", BLOCKER, "vCenter shows the VM disconnected, orphaned or inaccessible: it cannot act on it.",
    "Reconnect the VM's host or re-register the VM.")
POWER_STATE_MISMATCH = _problem(
    "power_state_mismatch", BLOCKER, "The VM's power state in vCenter is not the one asserted.",
    "Power the VM on or off as expected, or fix the assertion.")
VM_HAS_SNAPSHOTS = _problem(
    "vm_has_snapshots", BLOCKER, "The VM has snapshots: its disks are delta disks.",
    "Delete or consolidate the snapshots before moving its volumes.")
POWER_STATE_DRIFT = _problem(
    "power_state_drift", BLOCKER, "CloudStack and vCenter disagree on whether the VM runs.",
    "Make both agree (power the VM on or off in vCenter, or start or stop it in CloudStack), then run again.")

# ---- the volume's disk in vCenter -------------------------------------------------------------------------------------
DISK_NOT_ATTACHED = _problem(
    "disk_not_attached", BLOCKER, "The VM has no disk attached whose file name is exactly the volume's path.",
    "Find the volume's disk (the drift audit lists candidates) and repair the record before migrating.")
DISK_ON_OTHER_DATASTORE = _problem(
    "disk_on_other_datastore", BLOCKER, "The disk is on a datastore other than the one of the pool CloudStack records.",
    "Repair the record's pool (cs_volume_record_sync, or updateVolume storageid), or move the disk back.")
DISK_FILE_MISSING = _problem(
    "disk_file_missing", BLOCKER, "The disk's file is not on its datastore (searched, not there).",
    "Restore the disk from a backup; the volume must not be migrated.")
DISK_FILE_UNVERIFIED = _problem(
    "disk_file_unverified", BLOCKER, "No datastore search could confirm the disk's file: nothing proves it exists.",
    "Make the datastore searchable (accessible, browser, not in maintenance), then run again.")
DISK_UNCONFIRMED = _problem(
    "disk_unconfirmed", BLOCKER, "vCenter could not confirm that the volume's file is on the source pool's datastore.",
    "Check the datastore (accessible, searchable), then run again.")
DATASTORE_INACCESSIBLE = _problem(
    "datastore_inaccessible", BLOCKER, "A datastore that holds the VM's disks is not accessible.",
    "Make the datastore accessible again (its storage, the hosts' connection to it).")
DATASTORE_IN_MAINTENANCE = _problem(
    "datastore_in_maintenance", BLOCKER, "A datastore that holds the VM's disks is in maintenance mode.",
    "End the datastore's maintenance, then run again.")

# ---- the destination in vCenter ---------------------------------------------------------------------------------------
DESTINATION_DATASTORE_NOT_FOUND = _problem(
    "destination_datastore_not_found", BLOCKER, "The destination pool's datastore is not in the vCenter inventory.",
    "Check the pool's datastore in vCenter, or choose another pool.")
DESTINATION_DATASTORE_INACCESSIBLE = _problem(
    "destination_datastore_inaccessible", BLOCKER, "The destination pool's datastore is not accessible.",
    "Make the datastore accessible again, or choose another pool.")
DESTINATION_DATASTORE_IN_MAINTENANCE = _problem(
    "destination_datastore_in_maintenance", BLOCKER, "The destination pool's datastore is in maintenance mode.",
    "End the datastore's maintenance, or choose another pool.")
DESTINATION_DATASTORE_NOT_MOUNTED = _problem(
    "destination_datastore_not_mounted", BLOCKER, "The destination pool's datastore is not usable from the VM's host.",
    "Mount the datastore on the VM's host, or choose a pool mounted there.")
DESTINATION_FILE_EXISTS = _problem(
    "destination_file_exists", BLOCKER, "A file is already where the migration would put the disk (a stale copy?).",
    "Check that nothing uses that file, then remove or rename it, then run again.")
DESTINATION_FILE_UNVERIFIED = _problem(
    "destination_file_unverified", BLOCKER, "No search could prove that the destination path is free.",
    "Fix what stopped the search of the destination datastore, then run again.")
DESTINATION_UNSEARCHABLE = _problem(
    "destination_unsearchable", BLOCKER, "The destination datastore of a detached volume cannot be searched, so the copy "
    "could not be confirmed after the job.", "Make the datastore accessible first.")

# ---- a detached volume's file -----------------------------------------------------------------------------------------
DETACHED_FILE_AMBIGUOUS = _problem(
    "detached_file_ambiguous", BLOCKER, "The file of a detached volume is in several places on its pool's datastores.",
    "Keep one and run again.")
DETACHED_FILE_MISSING = _problem(
    "detached_file_missing", BLOCKER, "The file of a detached volume is not on its pool's datastore.",
    "Repair the record first (where the file was found), or restore the file.")

# ---- CloudStack's record and state ------------------------------------------------------------------------------------
JOB_PENDING = _problem(
    "job_pending", BLOCKER, "A CloudStack job is still running on the volume.", "Wait for it to end, then run again.")
ALREADY_MIGRATING = _problem(
    "already_migrating", BLOCKER, "The volume is already migrating.", "Wait for that migration to end.")
VOLUME_STUCK_MIGRATING = _problem(
    "volume_stuck_migrating", BLOCKER, "The record is Migrating but no CloudStack job runs on it (a management server "
    "restart during a job leaves it so).",
    "Check in vCenter where its disk is (the drift audit's other items of the volume say), then set the record's pool, "
    "path and state Ready (cs_volume_record_sync, or updateVolume).")
VOLUME_NOT_READY = _problem(
    "volume_not_ready", BLOCKER, "The volume is not Ready.", "Wait until it is Ready, or leave it out of the plan.")
NOT_VMWARE = _problem(
    "not_vmware", BLOCKER, "The volume is not on a VMware hypervisor.", "Leave it out of the plan.")
VOLUME_PATH_NULL = _problem(
    "volume_path_null", BLOCKER, "The volume's record has no path (apache/cloudstack#9881: the mark of an earlier false "
    "success).",
    "Repair the record (on_false_success=restore, or cs_volume_record_sync with the candidate disk the drift audit "
    "names), or investigate; then migrate.")
NO_SOURCE_POOL = _problem(
    "no_source_pool", BLOCKER, "CloudStack gives no storage pool for the volume, so its file cannot be looked for.",
    "Repair the record first.")
VM_STATE = _problem(
    "vm_state", BLOCKER, "The VM is in a state that does not allow a migration (neither Stopped, Running nor Shutdown).",
    "Wait until the VM is stopped or running.")
LIVE_MIGRATION_NOT_ALLOWED = _problem(
    "live_migration_not_allowed", BLOCKER, "The volume is attached to a running VM and live migration is not allowed.",
    "Set allow_live_migration (playbook: safe_migration_allow_live_migration), or stop the VM.")

# ---- the destination pool in CloudStack -------------------------------------------------------------------------------
POOL_NOT_UP = _problem(
    "pool_not_up", BLOCKER, "The destination pool is not Up.", "Choose another pool or end its maintenance.")
OTHER_ZONE = _problem(
    "other_zone", BLOCKER, "The destination pool is in another zone than the volume.", "Choose a pool of the volume's zone.")
POOL_UNSUITABLE = _problem(
    "pool_unsuitable", BLOCKER, "CloudStack does not report the destination pool as suitable for the volume "
    "(findStoragePoolsForMigration).", "Choose a suitable pool.")
POOL_FULL = _problem(
    "pool_full", BLOCKER, "The destination pool has less room than the volume needs.", "Choose a pool with room.")

# ---- found by the drift audit -----------------------------------------------------------------------------------------
VOLUME_PATH_UNMATCHED = _problem(
    "volume_path_unmatched", BLOCKER, "The volume's path names no disk of its VM (exact name).",
    "Repair the record's path with the disk the audit names, or investigate.")
ORPHAN_VMDK = _problem(
    "orphan_vmdk", DRIFT, "A disk file on a pool's datastore that no CloudStack volume and no vCenter VM uses.",
    "Check that nothing needs it, then import it as a volume or delete it.")
UNRECORDED_VM = _problem(
    "unrecorded_vm", DRIFT, "A vCenter VM that looks like a CloudStack instance, with no CloudStack record.",
    "Import it into CloudStack (importUnmanagedInstance) or, once nothing needs it, remove it.")

# ---- an entry of the plan (cs_volume_plan_info, the playbooks' preflight) -----------------------------------------------
NOT_A_MAPPING = _problem(
    "not_a_mapping", ENTRY, "The entry is not a mapping (a line of text, a list).",
    "Write it as a mapping: volume and destination, or source_pool and destination.")
UNKNOWN_KEY = _problem(
    "unknown_key", ENTRY, "The entry has a key other than volume, source_pool, destination, vm, zone, account, exclude.",
    "Correct the key (the message suggests the closest allowed one).")
WRONG_TYPE = _problem(
    "wrong_type", ENTRY, "A value of the entry is not a string, or its exclude is not a list of strings.",
    "Quote the value; give exclude as a list of volume names or UUIDs.")
VOLUME_AND_SOURCE_POOL = _problem(
    "volume_and_source_pool", ENTRY, "The entry gives both volume and source_pool.",
    "Keep one: an entry per volume, or an entry for every volume of a pool.")
NO_VOLUME_OR_SOURCE_POOL = _problem(
    "no_volume_or_source_pool", ENTRY, "The entry gives neither volume nor source_pool.", "Give exactly one.")
NO_DESTINATION = _problem(
    "no_destination", ENTRY, "The entry has no destination.", "Give the destination pool by name or UUID.")
VOLUME_OPTION_ON_POOL = _problem(
    "volume_option_on_pool", ENTRY, "The entry gives vm or account with source_pool: they choose among volumes of the "
    "same name.", "Remove them, or use exclude to leave volumes of the pool out.")
EXCLUDE_ON_VOLUME = _problem(
    "exclude_on_volume", ENTRY, "The entry gives exclude with volume: exclude applies to a source_pool entry only.",
    "Remove exclude.")
VOLUME_NOT_FOUND = _problem(
    "volume_not_found", ENTRY, "CloudStack knows no volume by the entry's name or UUID.",
    "Correct the name or UUID (and zone, vm, account).")
VOLUME_AMBIGUOUS = _problem(
    "volume_ambiguous", ENTRY, "Several volumes have the entry's name.",
    "Give the volume's UUID, or narrow the name with vm, zone or account.")
SOURCE_POOL_NOT_FOUND = _problem(
    "source_pool_not_found", ENTRY, "CloudStack knows no storage pool by the entry's source_pool.",
    "Correct the pool's name or UUID (and zone).")
SOURCE_POOL_AMBIGUOUS = _problem(
    "source_pool_ambiguous", ENTRY, "Several storage pools have the entry's source_pool name.",
    "Give the pool's UUID, or the zone.")
DESTINATION_NOT_FOUND = _problem(
    "destination_not_found", ENTRY, "CloudStack knows no storage pool by the entry's destination.",
    "Correct the pool's name or UUID.")
DESTINATION_AMBIGUOUS = _problem(
    "destination_ambiguous", ENTRY, "Several storage pools have the entry's destination name.", "Give the pool's UUID.")
ENTRY_NOT_FOUND = _problem(
    "entry_not_found", ENTRY, "Something the entry names is not in CloudStack (the message says what).",
    "Correct the entry.")
ENTRY_AMBIGUOUS = _problem(
    "entry_ambiguous", ENTRY, "Something the entry names matches several CloudStack objects (the message lists them).",
    "Name it by its UUID.")
POOL_ONTO_ITSELF = _problem(
    "pool_onto_itself", ENTRY, "The entry moves a storage pool onto itself.", "Choose another destination.")
EXCLUDE_UNKNOWN = _problem(
    "exclude_unknown", ENTRY, "The entry's exclude names no volume of its source_pool (a typo would move a volume meant "
    "to stay).", "Correct the names (the message lists the pool's volumes).")
TWO_DESTINATIONS = _problem(
    "two_destinations", ENTRY, "Two entries plan one volume to two destinations (both entries are named).",
    "Keep one of the entries, or exclude the volume from one.")

# ---- why a record sync (cs_volume_record_sync) writes nothing -------------------------------------------------------
STATE_NOT_SYNCABLE = _problem(
    "state_not_syncable", REFUSAL, "The record is neither Ready nor Migrating without a job: it is not synced.",
    "Let CloudStack bring the volume to Ready, or repair it by hand.")
VM_UNKNOWN = _problem(
    "vm_unknown", REFUSAL, "CloudStack does not show the instance name of the volume's VM (root admin rights needed).",
    "Run with a root admin's API keys.")
NOT_SEARCHED = _problem(
    "not_searched", REFUSAL, "A datastore could not be searched (inaccessible, in maintenance, search failed): the disk "
    "may be there.", "Make the datastore searchable, then run again.")
DISK_NOWHERE = _problem(
    "disk_nowhere", REFUSAL, "The volume's disk is on no datastore that was searched.",
    "Find the disk (the drift audit, the datastores), or restore it from a backup.")
DISK_IN_SEVERAL_PLACES = _problem(
    "disk_in_several_places", REFUSAL, "The volume's disk is in several places: which one is the volume cannot be told.",
    "Find out which copy is current, remove or rename the others, then run again.")
DATASTORE_OF_NO_POOL = _problem(
    "datastore_of_no_pool", REFUSAL, "The disk is on a datastore that backs no CloudStack storage pool of the volume's "
    "zone.", "Move the disk to a pool's datastore, or add the datastore as a pool.")
DATASTORE_OF_SEVERAL_POOLS = _problem(
    "datastore_of_several_pools", REFUSAL, "The disk's datastore backs several CloudStack pools: which one to record "
    "cannot be told.", "Repair the record by hand (updateVolume storageid) with the right pool.")
PATH_CLAIMED = _problem(
    "path_claimed", REFUSAL, "The disk found (or reviewed) is the disk of another volume of the same VM.",
    "Audit the VM's volumes (the drift audit) and review again.")
EXPECTATION_MISMATCH = _problem(
    "expectation_mismatch", REFUSAL, "vCenter no longer shows what was reviewed (expected_pool, expected_path, "
    "expected_datastore_path).", "Run the drift audit again, review its fix, then sync with what it names.")


def known(code):
    """``code``, checked against the table: a code that is not in it is a bug of the collection (ValueError)."""
    if code not in PROBLEMS:
        raise ValueError("problem code %r is not in the table of plugins/module_utils/_common/problems.py" % (code,))
    return code
