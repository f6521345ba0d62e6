"""Write files so that a crash leaves either the old or the new content, never half of one."""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path


def write_atomic(path: Path, data: bytes) -> None:
    """Temporary file in the same directory, fsync, rename over the target, fsync the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if hasattr(os, "O_DIRECTORY"):
        with contextlib.suppress(OSError):
            dir_fd = os.open(path.parent, os.O_DIRECTORY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)


def keep_aside(path: Path, companions: Sequence[str] = ()) -> Path | None:
    """Move a bad file out of the way (``name.broken-<time>``) so nothing of it is lost.

    ``companions`` are suffixes of files that belong to it (a database's ``-wal`` and
    ``-shm``): they move first, to the same name plus their suffix, so a fresh file never
    meets a stale companion. Raises OSError when a move fails (the file is then where it was).
    """
    if not path.exists():
        return None
    target = path.with_name(f"{path.name}.broken-{time.strftime('%Y%m%d-%H%M%S')}")
    n = 1
    while any(Path(f"{target}{s}").exists() for s in ("", *companions)):
        target = path.with_name(f"{path.name}.broken-{time.strftime('%Y%m%d-%H%M%S')}-{n}")
        n += 1
    for suffix in companions:
        extra = Path(f"{path}{suffix}")
        if extra.exists():
            os.replace(extra, Path(f"{target}{suffix}"))
    os.replace(path, target)
    return target
