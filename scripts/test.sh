#!/usr/bin/env bash
# Every test and check that CI runs, after the set-up of scripts/setup.sh.
# Usage: scripts/test.sh [step ...]   (steps: pytest sanity lint docs changelog shellcheck build molecule ee)
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
    # Unit tests, the lab's own tests, the modules' tests against the lab and the campaign. The generated plans with
    # mistakes and the campaign's schedules run fixed seeded slices here (each is one or more ansible-playbook runs);
    # the full runs: docs/development.md and docs/reliability.md.
    (cd "$repo" && PLAN_MISTAKES_PLANS="${PLAN_MISTAKES_PLANS:-10}" CAMPAIGN_SCHEDULES="${CAMPAIGN_SCHEDULES:-10}" \
        python -m pytest -n "${PYTEST_WORKERS:-2}" --dist loadfile -p no:cacheprovider --durations=15)
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
    # The tarball holds only what runs from an installed copy; installed into an empty collections path,
    # it verifies offline and runs migrate_volumes and audit_drift against a lab of its own.
    "$repo/scripts/installed_copy_check.sh"
}

step_molecule() {
    # Every scenario of extensions/molecule, two at a time (each brings its own lab up and down, so they
    # share nothing); each one's output is printed when it ends; all run even if one fails.
    local logs scenario name status=0 running=0
    logs=$(mktemp -d)
    run_scenario() {
        (cd "$repo" && molecule test --scenario-name "$1") >"$logs/$1.log" 2>&1
        echo $? >"$logs/$1.rc"
        cat "$logs/$1.log"
    }
    for scenario in "$repo"/extensions/molecule/*/molecule.yml; do
        name=$(basename "$(dirname "$scenario")")
        if [ "$running" -ge 2 ]; then
            wait -n
            running=$((running - 1))
        fi
        run_scenario "$name" &
        running=$((running + 1))
    done
    wait
    for scenario in "$logs"/*.rc; do
        name=$(basename "$scenario" .rc)
        if [ "$(cat "$scenario")" = 0 ]; then
            echo "molecule scenario $name: passed"
        else
            echo "molecule scenario $name: FAILED (its output is above)"
            status=1
        fi
    done
    rm -rf "$logs"
    return $status
}

step_ee() {
    # The execution environment's build context (no container engine here, so no image build): the collection's
    # version is written once (galaxy.yml); the definition pins its base image and installs the one tarball the
    # build made, whatever its version; the collection declares pyvmomi and cs.
    local work status
    work=$(mktemp -d)
    (
        set -euo pipefail
        cd "$repo"
        version=$(python -c 'import yaml; print(yaml.safe_load(open("galaxy.yml"))["version"])')
        tarball="cloudstack_vmware-safe_migration-$version.tar.gz"
        if grep -n -F "$version" execution-environment.yml; then
            echo "execution-environment.yml repeats the version of galaxy.yml ($version): take it from the tarball instead" >&2
            exit 1
        fi
        # Pinned: a digest, or a tag other than latest (after the last "/", so a registry port is no tag).
        python - <<'PYTHON'
import sys, yaml
name = yaml.safe_load(open("execution-environment.yml"))["images"]["base_image"]["name"]
last = name.rsplit("/", 1)[-1]
tag = last.split(":", 1)[1] if ":" in last else None
if "@sha256:" not in name and tag in (None, "", "latest"):
    sys.exit("the base image %s is not pinned (no tag, or :latest): pin a tag or a digest" % name)
PYTHON
        mkdir "$work/definition"
        cp execution-environment.yml "$work/definition/"
        ansible-galaxy collection build --output-path "$work/definition/dist" >/dev/null
        ansible-builder create -f "$work/definition/execution-environment.yml" -c "$work/context" --output-filename Containerfile
        test -s "$work/context/_build/collection/$tarball"
        grep -q "ansible-galaxy collection install .*-r requirements.yml" "$work/context/Containerfile"
        grep -q "mv /tmp/collection/cloudstack_vmware-safe_migration-\*.tar.gz /build/collections/cloudstack_vmware-safe_migration.tar.gz" \
            "$work/context/Containerfile"
        grep -q "/build/collections/cloudstack_vmware-safe_migration.tar.gz" "$work/context/_build/requirements.yml"
        grep -q "introspect.py introspect" "$work/context/Containerfile"
        ansible-galaxy collection install --offline --force -p "$work/installed" "$work/definition/dist/$tarball" >/dev/null 2>&1
        ansible-builder introspect --sanitize "$work/installed" 2>/dev/null >"$work/introspect.txt"
        grep -q "^- 'pyvmomi" "$work/introspect.txt" && grep -q "^- 'cs" "$work/introspect.txt"
    )
    status=$?
    rm -rf "$work"
    return $status
}

"$repo/scripts/setup.sh" || { echo "checks: 0 passed, 1 failed: setup"; exit 1; }

steps=("$@")
[ "${#steps[@]}" -gt 0 ] || steps=(pytest sanity lint docs changelog shellcheck build molecule ee)
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
