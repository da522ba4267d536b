#!/usr/bin/env bash
# Set up everything the demo and the tests need on a fresh Debian/Ubuntu machine:
# apt packages when missing, a virtualenv in .venv, the collection tree, the lab's vcsim.
# Idempotent: a second run only checks.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="$repo/.venv"
apt_packages=(git golang-go golang-github-vmware-govmomi-dev shellcheck)

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }

install_apt_packages() {
    local missing=()
    for package in "${apt_packages[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    python3 -m venv --help >/dev/null 2>&1 || missing+=(python3-venv)
    [ "${#missing[@]}" -eq 0 ] && return 0
    log "Installing apt packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

check_python() {
    command -v python3 >/dev/null || { echo "python3 is missing: install python3 (3.11 or newer)" >&2; exit 1; }
    python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
        echo "python3 is $(python3 --version 2>&1); ansible-core 2.19 needs Python 3.11 or newer" >&2
        exit 1
    }
}

create_venv() {
    local stamp="$venv/.requirements.sha256"
    local wanted
    wanted=$(cat "$repo/requirements.txt" "$repo/requirements-dev.txt" | sha256sum | cut -d' ' -f1)
    if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$wanted" ]; then
        return 0
    fi
    log "Creating the virtualenv in .venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$repo/requirements-dev.txt" 2>&1 | grep -v '^WARNING: Location' || true
    "$venv/bin/pip" check >/dev/null
    echo "$wanted" >"$stamp"
}

link_collection() {
    # Ansible finds the collection through ANSIBLE_COLLECTIONS_PATH=.venv/collections.
    local parent="$venv/collections/ansible_collections/cloudstack_vmware"
    mkdir -p "$parent"
    ln -sfn "$repo" "$parent/safe_migration"
}

build_vcsim() {
    log "Building vcsim (cached)"
    PYTHONPATH="$repo/tests" "$venv/bin/python" -m lab.vcsim_process build
}

install_apt_packages
check_python
create_venv
link_collection
build_vcsim
log "Set-up complete"
