"""End-to-end checks of the desktop harness and the notifier on a real virtual desktop.

Everything that touches the desktop runs in a child process with ``desktop.env`` (as the app
will): a tiny pystray icon (gtk backend) and a tiny script driving `tray_app.notifier`.
Delivery is checked on the daemon's side (dunst's history), never by a return value.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
import unicodedata
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.conftest_desktop import desktop as desktop_fixture  # noqa: F401 (when conftest lacks it)
from tests.conftest_desktop import require
from tests.desktop import Box, Desktop, missing_requirements, wait_until
from tray_app import APP_NAME
from tray_app.core.plaintext import BODY_LIMIT, TITLE_LIMIT, clean

pytestmark = pytest.mark.desktop

ROOT = Path(__file__).resolve().parent.parent
RED = (255, 0, 0)
BLUE = (0, 0, 255)
ICON_PIXELS = 300  # a docked icon is about 32x30 px
BACKENDS = ["desktop-notifier", "plyer"]

# A minimal tray app: a solid red square with a three-item menu. Each stdin line
# "R G B" repaints it from a background thread (not the GTK main thread); end of stdin
# stops it. Menu items write their name to argv[1].
ICON_SCRIPT = """
import sys
import threading
from pathlib import Path

import pystray
from PIL import Image

clicked = Path(sys.argv[1])

def square(rgb):
    return Image.new("RGB", (64, 64), rgb)

def record(icon, item):
    clicked.with_suffix(".tmp").write_text(str(item))
    clicked.with_suffix(".tmp").replace(clicked)

def read_commands(icon):
    for line in sys.stdin:
        icon.icon = square(tuple(int(v) for v in line.split()))
    icon.stop()

def setup(icon):
    icon.visible = True
    # A daemon thread, so that "Quit" from the menu is not held up by a pending stdin read.
    threading.Thread(target=read_commands, args=(icon,), name="commands", daemon=True).start()

menu = pystray.Menu(
    pystray.MenuItem("First", record),
    pystray.MenuItem("Second", record),
    pystray.MenuItem("Quit", lambda icon, item: icon.stop()),
)
pystray.Icon("cst-test", square((255, 0, 0)), "CST test", menu).run(setup=setup)
"""

# Drives tray_app.notifier the way the app does. argv[1] is JSON: app_name, icon_path and
# batches of [title, body]. After each batch it waits until the worker is idle, prints one
# JSON line about itself, and (between batches) waits for a line on stdin.
NOTIFY_SCRIPT = """
import json, logging, os, sys, threading, time
from tray_app.notifier import Notifier

logging.basicConfig(level=logging.INFO, format="%(threadName)s %(name)s %(levelname)s %(message)s")
args = json.loads(sys.argv[1])
notifier = Notifier(args["app_name"], args["icon_path"])
for index, batch in enumerate(args["batches"]):
    if index:
        sys.stdin.readline()
    slowest = 0.0
    for title, body in batch:
        start = time.monotonic()
        notifier.send(title, body)
        slowest = max(slowest, time.monotonic() - start)
    idle = notifier.flush(timeout=20)
    print(json.dumps({
        "batch": index,
        "idle": idle,
        "slowest_send": slowest,
        "worker_alive": any(t.name == "notifier" and t.is_alive() for t in threading.enumerate()),
        "fds": len(os.listdir("/proc/self/fd")),
        "backends": notifier.backend_names,
    }), flush=True)
start = time.monotonic()
notifier.close(timeout=10)
print(json.dumps({"closed_in": time.monotonic() - start,
                  "threads": [t.name for t in threading.enumerate()]}), flush=True)
