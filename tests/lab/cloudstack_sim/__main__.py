"""python -m cloudstack_sim: serve the simulated CloudStack API until SIGTERM/SIGINT."""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path

from .app import BEHAVIOURS, Settings, Simulator
from .control import Control
from .seed import Scale, deploy, seed_accounts, seed_zone
from .server import ApiHandler, ControlHandler, serve
from .vmware_disks import VMwareDiskBackend


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="cloudstack_sim", description=__doc__)
    parser.add_argument("--listen", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    parser.add_argument("--control-port", type=int, default=0, help="0: a free port")
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--datastore-root", type=Path, help="directories behind vcsim's datastores (default STATE_DIR/datastores)")
    parser.add_argument("--vcenter-host")
    parser.add_argument("--vcenter-port", type=int, default=443)
    parser.add_argument("--vcenter-user", default="user")
    parser.add_argument("--vcenter-password", default=os.environ.get("CLOUDSTACK_SIM_VCENTER_PASSWORD", "pass"))
    parser.add_argument("--vcenter-ca-file")
    parser.add_argument("--zone-vcenter", action="append", default=[], metavar="HOST:PORT:CA_FILE",
                        help="the vCenter of zone 2, 3...; same user, password from CLOUDSTACK_SIM_VCENTER_PASSWORD_<zone>")
    parser.add_argument("--behaviour", choices=BEHAVIOURS, default="legacy")
    parser.add_argument("--job-seconds", type=float, default=0.5)
    parser.add_argument("--seed", choices=("default", "none"), default="default")
    scale = Scale()
    parser.add_argument("--clusters", type=int, default=scale.clusters)
    parser.add_argument("--hosts-per-cluster", type=int, default=scale.hosts_per_cluster)
    parser.add_argument("--pools", type=int, default=scale.pools)
    parser.add_argument("--vms", type=int, default=scale.vms)
    parser.add_argument("--data-disks-per-vm", type=int, default=scale.data_disks_per_vm)
    parser.add_argument("--detached-volumes", type=int, default=scale.detached_volumes)
    return parser.parse_args(argv)


def backend_factories(args) -> dict:
    """Zone id -> a function that makes that zone's connected backend; none without a vCenter. Every zone's
    datastores are directories of one root."""
    if not args.vcenter_host:
        return {}
    root = args.datastore_root or args.state_dir / "datastores"
    root.mkdir(parents=True, exist_ok=True)
    vcenters = [(args.vcenter_host, args.vcenter_port, args.vcenter_password, args.vcenter_ca_file)]
    for zone_id, spec in enumerate(args.zone_vcenter, start=2):
        host, port, ca_file = spec.split(":", 2)
        password = os.environ.get(f"CLOUDSTACK_SIM_VCENTER_PASSWORD_{zone_id}", args.vcenter_password)
        vcenters.append((host, int(port), password, ca_file or None))

    def maker(host, port, password, ca_file):
        def make():
            backend = VMwareDiskBackend(host, port, args.vcenter_user, password, ca_file=ca_file, datastore_root=str(root))
            backend.reconnect()
            return backend
        return make
    return {zone_id: maker(*vcenter) for zone_id, vcenter in enumerate(vcenters, start=1)}


def seed_if_new(sim: Simulator, args) -> None:
    """A new database is seeded (and deployed into vcsim) once; a restart keeps what it finds."""
    store = sim.store
    if store.is_seeded():
        return
    scale = Scale(args.clusters, args.hosts_per_cluster, args.pools, args.vms, args.data_disks_per_vm,
                  args.detached_volumes)
    with store.transaction():
        seed_accounts(store)
        if args.seed == "default":
            if sim.backend is None:
                raise SystemExit("--seed default needs --vcenter-host (or use --seed none)")
            for zone_id, backend in sorted(sim.backends.items()):
                seed_zone(store, backend.topology(), scale, zone_id)
        store.set_meta("seeded", True)
    if args.seed == "default":
        deploy(sim)
    store.snapshot(sim.snapshot_path)


def write_connection_file(sim: Simulator, api_server, control_server) -> dict:
    accounts = {row["role"]: row for row in sim.store.all("SELECT * FROM accounts")}
    host, port = api_server.server_address[:2]
    info = {"endpoint": f"http://{host}:{port}/client/api",
            "control_url": f"http://{control_server.server_address[0]}:{control_server.server_address[1]}",
            "admin": {"key": accounts["admin"]["api_key"], "secret": accounts["admin"]["secret"]},
            "user": {"key": accounts["user"]["api_key"], "secret": accounts["user"]["secret"]}}
    target = sim.settings.state_dir / "cloudstack.json"
    temporary = target.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(info, indent=2))
    os.chmod(temporary, 0o600)
    temporary.replace(target)
    return info


def main(argv=None) -> int:
    args = parse_args(argv)
    args.state_dir.mkdir(parents=True, exist_ok=True)
    settings = Settings(state_dir=args.state_dir, behaviour=args.behaviour, job_seconds=args.job_seconds, seed=args.seed)
    sim = Simulator(settings, backend_factories(args))
    seed_if_new(sim, args)
    api_server = serve(args.listen, args.port, ApiHandler, sim=sim)
    control_server = serve(args.listen, args.control_port, ControlHandler, control=Control(sim))
    info = write_connection_file(sim, api_server, control_server)
    print(f"READY endpoint={info['endpoint']} control_url={info['control_url']}", flush=True)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
    api_server.shutdown()
    control_server.shutdown()
    sim.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
