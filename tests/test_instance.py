"""One instance per user: a second lock fails with the holder's pid, a crashed holder's lock
doesn't block, and a second ``python -m tray_app`` says "already running" and exits 0."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import faultserver as fs
from tray_app.instance import AlreadyRunning, InstanceLock


def test_a_second_lock_on_the_same_file_fails_with_the_pid(tmp_path: Path) -> None:
    path = tmp_path / "data" / "instance.lock"
    with InstanceLock(path):
        assert path.read_text() == str(os.getpid())
        with pytest.raises(AlreadyRunning, match=rf"already running \(pid {os.getpid()}\)"):
            InstanceLock(path).acquire()
    # Released: the next one gets it.
    with InstanceLock(path):
        pass


def test_locks_on_different_files_are_independent(tmp_path: Path) -> None:
    with InstanceLock(tmp_path / "a.lock"), InstanceLock(tmp_path / "b.lock"):
        pass


def test_a_failed_attempt_leaves_no_file_handle_open(tmp_path: Path) -> None:
    path = tmp_path / "instance.lock"
    before = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None
    with InstanceLock(path):
        for _ in range(20):
            with pytest.raises(AlreadyRunning):
                InstanceLock(path).acquire()
        if before is not None:
            assert len(os.listdir("/proc/self/fd")) == before + 1


HOLDER = """
import sys, time
from pathlib import Path
from tray_app.instance import InstanceLock
lock = InstanceLock(Path(sys.argv[1]))
lock.acquire()
print("locked", flush=True)
time.sleep(60)
"""


def test_a_lock_left_by_a_killed_process_does_not_block(tmp_path: Path) -> None:
    path = tmp_path / "instance.lock"
    child = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdout=subprocess.PIPE,
                             text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "locked"
        with pytest.raises(AlreadyRunning, match=f"pid {child.pid}"):
            InstanceLock(path).acquire()
        child.kill()  # a crash (SIGKILL; TerminateProcess on Windows): nothing is released
        code = child.wait(10)
        assert code == (1 if sys.platform == "win32" else -signal.SIGKILL)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
        if child.stdout is not None:
            child.stdout.close()
    assert path.exists()  # the stale file is still there...
    # ...and doesn't matter. (Windows frees a dead process's locks "when resources allow":
    # allow it a few seconds; Linux and macOS have freed it already.)
    deadline = time.monotonic() + 5
    while True:
        try:
            with InstanceLock(path):
                assert path.read_text() == str(os.getpid())
            break
        except AlreadyRunning:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_a_second_launch_says_already_running_and_exits_0(tmp_path: Path) -> None:
    env = fs.isolated_env(tmp_path)
    env["CST_TRAY_WAIT"] = "0"
    paths = fs.app_paths(env)
    lock_path = paths.data / "instance.lock"
    with InstanceLock(lock_path):  # the first instance, as the app takes it
        done = subprocess.run(
            [sys.executable, "-m", "tray_app", "--url", "http://127.0.0.1:1"],
            capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path,
        )
    assert done.returncode == 0, done.stderr
    assert "already running" in done.stderr
    assert f"pid {os.getpid()}" in done.stderr
    assert "not starting a second icon" in done.stderr
    # It stopped before building anything: no state or history of its own.
    data = lock_path.parent  # (on Windows it holds the log folder, Logs\, too)
    assert sorted(p.name for p in data.iterdir() if p != paths.logs) == ["instance.lock"]
