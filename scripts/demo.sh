#!/usr/bin/env bash
# The README's main command: set up what is missing, bring the lab up (or reset it when it already
# runs), then show why this collection exists (tests/lab/demo.py): a VM removed from vCenter stops the
# playbook at preflight with nothing changed, the rest migrates and is verified, and a plain
# migrateVolume on the removed VM's volume reports success although nothing moved.
# Exit 0 when every step went as expected. The lab keeps running: ./scripts/lab.sh down stops it.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
python="$repo/.venv/bin/python"

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }

"$repo/scripts/setup.sh"

status=$("$python" "$repo/tests/lab/labctl.py" status)
if grep -q '"vcsim": true' <<<"$status" && grep -q '"simulator": true' <<<"$status"; then
    log "The lab runs: resetting it (fresh vCenter inventory, seeded records)"
    "$python" "$repo/tests/lab/labctl.py" reset
else
    log "Bringing the lab up (vcsim + the CloudStack simulator, behaviour legacy)"
    "$python" "$repo/tests/lab/labctl.py" down >/dev/null 2>&1 || true
    "$python" "$repo/tests/lab/labctl.py" up
fi

log "The demo"
cd "$repo"
exec "$python" "$repo/tests/lab/demo.py"