"""


def _screenshot_note(desktop: Desktop, tmp_path: Path, name: str) -> str:
    path = tmp_path / f"{name}.png"
    desktop.screenshot(path)
    return f"screenshot: {path}"


class IconApp:
    def __init__(self, desktop: Desktop, proc: subprocess.Popen[str], clicked: Path) -> None:
        self.desktop = desktop
        self.proc = proc
        self.clicked = clicked

    def paint(self, rgb: tuple[int, int, int]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(" ".join(map(str, rgb)) + "\n")
        self.proc.stdin.flush()

    def quit(self, timeout: float = 5.0) -> int | None:
        """Close stdin (the app stops itself) and wait; kill if it hangs."""
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            self.proc.stdin.close()
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.desktop.stop_app(self.proc)
            return None


@contextmanager
def icon_app(desktop: Desktop, tmp_path: Path, backend: str | None = None) -> Iterator[IconApp]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    script = tmp_path / "icon_app.py"
    script.write_text(ICON_SCRIPT)
    clicked = tmp_path / "clicked.txt"
    proc = desktop.spawn(
        [sys.executable, str(script), str(clicked)], stdin=subprocess.PIPE, text=True,
        env={"PYSTRAY_BACKEND": backend} if backend else None,
    )
    app = IconApp(desktop, proc, clicked)
    try:
        yield app
    finally:
        app.quit()
        desktop.stop_app(proc)
        # Leave the tray empty for the next test on this desktop.
        wait_until(lambda: not desktop.tray_icons(), 3.0)


class NotifyChild:
    """The notifier child: JSON lines out, "go on" lines in, every read with a deadline."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self._buffer = b""

    def read_json(self, timeout: float) -> dict[str, Any]:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([fd], [], [], max(left, 0))
            assert ready, f"no output from the notifier child within {timeout} s"
            chunk = os.read(fd, 4096)
            assert chunk, f"notifier child ended early with {self.proc.wait(5)}"
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        result: dict[str, Any] = json.loads(line)
        return result

    def go_on(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"next\n")
        self.proc.stdin.flush()


def _notify_child(
    desktop: Desktop,
    tmp_path: Path,
    batches: list[list[tuple[str, str]]],
    backend: str | None,
    icon_path: Path | None = None,
    bus_address: str | None = None,
) -> NotifyChild:
    env = {**desktop.env, "PYTHONPATH": str(ROOT)}
    env.pop("CST_NOTIFIER", None)
    if backend is not None:
        env["CST_NOTIFIER"] = backend
    if bus_address is not None:
        env["DBUS_SESSION_BUS_ADDRESS"] = bus_address
    args = {
        "app_name": APP_NAME,
        "icon_path": str(icon_path) if icon_path else None,
        "batches": batches,
    }
    with open(tmp_path / "notify_child.log", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-c", NOTIFY_SCRIPT, json.dumps(args)],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            bufsize=0,
            cwd=tmp_path,
        )
    return NotifyChild(proc)


