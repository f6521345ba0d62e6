"""A real (virtual) desktop for end-to-end tests, following shared/desktop-testing.md.

`Desktop` starts, in this order and each tracked by its PID: Xvfb (``-displayfd``: Xvfb
picks a free display), a private D-Bus session bus (``dbus-launch --sh-syntax`` with a
config that has *no* service directories, so D-Bus never auto-starts a notification daemon
or an accessibility bus of its own choosing), dunst (waited for until it owns
``org.freedesktop.Notifications``) and a tray host, one of `TRAY_HOSTS`:

- ``"xembed"``: trayer, an XEMBED system tray (XFCE, MATE, LXQt work this way), waited for
  until the ``_NET_SYSTEM_TRAY_S0`` selection has an owner;
- ``"sni"``: ``gtk-sni-tray-standalone --watcher --top``, a StatusNotifier host (what KDE,
  GNOME with the AppIndicator extension and waybar are), waited for until it owns
  ``org.kde.StatusNotifierWatcher``, has registered itself as the host and shows its bar:
  30 px along the top, items in square slots from the left edge, the first at (15, 15).

`stop` ends them in reverse order by PID: terminate, wait with a timeout, then kill. Every
wait is a short polling loop with a deadline.

Usage::

    with Desktop() as desktop:
        app = desktop.spawn([sys.executable, "app.py"])  # runs with desktop.env
        assert desktop.wait_for_colour((255, 0, 0), region="tray")
        note = desktop.wait_for_notification(lambda n: n["summary"] == "Hello")

In pytest use the ``desktop`` fixture of tests/conftest_desktop.py and the ``desktop``
marker. `missing_requirements` names what is not installed (see .ci/install-desktop.sh).

Menus (pystray's gtk backend on trayer; on the StatusNotifier host the host itself draws the
menu it reads over dbusmenu, with GTK too): `open_menu` right-clicks the icon and waits for a
mapped window of type ``_NET_WM_WINDOW_TYPE_POPUP_MENU`` (GTK sets it on its override-redirect
menu window; tooltips are ``_TOOLTIP`` and are ignored). `menu_items` finds the items in a
screenshot of that window: each item's label is a band of dark rows on the light menu
background, so the band centres are the items' centres, in order; separators are light
grey and are skipped. Measured here (Adwaita, the GTK default): 4 px padding at the top
and bottom, 25 px per item, so a 3-item menu is 83 px high. `menu_item_slots` is the
geometric fallback: equal slots of height/count, within 4 px of the true centres for
text-only menus.
"""

from __future__ import annotations

import contextlib
import glob
import importlib.util
import io
import json
import os
import re
import select
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from PIL import Image, ImageChops

__all__ = [
    "INSTALL_HINT",
    "Box",
    "Desktop",
    "DesktopError",
    "Window",
    "count_colour",
    "find_colour",
    "TRAY_HOSTS",
    "TrayHost",
    "missing_requirements",
    "private_bus",
    "stop_process",
    "wait_until",
]

RGB = tuple[int, int, int]

INSTALL_HINT = (
    "run `sudo bash .ci/install-desktop.sh` for the apt packages, and install the venv's "
    "test dependencies (pystray, pillow, python-xlib, PyGObject<3.51)"
)
REQUIRED_PROGRAMS = (
    "Xvfb",
    "dbus-launch",
    "dbus-daemon",
    "dbus-send",
    "dunst",
    "dunstctl",
    "busctl",
    "xdotool",
    "import",
)
TrayHost = Literal["xembed", "sni"]
TRAY_HOSTS: tuple[TrayHost, ...] = ("xembed", "sni")
HOST_PROGRAMS: dict[TrayHost, str] = {"xembed": "trayer", "sni": "gtk-sni-tray-standalone"}
WATCHER_NAME = "org.kde.StatusNotifierWatcher"
WATCHER_PATH = "/StatusNotifierWatcher"
REQUIRED_MODULES = ("PIL", "Xlib", "pystray", "gi")
TYPELIB_GLOBS = (
    "/usr/lib/*/girepository-1.0/Gtk-3.0.typelib",
    "/usr/lib/girepository-1.0/Gtk-3.0.typelib",
)
NOTIFICATIONS_NAME = "org.freedesktop.Notifications"
SNI_BAR_CLASS = ("gtk-sni-tray-standalone", "Gtk-sni-tray-standalone")
MENU_TYPES = ("_NET_WM_WINDOW_TYPE_POPUP_MENU", "_NET_WM_WINDOW_TYPE_DROPDOWN_MENU")

