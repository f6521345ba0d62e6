"""The tray adapter: the only module that imports pystray.

Every change of icon, tooltip and menu goes through :meth:`TrayIcon.update`, which compares
the new :class:`~tray_app.menu.TrayModel` with the one shown and touches only what changed;
pystray's gtk and appindicator backends marshal those calls to the GTK main loop themselves.
Menu callbacks only hand an action id to ``on_action``; they decide nothing.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from . import APP_ID, APP_NAME
from .icons import Badge, paint
from .menu import Entry, TrayModel

log = logging.getLogger(__name__)

ICON_SIZE = 64
Action = Callable[[str, str], None]


def linux_backend(env: dict[str, str] | None = None) -> str:
    """Pick pystray's backend on Linux: real menus first (appindicator with a StatusNotifier
    host, else gtk), xorg (no menu) only as a last resort. ``PYSTRAY_BACKEND`` wins."""
    env = dict(os.environ if env is None else env)
    if env.get("PYSTRAY_BACKEND"):
        return env["PYSTRAY_BACKEND"]
    if not _gtk_available():
        return "xorg"
    if _sni_host_running() and _appindicator_available():
        return "appindicator"
    return "gtk"


def _gtk_available() -> bool:
    try:
        import gi

        gi.require_version("Gtk", "3.0")
        from gi.repository import Gtk  # noqa: F401
    except (ImportError, ValueError):
        return False
    return True


def _appindicator_available() -> bool:
    import gi

    for name in ("AyatanaAppIndicator3", "AppIndicator3"):
        try:
            gi.require_version(name, "0.1")
            return True
        except ValueError:
            continue
    return False


def _sni_host_running() -> bool:
    """Is a StatusNotifierWatcher on the session bus (KDE, GNOME with the extension, waybar)?"""
    try:
        from gi.repository import Gio, GLib

        bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
        reply = bus.call_sync(
            "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
            "NameHasOwner", GLib.Variant("(s)", ("org.kde.StatusNotifierWatcher",)),
            GLib.VariantType("(b)"), Gio.DBusCallFlags.NONE, 1000, None,
        )
        return bool(reply.unpack()[0])
    except Exception:  # noqa: BLE001 - no bus, no gi: no SNI host
        return False


def xembed_tray_running(display_name: str | None = None) -> bool:
    """Does an XEMBED system tray own ``_NET_SYSTEM_TRAY_S<screen>`` on this X display?

    Four libX11 calls through ctypes: python-xlib's Display() would load ~40 modules and
    cost ~3 MB for the life of the process, for one question asked at start-up.
    """
    try:
        import ctypes
        import ctypes.util

        x11 = ctypes.CDLL(ctypes.util.find_library("X11") or "libX11.so.6")
        x11.XOpenDisplay.restype = ctypes.c_void_p
        x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
        x11.XDefaultScreen.argtypes = [ctypes.c_void_p]
        x11.XInternAtom.restype = ctypes.c_ulong
        x11.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
        x11.XGetSelectionOwner.restype = ctypes.c_ulong
        x11.XGetSelectionOwner.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
        x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
        dpy = x11.XOpenDisplay(display_name.encode() if display_name else None)
        if not dpy:
            return False
        try:
            name = f"_NET_SYSTEM_TRAY_S{x11.XDefaultScreen(dpy)}".encode()
            return bool(x11.XGetSelectionOwner(dpy, x11.XInternAtom(dpy, name, 0)))
        finally:
            x11.XCloseDisplay(dpy)
    except Exception:  # noqa: BLE001 - no X, no libX11: no tray
        return False


def tray_problem(wait: float = 0.0) -> str:
    """'' when a tray can be shown here, else the reason in one line."""
    if not sys.platform.startswith("linux"):
        return ""
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        return "no display (DISPLAY/WAYLAND_DISPLAY unset)"
    deadline = time.monotonic() + wait
    while True:
        if _sni_host_running() or (os.environ.get("DISPLAY") and xembed_tray_running()):
            return ""
        if time.monotonic() >= deadline:
            break
        time.sleep(0.25)  # a panel starting at login may come up a moment after us
    return ("no system tray found (no StatusNotifier host and no XEMBED tray; on GNOME, "
            "install the AppIndicator extension)")


class TrayIcon:
    def __init__(self, on_action: Action, model: TrayModel) -> None:
        if sys.platform.startswith("linux"):
            os.environ["PYSTRAY_BACKEND"] = linux_backend()
        import pystray

        self._pystray = pystray
        self._on_action = on_action
        self._lock = threading.Lock()
        self._model = model
        self.backend = type(self).backend_name(pystray)
        self._icon = pystray.Icon(
            APP_ID, self._image(model), model.tooltip, self._menu(model.menu)
        )
        _dump_menu(model.menu)

    @staticmethod
    def backend_name(pystray: Any) -> str:
        return str(pystray.Icon.__module__).rsplit("._", 1)[-1]

    def _image(self, model: TrayModel) -> Any:
        badge = Badge(model.badge) if model.badge else None
        return paint(model.level, ICON_SIZE, offline=model.offline, badge=badge)

    def run(self, setup: Callable[[], None]) -> None:
        """Block the calling (main) thread in the tray's loop; ``setup`` runs beside it."""

        def _setup(icon: Any) -> None:
            icon.visible = True
            setup()

        log.info("tray running with pystray's %s backend", self.backend)
        self._icon.run(_setup)

    def stop(self) -> None:
        self._icon.stop()

    def notify(self, title: str, body: str) -> None:
        """A notification from this very icon (pystray's ``Icon.notify``: a balloon or toast
        on Windows, with no second icon). Raises when this icon can't show one now, so the
        notifier moves on to its next backend. The caller fits the text to the platform."""
        if not getattr(self._icon, "HAS_NOTIFICATION", False):
            raise RuntimeError(f"pystray's {self.backend} backend has no notifications")
        if not self._icon.visible:
            raise RuntimeError("the tray icon is not shown")
        self._icon.notify(body, title)  # pystray's order: message, then title

    def update(self, model: TrayModel) -> None:
        """The one way to change what the tray shows; safe from any thread."""
        if sys.platform == "darwin" and threading.current_thread() is not threading.main_thread():
            # pystray's darwin backend calls AppKit directly: hop to the main thread first.
            from PyObjCTools import AppHelper  # type: ignore[import-not-found,unused-ignore]

            AppHelper.callAfter(self._apply, model)
            return
        self._apply(model)

    def _apply(self, model: TrayModel) -> None:
        with self._lock:
            old, self._model = self._model, model
            if (old.level, old.offline, old.badge) != (model.level, model.offline, model.badge):
                self._icon.icon = self._image(model)
            if old.tooltip != model.tooltip:
                self._icon.title = model.tooltip
            if old.menu != model.menu:
                self._icon.menu = self._menu(model.menu)
                _dump_menu(model.menu)

    @property
    def model(self) -> TrayModel:
        return self._model

    def _menu(self, entries: tuple[Entry, ...]) -> Any:
        ps = self._pystray
        # A hidden default item: a left click (and the menu-less xorg backend) opens the page.
        click = ps.MenuItem("Open status page", self._callback(Entry("", "open_page")),
                            default=True, visible=False)
        return ps.Menu(click, *(self._item(e) for e in entries))

    def _item(self, e: Entry) -> Any:
        ps = self._pystray
        if e.separator:
            return ps.Menu.SEPARATOR
        if e.children:
            return ps.MenuItem(e.text, ps.Menu(*(self._item(c) for c in e.children)))
        checked = None if e.checked is None else (lambda _item, v=e.checked: v)
        return ps.MenuItem(
            e.text, self._callback(e), checked=checked, enabled=e.enabled and bool(e.action)
        )

    def _callback(self, e: Entry) -> Callable[..., None]:
        action, arg = e.action, e.arg

        def fire(_icon: Any = None, _item: Any = None) -> None:
            if not action:
                return
            try:
                self._on_action(action, arg)
            except Exception:  # noqa: BLE001 - a menu click must never take the tray down
                log.exception("menu action %s failed", action)

        return fire


def _dump_menu(entries: tuple[Entry, ...]) -> None:
    """For end-to-end tests: write the visible top-level labels where CST_MENU_DUMP says."""
    target = os.environ.get("CST_MENU_DUMP")
    if not target:
        return
    import json

    def describe(e: Entry) -> dict[str, object]:
        return {"text": "---" if e.separator else e.text, "checked": e.checked,
                "children": [describe(c) for c in e.children]}

    tmp = f"{target}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump([describe(e) for e in entries], fh)
    os.replace(tmp, target)


__all__ = ["APP_NAME", "TrayIcon", "linux_backend", "tray_problem", "xembed_tray_running"]
