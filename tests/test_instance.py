"""One instance per user: a second lock fails with the holder's pid, a crashed holder's lock
doesn't block, and a second ``python -m tray_app`` says "already running" and exits 0."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tray_app.instance import AlreadyRunning, InstanceLock

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX processes and signals")


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
        child.send_signal(signal.SIGKILL)  # a crash: no chance to release anything
        assert child.wait(10) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
        if child.stdout is not None:
            child.stdout.close()
    assert path.exists()  # the stale file is still there...
    with InstanceLock(path):  # ...and doesn't matter
        assert path.read_text() == str(os.getpid())


def test_a_second_launch_says_already_running_and_exits_0(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        env[name] = str(tmp_path / name.lower())
    env["CST_TRAY_WAIT"] = "0"
    lock_path = tmp_path / "xdg_data_home" / "claude-status-tray" / "instance.lock"
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
    data = lock_path.parent
    assert sorted(p.name for p in data.iterdir()) == ["instance.lock"]
