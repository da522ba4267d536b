"""pytest plugin: the lab (vcsim + the CloudStack simulator) for tests that need it.

    pytest_plugins = ["lab.fixtures"]

`lab` (session): brought up in a temporary lab dir, brought down at the end.
`fresh_lab` (function): the same lab, reset first (fresh vcsim, seeded records re-deployed).
`zones_lab` (session) and `two_zones` (function, reset first): a lab of two zones on two vCenters.
"""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import cs
import pytest

from lab import labctl
from lab.cloudstack_sim.vmware_backend import VMwareBackend

DEFAULT_OPTIONS = {"behaviour": "legacy", "vcenter_delay_ms": 0, "job_seconds": 0.05, "clusters": 2,
                   "hosts_per_cluster": 2, "pools": None, "vms": None, "data_disks_per_vm": None,
                   "detached_volumes": None}


class Lab:
    """A running lab: its environment, clients for both sides, and the control interface."""

    def __init__(self, lab_dir, env):
        self.lab_dir = Path(lab_dir)
        self.env = dict(env)
        self.timings = {}
        self._zone_backends = {}
        self.vsphere = VMwareBackend(env["VMWARE_HOST"], int(env["VMWARE_PORT"]), env["VMWARE_USER"],
                                     env["VMWARE_PASSWORD"], ca_file=env["VMWARE_CA_CERT"],
                                     datastore_root=self.lab_dir / "datastores")
        self.vsphere.reconnect()

    @classmethod
    def up(cls, lab_dir, **options):
        started = time.monotonic()
        env = labctl.up(lab_dir, {**DEFAULT_OPTIONS, **options})
        lab = cls(lab_dir, env)
        lab.timings["up"] = time.monotonic() - started
        return lab

    def down(self):
        self.vsphere.close()
        for backend in self._zone_backends.values():
            backend.close()
        labctl.down(self.lab_dir)

    def reset(self):
        """Fresh vcsim on the same port, records restored and deployed again, our vSphere session renewed."""
        started = time.monotonic()
        labctl.reset(self.lab_dir)
        self.vsphere.reconnect()
        self.timings["reset"] = time.monotonic() - started
        return self

    # ---- CloudStack side -----------------------------------------------------------------

    def _client(self, key, secret, **options):
        options = {"fetch_result": True, "poll_interval": 0.05, "job_timeout": 60, **options}
        return cs.CloudStack(self.env["CLOUDSTACK_ENDPOINT"], key, secret, **options)

    def admin(self, **options):
        return self._client(self.env["CLOUDSTACK_KEY"], self.env["CLOUDSTACK_SECRET"], **options)

    def user(self, **options):
        return self._client(self.env["LAB_USER_KEY"], self.env["LAB_USER_SECRET"], **options)

    def control(self, action, **payload):
        return labctl.control(self.env["LAB_CONTROL_URL"], action, payload)

    def restart_simulator(self, down_seconds=0.0):
        """The management server crashes and starts again on the same ports (docs/lab.md); the job log it kept
        in memory before the crash is returned, as the new process starts an empty one."""
        with urllib.request.urlopen("%s/control/job_log" % self.env["LAB_CONTROL_URL"], timeout=30) as response:
            before = json.loads(response.read().decode())
        labctl.restart_simulator(self.lab_dir, down_seconds)
        return before

    def restart_vcenter(self, seconds):
        """vCenter restarting: sessions ended, then 503 for ``seconds`` (the lab's own session is kept)."""
        return self.vsphere.restart_vcenter(seconds)

    def records(self):
        """Volume rows as the simulator's database holds them, by volume uuid."""
        url = "%s/control/volumes" % self.env["LAB_CONTROL_URL"]
        with urllib.request.urlopen(url, timeout=30) as response:
            rows = json.loads(response.read().decode())["volumes"]
        return {row["id"]: row for row in rows if row["id"]}

    # ---- vCenter side --------------------------------------------------------------------

    def vcenter_backend(self, zone_id):
        """A session on a zone's vCenter (the lab's own for zone 1), for tests that look at what it holds."""
        if zone_id == 1:
            return self.vsphere
        if zone_id not in self._zone_backends:
            vcenter = self._vcenter_of(zone_id)
            self._zone_backends[zone_id] = VMwareBackend(vcenter["hostname"], vcenter["port"], vcenter["username"],
                                                         vcenter["password"], ca_file=vcenter["ca_cert"],
                                                         datastore_root=self.lab_dir / "datastores")
        backend = self._zone_backends[zone_id]
        backend.reconnect()
        return backend

    def vcenters(self):
        """Each zone's vCenter as an entry of the ``vcenters`` option (zone 1's first)."""
        return [self._vcenter_of(zone_id) for zone_id in range(1, int(self.env.get("LAB_ZONES", "1")) + 1)]

    def _vcenter_of(self, zone_id):
        """A zone's vCenter as lab.env names it (VMWARE_*, with the suffix _ZONE<N> after the first zone)."""
        suffix = "" if zone_id == 1 else "_ZONE%d" % zone_id
        return {"hostname": self.env["VMWARE_HOST" + suffix], "port": int(self.env["VMWARE_PORT" + suffix]),
                "username": self.env["VMWARE_USER"], "password": self.env["VMWARE_PASSWORD" + suffix],
                "ca_cert": self.env["VMWARE_CA_CERT" + suffix]}

    def vmdk_locations(self, base_name):
        """Where base_name.vmdk really is, read from the datastore directories on disk."""
        return self.vsphere.vmdk_locations(base_name)


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    """The lab, up for the whole session in a temporary lab dir."""
    started = Lab.up(tmp_path_factory.mktemp("lab"))
    yield started
    started.down()


@pytest.fixture
def fresh_lab(lab):
    """The lab, reset before the test."""
    return lab.reset()


@pytest.fixture(scope="session")
def zones_lab(tmp_path_factory):
    """A lab of two zones on two vCenters (8 VMs and 4 NFS pools each), up for the session when a test asks."""
    started = Lab.up(tmp_path_factory.mktemp("zones"), zones=2, vms=8, pools=4)
    yield started
    started.down()


@pytest.fixture
def two_zones(zones_lab):
    """The two-zone lab, reset before the test."""
    return zones_lab.reset()
