# Copyright: contributors to the cloudstack_vmware.safe_migration collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The vCenter client over real pyVmomi objects and a fake SOAP stub (records each call; never sleeps)."""

import ssl
from http.client import HTTPException

import certifi
import pytest
from pyVmomi import vim, vmodl

from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter import client as vcenter_client
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._common.errors import ConnectionFailed, VCenterError, WaitTimeout
from ansible_collections.cloudstack_vmware.safe_migration.plugins.module_utils._vcenter.arguments import VCenterSettings

PC = vmodl.query.PropertyCollector


class FakeStub:
    """Answers SOAP methods from ``handlers`` (name -> function(mo, args)); records (method, moid) pairs."""

    def __init__(self, handlers):
        self.handlers = handlers
        self.calls = []

    def InvokeMethod(self, mo, info, args):  # pylint: disable=invalid-name
        self.calls.append((info.wsdlName, mo._moId))
        return self.handlers[info.wsdlName](mo, args)


def content_for(stub):
    return vim.ServiceInstanceContent(
        rootFolder=vim.Folder("group-d1", stub), propertyCollector=vim.PropertyCollector("propertyCollector", stub),
        viewManager=vim.view.ViewManager("ViewManager", stub), searchIndex=vim.SearchIndex("SearchIndex", stub),
        customFieldsManager=vim.CustomFieldsManager("CustomFieldsManager", stub),
        about=vim.AboutInfo(), sessionManager=vim.SessionManager("SessionManager", stub))


def obj(ref, **props):
    return PC.ObjectContent(obj=ref, propSet=[vmodl.DynamicProperty(name=name.replace("__", "."), val=val) for name, val in props.items()])


def custom_values(key, value):
    return vim.CustomFieldsManager.Value.Array([vim.CustomFieldStringValue(key=key, value=value)])


def inventory_objects(stub):
    ds = vim.Datastore("datastore-1", stub)
    parent = vim.vm.device.VirtualDisk.FlatVer2BackingInfo(fileName="[ds1] i-2-34-VM/ROOT-34.vmdk", datastore=ds)
    delta = vim.vm.device.VirtualDisk.FlatVer2BackingInfo(fileName="[ds1] i-2-34-VM/ROOT-34-000001.vmdk", datastore=ds, parent=parent)
    devices = vim.vm.device.VirtualDevice.Array([vim.vm.device.VirtualDisk(key=2000, backing=delta), vim.vm.device.VirtualCdrom(key=3000)])
    vm = obj(vim.VirtualMachine("vm-34", stub), name="web", config__instanceUuid="inst-1", config__uuid="bios-1",
             config__hardware__device=devices, runtime__connectionState="connected", runtime__powerState="poweredOn",
             runtime__host=vim.HostSystem("host-1", stub), customValue=custom_values(101, "i-2-34-VM"),
             snapshot=vim.vm.SnapshotInfo(rootSnapshotList=[vim.vm.SnapshotTree(name="s1")]))
    orphan = obj(vim.VirtualMachine("vm-35", stub), name="orphan", runtime__connectionState="orphaned")
    host = obj(vim.HostSystem("host-1", stub), name="esx-1.lab")
    datastore = obj(ds, name="ds1", browser=vim.host.DatastoreBrowser("browser-1", stub), summary__accessible=True,
                    summary__maintenanceMode="inMaintenance", customValue=custom_values(102, "pool-uuid"),
                    host=vim.Datastore.HostMount.Array([
                        vim.Datastore.HostMount(key=vim.HostSystem("host-1", stub),
                                                mountInfo=vim.host.MountInfo(mounted=True, accessible=True)),
                        vim.Datastore.HostMount(key=vim.HostSystem("host-2", stub),
                                                mountInfo=vim.host.MountInfo(mounted=False, accessible=False))]))
    fields = obj(vim.CustomFieldsManager("CustomFieldsManager", stub),
                 field=vim.CustomFieldDef.Array([vim.CustomFieldDef(key=101, name="cloud.vm.internal.name"),
                                                 vim.CustomFieldDef(key=102, name="cloud.uuid")]))
    return [vm, host, datastore], [orphan, fields]


def make_client(handlers, clock=None, sleep=None):
    stub = FakeStub(handlers)
    handlers.setdefault("RetrieveServiceContent", lambda mo, args: content_for(stub))
    client = vcenter_client.VCenterClient(vim.ServiceInstance("ServiceInstance", stub), clock=clock, sleep=sleep)
    return client, stub