_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <keep_umask/>
  <listen>unix:dir={runtime}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""

# Keep popups away from the tray (top right), keep every notification in the history,
# never merge duplicates, never hold any back.
_DUNSTRC = """[global]
    monitor = 0
    follow = none
    origin = bottom-left
    offset = 10x10
    width = 300
    notification_limit = 0
    stack_duplicates = false
    history_length = 500
    sticky_history = yes
    show_indicators = no
    font = Monospace 8

[urgency_low]
    timeout = 30

[urgency_normal]
    timeout = 30

[urgency_critical]
    timeout = 30
"""

# Variables of the real session that must not reach the virtual one.
_SESSION_VARS = (
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "XAUTHORITY",
    "DBUS_SESSION_BUS_ADDRESS",
    "DBUS_SESSION_BUS_PID",
    "DBUS_SESSION_BUS_WINDOWID",
    "XDG_RUNTIME_DIR",
    "XDG_SESSION_TYPE",
    "XDG_CURRENT_DESKTOP",
    "DESKTOP_SESSION",
    "GTK_MODULES",
    "SESSION_MANAGER",
)


class DesktopError(RuntimeError):
    """The virtual desktop could not be started or queried."""


@dataclass(frozen=True)
class Box:
    """A rectangle in root-window (screen) coordinates."""

    x: int
    y: int
    width: int
    height: int

    @property
    def center(self) -> tuple[int, int]:
        return (self.x + self.width // 2, self.y + self.height // 2)

    @property
    def bbox(self) -> tuple[int, int, int, int]:
        """(left, top, right, bottom), as Pillow's crop() wants it."""
        return (self.x, self.y, self.x + self.width, self.y + self.height)

    def contains(self, x: int, y: int) -> bool:
        return self.x <= x < self.x + self.width and self.y <= y < self.y + self.height


@dataclass(frozen=True)
class Window:
    id: int
    name: str
    wm_class: tuple[str, ...]
    box: Box
    window_type: tuple[str, ...] = ()


# Where to look: a box, "tray" (the tray as it is at each look) or None (the whole screen).
Region = Box | Literal["tray"] | None


def missing_requirements(host: TrayHost = "xembed") -> list[str]:
    """Programs and Python modules the desktop tests (with that tray host) need but lack."""
    programs = (*REQUIRED_PROGRAMS, HOST_PROGRAMS[host])
    missing = [name for name in programs if shutil.which(name) is None]
    missing += [
        f"python module {name}"
        for name in REQUIRED_MODULES
        if importlib.util.find_spec(name) is None
    ]
    if not any(glob.glob(pattern) for pattern in TYPELIB_GLOBS):
        missing.append("Gtk-3.0 typelib (gir1.2-gtk-3.0)")
    return missing


def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns something truthy; that value, or None at the end."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


def _colour_mask(img: Image.Image, rgb: RGB, tol: int) -> Image.Image:
    """An "L" image: 255 where every channel is within ``tol`` of ``rgb``, else 0."""
    bands = img.convert("RGB").split()
    masks = [
        band.point(lambda v, c=c: 255 if abs(v - c) <= tol else 0)
        for band, c in zip(bands, rgb, strict=True)
    ]
    return ImageChops.multiply(ImageChops.multiply(masks[0], masks[1]), masks[2])


def count_colour(img: Image.Image, rgb: RGB, tol: int = 16) -> int:
    """How many pixels of ``img`` are within ``tol`` (per channel) of ``rgb``."""
    return _colour_mask(img, rgb, tol).histogram()[255]


def find_colour(img: Image.Image, rgb: RGB, tol: int = 16) -> Box | None:
    """The bounding box of the pixels that match ``rgb``, in ``img`` coordinates."""
    bbox = _colour_mask(img, rgb, tol).getbbox()
    if bbox is None:
        return None
    left, top, right, bottom = bbox
    return Box(left, top, right - left, bottom - top)


class Desktop:
    """Xvfb + private session bus + dunst + a tray host, started and stopped by PID."""

    def __init__(
        self,
        size: tuple[int, int] = (800, 600),
        tray_height: int = 32,
        timeout: float = 5.0,
        pystray_backend: str = "gtk",
        host: TrayHost = "xembed",
    ) -> None:
        if host not in TRAY_HOSTS:
            raise ValueError(f"unknown tray host {host!r}; one of {TRAY_HOSTS}")
        self.size = size
        self.host = host
        self.tray_height = tray_height
        self.timeout = timeout
        self.pystray_backend = pystray_backend
        self.display = ""
        self.bus_address = ""
        self.tmp = Path()
        self._bus_pid: int | None = None
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._apps: list[subprocess.Popen[Any]] = []
        self._xdisplay: Any = None
        self._seen_notification_id = 0
        self.sni_host_starts = 0  # how many starts the StatusNotifier host took

    # -- lifecycle -------------------------------------------------------------------

    def __enter__(self) -> Desktop:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="cst-desktop-"))
        try:
            self._make_dirs()
            self._start_xvfb()
            self._start_bus()
            self.start_notification_daemon()
            if self.host == "sni":
                self._start_sni_host()
            else:
                self._start_tray()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop everything that was started, newest first; safe to call twice."""
        for app in reversed(self._apps):
            stop_process(app)
        self._apps.clear()
        for name in ("trayer", "gtk-sni-tray", "dunst"):
            if name in self._procs:
                stop_process(self._procs.pop(name))
        if self._xdisplay is not None:
            with contextlib.suppress(Exception):
                self._xdisplay.close()
            self._xdisplay = None
        if self._bus_pid is not None:
            _stop_foreign_pid(self._bus_pid, b"dbus-daemon")
            self._bus_pid = None
        if "Xvfb" in self._procs:
            stop_process(self._procs.pop("Xvfb"))
        if self.tmp != Path() and self.tmp.is_dir():
            shutil.rmtree(self.tmp, ignore_errors=True)

    @property
    def env(self) -> dict[str, str]:
        """The environment for child processes: this desktop, this bus, a private home."""
        env = {k: v for k, v in os.environ.items() if k not in _SESSION_VARS}
        env.update(
            DISPLAY=self.display,
            DBUS_SESSION_BUS_ADDRESS=self.bus_address,
            NO_AT_BRIDGE="1",
            GDK_BACKEND="x11",
            PYSTRAY_BACKEND=self.pystray_backend,
            HOME=str(self.tmp / "home"),
            XDG_CONFIG_HOME=str(self.tmp / "config"),
            XDG_DATA_HOME=str(self.tmp / "data"),
            XDG_STATE_HOME=str(self.tmp / "state"),
            XDG_CACHE_HOME=str(self.tmp / "cache"),
            XDG_RUNTIME_DIR=str(self.tmp / "runtime"),
        )
        return env

    def spawn(
        self,
        argv: Sequence[str],
        env: Mapping[str, str] | None = None,
        **popen_kwargs: Any,
    ) -> subprocess.Popen[Any]:
        """Start an app on this desktop (``desktop.env`` plus ``env``); stopped at `stop`.

        Output goes to a log file under the desktop's tmp dir unless stdout/stderr are given.
        """
        env = {**self.env, **(env or {})}
        with contextlib.ExitStack() as stack:
            if "stdout" not in popen_kwargs:
                popen_kwargs["stdout"] = stack.enter_context(self._log(Path(argv[0]).name))
                popen_kwargs.setdefault("stderr", subprocess.STDOUT)
            proc = subprocess.Popen(list(argv), env=env, **popen_kwargs)
        self._apps.append(proc)
        return proc

    def stop_app(self, proc: subprocess.Popen[Any], timeout: float = 3.0) -> int | None:
        """Stop an app started with `spawn` (terminate, then kill); its exit code."""
        code = stop_process(proc, timeout)
        if proc in self._apps:
            self._apps.remove(proc)
        return code

    def _make_dirs(self) -> None:
        for name in ("home", "config", "data", "state", "cache", "logs"):
            (self.tmp / name).mkdir()
        (self.tmp / "runtime").mkdir(mode=0o700)
        (self.tmp / "config" / "dunst").mkdir()
        (self.tmp / "config" / "dunst" / "dunstrc").write_text(_DUNSTRC)

    def _log(self, name: str) -> Any:
        return open(self.tmp / "logs" / f"{name}.log", "ab")

    def _log_tail(self, name: str, lines: int = 15) -> str:
        path = self.tmp / "logs" / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def _popen(self, name: str, argv: Sequence[str], env: Mapping[str, str]) -> None:
        with self._log(name) as log:
            self._procs[name] = subprocess.Popen(
                list(argv),
                env=dict(env),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def _fail(self, name: str, what: str) -> DesktopError:
        return DesktopError(f"{what}; last lines of {name}'s log:\n{self._log_tail(name)}")

    # -- Xvfb ----------------------------------------------------------------------------

    def _start_xvfb(self) -> None:
        read_fd, write_fd = os.pipe()
        try:
            width, height = self.size
            with self._log("Xvfb") as log:
                self._procs["Xvfb"] = subprocess.Popen(
                    [
                        "Xvfb",
                        "-displayfd",
                        str(write_fd),
                        "-screen",
                        "0",
                        f"{width}x{height}x24",
                        "-nolisten",
                        "tcp",
                        "-noreset",
                    ],
                    pass_fds=(write_fd,),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            os.close(write_fd)
            write_fd = -1
            number = self._read_display_number(read_fd)
        finally:
            os.close(read_fd)
            if write_fd >= 0:
                os.close(write_fd)
        self.display = f":{number}"
        from Xlib import display as xdisplay

        self._xdisplay = xdisplay.Display(self.display)

    def _read_display_number(self, fd: int) -> int:
        deadline = time.monotonic() + self.timeout
        data = b""
        while b"\n" not in data:
            left = deadline - time.monotonic()
            if left <= 0 or self._procs["Xvfb"].poll() is not None:
                raise self._fail("Xvfb", "Xvfb did not report its display")
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 64)
                if not chunk:
                    raise self._fail("Xvfb", "Xvfb closed -displayfd without a display")
                data += chunk
        return int(data.strip())

    # -- D-Bus session bus -----------------------------------------------------------

    def _start_bus(self) -> None:
        config = self.tmp / "bus.conf"
        config.write_text(_BUS_CONFIG.format(runtime=self.tmp / "runtime"))
        unset = ("DISPLAY", "DBUS_SESSION_BUS_ADDRESS")
        env = {k: v for k, v in self.env.items() if k not in unset}
        result = subprocess.run(
            ["dbus-launch", "--sh-syntax", f"--config-file={config}"],
            env=env,
            capture_output=True,
            text=True,
            timeout=self.timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        values = dict(re.findall(r"^(DBUS_SESSION_BUS_\w+)='?([^';\n]*)'?;", result.stdout, re.M))
        if result.returncode != 0 or "DBUS_SESSION_BUS_PID" not in values:
            raise DesktopError(f"dbus-launch failed: {result.stdout!r} {result.stderr!r}")
        self._bus_pid = int(values["DBUS_SESSION_BUS_PID"])
        self.bus_address = values["DBUS_SESSION_BUS_ADDRESS"]

    def _name_has_owner(self, name: str) -> bool:
        result = subprocess.run(
            [
                "dbus-send",
                "--session",
                "--print-reply=literal",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner",
                f"string:{name}",
            ],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=self.timeout,
            check=False,
        )
        return result.returncode == 0 and result.stdout.split() == ["boolean", "true"]

    # -- dunst -----------------------------------------------------------------------

    def start_notification_daemon(self) -> None:
        """Start dunst and wait until it owns org.freedesktop.Notifications."""
        rc = self.tmp / "config" / "dunst" / "dunstrc"
        self._seen_notification_id = 0  # a new daemon numbers from 1 again
        self._popen("dunst", ["dunst", "-config", str(rc)], self.env)
        proc = self._procs["dunst"]

        def owned() -> bool:
            if proc.poll() is not None:
                raise self._fail("dunst", f"dunst exited with {proc.returncode}")
            return self._name_has_owner(NOTIFICATIONS_NAME)

        if not wait_until(owned, self.timeout):
            raise self._fail("dunst", f"dunst did not own {NOTIFICATIONS_NAME}")

    def stop_notification_daemon(self) -> None:
        """Stop dunst and wait until nobody owns org.freedesktop.Notifications."""
        if "dunst" in self._procs:
            stop_process(self._procs.pop("dunst"))
        if not wait_until(lambda: not self._name_has_owner(NOTIFICATIONS_NAME), self.timeout):
            raise DesktopError(f"{NOTIFICATIONS_NAME} still has an owner after dunst stopped")

    @contextlib.contextmanager
    def without_notification_daemon(self) -> Iterator[None]:
        """No daemon owns the name inside the block (the bus cannot auto-start one)."""
        self.stop_notification_daemon()
        try:
            yield
        finally:
            self.start_notification_daemon()

    def _dunstctl(self, *args: str) -> str:
        result = subprocess.run(
            ["dunstctl", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=self.timeout,
            check=False,
        )
        if result.returncode != 0:
            raise DesktopError(f"dunstctl {' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout

    def notifications(self) -> list[dict[str, Any]]:
        """Notifications received since the last `clear_notifications`, oldest first.

        ``dunstctl close-all`` first moves the displayed ones into the history, then
        ``dunstctl history`` (JSON) is read. Keys: id, summary, body, appname, icon_path,
        urgency (whatever dunst reports, unwrapped from its ``{"type", "data"}`` pairs).
        """
        self._dunstctl("close-all")
        history = json.loads(self._dunstctl("history"))
        entries = [
            {key: value.get("data") for key, value in entry.items()}
            for group in history.get("data", [])
            for entry in group
        ]
        fresh = [n for n in entries if int(n.get("id", 0)) > self._seen_notification_id]
        return sorted(fresh, key=lambda n: int(n["id"]))

    def wait_for_notification(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 5.0
    ) -> dict[str, Any] | None:
        """The first notification (since the last clear) that satisfies ``predicate``."""

        def found() -> dict[str, Any] | None:
            return next((n for n in self.notifications() if predicate(n)), None)

        result: dict[str, Any] | None = wait_until(found, timeout, interval=0.1)
        return result

    def clear_notifications(self) -> None:
        """Forget every notification received so far (dunst ids only grow)."""
        self._dunstctl("close-all")
        history = json.loads(self._dunstctl("history"))
        ids = [int(e["id"]["data"]) for group in history.get("data", []) for e in group]
        self._seen_notification_id = max([self._seen_notification_id, *ids])

    # -- trayer and windows ----------------------------------------------------------

    def _start_tray(self) -> None:
        self._popen(
            "trayer",
            [
                "trayer",
                "--edge",
                "top",
                "--align",
                "right",
                "--widthtype",
                "request",
                "--height",
                str(self.tray_height),
                "--transparent",
                "false",
                "--SetDockType",
                "true",
                "--SetPartialStrut",
                "false",
            ],
            self.env,
        )
        proc = self._procs["trayer"]

        def owned() -> bool:
            if proc.poll() is not None:
                raise self._fail("trayer", f"trayer exited with {proc.returncode}")
            return self.tray_owner() is not None

        if not wait_until(owned, self.timeout):
            raise self._fail("trayer", "nobody owns _NET_SYSTEM_TRAY_S0")

    def tray_owner(self) -> int | None:
        """The window id owning the ``_NET_SYSTEM_TRAY_S0`` selection, if any."""
        from Xlib import X

        d = self._xdisplay
        owner = d.get_selection_owner(d.intern_atom("_NET_SYSTEM_TRAY_S0"))
        return None if owner == X.NONE else int(owner.id)

    def windows(self) -> list[Window]:
        """The mapped top-level windows, bottom to top."""
        from Xlib import X
        from Xlib.error import XError

        root = self._xdisplay.screen().root
        found = []
        for win in root.query_tree().children:
            try:
                if win.get_attributes().map_state != X.IsViewable:
                    continue
                found.append(self._describe(win))
            except XError:  # it went away while we looked
                continue
        return found

    def _describe(self, win: Any) -> Window:
        d = self._xdisplay
        geometry = win.get_geometry()
        origin = d.screen().root.translate_coords(win, 0, 0)
        type_prop = win.get_full_property(d.intern_atom("_NET_WM_WINDOW_TYPE"), 0)
        types = tuple(d.get_atom_name(a) for a in type_prop.value) if type_prop else ()
        name = win.get_wm_name()
        return Window(
            id=int(win.id),
            name=name.decode(errors="replace") if isinstance(name, bytes) else (name or ""),
            wm_class=tuple(win.get_wm_class() or ()),
            box=Box(origin.x, origin.y, geometry.width, geometry.height),
            window_type=types,
        )

    def find_window(self, name_or_class: str) -> Window | None:
        """The topmost mapped top-level window whose name or WM_CLASS contains the text."""
        needle = name_or_class.lower()
        for window in reversed(self.windows()):
            if any(needle in part.lower() for part in (window.name, *window.wm_class)):
                return window
        return None

    def tray_region(self) -> Box:
        """Where icons dock: the host's panel or bar window, else the top strip."""
        bar = self._host_window()
        if bar is not None:
            return bar.box
        width, _ = self.size
        if self.host == "sni":
            return Box(0, 0, width, self.tray_height)
        return Box(width // 2, 0, width - width // 2, self.tray_height)

    def _host_window(self) -> Window | None:
        wanted = ("panel", "trayer") if self.host == "xembed" else SNI_BAR_CLASS
        return next((w for w in self.windows() if w.wm_class == wanted), None)

    def tray_icons(self) -> list[Box]:
        """The docked icons, left to right: trayer's embedding sockets, or the host's slots
        for the items registered with the StatusNotifier watcher."""
        if self.host == "sni":
            bar = self._host_window()
            if bar is None:
                return []
            side = bar.box.height  # square slots from the left edge of the bar
            return [Box(bar.box.x + i * side, bar.box.y, side, side)
                    for i in range(len(self.sni_items()))]
        from Xlib import X
        from Xlib.error import XError

        panel = self._host_window()
        if panel is None:
            return []
        root = self._xdisplay.screen().root
        panel_window = self._xdisplay.create_resource_object("window", panel.id)
        boxes = []
        for child in panel_window.query_tree().children:
            try:
                geometry = child.get_geometry()
                if child.get_attributes().map_state != X.IsViewable or geometry.width <= 1:
                    continue
                origin = root.translate_coords(child, 0, 0)
            except XError:
                continue
            boxes.append(Box(origin.x, origin.y, geometry.width, geometry.height))
        return sorted(boxes, key=lambda b: b.x)

    # -- the StatusNotifier host ---------------------------------------------------------

    def _start_sni_host(self, attempts: int = 3) -> None:
        """Start gtk-sni-tray-standalone; start it again if it dies while starting.

        With ``--watcher`` it starts the watcher and at once registers its host with it; now
        and then (1 start in 20 here) the watcher has not exported its object yet, the
        registration fails with UnknownObject and the program exits by design ("we want to
        die if this fails", app/Main.hs). A fresh start then comes up.
        """
        for attempt in range(1, attempts + 1):
            self._popen("gtk-sni-tray", ["gtk-sni-tray-standalone", "--watcher", "--top"],
                        self.env)
            proc = self._procs["gtk-sni-tray"]

            def ready(proc: subprocess.Popen[bytes] = proc) -> bool | None:
                if proc.poll() is not None:
                    return None
                return (
                    self._name_has_owner(WATCHER_NAME)
                    and self._watcher_property("IsStatusNotifierHostRegistered") == "true"
                    and self._host_window() is not None
                )

            def settled(proc: subprocess.Popen[bytes] = proc) -> bool:
                return proc.poll() is not None or bool(ready(proc))

            wait_until(settled, self.timeout, interval=0.1)
            if ready(proc):
                self.sni_host_starts = attempt
                return
            stop_process(self._procs.pop("gtk-sni-tray"))
            wait_until(lambda: not self._name_has_owner(WATCHER_NAME), self.timeout)
        raise self._fail("gtk-sni-tray", f"no StatusNotifier host came up in {attempts} starts")

    def _watcher_property(self, name: str) -> str:
        """A property of the StatusNotifierWatcher, as dbus-send prints it (after "variant")."""
        result = subprocess.run(
            ["dbus-send", "--session", "--print-reply", f"--dest={WATCHER_NAME}",
             WATCHER_PATH, "org.freedesktop.DBus.Properties.Get",
             f"string:{WATCHER_NAME}", f"string:{name}"],
            env=self.env, capture_output=True, text=True, timeout=self.timeout, check=False,
        )
        if result.returncode != 0:
            return ""
        body = result.stdout.partition("\n")[2].strip()  # below the "method return" line
        return body.removeprefix("variant").strip().removeprefix("boolean").strip()

    def sni_items(self) -> list[str]:
        """The items registered with the StatusNotifier watcher (bus name, maybe a path)."""
        return re.findall(r'string "([^"]*)"', self._watcher_property(
            "RegisteredStatusNotifierItems"))

    # -- pixels ----------------------------------------------------------------------

    def screenshot(self, path: str | os.PathLike[str] | None = None) -> Image.Image:
        """The whole screen (``import -window root``); also saved to ``path`` if given."""
        result = subprocess.run(
            ["import", "-window", "root", "png:-"],
            env=self.env,
            capture_output=True,
            timeout=10,
            check=False,
        )
        if result.returncode != 0:
            raise DesktopError(f"import failed: {result.stderr.decode(errors='replace')}")
        img = Image.open(io.BytesIO(result.stdout)).convert("RGB")
        if path is not None:
            img.save(path)
        return img

    def _grab(self, region: Region) -> Image.Image:
        img = self.screenshot()
        box = self.tray_region() if region == "tray" else region
        return img if box is None else img.crop(box.bbox)

    def count_colour(self, img: Image.Image, rgb: RGB, tol: int = 16) -> int:
        return count_colour(img, rgb, tol)

    def find_colour(self, rgb: RGB, tol: int = 16, region: Region = None) -> Box | None:
        """Where ``rgb`` is on screen (bounding box, screen coordinates), if anywhere."""
        box = self.tray_region() if region == "tray" else region
        img = self.screenshot()
        found = find_colour(img if box is None else img.crop(box.bbox), rgb, tol)
        if found is None or box is None:
            return found
        return Box(found.x + box.x, found.y + box.y, found.width, found.height)

    def wait_for_colour(
        self,
        rgb: RGB,
        tol: int = 16,
        min_pixels: int = 100,
        timeout: float = 5.0,
        region: Region = None,
    ) -> bool:
        """True once at least ``min_pixels`` of ``rgb`` are on screen (or in ``region``;
        ``"tray"`` means the tray as it is at each poll)."""
        return bool(
            wait_until(
                lambda: count_colour(self._grab(region), rgb, tol) >= min_pixels,
                timeout,
                interval=0.1,
            )
        )

    def wait_for_no_colour(
        self, rgb: RGB, tol: int = 16, timeout: float = 5.0, region: Region = None
    ) -> bool:
        """True once no pixel of ``rgb`` is left on screen (or in ``region``)."""
        return bool(
            wait_until(
                lambda: count_colour(self._grab(region), rgb, tol) == 0, timeout, interval=0.1
            )
        )

    # -- input and menus -------------------------------------------------------------

    def click(self, x: int, y: int, button: int = 1) -> None:
        """Move the pointer to (x, y) and click ``button`` (1 left, 3 right) with xdotool."""
        pointer = self._xdisplay.screen().root.query_pointer()
        # `mousemove --sync` waits for the pointer to move: where it already is, it would
        # wait for ever.
        move = [] if (pointer.root_x, pointer.root_y) == (x, y) else [
            "mousemove", "--sync", str(x), str(y)]
        subprocess.run(
            ["xdotool", *move, "click", str(button)],
            env=self.env,
            check=True,
            timeout=self.timeout,
            capture_output=True,
        )

    def key(self, name: str) -> None:
        """Press and release a key (an X keysym name such as ``Escape``) with xdotool."""
        subprocess.run(["xdotool", "key", name], env=self.env, check=True,
                       timeout=self.timeout, capture_output=True)

    def menus(self) -> list[Window]:
        """The popup menus on screen."""
        return [w for w in self.windows() if any(t in MENU_TYPES for t in w.window_type)]

    def open_menu(self, at: tuple[int, int] | None = None, timeout: float = 3.0) -> Window:
        """Right-click ``at`` (default: the first docked icon) and return the menu window."""
        if at is None:
            icons = self.tray_icons()
            if not icons:
                raise DesktopError("no icon is docked in the tray")
            at = icons[0].center
        before = {w.id for w in self.menus()}
        self.click(*at, button=3)
        menu = wait_until(
            lambda: next((w for w in self.menus() if w.id not in before), None), timeout
        )
        if menu is None:
            raise DesktopError(f"no popup menu appeared after a right click at {at}")
        # GTK maps the window, then draws it: wait until its items can be seen.
        return self.wait_menu_items(menu, timeout=timeout)[0]

    def window(self, window_id: int) -> Window | None:
        """That top-level window as it is now (None once it is gone or unmapped)."""
        return next((w for w in self.windows() if w.id == window_id), None)

    def wait_menu_items(
        self, menu: Window, count: int | None = None, dark: int = 128, timeout: float = 3.0
    ) -> tuple[Window, list[tuple[int, int]]]:
        """The menu as it is drawn now, and its items, once two looks in a row agree (and
        show ``count`` items, when given); at the deadline, whatever the last look saw.

        GTK maps a menu and then draws it; a StatusNotifier host may map it before the
        layout has come over dbusmenu and then grow it, so the geometry is read afresh.
        """
        last: tuple[Window, list[tuple[int, int]]] = (menu, [])
        seen: list[tuple[Window, list[tuple[int, int]]]] = []

        def settled() -> tuple[Window, list[tuple[int, int]]] | None:
            fresh = self.window(menu.id)
            if fresh is None:
                return None
            look = (fresh, self.menu_items(fresh, dark))
            steady = bool(seen) and seen[-1] == look
            seen.append(look)
            if steady and look[1] and (count is None or len(look[1]) == count):
                return look
            return None

        found = wait_until(settled, timeout, interval=0.1)
        return found or (seen[-1] if seen else last)  # type: ignore[no-any-return]

    def menu_items(self, menu: Window, dark: int = 128) -> list[tuple[int, int]]:
        """The centres of the menu's items, top to bottom, found from its labels' pixels."""
        box = menu.box
        inner = Box(box.x + 1, box.y + 1, box.width - 2, box.height - 2)
        luma = self.screenshot().crop(inner.bbox).convert("L")
        width, height = luma.size
        data = luma.tobytes()
        rows = [width > 0 and min(data[y * width : (y + 1) * width]) < dark for y in range(height)]
        items: list[tuple[int, int]] = []
        y = 0
        while y < height:
            if not rows[y]:
                y += 1
                continue
            start = y
            while y < height and rows[y]:
                y += 1
            items.append((box.center[0], inner.y + (start + y - 1) // 2))
        return items

    @staticmethod
    def menu_item_slots(menu: Window, count: int) -> list[tuple[int, int]]:
        """Geometric fallback: centres of ``count`` equal slots of a text-only menu."""
        box = menu.box
        return [
            (box.center[0], box.y + int((index + 0.5) * box.height / count))
            for index in range(count)
        ]

    def wait_menu_closed(self, menu: Window, timeout: float = 3.0) -> bool:
        return bool(wait_until(lambda: all(w.id != menu.id for w in self.menus()), timeout))


@contextlib.contextmanager
def private_bus(tmp: Path, timeout: float = 5.0) -> Iterator[str]:
    """A bare D-Bus session bus (no X, no services) for ``with``: yields its address.

    Same configuration as the desktop's bus: nothing can be auto-started on it. The
    dbus-daemon runs in the foreground as our child and is stopped by PID at the end.
    """
    runtime = tmp / "bus-runtime"
    runtime.mkdir(mode=0o700)
    config = tmp / "bus.conf"
    config.write_text(_BUS_CONFIG.format(runtime=runtime))
    with open(tmp / "dbus-daemon.log", "ab") as log:  # its complaints, kept out of the output
        proc = subprocess.Popen(
            ["dbus-daemon", f"--config-file={config}", "--nofork", "--print-address=1"],
            stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], timeout)
        address = proc.stdout.readline().decode().strip() if ready else ""
        if not address:
            raise DesktopError(f"dbus-daemon printed no address (exit code {proc.poll()})")
        yield address
    finally:
        stop_process(proc)


def stop_process(proc: subprocess.Popen[Any], timeout: float = 3.0) -> int | None:
    """Terminate ``proc`` by PID, wait up to ``timeout``, then kill; its exit code."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout)
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
    return proc.returncode


def _stop_foreign_pid(pid: int, expected: bytes, timeout: float = 3.0) -> None:
    """Stop a process that is not our child (dbus-daemon forked by dbus-launch)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return
    if expected not in cmdline:  # gone, and the PID reused: not ours to kill
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        if wait_until(lambda: not _alive(pid), timeout):
            return


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting for init to reap it counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")
