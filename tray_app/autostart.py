"""Start at login: an XDG autostart entry on Linux, an HKCU Run value on Windows, a
LaunchAgent on macOS. Each writes only in the user's own profile."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Protocol

from . import APP_ID, APP_NAME
from .atomic import write_atomic

LABEL = "com.claude-status-tray"

log = logging.getLogger(__name__)


def command() -> list[str]:
    """How to start this very program again: the frozen binary, or this Python with -m."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    exe = sys.executable
    if sys.platform == "win32":  # python.exe would open a console window at every login
        windowed = Path(exe).with_name("pythonw.exe")
        if windowed.exists():
            exe = str(windowed)
    return [exe, "-m", "tray_app"]


class Autostart(Protocol):
    def enabled(self) -> bool: ...

    def set(self, on: bool) -> None: ...


_STRING_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _desktop_exec(argv: list[str]) -> str:
    # The Desktop Entry spec quotes arguments with double quotes and escapes \ " ` $ inside
    # them; then the whole value, like any string value, escapes \ (and newline, tab, CR)
    # once more, so a literal backslash in an argument is written as four.
    def quote(arg: str) -> str:
        if arg and all(c.isalnum() or c in "-_./=:+," for c in arg):
            return arg
        escaped = "".join("\\" + c if c in '\\"`$' else c for c in arg)
        return f'"{escaped}"'

    line = " ".join(quote(a).replace("%", "%%") for a in argv)
    return "".join(_STRING_ESCAPES.get(c, c) for c in line)


class XdgAutostart:
    def __init__(self, config_home: Path | None = None, argv: list[str] | None = None) -> None:
        base = config_home or Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
        self.path = base / "autostart" / f"{APP_ID}.desktop"
        self.argv = argv or command()

    def enabled(self) -> bool:
        return self.path.exists()

    def entry(self) -> str:
        return (
            "[Desktop Entry]\n"
            "Type=Application\n"
            f"Name={APP_NAME}\n"
            "Comment=Shows whether Claude is up\n"
            f"Exec={_desktop_exec(self.argv)}\n"
            f"Icon={APP_ID}\n"
            "Terminal=false\n"
            "X-GNOME-Autostart-enabled=true\n"
            "X-GNOME-Autostart-Delay=5\n"
        )

    def set(self, on: bool) -> None:
        if on:
            write_atomic(self.path, self.entry().encode("utf-8"))
        elif self.path.exists():
            self.path.unlink()


class LaunchAgent:
    def __init__(self, home: Path | None = None, argv: list[str] | None = None) -> None:
        self.path = (home or Path.home()) / "Library" / "LaunchAgents" / f"{LABEL}.plist"
        self.argv = argv or command()

    def enabled(self) -> bool:
        return self.path.exists()

    def plist(self) -> bytes:
        import plistlib  # macOS only

        return plistlib.dumps({
            "Label": LABEL,
            "ProgramArguments": self.argv,
            "RunAtLoad": True,
            "KeepAlive": False,
            "ProcessType": "Interactive",
        })

    def set(self, on: bool) -> None:
        if on:
            write_atomic(self.path, self.plist())
        elif self.path.exists():
            self.path.unlink()


class RunKey:
    """``HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run``; ``registry`` is winreg or a
    stand-in with the same four functions (tests)."""

    KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"

    def __init__(self, registry: object | None = None, argv: list[str] | None = None) -> None:
        if registry is None:
            import winreg  # type: ignore[import-not-found,unused-ignore]

            registry = winreg
        self.reg = registry
        self.argv = argv or command()

    def value(self) -> str:
        return " ".join(f'"{a}"' if " " in a else a for a in self.argv)

    def enabled(self) -> bool:
        reg = self.reg
        try:
            with reg.OpenKey(reg.HKEY_CURRENT_USER, self.KEY) as key:  # type: ignore[attr-defined]
                reg.QueryValueEx(key, APP_NAME)  # type: ignore[attr-defined]
                return True
        except OSError:
            return False

    def set(self, on: bool) -> None:
        reg = self.reg
        with reg.CreateKey(reg.HKEY_CURRENT_USER, self.KEY) as key:  # type: ignore[attr-defined]
            if on:
                reg.SetValueEx(key, APP_NAME, 0, reg.REG_SZ, self.value())  # type: ignore[attr-defined]
            else:
                try:
                    reg.DeleteValue(key, APP_NAME)  # type: ignore[attr-defined]
                except OSError:
                    pass


def for_platform() -> Autostart | None:
    if sys.platform.startswith("linux") or "bsd" in sys.platform:
        return XdgAutostart()
    if sys.platform == "darwin":
        return LaunchAgent()
    if sys.platform == "win32":
        return RunKey()
    return None



def apply(autostart: Autostart | None, want: bool | None) -> str:
    """Make the login item match the config's ``autostart`` (None: leave it as it is).

    Idempotent: nothing is written when it already matches. Returns what happened, for the
    log; a failure is logged and returned, never raised: the app runs on without it.
    """
    if want is None or autostart is None:
        return "unchanged"
    try:
        if autostart.enabled() == want:
            log.debug("start at login already %s", "on" if want else "off")
            return "unchanged"
        autostart.set(want)
    except Exception as exc:  # noqa: BLE001 - a registry or file error must not stop the app
        log.warning("can't turn start at login %s as the config asks: %s",
                    "on" if want else "off", exc)
        return f"failed: {exc}"
    log.info("start at login turned %s, as the config asks", "on" if want else "off")
    return "on" if want else "off"