def inventory_handlers():
    handlers = {}
    pages = []

    def create_view(mo, args):
        handlers["view_args"] = args
        return vim.view.ContainerView("session[1]view-1", mo._stub)

    def retrieve(mo, args):
        first, second = inventory_objects(mo._stub)
        pages.append(second)
        return PC.RetrieveResult(objects=first, token="page-2")

    handlers.update(CreateContainerView=create_view, RetrievePropertiesEx=retrieve,
                    ContinueRetrievePropertiesEx=lambda mo, args: PC.RetrieveResult(objects=pages.pop()),
                    DestroyView=lambda mo, args: None)
    return handlers


def test_read_inventory_is_one_view_and_one_retrieval_with_plain_facts():
    client, stub = make_client(inventory_handlers())
    inventory = client.read_inventory()
    assert [name for name, moid in stub.calls] == ["RetrieveServiceContent", "CreateContainerView", "RetrievePropertiesEx",
                                                   "ContinueRetrievePropertiesEx", "DestroyView"]
    web, orphan = inventory["vms"]
    assert web == {
        "moid": "vm-34", "name": "web", "instance_uuid": "inst-1", "bios_uuid": "bios-1", "internal_name": "i-2-34-VM",
        "connection_state": "connected", "power_state": "poweredOn", "host": "esx-1.lab", "host_moid": "host-1",
        "vmx_path": None, "annotation": None, "has_snapshots": True,
        "disks": [{"key": 2000, "file": "[ds1] i-2-34-VM/ROOT-34-000001.vmdk", "datastore_moid": "datastore-1",
                   "parent_files": ["[ds1] i-2-34-VM/ROOT-34.vmdk"]}],
    }
    assert (orphan["connection_state"], orphan["disks"], orphan["host"]) == ("orphaned", [], None)
    assert inventory["datastores"]["datastore-1"] == {
        "moid": "datastore-1", "name": "ds1", "browser": "browser-1", "cloud_uuid": "pool-uuid", "accessible": True,
        "maintenance_mode": "inMaintenance", "url": None,
        "mounts": {"host-1": {"mounted": True, "accessible": True}, "host-2": {"mounted": False, "accessible": False}}}
    assert inventory["hosts"] == {"host-1": "esx-1.lab"}


def test_datacenter_scope_roots_the_view_at_the_datacenter():
    handlers = inventory_handlers()
    handlers["FindByInventoryPath"] = lambda mo, args: vim.Datacenter("datacenter-2", mo._stub)
    client, stub = make_client(handlers)
    client.read_inventory("DC1")
    assert ("FindByInventoryPath", "SearchIndex") in stub.calls and ("CreateContainerView", "ViewManager") in stub.calls


def test_unknown_datacenter_is_an_error_before_any_view():
    handlers = inventory_handlers()
    handlers["FindByInventoryPath"] = lambda mo, args: None
    client, stub = make_client(handlers)
    with pytest.raises(VCenterError, match="Datacenter DC9 is not in the vCenter inventory"):
        client.read_inventory("DC9")
    assert "CreateContainerView" not in [name for name, moid in stub.calls]


def test_faults_are_translated_and_the_view_is_destroyed():
    handlers = inventory_handlers()

    def refuse(mo, args):
        raise vim.fault.NoPermission(msg="Permission to perform this operation was denied.")
    handlers["RetrievePropertiesEx"] = refuse
    client, stub = make_client(handlers)
    with pytest.raises(VCenterError, match="Failed to read the vCenter inventory: Permission to perform this operation was denied"):
        client.read_inventory()
    assert stub.calls[-1][0] == "DestroyView"


def task_handlers(states, result=None, error=None):
    """A search task whose info.state goes through ``states``."""
    remaining = list(states)

    def task_info(mo, args):
        state = remaining.pop(0)
        props = [vmodl.DynamicProperty(name="info.state", val=state)]
        if state == "success":
            props.append(vmodl.DynamicProperty(name="info.result", val=vim.host.DatastoreBrowser.SearchResults.Array(result or [])))
        if state == "error":
            props.append(vmodl.DynamicProperty(name="info.error", val=error))
        return PC.RetrieveResult(objects=[PC.ObjectContent(obj=mo, propSet=props)])

    return {"SearchDatastoreSubFolders_Task": lambda mo, args: vim.Task("task-7", mo._stub), "RetrievePropertiesEx": task_info}


DS1 = {"moid": "datastore-1", "name": "ds1", "browser": "browser-1"}


