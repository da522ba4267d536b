"""Fixtures for the lab's own tests: a real vcsim, started here, reset by restarting it."""

from __future__ import annotations

import pytest

from lab.cloudstack_sim.vmware_backend import VMwareBackend
from lab.vcsim_process import VcsimProcess, build_vcsim

CLUSTER = "DC0_C0"


@pytest.fixture(scope="session")
def vcsim_binary(tmp_path_factory):
    return build_vcsim(tmp_path_factory.mktemp("vcsim-build"))


@pytest.fixture(scope="session")
def vcsim(tmp_path_factory, vcsim_binary):
    """One HTTPS vcsim (1 cluster of 2 hosts) for the session."""
    process = VcsimProcess(tmp_path_factory.mktemp("vcsim-lab"), binary=vcsim_binary, use_tls=True,
                           clusters=1, hosts_per_cluster=2).start()
    yield process
    process.stop()


@pytest.fixture
def fresh_vcsim(vcsim):
    """vcsim restarted on the same port: an empty inventory for each test."""
    return vcsim.restart()


@pytest.fixture
def backend(fresh_vcsim, tmp_path):
    """A VMwareBackend on a fresh vcsim, with two cluster-wide datastores (pool UUIDs without dashes)."""
    vmware = VMwareBackend(fresh_vcsim.host, fresh_vcsim.port, "administrator@vsphere.local", "lab-password",
                           ca_file=str(fresh_vcsim.ca_file), datastore_root=tmp_path / "datastores")
    vmware.reconnect()
    vmware.create_datastore("aaaa1111", CLUSTER, cloud_uuid="aaaa1111-0000")
    vmware.create_datastore("bbbb2222", CLUSTER, cloud_uuid="bbbb2222-0000")
    yield vmware
    vmware.close()


@pytest.fixture
def host_names(backend):
    return [h["name"] for h in backend.topology()["clusters"][0]["hosts"]]
