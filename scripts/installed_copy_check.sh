#!/usr/bin/env bash
# The collection as shipped: build the tarball, install it into an empty collections path, and run the
# maintenance-window playbook and the drift audit from that installed copy against a lab of its own.
# Usage: scripts/installed_copy_check.sh   (after scripts/setup.sh; exits non-zero on any failure)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="$repo/.venv"
work=$(mktemp -d)
lab_dir="$work/lab"
cleanup() {
    "$venv/bin/python" "$repo/tests/lab/labctl.py" down --lab-dir "$lab_dir" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

(cd "$repo" && "$venv/bin/ansible-galaxy" collection build --force --output-path "$work/dist" >/dev/null)
tarball=$(ls "$work"/dist/*.tar.gz)
if tar -tzf "$tarball" | grep -E '^(tests/(lab|lab_tests|integration)|bench|scripts|\.ci|\.lab|\.venv|extensions/molecule)/|^(execution-environment\.yml|pytest\.ini|requirements-dev\.txt)$'; then
    echo "the tarball ships files that cannot run from an installed copy (listed above)" >&2
    exit 1
fi
export ANSIBLE_COLLECTIONS_PATH="$work/installed" PYTHONPATH="" ANSIBLE_HOME="$work/ansible-home"
"$venv/bin/ansible-galaxy" collection install --offline -p "$work/installed" "$tarball" >/dev/null
"$venv/bin/ansible-galaxy" collection verify --offline -p "$work/installed" cloudstack_vmware.safe_migration >/dev/null
"$venv/bin/ansible-doc" -t module cloudstack_vmware.safe_migration.cs_volume_migrate_safe >/dev/null

"$venv/bin/python" "$repo/tests/lab/labctl.py" up --lab-dir "$lab_dir" --job-seconds 0.05 >/dev/null
# shellcheck disable=SC1091
source "$lab_dir/lab.env"
# One DATADISK of a stopped VM, to another NFS pool of its cluster: the plan an operator would write.
"$venv/bin/python" - "$work/plan.yml" <<'PY'
import os, sys
import cs
import yaml
api = cs.CloudStack(os.environ["CLOUDSTACK_ENDPOINT"], os.environ["CLOUDSTACK_KEY"], os.environ["CLOUDSTACK_SECRET"])
pools = api.listStoragePools()["storagepool"]
vm = next(vm for vm in api.listVirtualMachines(listall=True, state="Stopped")["virtualmachine"] if vm["account"] == "admin")
volume = api.listVolumes(listall=True, virtualmachineid=vm["id"], type="DATADISK")["volume"][0]
destination = next(pool for pool in sorted(pools, key=lambda pool: pool["name"]) if pool["clusterid"] == volume["clusterid"]
                   and pool["id"] != volume["storageid"] and pool["type"] == "NetworkFilesystem")
plan = {"safe_migration_plan": [{"volume": volume["name"], "vm": vm["name"], "destination": destination["name"]}]}
with open(sys.argv[1], "w", encoding="utf-8") as handle:
    yaml.safe_dump(plan, handle)
PY
export ANSIBLE_PYTHON_INTERPRETER="$venv/bin/python" ANSIBLE_LOCALHOST_WARNING=0 ANSIBLE_INVENTORY_UNPARSED_WARNING=0
cd "$work"
"$venv/bin/ansible-playbook" cloudstack_vmware.safe_migration.migrate_volumes -e @"$work/plan.yml" \
    -e safe_migration_poll_interval=0.1 -e safe_migration_journal_path="$work/journal.jsonl" >"$work/migrate.log" 2>&1 ||
    { cat "$work/migrate.log"; echo "migrate_volumes from the installed copy failed" >&2; exit 1; }
"$venv/bin/python" -c 'import json, sys; report = json.load(open(sys.argv[1])); sys.exit(report["status"] != "succeeded")' \
    "$work/safe_migration_report/report.json" || { echo "the installed copy's report does not say succeeded" >&2; exit 1; }
"$venv/bin/ansible-playbook" cloudstack_vmware.safe_migration.audit_drift >"$work/audit.log" 2>&1 ||
    { cat "$work/audit.log"; echo "audit_drift from the installed copy failed" >&2; exit 1; }
echo "installed copy: tarball clean, migrate_volumes succeeded, audit_drift ran"
