#!/usr/bin/env bash
# Run the whole test suite, installing what it needs first: the desktop stack's Debian
# packages (when root; otherwise it says what is missing) and .venv with the test extras.
# Arguments go to pytest:  ./test.sh -k policy   ./test.sh -x
# Runs on Linux, macOS and Windows (Git Bash: the venv's python is .venv/Scripts/python.exe).
set -euo pipefail
cd "$(dirname "$0")"
venv=.venv
stamp=$venv/.installed-test

if [[ -n ${PYTHON:-} ]]; then
    py=$PYTHON
elif python3 -c '' >/dev/null 2>&1; then
    py=python3
else
    py=python  # Windows: python.org and GitHub's Pythons have no python3.exe
fi
vpy=$venv/bin/python
[[ -x $venv/Scripts/python.exe ]] && vpy=$venv/Scripts/python.exe

if [[ $(uname -s) == Linux ]]; then
    bash .ci/install-desktop.sh || [[ -z ${CI:-} ]] || exit 1
fi
if [[ ! -x $vpy ]]; then
    "$py" -m venv "$venv"
    vpy=$venv/bin/python
    [[ -x $venv/Scripts/python.exe ]] && vpy=$venv/Scripts/python.exe
fi
if [[ ! -f $stamp || pyproject.toml -nt $stamp ]]; then
    echo "test.sh: installing the project and its test extras into $venv..." >&2
    "$vpy" -m pip install -q --upgrade pip >&2
    extras=test
    [[ $(uname -s) == Linux ]] && extras=test,gtk
    "$vpy" -m pip install -q -e ".[$extras]" >&2
    touch "$stamp"
fi
set +e
"$vpy" -m pytest "$@"
status=$?
set -e
if [[ $status -eq 5 ]]; then
    echo "test.sh: pytest collected no tests: that is a failure" >&2
    exit 1
fi
exit $status
