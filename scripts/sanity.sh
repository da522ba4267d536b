#!/usr/bin/env bash
# ansible-test sanity on a physical copy of the collection (ansible-test refuses symlinked trees), once per
# Python the collection supports (tests/config.yml: the controller Pythons of ansible-core 2.19), with the
# offline workarounds of docs/development.md: every test on the first, the version-dependent ones (compile, import)
# on the others. A Python that is missing fails the run: nothing is skipped.
#
#   scripts/sanity.sh                          # every supported Python
#   SANITY_PYTHONS="3.12" scripts/sanity.sh    # only some
#   scripts/sanity.sh --test pylint            # extra arguments go to ansible-test sanity
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The development virtualenv's tools (scripts/setup.sh), else those on PATH (e.g. from a git worktree).
tools="$repo/.venv/bin"
[ -x "$tools/ansible-test" ] || tools=$(dirname "$(command -v ansible-test || echo /nonexistent/ansible-test)")
[ -x "$tools/ansible-test" ] || { echo "sanity: ansible-test not found (run scripts/setup.sh)" >&2; exit 1; }
# The controller Pythons of ansible-core 2.19 (what tests/config.yml's "python_requires: controller" claims).
read -r -a pythons <<<"${SANITY_PYTHONS:-3.11 3.12 3.13}"

# The interpreters: python3.X on PATH, else pyenv's build (not on PATH by default: its shims are broken here).
python_dirs=""
for version in "${pythons[@]}"; do
    found=""
    for candidate in "$HOME"/.pyenv/versions/"$version".*/bin /usr/local/bin /usr/bin; do
        if [ -x "$candidate/python$version" ] && "$candidate/python$version" -c 'import ensurepip, venv' 2>/dev/null; then
            found=$candidate
            break
        fi
    done
    if [ -z "$found" ]; then
        echo "sanity: no usable python$version (with ensurepip and venv) on this machine; install it (pyenv install $version," \
             "or the distribution's python$version and python$version-venv) or narrow SANITY_PYTHONS" >&2
        exit 1
    fi
    python_dirs="$python_dirs$found:"
done

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
status=0
timings=""
first=${pythons[0]}
for version in "${pythons[@]}"; do
    # Every test on the first Python; on the others, the tests whose outcome depends on the Python version
    # (compile and import: the others give the same answer whatever Python runs them), unless tests were given.
    selection=("$@")
    if [ "$version" != "$first" ] && [ ${#selection[@]} -eq 0 ]; then
        selection=(--test compile --test import)
    fi
    echo "==> ansible-test sanity, Python $version ${selection[*]}"
    start=$(date +%s)
    if PATH="$tools:$python_dirs$PATH" ansible-test sanity --venv --python "$version" --color no "${selection[@]}"; then
        result=passed
    else
        result=failed
        status=1
    fi
    timings="$timings  Python $version: $result in $(($(date +%s) - start)) s"$'\n'
done
printf 'sanity per Python:\n%s' "$timings"
exit $status
