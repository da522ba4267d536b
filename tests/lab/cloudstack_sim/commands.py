"""The command table: API name -> handler, response name, who may call it, job class names."""
from __future__ import annotations

from . import attach_commands as attach
from . import configuration
from . import other_commands as other
from . import read_commands as read
from . import volume_commands as volume
from .api import Command

_USER = "org.apache.cloudstack.api.command.user"
_ADMIN = "org.apache.cloudstack.api.command.admin"


def _table() -> dict:
    commands = [
        Command("listZones", read.list_zones, "listzonesresponse"),
        Command("listPods", read.list_pods, "listpodsresponse", admin_only=True),
        Command("listVmwareDcs", read.list_vmware_dcs, "listvmwaredcsresponse", admin_only=True),
        Command("listClusters", read.list_clusters, "listclustersresponse", admin_only=True),
        Command("listHosts", read.list_hosts, "listhostsresponse", admin_only=True),
        Command("listStoragePools", read.list_storage_pools, "liststoragepoolsresponse", admin_only=True),
        Command("findStoragePoolsForMigration", read.find_storage_pools_for_migration,
                "findstoragepoolsformigrationresponse", admin_only=True),
        Command("listVirtualMachines", read.list_virtual_machines, "listvirtualmachinesresponse"),
        Command("listVolumes", read.list_volumes, "listvolumesresponse"),
        Command("queryAsyncJobResult", read.query_async_job_result, "queryasyncjobresultresponse"),
        Command("listAsyncJobs", read.list_async_jobs, "listasyncjobsresponse"),
        Command("migrateVolume", volume.migrate_volume, "migratevolumeresponse",
                cmd_class=f"{_USER}.volume.MigrateVolumeCmd", admin_cmd_class=f"{_ADMIN}.volume.MigrateVolumeCmdByAdmin"),
        Command("updateVolume", volume.update_volume, "updatevolumeresponse",
                cmd_class=f"{_USER}.volume.UpdateVolumeCmd", admin_cmd_class=f"{_ADMIN}.volume.UpdateVolumeCmdByAdmin"),
        Command("attachVolume", attach.attach_volume, "attachvolumeresponse",
                cmd_class=f"{_USER}.volume.AttachVolumeCmd", admin_cmd_class=f"{_ADMIN}.volume.AttachVolumeCmdByAdmin"),
        Command("detachVolume", attach.detach_volume, "detachvolumeresponse",
                cmd_class=f"{_USER}.volume.DetachVolumeCmd", admin_cmd_class=f"{_ADMIN}.volume.DetachVolumeCmdByAdmin"),
        Command("listConfigurations", configuration.list_configurations, "listconfigurationsresponse", admin_only=True),
        Command("updateConfiguration", configuration.update_configuration, "updateconfigurationresponse",
                admin_only=True),
        Command("startVirtualMachine", other.start_virtual_machine, "startvirtualmachineresponse",
                cmd_class=f"{_USER}.vm.StartVMCmd", admin_cmd_class=f"{_ADMIN}.vm.StartVMCmdByAdmin"),
        Command("stopVirtualMachine", other.stop_virtual_machine, "stopvirtualmachineresponse",
                cmd_class=f"{_USER}.vm.StopVMCmd", admin_cmd_class=f"{_ADMIN}.vm.StopVMCmdByAdmin"),
        Command("enableStorageMaintenance", other.enable_storage_maintenance,
                "prepareprimarystorageformaintenanceresponse", admin_only=True,
                cmd_class=f"{_ADMIN}.storage.PreparePrimaryStorageForMaintenanceCmd"),
        Command("cancelStorageMaintenance", other.cancel_storage_maintenance,
                "cancelprimarystoragemaintenanceresponse", admin_only=True,
                cmd_class=f"{_ADMIN}.storage.CancelPrimaryStorageMaintenanceCmd"),
    ]
    return {command.name: command for command in commands}


COMMANDS = _table()