def _run_notify(
    desktop: Desktop,
    tmp_path: Path,
    messages: list[tuple[str, str]],
    backend: str | None,
    icon_path: Path | None = None,
    bus_address: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    child = _notify_child(desktop, tmp_path, [messages], backend, icon_path, bus_address)
    try:
        batch = child.read_json(20)
        closed = child.read_json(15)
        assert child.proc.wait(5) == 0, _log_text(tmp_path)
    finally:
        desktop.stop_app(child.proc)
    return batch, closed


def _log_text(tmp_path: Path) -> str:
    path = tmp_path / "notify_child.log"
    return path.read_text() if path.exists() else ""


# -- (a) the icon docks and is repainted from a background thread --------------------------


def test_icon_docks_and_changes_colour_from_a_background_thread(
    desktop: Desktop, tmp_path: Path
) -> None:
    with icon_app(desktop, tmp_path) as app:
        assert desktop.wait_for_colour(RED, min_pixels=ICON_PIXELS, region="tray"), (
            _screenshot_note(desktop, tmp_path, "red")
        )
        assert len(desktop.tray_icons()) == 1
        icon = desktop.find_colour(RED, region="tray")
        assert icon is not None and desktop.tray_region().contains(*icon.center)

        app.paint(BLUE)
        assert desktop.wait_for_colour(BLUE, min_pixels=ICON_PIXELS, region="tray"), (
            _screenshot_note(desktop, tmp_path, "blue")
        )
        assert desktop.wait_for_no_colour(RED, region="tray")

        assert app.quit() == 0  # stopping from the background thread exits cleanly
    assert not desktop.tray_icons()


# -- (e) the menu opens and a click on an item runs its callback ---------------------------


def test_menu_item_click_runs_its_callback(desktop: Desktop, tmp_path: Path) -> None:
    with icon_app(desktop, tmp_path) as app:
        assert desktop.wait_for_colour(RED, min_pixels=ICON_PIXELS, region="tray")
        icon = desktop.find_colour(RED, region="tray")
        assert icon is not None

        menu = desktop.open_menu(at=icon.center)
        items = desktop.menu_items(menu)
        assert len(items) == 3, _screenshot_note(desktop, tmp_path, "menu")
        for found, slot in zip(items, desktop.menu_item_slots(menu, 3), strict=True):
            assert abs(found[1] - slot[1]) <= 6  # the geometric fallback agrees

        desktop.click(*items[1])
        assert wait_until(lambda: app.clicked.exists() and app.clicked.read_text() == "Second", 3.0)
        assert desktop.wait_menu_closed(menu)

        menu = desktop.open_menu(at=icon.center)
        desktop.click(*desktop.menu_items(menu)[2])  # "Quit"
        assert app.proc.wait(5) == 0


# -- (f) a StatusNotifier host: items registered with its watcher, in slots from the left --


def test_a_statusnotifier_host_shows_each_item_in_its_slot(tmp_path: Path) -> None:
    require(missing_requirements("sni"), "the StatusNotifier host test")
    with Desktop(host="sni") as sni:
        with icon_app(sni, tmp_path / "one", "appindicator"), \
                icon_app(sni, tmp_path / "two", "appindicator") as second:
            second.paint(BLUE)
            assert wait_until(lambda: len(sni.sni_items()) == 2, 5), sni.sni_items()
            assert sni.wait_for_colour(RED, min_pixels=ICON_PIXELS, region="tray")
            assert sni.wait_for_colour(BLUE, min_pixels=ICON_PIXELS, region="tray"), (
                _screenshot_note(sni, tmp_path, "sni")
            )
            bar = sni.tray_region()
            assert (bar.x, bar.y, bar.width, bar.height) == (0, 0, sni.size[0], 30)
            slots = sni.tray_icons()
            assert slots == [Box(0, 0, 30, 30), Box(30, 0, 30, 30)]
            shot = sni.screenshot()
            assert {shot.getpixel(slot.center) for slot in slots} == {RED, BLUE}
        assert wait_until(lambda: not sni.sni_items(), 5), "items leave with their programs"


# -- (b) each backend delivers title, body, app name and icon ------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_notifier_delivers_with_each_backend(
    desktop: Desktop, tmp_path: Path, backend: str
) -> None:
    desktop.clear_notifications()
    icon = tmp_path / "app-icon.png"
    Image.new("RGB", (16, 16), RED).save(icon)
    title = f"Claude is down ({backend})"
    body = f"Major outage on claude.ai, ref {uuid.uuid4().hex[:8]}"

    batch, closed = _run_notify(desktop, tmp_path, [(title, body)], backend, icon)

    assert batch["backends"] == [backend]
    note = desktop.wait_for_notification(lambda n: n["body"] == body, timeout=5)
    assert note is not None, _log_text(tmp_path)
    assert note["summary"] == title
    assert note["appname"] == APP_NAME
    assert note["icon_path"].endswith("app-icon.png")
    assert batch["slowest_send"] < 0.1
    assert closed["threads"] == ["MainThread"]


# -- (c) markup, control and bidi characters are cleaned before they reach dunst -----------

NASTY_TITLE = "<b>Claude</b> &amp; \u202eevil\u202c\x07 <i>down</i>"
NASTY_BODY = (
    "<p>Elevated errors</p><script>alert(1)</script> a < b &lt;i&gt; "
    "\u2066iso\u2069\u200b\ufeff\x00\x1b[31m\x9b tab\there\nnew line " + "x" * 400
)


