#!/usr/bin/env bash
# Drive the lab (vcsim + the CloudStack simulator): up | down | status | env | reset [options].
# Options are passed to tests/lab/labctl.py (see `scripts/lab.sh up --help`).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[ -x "$repo/.venv/bin/python" ] || "$repo/scripts/setup.sh"
exec "$repo/.venv/bin/python" "$repo/tests/lab/labctl.py" "$@"
