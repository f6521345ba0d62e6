#!/usr/bin/env bash
# Run the whole test suite, installing what it needs first: the desktop stack's Debian
# packages (when root; otherwise it says what is missing) and .venv with the test extras.
# Arguments go to pytest:  ./test.sh -k policy   ./test.sh -x
set -euo pipefail
cd "$(dirname "$0")"
py=${PYTHON:-python3}
venv=.venv
stamp=$venv/.installed-test

if [[ $(uname -s) == Linux ]]; then
    bash .ci/install-desktop.sh || [[ -z ${CI:-} ]] || exit 1
fi
[[ -x $venv/bin/python ]] || "$py" -m venv "$venv"
if [[ ! -f $stamp || pyproject.toml -nt $stamp ]]; then
    echo "test.sh: installing the project and its test extras into $venv..." >&2
    "$venv/bin/python" -m pip install -q --upgrade pip >&2
    extras=test
    [[ $(uname -s) == Linux ]] && extras=test,gtk
    "$venv/bin/python" -m pip install -q -e ".[$extras]" >&2
    touch "$stamp"
fi
set +e
"$venv/bin/python" -m pytest "$@"
status=$?
set -e
if [[ $status -eq 5 ]]; then
    echo "test.sh: pytest collected no tests: that is a failure" >&2
    exit 1
fi
exit $status