def test_search_waits_for_the_task_and_returns_exact_full_paths():
    browser = vim.host.DatastoreBrowser
    found = [browser.SearchResults(folderPath="[ds1]/i-2-34-VM", file=[browser.FileInfo(path="ROOT-34.vmdk")]),
             browser.SearchResults(folderPath="[ds1] old/", file=[browser.FileInfo(path="i-2-34-VM.vmx"), browser.FileInfo(path="other.vmdk")]),
             browser.SearchResults(folderPath="[ds1]", file=[browser.FileInfo(path="ROOT-34.vmdk")])]
    sleeps = []
    client, stub = make_client(task_handlers(["queued", "running", "success"], result=found), clock=lambda: 0.0, sleep=sleeps.append)
    paths = client.search_datastore(DS1, ["ROOT-34.vmdk", "i-2-34-VM.vmx"])
    assert paths == ["[ds1] i-2-34-VM/ROOT-34.vmdk", "[ds1] old/i-2-34-VM.vmx", "[ds1] ROOT-34.vmdk"]
    assert ("SearchDatastoreSubFolders_Task", "browser-1") in stub.calls and len(sleeps) == 2


def test_many_names_are_searched_by_extension_and_still_returned_exactly():
    browser = vim.host.DatastoreBrowser
    wanted = ["ROOT-%d.vmdk" % n for n in range(150)] + ["i-2-7-VM.vmx"]
    found = [browser.SearchResults(folderPath="[ds1] i-2-7-VM", file=[browser.FileInfo(path=name) for name in (
        "ROOT-7.vmdk", "ROOT-7-flat.vmdk", "ROOT-700.vmdk", "i-2-7-VM.vmx", "i-2-7-VM.nvram")])]
    specs = []
    handlers = task_handlers(["success"], result=found)
    search = handlers["SearchDatastoreSubFolders_Task"]
    handlers["SearchDatastoreSubFolders_Task"] = lambda mo, args: specs.append(args[1]) or search(mo, args)
    client = make_client(handlers, clock=lambda: 0.0, sleep=lambda seconds: None)[0]
    paths = client.search_datastore(DS1, wanted)
    assert specs[0].matchPattern == ["*.vmdk", "*.vmx"]
    assert paths == ["[ds1] i-2-7-VM/ROOT-7.vmdk", "[ds1] i-2-7-VM/i-2-7-VM.vmx"]


def test_few_names_are_searched_exactly():
    assert vcenter_client.match_patterns(["b.vmdk", "a.vmx", "b.vmdk"]) == ["a.vmx", "b.vmdk"]


def test_failed_task_is_a_vcenter_error():
    client = make_client(task_handlers(["error"], error=vim.fault.FileNotFound(msg="File [ds1] was not found")),
                         clock=lambda: 0.0, sleep=lambda seconds: None)[0]
    with pytest.raises(VCenterError, match="vCenter failed the search of datastore ds1: File \\[ds1\\] was not found"):
        client.search_datastore(DS1, ["x.vmdk"])


def test_task_wait_has_a_deadline():
    ticks = iter(range(0, 10000, 100))
    client = make_client(task_handlers(["running"] * 50), clock=lambda: float(next(ticks)), sleep=lambda seconds: None)[0]
    with pytest.raises(WaitTimeout):
        client.search_datastore(DS1, ["x.vmdk"], timeout=250)


SETTINGS = VCenterSettings(hostname="vc.example", username="admin", password="S3cret!", port=8443)


def raising(error):
    def smart_connect(**kwargs):
        raise error
    return smart_connect


@pytest.mark.parametrize("error, reason, text", [
    (vim.fault.InvalidLogin(msg="Cannot complete login"), "invalid_login", "vCenter vc.example:8443 refused the login of user admin"),
    (ssl.SSLCertVerificationError(1, "certificate verify failed"), "tls",
     "The TLS certificate of vCenter vc.example:8443 could not be verified (certificate verify failed): give the CA that "
     "signed its certificate in ca_cert (or VMWARE_CA_CERT)"),
    (ssl.SSLError(1, "wrong version number"), "tls", "TLS with vCenter vc.example:8443 failed"),
    (ConnectionRefusedError(111, "Connection refused"), "unreachable", "Cannot reach vCenter vc.example:8443: Connection refused"),
])
def test_connect_errors_are_explained_without_the_password(error, reason, text):
    with pytest.raises(ConnectionFailed) as caught:
        vcenter_client.connect(SETTINGS, smart_connect=raising(error))
    assert text in caught.value.message and caught.value.facts["reason"] == reason
    assert "S3cret!" not in str(caught.value.to_fail_kwargs())


