"""Several Statuspage services at once (issue 5 item 7): each its own submenu and alerts,
the icon shows the worst of them."""

from __future__ import annotations

from pathlib import Path

from tray_app import config as config_mod
from tray_app.app import build_monitors
from tray_app.clock import FakeClock
from tray_app.core.levels import Level
from tray_app.core.policy import Kind, Notify
from tray_app.core.prefs import Prefs
from tray_app.demo import StatusServer
from tray_app.http import HttpClient
from tray_app.menu import build
from tray_app.poller import Poller, Report


def test_two_pages_each_alert_on_their_own_and_the_icon_shows_the_worst(tmp_path: Path) -> None:
    with StatusServer() as claude, StatusServer() as other:
        other.set_level(Level.OPERATIONAL, name="Other")
        path = tmp_path / "config.toml"
        path.write_text(
            f'url = "{claude.url}"\ninterval = 1\n'
            f'[[services]]\nname = "Other"\nurl = "{other.url}"\n'
        )
        cfg, problems = config_mod.load(path)
        assert problems == []
        client = HttpClient()
        reports: list[Report] = []
        clock = FakeClock()
        monitors = build_monitors(cfg, client, clock=clock)
        poller = Poller(monitors, reports.append, clock=clock)
        try:
            poller.tick()
            assert [m.name for m in monitors] == ["Claude", "Other"]
            other.set_level(Level.MAJOR_OUTAGE, name="Other")
            clock.advance(1)
            poller.tick()
        finally:
            client.close()
    notes = [e for r in reports for e in r.effects if isinstance(e, Notify)]
    assert [(n.kind, n.title.split(":")[0]) for n in notes] == [(Kind.DOWN, "Other is down")]
    last = reports[-1]
    assert last.level is Level.MAJOR_OUTAGE
    model = build(last.services, Prefs(), clock.time())
    assert model.level is Level.MAJOR_OUTAGE
    assert model.menu[0].text.startswith("Other: major outage"), "the worst service leads"
    submenus = [e for e in model.menu if e.children and e.text.endswith("major outage")]
    assert submenus and "Other" in submenus[0].text
    assert any(c.action == "open_page" and c.arg == monitors[1].key
               for c in submenus[0].children)
