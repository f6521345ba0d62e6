#!/usr/bin/env bash
# Run Claude Status Tray from this checkout: sets up .venv on first use, then starts the app.
# Any arguments go to the app:  ./run.sh --demo   ./run.sh check --json   ./run.sh watch
# Works in Git Bash on Windows too (the venv keeps its programs in .venv/Scripts there).
set -euo pipefail
cd "$(dirname "$0")"
venv=.venv
stamp=$venv/.installed-run
if [[ -n ${PYTHON:-} ]]; then
    py=$PYTHON
elif python3 -c '' >/dev/null 2>&1; then
    py=python3
else
    py=python  # Windows: python.org and GitHub's Pythons have no python3.exe
fi
bin=$venv/bin
[[ -d $venv/Scripts ]] && bin=$venv/Scripts

if [[ ! -x $bin/python && ! -x $bin/python.exe ]]; then
    # Reuse the system's PyGObject when there is one (real tray menus on Linux without
    # compiling anything): a venv with --system-site-packages sees it.
    flags=()
    if "$py" -c 'import gi' >/dev/null 2>&1; then flags+=(--system-site-packages); fi
    "$py" -m venv ${flags[@]+"${flags[@]}"} "$venv"  # bash 3.2 (macOS): empty arrays and -u
    [[ -d $venv/Scripts ]] && bin=$venv/Scripts
fi
if [[ ! -f $stamp || pyproject.toml -nt $stamp ]]; then
    echo "run.sh: installing Claude Status Tray into $venv (first run only)..." >&2
    "$bin/python" -m pip install -q --upgrade pip >&2
    "$bin/python" -m pip install -q -e . >&2
    if [[ $(uname -s) == Linux ]] && ! "$bin/python" -c 'import gi' >/dev/null 2>&1; then
        "$bin/python" -m pip install -q -e '.[gtk]' >&2 || echo "run.sh: note: PyGObject" \
            "could not be built (apt install libgirepository1.0-dev libcairo2-dev pkg-config," \
            "or your distro's python3-gi); the tray will work without a menu" >&2
    fi
    touch "$stamp"
fi
exec "$bin/claude-status-tray" "$@"