@pytest.mark.parametrize("backend", BACKENDS)
def test_untrusted_text_is_cleaned_before_the_daemon(
    desktop: Desktop, tmp_path: Path, backend: str
) -> None:
    desktop.clear_notifications()
    title = f"{NASTY_TITLE} {backend}"

    _run_notify(desktop, tmp_path, [(title, NASTY_BODY)], backend)

    expected_title = clean(title, TITLE_LIMIT)
    note = desktop.wait_for_notification(lambda n: n["summary"] == expected_title, timeout=5)
    assert note is not None, (desktop.notifications(), _log_text(tmp_path))
    assert note["body"] == clean(NASTY_BODY, BODY_LIMIT)
    for text in (note["summary"], note["body"]):
        assert not set(text) & set("<>&")
        assert all(unicodedata.category(ch) not in ("Cc", "Cf") for ch in text)
    assert note["summary"].startswith("Claude + evil")
    assert note["body"].startswith("Elevated errors a \u2039 b \u2039i\u203a iso[31m tab here new")
    assert len(note["body"]) == BODY_LIMIT and note["body"].endswith("\u2026")


# -- (d) no daemon: send neither raises nor blocks, the worker survives and recovers -------


def test_without_a_daemon_send_survives_and_recovers(desktop: Desktop, tmp_path: Path) -> None:
    desktop.clear_notifications()
    failing = [[("lost", "first")], [(f"lost {i}", "again") for i in range(10)]]
    back = [("back", f"delivered after the daemon returned {uuid.uuid4().hex[:8]}")]
    child = _notify_child(desktop, tmp_path, [*failing, back], backend=None)
    try:
        with desktop.without_notification_daemon():
            first = child.read_json(20)
            child.go_on()
            second = child.read_json(20)
        child.go_on()
        third = child.read_json(20)
        closed = child.read_json(15)
        assert child.proc.wait(5) == 0, _log_text(tmp_path)
    finally:
        desktop.stop_app(child.proc)

    log = _log_text(tmp_path)
    assert first["backends"] == ["desktop-notifier", "plyer"]
    for batch in (first, second, third):
        assert batch["idle"] and batch["worker_alive"], log
        assert batch["slowest_send"] < 0.1
    assert second["fds"] == first["fds"], "file descriptors leaked per failed notification"
    assert "No notification backend delivered 'lost 9'" in log
    note = desktop.wait_for_notification(lambda n: n["summary"] == "back", timeout=5)
    assert note is not None and note["body"] == back[0][1], log
    assert [n["summary"] for n in desktop.notifications()] == ["back"]
    assert closed["threads"] == ["MainThread"]


def test_without_any_bus_send_survives(desktop: Desktop, tmp_path: Path) -> None:
    missing_bus = f"unix:path={tmp_path / 'no-such-bus'}"
    batch, closed = _run_notify(
        desktop, tmp_path, [("nowhere", "to go")], backend=None, bus_address=missing_bus
    )
    assert batch["idle"] and batch["worker_alive"]
    assert batch["slowest_send"] < 0.1
    assert closed["threads"] == ["MainThread"]
    assert "No notification backend delivered 'nowhere'" in _log_text(tmp_path)


def test_desktop_environment_is_private(desktop: Desktop) -> None:
    env = desktop.env
    assert env["DISPLAY"] == desktop.display and env["NO_AT_BRIDGE"] == "1"
    assert env["PYSTRAY_BACKEND"] == "gtk"
    for key in (
        "HOME",
        "XDG_CONFIG_HOME",
        "XDG_DATA_HOME",
        "XDG_STATE_HOME",
        "XDG_CACHE_HOME",
        "XDG_RUNTIME_DIR",
    ):
        assert env[key].startswith(str(desktop.tmp)), key
    assert desktop.bus_address != os.environ.get("DBUS_SESSION_BUS_ADDRESS")
