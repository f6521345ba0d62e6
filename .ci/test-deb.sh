#!/usr/bin/env bash
# CI, after .ci/build-frozen.sh: install the Debian package it built with apt-get, run the
# installed command (--version, --selftest, `check --json` against a loopback page), then
# remove it and check that nothing is left (tests/test_deb.py). Needs root and dpkg.
#
# Usage: bash .ci/test-deb.sh      (from anywhere; a few seconds)
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
py=.venv/bin/python
version=$("$py" -c 'import tray_app; print(tray_app.__version__)')
deb=dist/claude-status-tray_${version}_$(dpkg --print-architecture).deb
if [[ ! -f $deb ]]; then
    echo "test-deb: $deb is missing: run .ci/build-frozen.sh first (build.py --deb)" >&2
    exit 1
fi
set +e
CST_DEB=$deb "$py" -m pytest -q -p no:cacheprovider tests/test_deb.py
status=$?
set -e
if [[ $status -eq 5 ]]; then
    echo "test-deb: pytest collected no tests: that is a failure" >&2
    status=1
fi
echo "test-deb: done in $((SECONDS - started)) s (exit $status)"
exit $status
