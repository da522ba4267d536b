#!/usr/bin/env bash
# Every test and check that CI runs, after the set-up of scripts/setup.sh.
# Usage: scripts/test.sh [step ...]   (steps: pytest sanity lint docs changelog shellcheck build)
# Runs every step even when one fails, then prints one line "checks: N passed, N failed".
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="$repo/.venv"
export PATH="$venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$venv/collections"
export PYTHONPATH="$venv/collections${PYTHONPATH:+:$PYTHONPATH}"
# The pyenv shims that interpreter discovery finds on these machines do not work.
export ANSIBLE_PYTHON_INTERPRETER="$venv/bin/python"

step_pytest() {
    # Unit tests, the lab's own tests and the modules' tests against the lab.
    (cd "$repo" && python -m pytest -n 2 --dist loadfile -p no:cacheprovider)
}

step_sanity() {
    "$repo/scripts/sanity.sh"
}

step_lint() {
    (cd "$repo" && ansible-lint --offline --profile production)
}

step_docs() {
    (cd "$repo" && antsibull-docs lint-collection-docs --plugin-docs .)
}

step_changelog() {
    (cd "$repo" && antsibull-changelog lint)
}

step_shellcheck() {
    (cd "$repo" && shellcheck scripts/*.sh .ci/run)
}

step_build() {
    # The collection builds, installs and verifies offline, without the lab or the dev tools,
    # and without seeing the working tree that .venv/collections links to.
    local out
    out=$(mktemp -d)
    (cd "$repo" && ansible-galaxy collection build --force --output-path "$out" >/dev/null) &&
        ! tar -tzf "$out"/*.tar.gz | grep -E '^(tests/lab|bench|scripts|\.ci|\.lab|\.venv)/' &&
        (export ANSIBLE_COLLECTIONS_PATH="$out/installed" PYTHONPATH="" &&
            ansible-galaxy collection install --offline -p "$out/installed" "$out"/*.tar.gz >/dev/null &&
            ansible-galaxy collection verify --offline -p "$out/installed" cloudstack_vmware.safe_migration >/dev/null &&
            ansible-doc -t module cloudstack_vmware.safe_migration.cs_volume_migrate_safe >/dev/null)
    local status=$?
    rm -rf "$out"
    return $status
}

"$repo/scripts/setup.sh" || { echo "checks: 0 passed, 1 failed: setup"; exit 1; }

steps=("$@")
[ "${#steps[@]}" -gt 0 ] || steps=(pytest sanity lint docs changelog shellcheck build)
passed=0
failed=()
for step in "${steps[@]}"; do
    printf '\n\033[1m==> %s\033[0m\n' "$step"
    start=$SECONDS
    if "step_$step"; then
        passed=$((passed + 1))
        echo "--- $step: passed in $((SECONDS - start)) s"
    else
        failed+=("$step")
        echo "--- $step: FAILED in $((SECONDS - start)) s"
    fi
done

echo
[ "${#failed[@]}" -eq 0 ] || echo "failed steps: ${failed[*]}"
echo "checks: $passed passed, ${#failed[@]} failed"
[ "${#failed[@]}" -eq 0 ]
