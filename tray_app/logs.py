"""Logging, configured once: a rotating file in the user log directory (a windowed build has
no console), the thread name in every line, and the terminal too with ``--verbose``."""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)s [%(threadName)s] %(name)s: %(message)s"
MAX_BYTES = 1024 * 1024
BACKUPS = 3


def setup(log_dir: Path | None, *, verbose: bool = False) -> Path | None:
    """Configure the root logger; returns the log file, or None when it can't be written."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_cst", False):
            root.removeHandler(handler)
            handler.close()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    formatter = logging.Formatter(FORMAT)
    path = None
    if log_dir is not None:
        try:
            log_dir.mkdir(parents=True, exist_ok=True)
            path = log_dir / "claude-status-tray.log"
            file_handler = logging.handlers.RotatingFileHandler(
                path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8", delay=True
            )
            file_handler.setFormatter(formatter)
            file_handler._cst = True  # type: ignore[attr-defined]
            root.addHandler(file_handler)
        except OSError as exc:
            print(f"warning: can't write logs in {log_dir}: {exc}", file=sys.stderr)
            path = None
    if verbose and sys.stderr is not None:
        console = logging.StreamHandler(sys.stderr)
        console.setFormatter(formatter)
        console._cst = True  # type: ignore[attr-defined]
        root.addHandler(console)
    # Third-party chatter (request lines with URLs and headers) stays out of the log file.
    for noisy in ("httpx", "httpcore", "PIL", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return path
