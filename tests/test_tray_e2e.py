"""The tray app end to end on a real virtual desktop: Xvfb, a private D-Bus session and dunst,
against a Statuspage server on 127.0.0.1, under each kind of tray host: trayer (an XEMBED
tray) and gtk-sni-tray-standalone (a StatusNotifier host, like KDE, GNOME with the
AppIndicator extension and waybar).

The icon is read from screenshot pixels, notifications from dunst's history. A right click
opens the menu on both hosts; its items are then clicked with the mouse under trayer, and
over dbusmenu under gtk-sni-tray (as the host itself does: mouse clicks on the host's menu
got lost under CPU load, see tests/dbusmenu.py). Per host, the tests share one app process
and run in file order.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest_desktop import desktop_by_host  # noqa: F401 - "desktop", once per host
from tests.desktop import Desktop, wait_until
from tests.trayapp import ARTIFACTS, ROOT, App, click_menu, running_app
from tray_app.core.levels import Level
from tray_app.demo import StatusServer
from tray_app.icons import level_colour
from tray_app.state import StateStore
from tray_app.store import Database
from tray_app.userdata import DATABASE

pytestmark = pytest.mark.desktop

TOL = 12
PIXELS = 60  # a docked 22-32 px icon has a few hundred pixels of its level's colour
# The backend the app picks by itself: gtk for an XEMBED tray, appindicator for a
# StatusNotifier host.
BACKEND = {"xembed": "gtk", "sni": "appindicator"}


def _artifact(desktop: Desktop, name: str) -> str:
    """The README's screenshots come from trayer's run; the other host's get a suffix."""
    return name if desktop.host == "xembed" else name.replace(".png", f"-{desktop.host}.png")


def _notes(desktop: Desktop, word: str) -> list[dict[str, Any]]:
    return [n for n in desktop.notifications() if word in n.get("summary", "")]


