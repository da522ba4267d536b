#!/usr/bin/env bash
# ansible-test sanity on a physical copy of the collection (ansible-test refuses symlinked
# trees), with the offline workarounds of docs/development.md.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="$repo/.venv"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tree="$work/ansible_collections/cloudstack_vmware/safe_migration"
mkdir -p "$tree"

# The files git knows about, as they are in the working tree.
(cd "$repo" && git ls-files -z -co --exclude-standard | tar --null -T - -cf - 2>/dev/null) | tar -xf - -C "$tree"
(cd "$tree" && git init -q && git add -A >/dev/null)

# ansible-test bootstraps pip in each venv it makes by downloading get-pip, which this
# network cannot reach: give it a local bootstrapper built on ensurepip.
cache="$HOME/.ansible/test/cache"
mkdir -p "$cache"
for version in 24_2 25_0 25_1; do
    cp "$repo/scripts/get_pip_offline.py" "$cache/get_pip_$version.py"
done

cd "$tree"
PATH="$venv/bin:$PATH" ansible-test sanity --venv --python 3.11 --color no "$@"