def test_connect_refuses_missing_options_before_connecting():
    with pytest.raises(ConnectionFailed, match="Missing vCenter connection options: hostname \\(or VMWARE_HOST\\), password"):
        vcenter_client.connect(VCenterSettings(username="admin"), smart_connect=raising(AssertionError("must not connect")))


def test_connect_passes_settings_and_returns_a_client():
    seen = {}
    stub = FakeStub({})
    stub.handlers["RetrieveServiceContent"] = lambda mo, args: content_for(stub)

    def smart_connect(**kwargs):
        seen.update(kwargs)
        return vim.ServiceInstance("ServiceInstance", stub)
    client = vcenter_client.connect(SETTINGS, smart_connect=smart_connect)
    assert isinstance(client, vcenter_client.VCenterClient)
    assert (seen["host"], seen["port"], seen["user"], seen["pwd"]) == ("vc.example", 8443, "admin", "S3cret!")
    assert seen["sslContext"].verify_mode == ssl.CERT_REQUIRED


def test_ssl_context_follows_validate_certs_and_ca_cert():
    unverified = vcenter_client.ssl_context(VCenterSettings(validate_certs=False, ca_cert="/nonexistent.pem"))
    assert unverified.verify_mode == ssl.CERT_NONE and unverified.check_hostname is False
    private = vcenter_client.ssl_context(VCenterSettings(ca_cert=certifi.where()))
    assert private.verify_mode == ssl.CERT_REQUIRED and private.check_hostname is True and private.cert_store_stats()["x509_ca"] > 0
    with pytest.raises(OSError):
        vcenter_client.ssl_context(VCenterSettings(ca_cert="/nonexistent.pem"))


def test_read_extra_config_is_one_view_and_one_retrieval_and_keeps_only_the_key_asked():
    handlers = {}

    def retrieve(mo, args):
        handlers["specs"] = args
        options = vim.option.OptionValue.Array([vim.option.OptionValue(key="cloud.vm.internal.name", value="i-2-4-VM"),
                                                vim.option.OptionValue(key="govcsim", value="TRUE")])
        return PC.RetrieveResult(objects=[
            obj(vim.VirtualMachine("vm-4", mo._stub), config__extraConfig=options),
            obj(vim.VirtualMachine("vm-5", mo._stub), config__extraConfig=vim.option.OptionValue.Array([
                vim.option.OptionValue(key="cloud.vm.internal.name", value="")])),
            obj(vim.VirtualMachine("vm-6", mo._stub))])

    handlers.update(CreateContainerView=lambda mo, args: vim.view.ContainerView("session[1]view-1", mo._stub),
                    RetrievePropertiesEx=retrieve, DestroyView=lambda mo, args: None)
    client, stub = make_client(handlers)
    assert client.read_extra_config("cloud.vm.internal.name") == {"vm-4": "i-2-4-VM"}
    assert [name for name, moid in stub.calls] == ["RetrieveServiceContent", "CreateContainerView", "RetrievePropertiesEx",
                                                   "DestroyView"]
    assert [list(prop.pathSet) for prop in handlers["specs"][0][0].propSet] == [["config.extraConfig"]]


