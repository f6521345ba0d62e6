"""The tray's menu features, clicked for real on the virtual desktop (issue 5): notify me when
it's back, pause, components by id, start at login, the history chart. Under each tray host
(trayer; gtk-sni-tray-standalone, which draws the menu it reads over dbusmenu), one app
process; the tests run in file order and build on each other."""

from __future__ import annotations

import time
import tomllib
from collections.abc import Iterator

import pytest

from tests.conftest_desktop import desktop_by_host  # noqa: F401 - "desktop", once per host
from tests.desktop import Desktop, wait_until
from tests.trayapp import App, click_menu, running_app
from tray_app.core.levels import Level
from tray_app.demo import StatusServer
from tray_app.icons import level_colour

pytestmark = pytest.mark.desktop

TOL = 12
PIXELS = 60
CLAUDE_CODE = "yyzkbfz2thpt"


@pytest.fixture(scope="module")
def app(desktop: Desktop, tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    tmp = tmp_path_factory.mktemp("menu")
    server = StatusServer()
    # A partial outage of Claude Code only (the demo page's default affected component).
    server.set_level(Level.PARTIAL_OUTAGE)
    with server, running_app(desktop, tmp, server, via_config=True) as the_app:
        orange = level_colour(Level.PARTIAL_OUTAGE)
        assert desktop.wait_for_colour(orange, TOL, PIXELS, timeout=15, region="tray"), (
            the_app.why()
        )
        yield the_app


def test_startup_during_an_outage_notifies_once(app: App, desktop: Desktop) -> None:
    note = desktop.wait_for_notification(
        lambda n: n["summary"] == "Claude is having problems right now", 10
    )
    assert note is not None, app.why()
    assert "Claude Code login failures" in note["body"]


def test_notify_me_when_back_arms(app: App) -> None:
    assert app.entry("Notify me when it's back") is not None, app.labels()
    click_menu(app, "Notify me when it's back")
    assert wait_until(lambda: (app.entry("Notify me when it's back") or {}).get("checked"), 3)


def test_pause_for_one_hour_shows_time_left(app: App) -> None:
    shot = "tray-submenu.png" if app.desktop.host == "xembed" else "tray-submenu-sni.png"
    click_menu(app, "Notifications", "Pause for 1 hour", screenshot=shot)

    def paused_label() -> str:
        children = (app.entry("Notifications") or {}).get("children", [])
        return next((c["text"] for c in children if c["text"].startswith("Paused")), "")

    assert wait_until(paused_label, 3), app.entries()
    assert "left" in paused_label()
    assert paused_label().startswith(("Paused, 60 min", "Paused, 59 min", "Paused, 1 h"))


def test_armed_recovery_notifies_even_while_paused(app: App, desktop: Desktop) -> None:
    app.server.set_level(Level.OPERATIONAL)
    note = desktop.wait_for_notification(lambda n: n["summary"].startswith("Claude is back"), 10)
    assert note is not None, app.why()
    assert wait_until(lambda: app.entry("Notify me when it's back") is None, 5), "disarmed"
    # Still paused: a new outage is shown on the icon but not notified.
    app.server.set_level(Level.PARTIAL_OUTAGE)
    orange = level_colour(Level.PARTIAL_OUTAGE)
    assert desktop.wait_for_colour(orange, TOL, PIXELS, timeout=10, region="tray")
    time.sleep(2.5)  # two more polls at the 1 s interval: room for a wrong notification
    assert not [n for n in desktop.notifications() if "partly down" in n["summary"]]


def test_start_at_login_writes_and_removes_the_autostart_entry(app: App) -> None:
    desktop_file = app.config_dir.parent / "autostart" / "claude-status-tray.desktop"
    click_menu(app, "Start at login")
    assert wait_until(desktop_file.exists, 3), app.why()
    exec_line = next(ln for ln in desktop_file.read_text().splitlines() if ln.startswith("Exec="))
    assert "tray_app" in exec_line
    assert wait_until(lambda: (app.entry("Start at login") or {}).get("checked") is True, 3)
    click_menu(app, "Start at login")
    assert wait_until(lambda: not desktop_file.exists(), 3), app.why()


def test_show_history_chart_draws_a_png(app: App) -> None:
    click_menu(app, "History", "Show history chart")
    chart = app.data_dir / "history.png"
    assert wait_until(chart.exists, 5), app.why()
    uptime = (app.entry("History") or {}).get("children", [{}])[0].get("text", "")
    assert uptime.startswith("Uptime: 24 h"), uptime


def test_unticking_a_component_saves_it_by_id_and_turns_the_icon_green(
    app: App, desktop: Desktop
) -> None:
    component = next(c["text"] for c in app.entry("Components")["children"]  # type: ignore[index]
                     if c["text"] == "Claude Code")
    click_menu(app, "Components", component)
    green = level_colour(Level.OPERATIONAL)
    assert desktop.wait_for_colour(green, TOL, PIXELS, timeout=10, region="tray"), app.why()
    saved = tomllib.loads((app.config_dir / "config.toml").read_text())
    ids = {c["id"] for c in saved["components"] if isinstance(c, dict)}
    assert CLAUDE_CODE not in ids and "rwppv331jlwc" in ids, saved["components"]
    assert not list(app.config_dir.glob(".config.toml.*")), "no temporary files left behind"
