"""``pip install .`` from a checkout leaves the checkout as it was.

A copy of the tracked files (a git repository of its own) is built and installed by the real
pip, offline (``--no-build-isolation`` with the build backend from the test extras, no index);
then ``git status --porcelain --ignored`` must show nothing: no ``build/lib``, ``build/bdist.*``
(``build/`` holds the PyInstaller files) or ``*.egg-info``, as setuptools left before.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid", *args],
        cwd=cwd, capture_output=True, text=True, check=True, timeout=60,
    ).stdout


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a git checkout of the project")
    pytest.importorskip("flit_core", reason="the build backend comes with the test extras")
    tree = tmp_path / "checkout"
    for name in git("ls-files", "-z", cwd=ROOT).split("\0"):
        if name and (ROOT / name).is_file():
            (tree / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, tree / name)
    git("init", "-q", cwd=tree)
    git("add", "-A", cwd=tree)
    git("commit", "-q", "-m", "copy", cwd=tree)
    assert git("status", "--porcelain", "--ignored", cwd=tree) == ""
    return tree


def pip(*args: str, cwd: Path) -> None:
    env = dict(os.environ, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    proc = subprocess.run([sys.executable, "-m", "pip", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_pip_install_and_pip_wheel_leave_the_checkout_clean(checkout: Path,
                                                           tmp_path: Path) -> None:
    out, target = tmp_path / "wheels", tmp_path / "target"
    pip("wheel", "--no-deps", "--no-build-isolation", "-w", str(out), ".", cwd=checkout)
    pip("install", "--no-deps", "--no-build-isolation", "--target", str(target), ".",
        cwd=checkout)
    assert git("status", "--porcelain", "--ignored", cwd=checkout) == ""
    # And what was built is the whole app: its data files and both entry points.
    (wheel,) = out.glob("claude_status_tray-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "tray_app/py.typed" in names
    assert any(n.startswith("tray_app/samples/") and n.endswith(".json") for n in names)
    assert "tray_app/core/statuspage.py" in names
    assert not any(n.startswith(("tests/", "build/", "bench/")) for n in names)
    entry = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    points = zipfile.ZipFile(wheel).read(entry).decode().replace(" ", "")
    assert "[console_scripts]\nclaude-status-tray=tray_app.cli:entry" in points
    assert "[gui_scripts]\nclaude-status-tray-gui=tray_app.cli:entry" in points
    assert (target / "tray_app" / "samples").is_dir()