@pytest.fixture(scope="module")
def app(desktop: Desktop, tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    tmp = tmp_path_factory.mktemp("tray")
    with StatusServer() as server, running_app(desktop, tmp, server) as the_app:
        yield the_app


def test_icon_shows_the_operational_colour(app: App, desktop: Desktop) -> None:
    green = level_colour(Level.OPERATIONAL)
    assert desktop.wait_for_colour(green, TOL, PIXELS, timeout=15, region="tray"), app.why()
    assert f"{BACKEND[desktop.host]} backend" in app.log_text(), app.why()
    if desktop.host == "sni":
        assert len(desktop.sni_items()) == 1, "registered with the StatusNotifier watcher"
        icon = desktop.find_colour(green, TOL, region="tray")
        assert icon is not None and icon.contains(15, 15), f"the first slot of the bar: {icon}"
    assert not _notes(desktop, "Claude"), "an operational start notifies nothing"


def test_major_outage_turns_the_icon_red_and_notifies(app: App, desktop: Desktop) -> None:
    app.server.set_level(Level.MAJOR_OUTAGE)
    red = level_colour(Level.MAJOR_OUTAGE)
    assert desktop.wait_for_colour(red, TOL, PIXELS, timeout=10, region="tray"), app.why()
    # Reading dunst's history closes the popups: take the README's screenshot first, once
    # the popup (bottom left) is drawn.
    width, height = desktop.size
    popup = (0, height // 2, width // 2, height)
    wait_until(lambda: desktop.screenshot().crop(popup).getbbox() is not None, 5.0)
    ARTIFACTS.mkdir(exist_ok=True)
    desktop.screenshot(ARTIFACTS / _artifact(desktop, "tray-notification.png"))
    note = desktop.wait_for_notification(lambda n: n["summary"].startswith("Claude is down"), 10)
    assert note is not None, f"{desktop.notifications()}\n{app.why()}"
    assert "Elevated errors" in note["body"]
    assert note["appname"] == "Claude Status Tray"
    assert count(desktop, level_colour(Level.OPERATIONAL)) == 0, "no green left in the tray"


def count(desktop: Desktop, rgb: tuple[int, int, int]) -> int:
    img = desktop.screenshot().crop(desktop.tray_region().bbox)
    return desktop.count_colour(img, rgb, TOL)


def test_recovery_notifies_after_the_confirmations(app: App, desktop: Desktop) -> None:
    app.server.set_level(Level.OPERATIONAL)
    green = level_colour(Level.OPERATIONAL)
    assert desktop.wait_for_colour(green, TOL, PIXELS, timeout=10, region="tray"), app.why()
    note = desktop.wait_for_notification(lambda n: n["summary"].startswith("Claude is back"), 10)
    assert note is not None, f"{desktop.notifications()}\n{app.why()}"
    assert "after" in note["summary"]
    assert len(_notes(desktop, "is down")) == 1, "exactly one down alert for the outage"


def test_a_right_click_opens_the_menu_with_every_entry(app: App, desktop: Desktop) -> None:
    # Drawn by the app (gtk) under trayer, by the host from dbusmenu under gtk-sni-tray.
    labels = [e["text"] for e in app.entries() if e["text"] != "---"]
    assert "Quit" in labels, app.why()
    menu = desktop.open_menu(at=desktop.tray_icons()[0].center)
    menu, items = desktop.wait_menu_items(menu, len(labels), dark=200)
    assert len(items) == len(labels), f"{len(items)} items seen, the menu has {labels}"
    desktop.key("Escape")
    assert desktop.wait_menu_closed(menu), "Escape closes it"


def test_menu_check_now_polls_at_once(app: App, desktop: Desktop) -> None:
    # Slow the poller down first: an outage makes it poll every second anyway, so use the
    # server's counter across a quiet window instead of the interval.
    before = app.server.requests
    click_menu(app, "Check now", screenshot=_artifact(desktop, "tray-menu.png"))
    assert wait_until(lambda: app.server.requests > before, 3.0), app.why()
    assert "menu: check_now" in app.log_text()


def test_menu_quit_exits_cleanly(app: App, desktop: Desktop) -> None:
    click_menu(app, "Quit")
    try:
        code = app.proc.wait(10)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the app did not quit\n{app.why()}")
    assert code == 0, app.why()
    assert wait_until(lambda: not desktop.tray_icons(), 3.0), "the icon left the tray"
    database = Database(app.data_dir / DATABASE)
    saved = StateStore(database).load()
    database.close()
    assert saved.services and saved.saved_at > 0, "state saved on the way out"


def test_no_display_falls_back_to_watch(tmp_path: Path) -> None:
    with StatusServer() as server:
        env = {k: v for k, v in _plain_env(tmp_path).items() if k not in ("DISPLAY",
                                                                           "WAYLAND_DISPLAY")}
        proc = subprocess.Popen(
            [sys.executable, "-m", "tray_app", "--url", server.url, "--interval", "1"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path,
        )
        try:
            out, err = proc.communicate(timeout=4)
        except subprocess.TimeoutExpired:
            proc.terminate()
            out, err = proc.communicate(timeout=5)
    lines = err.decode().strip().splitlines()
    assert any("no display" in ln and "falling back" in ln for ln in lines), lines
    assert "Traceback" not in err.decode()
    assert b"operational" in out, out


def _plain_env(tmp: Path) -> dict[str, str]:
    import os

    env = dict(os.environ)
    for key in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        env[key] = str(tmp / key.lower())
    env["PYTHONPATH"] = str(ROOT)
    env["CST_NOTIFIER"] = "none"
    return env


def test_sigterm_quits_cleanly(desktop: Desktop, tmp_path: Path) -> None:
    with StatusServer() as server, running_app(desktop, tmp_path, server) as app:
        green = level_colour(Level.OPERATIONAL)
        assert desktop.wait_for_colour(green, TOL, PIXELS, timeout=15, region="tray"), app.why()
        app.proc.terminate()
        try:
            code = app.proc.wait(10)
        except subprocess.TimeoutExpired:
            pytest.fail(f"SIGTERM did not stop the app\n{app.why()}")
        assert code == 0, app.why()
        assert "menu: quit" in app.log_text()


def test_the_appindicator_backend_shows_and_recolours_the_icon(
    desktop: Desktop, tmp_path: Path
) -> None:
    # Under trayer there is no StatusNotifier host: libayatana-appindicator falls back to an
    # XEMBED icon, which trayer docks; the app's code path is the appindicator one all the
    # same. Under gtk-sni-tray it is the real thing.
    with StatusServer() as server, running_app(desktop, tmp_path, server,
                                               backend="appindicator") as app:
        green = level_colour(Level.OPERATIONAL)
        assert desktop.wait_for_colour(green, TOL, PIXELS, timeout=15, region="tray"), app.why()
        assert "appindicator backend" in app.log_text()
        server.set_level(Level.PARTIAL_OUTAGE)
        orange = level_colour(Level.PARTIAL_OUTAGE)
        assert desktop.wait_for_colour(orange, TOL, PIXELS, timeout=10, region="tray"), app.why()
        note = desktop.wait_for_notification(
            lambda n: n["summary"].startswith("Claude is partly down"), 10)
        assert note is not None, app.why()


def test_a_backend_that_cannot_start_falls_back_to_watch(desktop: Desktop, tmp_path: Path) -> None:
    with StatusServer() as server, running_app(desktop, tmp_path, server,
                                               backend="nosuchbackend") as app:
        assert wait_until(lambda: "falling back to watching" in app.log_text(), 15), app.why()
        assert wait_until(lambda: "Claude: operational" in app.log_text(), 10), app.why()
        assert app.proc.poll() is None, "still running, watching in the terminal"
