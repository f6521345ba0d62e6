"""``--selftest``: can every part this platform needs load here? No network, no display.

Run against a frozen build, it proves the bundle carries what PyInstaller can't see by itself
(pystray's and plyer's run-time chosen modules, httpx's certificates, the sample page).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import ssl
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

Check = Callable[[], str]


def _tray() -> str:
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
        os.environ.setdefault("PYSTRAY_BACKEND", "dummy")  # pystray connects at import
    import pystray  # noqa: F401

    names = {"win32": ["_win32"], "darwin": ["_darwin"]}.get(sys.platform, ["_xorg", "_gtk",
                                                                          "_appindicator"])
    found = [n.strip("_") for n in names if importlib.util.find_spec(f"pystray.{n}")]
    if not found:
        raise RuntimeError(f"no pystray backend module bundled (looked for {names})")
    return "backends " + ", ".join(found)


def _tray_deps() -> str:
    if sys.platform == "win32":
        importlib.import_module("win32api" if importlib.util.find_spec("win32api") else "ctypes")
        return "ctypes"
    if sys.platform == "darwin":
        importlib.import_module("AppKit")
        return "AppKit"
    importlib.import_module("Xlib.display")
    importlib.import_module("Xlib.threaded")
    extra = "python-xlib"
    if importlib.util.find_spec("gi") is not None:
        import gi

        gi.require_version("Gtk", "3.0")
        extra += ", PyGObject (menus)"
    return extra


def _notifier() -> str:
    """The notification backends, in the order this platform tries them, each loadable."""
    import platform
    import shutil

    from .notifier import TrayBalloonBackend, default_backends, macos_bundle_id

    plat = {"win32": "win", "darwin": "macosx"}.get(sys.platform, "linux")
    # The tray's balloon is first on Windows while the tray runs: list it as the tray has it.
    names = [b.name for b in default_backends({}, platform.system(), tray=TrayBalloonBackend())]
    module = f"plyer.platforms.{plat}.notification"
    importlib.import_module(module)
    if "desktop-notifier" in names:
        importlib.import_module("desktop_notifier")
    if "osascript" in names and shutil.which("osascript") is None:
        raise RuntimeError("osascript not found")
    detail = " then ".join(names) + f" ({module})"
    if plat == "macosx":
        bundle = macos_bundle_id()
        detail += f" (app bundle {bundle})" if bundle else " (no app bundle: osascript first)"
    return detail


def _http() -> str:
    import certifi
    import httpx  # noqa: F401

    where = certifi.where()
    ctx = ssl.create_default_context(cafile=where)
    count = len(ctx.get_ca_certs())
    if not count:
        raise RuntimeError(f"no CA certificates loaded from {where}")
    return f"httpx with {count} CA certificates"


def _icons() -> str:
    from .core.levels import Level
    from .icons import Badge, app_icon, paint

    n = 0
    for level in Level:
        for size in (16, 32, 64):
            img = paint(level, size, offline=level is Level.UNKNOWN,
                        badge=Badge.HINT if size == 64 else None)
            if img.size != (size, size):
                raise RuntimeError(f"{level.value} painted at {img.size}")
            n += 1
    app_icon(64)
    return f"{n} icons drawn"


def _sample() -> str:
    from .core.assess import assess
    from .core.levels import Level
    from .core.statuspage import parse_summary

    path = Path(__file__).with_name("samples") / "summary-partial_outage.json"
    level = assess(parse_summary(json.loads(path.read_text(encoding="utf-8")))).level
    if level is not Level.PARTIAL_OUTAGE:
        raise RuntimeError(f"bundled sample read as {level.value}, expected partial_outage")
    return f"bundled sample page reads {level.value}"


def _store() -> str:
    import sqlite3
    import time

    from .history import Episode, HistoryStore
    from .store import Database

    db = Database(None)  # in memory: the self-test writes nothing to the user's folders
    try:
        HistoryStore(db).open(Episode("selftest", time.time(), None, "major_outage"))
        if db.pending() or not HistoryStore(db).episodes():
            raise RuntimeError("an episode written to the database did not read back")
    finally:
        db.close()
    return f"SQLite {sqlite3.sqlite_version}"


CHECKS: list[tuple[str, Check]] = [
    ("tray", _tray),
    ("tray deps", _tray_deps),
    ("notifier", _notifier),
    ("http+tls", _http),
    ("icons", _icons),
    ("sample", _sample),
    ("store", _store),
]


def run_selftest(out: TextIO) -> int:
    failed = 0
    for name, check in CHECKS:
        try:
            detail = check()
            print(f"ok    {name}: {detail}", file=out)
        except Exception as exc:  # noqa: BLE001 - each failure is reported, then the next check
            failed += 1
            print(f"FAIL  {name}: {type(exc).__name__}: {exc}", file=out)
    print(f"selftest: {len(CHECKS) - failed} of {len(CHECKS)} checks ok", file=out)
    return 1 if failed else 0
