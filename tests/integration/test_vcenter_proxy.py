"""proxy_host/proxy_port (VMWARE_PROXY_HOST/VMWARE_PROXY_PORT) take the vCenter connection through an HTTP proxy.

A CONNECT proxy on loopback relays to vcsim; vmware_inventory_assert runs through ansible-playbook with the proxy
options and must reach vCenter only through it, with TLS still end to end (vcsim's private CA is still needed).
"""

from __future__ import annotations

import select
import socket
import threading

import pytest

from integration.vcenter_lab import InventoryLab  # pylint: disable=import-error

pytestmark = pytest.mark.lab

MODULE = "vmware_inventory_assert"


class ConnectProxy:
    """A minimal HTTP CONNECT proxy on loopback that records where it was asked to tunnel to."""

    def __init__(self):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.tunnels = []
        self.running = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while self.running:
            try:
                client = self.listener.accept()[0]
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client):
        try:
            self._relay(client)
        except OSError:
            pass  # a side closed the tunnel: the relay ends with it

    def _relay(self, client):
        with client:
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = client.recv(4096)
                if not chunk:
                    return
                request += chunk
            method, target = request.split(b"\r\n", 1)[0].split(b" ")[:2]
            if method != b"CONNECT":
                client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                return
            host, port = target.decode().rsplit(":", 1)
            self.tunnels.append((host, int(port)))
            with socket.create_connection((host, int(port)), timeout=30) as upstream:
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                sockets = [client, upstream]
                while True:
                    readable = select.select(sockets, [], [], 60)[0]
                    if not readable:
                        return
                    for source in readable:
                        data = source.recv(65536)
                        if not data:
                            return
                        (upstream if source is client else client).sendall(data)

    def close(self):
        self.running = False
        self.listener.close()


@pytest.fixture(scope="module")
def vcenter(tmp_path_factory):
    lab = InventoryLab(tmp_path_factory.mktemp("vcenter-proxy-lab"))
    try:
        lab.start()
        yield lab
    finally:
        lab.stop()


@pytest.fixture
def proxy():
    started = ConnectProxy()
    yield started
    started.close()


def test_the_connection_goes_through_the_proxy_of_the_options(vcenter, proxy, module_runner):
    result = module_runner(MODULE, {"vms": [], "proxy_host": "127.0.0.1", "proxy_port": proxy.port}, vcenter.env())
    assert result.get("failed") is not True and result["ok"] is True, result.get("msg")
    assert proxy.tunnels and set(proxy.tunnels) == {(vcenter.vcsim.host, vcenter.vcsim.port)}


def test_the_proxy_variables_are_read_and_tls_stays_end_to_end(vcenter, proxy, module_runner):
    env = vcenter.env(VMWARE_PROXY_HOST="127.0.0.1", VMWARE_PROXY_PORT=str(proxy.port), VMWARE_CA_CERT="")
    result = module_runner(MODULE, {"vms": []}, env)
    # through the tunnel, vCenter's certificate is still checked: without its CA the task fails on it
    assert result["failed"] is True and result["reason"] == "tls", result.get("msg")
    assert "through the proxy 127.0.0.1:%d" % proxy.port in result["msg"]
    assert proxy.tunnels == [(vcenter.vcsim.host, vcenter.vcsim.port)]


def test_an_unreachable_proxy_is_named_in_the_failure(vcenter, module_runner):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    result = module_runner(MODULE, {"vms": [], "proxy_host": "127.0.0.1", "proxy_port": port}, vcenter.env())
    assert result["failed"] is True and result["reason"] == "unreachable"
    assert "through the proxy 127.0.0.1:%d" % port in result["msg"]
