"""One instance per user: an OS-level lock on a file, released by the OS when the process
dies, so a lock left by a crash never blocks the next start."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import IO


class AlreadyRunning(Exception):
    """Another instance holds the lock; its PID (if known) is in the message."""


class InstanceLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the process life
        try:
            _lock(fh)
        except OSError:
            try:
                fh.seek(0)
                pid = fh.read().strip()[:20]
            except OSError:
                pid = ""
            fh.close()
            message = f"already running (pid {pid})" if pid else "already running"
            raise AlreadyRunning(message) from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        if self._fh is not None:
            try:
                _unlock(self._fh)
            finally:
                self._fh.close()
                self._fh = None

    def __enter__(self) -> InstanceLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


if sys.platform == "win32":
    import msvcrt

    # Windows locks are mandatory: lock a byte far past the PID so others can still read it.
    _LOCK_AT = 1 << 20

    def _lock(fh: IO[str]) -> None:
        os.lseek(fh.fileno(), _LOCK_AT, os.SEEK_SET)
        msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)

    def _unlock(fh: IO[str]) -> None:
        os.lseek(fh.fileno(), _LOCK_AT, os.SEEK_SET)
        msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock(fh: IO[str]) -> None:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(fh: IO[str]) -> None:
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
