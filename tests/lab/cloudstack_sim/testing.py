"""A small lab for the simulator's own tests: vcsim + the simulator, real `cs` clients, control calls."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import cs
import requests

from ..vcsim_process import VcsimProcess, build_vcsim
from .process import SimulatorProcess
from .vmware_backend import VMwareBackend


class SimLab:
    def __init__(self, root: Path, clusters: int = 2, hosts_per_cluster: int = 2, **options):
        self.root = Path(root)
        self.vcsim = VcsimProcess(self.root, binary=build_vcsim(self.root), clusters=clusters,
                                  hosts_per_cluster=hosts_per_cluster)
        self.options = options
        self.sim = None
        self.info = None

    def start(self) -> "SimLab":
        self.vcsim.start()
        url = urlsplit(self.vcsim.url)
        options = {"vcenter_host": url.hostname, "vcenter_port": url.port, "vcenter_ca_file": self.vcsim.ca_file,
                   "datastore_root": self.datastore_root, "job_seconds": 0.05, **self.options}
        self.sim = SimulatorProcess(self.root / "cloudstack", options)
        self.info = self.sim.start()
        return self

    def restart_simulator(self, kill: bool = False) -> None:
        self.sim.stop(kill=kill)
        self.info = self.sim.start()

    def reset(self) -> None:
        """As the lab does it: a fresh vcsim, then the simulator's reset (records restored, re-deployed)."""
        self.vcsim.stop()
        self.vcsim.start()
        self.control("reset")

    def stop(self) -> None:
        if self.sim:
            self.sim.stop()
        self.vcsim.stop()

    @property
    def datastore_root(self) -> Path:
        return self.root / "datastores"

    def module_env(self) -> dict:
        """The connection variables the collection's modules read, as the lab's lab.env gives them."""
        return {"CLOUDSTACK_ENDPOINT": self.info["endpoint"], "CLOUDSTACK_KEY": self.info["admin"]["key"],
                "CLOUDSTACK_SECRET": self.info["admin"]["secret"], "VMWARE_HOST": self.vcsim.host,
                "VMWARE_PORT": str(self.vcsim.port), "VMWARE_USER": "simlab", "VMWARE_PASSWORD": "simlab-password",
                "VMWARE_VALIDATE_CERTS": "true", "VMWARE_CA_CERT": str(self.vcsim.ca_file)}

    def client(self, who: str = "admin", **options) -> cs.CloudStack:
        keys = self.info[who]
        options = {"fetch_result": True, "poll_interval": 0.05, "job_timeout": 60, **options}
        return cs.CloudStack(self.info["endpoint"], keys["key"], keys["secret"], **options)

    def control(self, action: str, **payload) -> dict:
        response = requests.post(f"{self.info['control_url']}/control/{action}", json=payload, timeout=60)
        if response.status_code != 200:
            raise AssertionError(f"control {action} failed: {response.status_code} {response.text}")
        return response.json()

    def records(self) -> dict:
        """Volume rows as the database holds them, by volume uuid."""
        rows = requests.get(f"{self.info['control_url']}/control/volumes", timeout=30).json()["volumes"]
        return {row["id"]: row for row in rows if row["id"]}

    def vmdk_locations(self, base_name: str) -> list[str]:
        return VMwareBackend("127.0.0.1", 1, "u", "p", datastore_root=str(self.datastore_root)).vmdk_locations(base_name)