class Outage:
    """A vCenter restarting: ``answers`` is what each RetrievePropertiesEx meets (an exception, or a page)."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.logins = 0

    def handlers(self):
        handlers = inventory_handlers()
        paged = handlers["RetrievePropertiesEx"]

        def retrieve(mo, args):
            answer = self.answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return paged(mo, args)
        handlers["RetrievePropertiesEx"] = retrieve
        return handlers

    def client(self, **options):
        stub = FakeStub(self.handlers())
        stub.handlers["RetrieveServiceContent"] = lambda mo, args: content_for(stub)

        def login():
            self.logins += 1
            return vim.ServiceInstance("ServiceInstance", stub)
        return vcenter_client.VCenterClient(login(), login=login, where="vc.example:443", sleep=lambda seconds: None, **options), stub


def test_a_read_rides_through_a_vcenter_restart_503_then_a_lost_session():
    outage = Outage([HTTPException("503 Service Unavailable"), ConnectionResetError(104, "reset by peer"),
                     vim.fault.NotAuthenticated(msg="The session is not authenticated."), "page"])
    client = outage.client()[0]
    inventory = client.read_inventory()
    assert [vm["name"] for vm in inventory["vms"]] == ["web", "orphan"]
    assert outage.logins == 2, "one login at the start, one after vCenter forgot the session"


def test_a_vcenter_that_stays_down_fails_once_with_the_facts_then_at_once():
    ticks = iter(range(0, 10000, 50))
    outage = Outage([HTTPException("503 Service Unavailable")] * 30)
    client = outage.client(clock=lambda: float(next(ticks)), outage_seconds=300)[0]
    with pytest.raises(ConnectionFailed, match="Failed to read the vCenter inventory: vCenter vc.example:443 did not answer "
                                               "for [0-9]+ s \\(last: 503 Service Unavailable\\)") as caught:
        client.read_inventory()
    assert caught.value.facts == {"vcenter": "vc.example:443", "reason": "unavailable"}
    left = len(outage.answers)
    with pytest.raises(ConnectionFailed, match="vCenter vc.example:443 is unavailable"):
        client.read_inventory()
    assert len(outage.answers) == left - 1, "after one outage wait, later reads try once"


def test_a_fault_is_not_an_outage():
    outage = Outage([vim.fault.NoPermission(msg="Permission to perform this operation was denied.")])
    with pytest.raises(VCenterError, match="Permission to perform this operation was denied"):
        outage.client()[0].read_inventory()
    assert outage.logins == 1


def test_connect_waits_for_a_vcenter_that_answers_503_while_it_starts():
    stub = FakeStub({})
    stub.handlers["RetrieveServiceContent"] = lambda mo, args: content_for(stub)
    attempts = []

    def smart_connect(**kwargs):
        attempts.append(kwargs)
        if len(attempts) < 3:
            raise Exception("vc.example:8443 is down or is not a VIM server")  # pylint: disable=broad-exception-raised
        return vim.ServiceInstance("ServiceInstance", stub)
    client = vcenter_client.connect(SETTINGS, smart_connect=smart_connect, probe=lambda settings: 503, sleep=lambda s: None)
    assert isinstance(client, vcenter_client.VCenterClient) and len(attempts) == 3


@pytest.mark.parametrize("status", [404, None])
def test_connect_to_something_that_is_no_vcenter_fails_at_once(status):
    attempts = []

    def smart_connect(**kwargs):
        attempts.append(kwargs)
        raise Exception("vc.example:8443 is down or is not a VIM server")  # pylint: disable=broad-exception-raised
    with pytest.raises(ConnectionFailed, match="vCenter vc.example:8443 does not answer as a vSphere API: check that "
                                               "hostname and port are vCenter's HTTPS API") as caught:
        vcenter_client.connect(SETTINGS, smart_connect=smart_connect, probe=lambda settings: status, sleep=lambda s: None)
    assert len(attempts) == 1 and caught.value.facts["reason"] == "not_vcenter"


def test_read_vms_reads_those_vms_alone_in_one_retrieval():
    seen = []

    def retrieve(mo, args):
        seen.append(args[0][0])
        first = inventory_objects(mo._stub)[0][0]  # the VM "web" (vm-34)
        return PC.RetrieveResult(objects=[first])
    client, stub = make_client({"RetrievePropertiesEx": retrieve})
    vms = client.read_vms(["vm-34"], {"host-1": "esx-1.lab"}, {101: "cloud.vm.internal.name"})
    assert [(vm["moid"], vm["internal_name"], vm["host"]) for vm in vms] == [("vm-34", "i-2-34-VM", "esx-1.lab")]
    assert [name for name, moid in stub.calls] == ["RetrieveServiceContent", "RetrievePropertiesEx"]
    assert [spec.obj._moId for spec in seen[0].objectSet] == ["vm-34"]
    assert client.read_vms(["vm-34", "vm-99"], {}, {}) is None, "a VM gone from vCenter: the caller reads it all again"


def test_read_vm_identities_leaves_devices_and_snapshots_out_of_the_retrieval():
    handlers = inventory_handlers()
    specs = []
    retrieve = handlers["RetrievePropertiesEx"]

    def recording(mo, args):
        specs.append(args[0][0])
        return retrieve(mo, args)
    handlers["RetrievePropertiesEx"] = recording
    client, unused_stub = make_client(handlers)
    inventory = client.read_vm_identities()
    vm_paths = next(prop.pathSet for prop in specs[0].propSet if prop.type is vim.VirtualMachine)
    assert "config.hardware.device" not in vm_paths and "snapshot" not in vm_paths and "name" in vm_paths
    web = inventory["vms"][0]
    assert (web["moid"], web["internal_name"], web["host"], web["disks"], web["has_snapshots"]) == (
        "vm-34", "i-2-34-VM", "esx-1.lab", None, None), "unread details are None, never an empty list"
