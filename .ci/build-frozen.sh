#!/usr/bin/env bash
# CI, after the test suite: build the frozen one-folder app once and smoke-test that build
# (tests/test_frozen.py: --version, --selftest, `check --json` against a local page, and the
# frozen tray on the virtual desktop). Uses the .venv that ./test.sh made (it has the test
# and gtk extras; PyGObject gets bundled so the tray has real menus) and adds PyInstaller.
# On Debian/Ubuntu it packages that build as a .deb too (.ci/test-deb.sh installs it).
#
# Usage: bash .ci/build-frozen.sh      (from anywhere; about a minute on a warm .venv)
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
py=.venv/bin/python
if [[ ! -x $py ]]; then
    echo "build-frozen: $py is missing: run ./test.sh first (it creates .venv)" >&2
    exit 1
fi

echo "build-frozen: installing the build extra (PyInstaller) into .venv"
"$py" -m pip install -q -e '.[build]'

gi=auto
deb=()
if [[ $(uname -s) == Linux ]]; then
    gi=1  # Linux: bundling PyGObject is required, not optional
    command -v dpkg-deb >/dev/null && deb=(--deb)  # the .deb that .ci/test-deb.sh installs
fi
"$py" build/build.py --onefolder-only --gi "$gi" ${deb[@]+"${deb[@]}"}

binary=dist/claude-status-tray/claude-status-tray
set +e
CST_FROZEN=$binary "$py" -m pytest -q -p no:cacheprovider tests/test_frozen.py
status=$?
set -e
if [[ $status -eq 5 ]]; then
    echo "build-frozen: pytest collected no tests: that is a failure" >&2
    status=1
fi
echo "build-frozen: done in $((SECONDS - started)) s (exit $status)"
exit $status
