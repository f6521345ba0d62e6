"""The tray controller: menu actions become settings, saved where they belong. The tray, the
"check now" end of the poller, the browser and start-at-login are fakes; the session, monitor,
config file and state file are real."""

from __future__ import annotations

import threading
import tomllib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tray_app import config as config_mod
from tray_app.clock import FakeClock
from tray_app.controller import TrayController
from tray_app.core.assess import Selector, Watch, assess
from tray_app.core.levels import Level
from tray_app.core.model import Fetched
from tray_app.core.prefs import Prefs, next_morning
from tray_app.core.statuspage import parse_summary
from tray_app.demo import COMPONENTS, summary
from tray_app.history import Episode, HistoryStore
from tray_app.menu import TrayModel
from tray_app.monitor import Monitor
from tray_app.poller import Poller
from tray_app.session import Session
from tray_app.state import StateStore
from tray_app.userdata import DATABASE, open_database

CODE, GOVERNMENT, CLAUDE_AI = "yyzkbfz2thpt", "0scnb50nvy53", "rwppv331jlwc"
HOSTS = frozenset({"status.claude.com", "stspg.io"})


class PageSource:
    base = "https://status.claude.com"
    using_mirror = False

    def __init__(self) -> None:
        self.doc: dict[str, Any] = summary()

    def fetch(self) -> Fetched:
        return Fetched(self.base + "/api/v2/summary.json", summary=parse_summary(self.doc))

    def hosts(self) -> frozenset[str]:
        return HOSTS

    def rename(self, component_id: str, name: str) -> None:
        for c in self.doc["components"]:
            if c["id"] == component_id:
                c["name"] = name


class FakeTray:
    def __init__(self) -> None:
        self.models: list[TrayModel] = []
        self.stopped = False

    def update(self, model: TrayModel) -> None:
        self.models.append(model)

    def stop(self) -> None:
        self.stopped = True


class FakePoller:
    """Counts "check now" and stop; changes posted to it run at the real loop's next tick."""

    def __init__(self, driver: Poller) -> None:
        self.driver = driver
        self.checks = 0
        self.stops: list[float] = []

    def check_now(self) -> None:
        self.checks += 1

    def post(self, change: Callable[[], None]) -> None:
        self.checks += 1
        self.driver.post(change)

    def stop(self, timeout: float = 5.0) -> None:
        self.stops.append(timeout)


class FakeAutostart:
    def __init__(self, fail: bool = False) -> None:
        self.on = False
        self.fail = fail

    def enabled(self) -> bool:
        return self.on

    def set(self, on: bool) -> None:
        if self.fail:
            raise PermissionError("read-only home")
        self.on = on


class Rig:
    def __init__(self, tmp: Path, *, config_broken: bool = False,
                 autostart: FakeAutostart | None = None) -> None:
        self.clock = FakeClock()
        self.source = PageSource()
        cfg, problems = config_mod.load(tmp / "config.toml")
        self.monitor = Monitor("claude", "Claude", self.source, watch=cfg.main_service().watch)
        db = open_database(tmp)
        self.session = Session([self.monitor], prefs=Prefs(enabled=cfg.notifications),
                               store=StateStore(db), history=HistoryStore(db), clock=self.clock)
        self.driver = Poller([self.monitor], self.session, clock=self.clock)  # the real loop
        self.poller = FakePoller(self.driver)
        self.tray = FakeTray()
        self.opened: list[str] = []
        self.config_path = tmp / "config.toml"
        self.controller = TrayController(
            self.session, self.poller, cfg,  # type: ignore[arg-type]
            config_path=self.config_path, config_broken=config_broken or bool(problems),
            autostart=autostart, open_url=self.opened.append, clock=self.clock,
        )
        self.controller.tray = self.tray
        self.poll()

    def poll(self) -> None:
        self.driver.check_now()
        self.driver.tick()

    def saved_config(self) -> dict[str, Any]:
        return tomllib.loads(self.config_path.read_text(encoding="utf-8"))

    def watched(self) -> set[str]:
        a = self.monitor.assessment
        assert a is not None
        return {c.id for c in a.watched}


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    return Rig(tmp_path)


def test_check_now_asks_the_poller_and_refreshes_the_tray(rig: Rig) -> None:
    rig.controller.on_action("check_now")
    assert rig.poller.checks == 1
    assert len(rig.tray.models) == 1
    assert rig.tray.models[0].menu[0].text == "Claude: operational"
    assert not rig.config_path.exists()  # nothing the user set: the config file is untouched


@pytest.mark.parametrize(
    ("url", "opens"),
    [
        ("https://stspg.io/abc123", True),
        ("https://status.claude.com/incidents/xyz", True),
        ("http://stspg.io/abc123", False),
        ("https://evil.example/stspg.io", False),
        ("https://status.claude.com.evil.example/", False),
        ("javascript:alert(1)", False),
        ("https://user@status.claude.com/", False),
        ("https://status.claude.com/\nx", False),
        ("", False),
    ],
)
def test_open_url_opens_only_https_links_to_the_page(rig: Rig, url: str, opens: bool) -> None:
    rig.controller.on_action("open_url", url)
    assert rig.opened == ([url] if opens else [])


def test_open_page(rig: Rig) -> None:
    rig.controller.on_action("open_page", "claude")
    rig.controller.on_action("open_page", "no-such-service")  # falls back to the first
    assert rig.opened == ["https://status.claude.com", "https://status.claude.com"]


def test_toggle_component_saves_the_choice_by_id(rig: Rig) -> None:
    assert rig.watched() == {cid for cid, _ in COMPONENTS} - {GOVERNMENT}
    rig.controller.on_action("toggle_component", f"claude\t{CODE}")
    assert rig.poller.checks == 1
    rig.poll()  # the change is made on the polling thread, before its next poll
    saved = rig.saved_config()["components"]
    assert saved == [{"id": cid, "name": name} for cid, name in COMPONENTS
                     if cid not in (CODE, GOVERNMENT)]
    text = rig.config_path.read_text(encoding="utf-8")
    assert f'{{ id = "{CLAUDE_AI}", name = "claude.ai" }}' in text
    assert rig.watched() == {cid for cid, _ in COMPONENTS} - {GOVERNMENT, CODE}
    # A saved choice lists only what it holds: no temporary files next to it.
    assert sorted(p.name for p in rig.config_path.parent.iterdir()
                  if not p.name.startswith(DATABASE)) == ["config.toml"]


def test_a_renamed_component_stays_watched(rig: Rig, tmp_path: Path) -> None:
    rig.controller.on_action("toggle_component", f"claude\t{CODE}")
    rig.source.rename(CLAUDE_AI, "Claude (web and apps)")
    rig.poll()
    a = rig.monitor.assessment
    assert a is not None
    assert {c.name for c in a.watched} >= {"Claude (web and apps)"}
    assert CODE not in rig.watched()
    # And after a restart, from the file alone.
    cfg, problems = config_mod.load(rig.config_path)
    assert problems == []
    fresh = assess(parse_summary(rig.source.doc), cfg.main_service().watch, "Claude")
    assert {c.id for c in fresh.watched} == {cid for cid, _ in COMPONENTS} - {GOVERNMENT, CODE}


def test_toggling_twice_watches_it_again(rig: Rig) -> None:
    for _ in range(2):
        rig.controller.on_action("toggle_component", f"claude\t{CODE}")
        rig.poll()
    assert CODE in rig.watched() and GOVERNMENT not in rig.watched()
    rig.controller.on_action("toggle_component", f"claude\t{GOVERNMENT}")
    rig.poll()
    assert GOVERNMENT in rig.watched()


def test_the_last_watched_component_cannot_be_unchecked(rig: Rig) -> None:
    """Unchecking every component must not turn into "watch everything"."""
    rig.monitor.watch = Watch(include=(Selector(id=CODE),))
    rig.poll()
    assert rig.watched() == {CODE}
    rig.controller.on_action("toggle_component", f"claude\t{CODE}")
    rig.poll()
    assert rig.watched() == {CODE}
    assert not rig.config_path.exists()


def test_toggle_component_of_another_service_saves_its_own_choice(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('services = ["github"]\n', encoding="utf-8")
    rig = Rig(tmp_path)
    (svc,) = rig.controller.cfg.extra_services
    other = Monitor(svc.key, svc.name, PageSource(), watch=svc.watch)
    rig.session.monitors.append(other)
    rig.driver = rig.poller.driver = Poller(rig.session.monitors, rig.session, clock=rig.clock)
    rig.poll()
    rig.controller.on_action("toggle_component", f"{svc.key}\t{CODE}")
    rig.poll()
    cfg, problems = config_mod.load(rig.config_path)
    assert problems == [] and cfg.components == ()  # the main service's choice is untouched
    (saved,) = cfg.extra_services
    assert saved.key == "github" and saved.exclude == ()
    assert {s.id for s in saved.components} == {cid for cid, _ in COMPONENTS} - {CODE}
    assert all(s.name for s in saved.components)


def test_toggle_component_of_an_unknown_service_does_nothing(rig: Rig) -> None:
    rig.controller.on_action("toggle_component", f"nope\t{CODE}")
    rig.controller.on_action("toggle_component", "garbage")
    assert not rig.config_path.exists() and rig.poller.checks == 0


def test_a_broken_config_is_kept_aside_before_the_first_save(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("url = [\n", encoding="utf-8")
    rig = Rig(tmp_path)
    rig.controller.on_action("toggle_notifications")
    (kept,) = tmp_path.glob("config.toml.broken-*")
    assert kept.read_text(encoding="utf-8") == "url = [\n"
    assert rig.saved_config()["notifications"] is False
    rig.controller.on_action("toggle_notifications")
    assert len(list(tmp_path.glob("config.toml.broken-*"))) == 1  # only the first time
    assert rig.saved_config()["notifications"] is True


def test_a_config_with_a_bad_value_is_kept_aside_too(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('interval = "often"\n', encoding="utf-8")
    rig = Rig(tmp_path)
    rig.controller.on_action("toggle_component", f"claude\t{CODE}")
    rig.poll()
    assert len(list(tmp_path.glob("config.toml.broken-*"))) == 1
    assert rig.saved_config()["interval"] == 60


def test_pause_resume_and_arm(rig: Rig) -> None:
    now = rig.clock.time()
    rig.controller.on_action("pause_1h")
    assert rig.session.prefs.paused_until == now + 3600
    assert rig.tray.models[-1].badge == "paused"
    assert StateStore(rig.session.store.path).load().paused_until == now + 3600  # type: ignore[union-attr]
    rig.controller.on_action("pause_tomorrow")
    assert rig.session.prefs.paused_until == next_morning(now)
    rig.controller.on_action("resume")
    assert rig.session.prefs.paused_until == 0 and rig.tray.models[-1].badge == ""
    rig.controller.on_action("arm")
    assert rig.session.prefs.armed
    assert StateStore(rig.session.store.path).load().armed  # type: ignore[union-attr]
    rig.controller.on_action("arm")
    assert not rig.session.prefs.armed
    assert not rig.config_path.exists()  # the pause and the one-shot live in the state file


def test_toggle_notifications_saves_the_config(rig: Rig) -> None:
    rig.controller.on_action("toggle_notifications")
    assert not rig.session.prefs.enabled
    assert rig.saved_config()["notifications"] is False
    assert rig.tray.models[-1].badge == "paused"
    assert Rig(rig.config_path.parent).session.prefs.enabled is False  # after a restart


def test_toggle_autostart(tmp_path: Path) -> None:
    auto = FakeAutostart()
    rig = Rig(tmp_path, autostart=auto)
    assert [e.checked for e in rig.controller.model().menu if e.text == "Start at login"] == [
        False
    ]
    rig.controller.on_action("toggle_autostart")
    assert auto.on and rig.saved_config()["autostart"] is True
    rig.controller.on_action("toggle_autostart")
    assert not auto.on and rig.saved_config()["autostart"] is False


def test_a_failing_autostart_changes_nothing(tmp_path: Path) -> None:
    rig = Rig(tmp_path, autostart=FakeAutostart(fail=True))
    rig.controller.on_action("toggle_autostart")
    assert not rig.config_path.exists()


def test_show_chart_runs_off_the_ui_thread(tmp_path: Path) -> None:
    ran = threading.Event()
    names: list[str] = []

    def chart() -> None:
        names.append(threading.current_thread().name)
        ran.set()

    rig = Rig(tmp_path)
    rig.controller.show_chart = chart
    rig.controller.on_action("show_chart")
    assert ran.wait(5) and names == ["chart"]


def test_the_model_carries_the_history(rig: Rig) -> None:
    assert rig.session.history is not None
    now = rig.clock.time()
    rig.session.history.close("Claude", now - 7200, now - 3600, "major_outage", False)
    history = [e for e in rig.controller.model().menu if e.text == "History"]
    assert history and history[0].children[0].text.startswith("Uptime: 24 h 95.83%")


def test_unknown_actions_are_ignored(rig: Rig) -> None:
    rig.controller.on_action("rm -rf", "/")
    assert rig.tray.models == [] and rig.poller.checks == 0


def test_quit_stops_the_poller_and_the_tray(rig: Rig) -> None:
    rig.controller.on_action("quit")
    assert rig.poller.stops == [0]
    assert rig.tray.stopped and rig.controller.quitting.is_set()
    assert rig.tray.models == []  # no redraw of a tray that is going away


def test_the_model_follows_the_level(rig: Rig) -> None:
    rig.source.doc = summary(Level.MAJOR_OUTAGE)
    rig.poll()
    model = rig.controller.model()
    assert model.level is Level.MAJOR_OUTAGE
    assert any(e.action == "arm" for e in model.menu)
    assert rig.session.history is not None
    assert [e.worst for e in rig.session.history.episodes()] == ["major_outage"]
    assert isinstance(rig.session.history.episodes()[0], Episode)


def test_flags_for_this_run_are_never_written_into_the_config(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('interval = 120\n[[services]]\npreset = "github"\n')
    rig = Rig(tmp_path)
    file_cfg = rig.controller.cfg
    # As if started with --url http://127.0.0.1:9999 --interval 2 --components Foo.
    rig.controller.cfg = replace(file_cfg, url="http://127.0.0.1:9999", interval=2.0,
                                 components=(Selector(name="Foo"),), extra_services=())
    rig.controller.file_cfg = file_cfg
    rig.controller.on_action("toggle_notifications")
    saved = rig.saved_config()
    assert saved["notifications"] is False
    assert saved["url"] == "https://status.claude.com"
    assert saved["interval"] == 120 and saved["components"] == []
    assert saved["services"][0]["preset"] == "github"


# -- the menu and the poller share state without racing ----------------------------------


class Gate:
    """Holds one call on the thread named ``thread`` until released."""

    def __init__(self, thread: str) -> None:
        self.thread = thread
        self.armed = True
        self.inside = threading.Event()
        self.release = threading.Event()

    def hold(self) -> None:
        if self.armed and threading.current_thread().name == self.thread:
            self.armed = False
            self.inside.set()
            assert self.release.wait(5)


def in_thread(name: str, target: Callable[[], object]) -> threading.Thread:
    thread = threading.Thread(target=target, name=name)
    thread.start()
    return thread


def test_a_component_toggled_during_a_poll_is_not_lost(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The poll has read the watch and is assessing the page when the user unticks a component.
    # It then writes back the watch it read (with the ids it learned): before, that undid the
    # user's change, while the config file said otherwise.
    import tray_app.monitor

    gate = Gate("poller")
    real = tray_app.monitor.assess

    def assess_held(*args: Any, **kwargs: Any) -> Any:
        gate.hold()
        return real(*args, **kwargs)

    monkeypatch.setattr(tray_app.monitor, "assess", assess_held)
    poll = in_thread("poller", rig.poll)
    assert gate.inside.wait(5)
    ui = in_thread("ui", lambda: rig.controller.on_action("toggle_component", f"claude\t{CODE}"))
    ui.join(2)
    assert not ui.is_alive(), "the menu waited for the poll"
    gate.release.set()
    poll.join(5)
    rig.poll()
    assert CODE not in rig.watched()
    assert all(s.id != CODE for s in rig.monitor.watch.include)
    assert CODE not in {s["id"] for s in rig.saved_config()["components"]}


class HeldClock(FakeClock):
    def __init__(self, clock: FakeClock, gate: Gate) -> None:
        self.clock, self.gate = clock, gate

    def time(self) -> float:
        self.gate.hold()
        return self.clock.time()


def test_a_pause_chosen_while_the_armed_alert_fires_does_not_rearm_it(rig: Rig) -> None:
    # "Notify me when it's back" fires once and disarms (a report, on the polling thread).
    # A pause chosen at that moment used to read the preferences before and write them after,
    # arming the one-shot again.
    rig.source.doc = summary(Level.MAJOR_OUTAGE)
    rig.poll()
    rig.controller.on_action("arm")
    rig.source.doc = summary(Level.OPERATIONAL)
    rig.poll()
    assert rig.session.prefs.armed
    gate = Gate("ui")
    rig.controller.clock = HeldClock(rig.clock, gate)
    ui = in_thread("ui", lambda: rig.controller.on_action("pause_1h"))
    assert gate.inside.wait(5)
    rig.poll()  # the second operational reading: back, the one-shot fires and disarms
    assert not rig.session.prefs.armed
    gate.release.set()
    ui.join(5)
    assert rig.session.prefs.paused_until == rig.clock.time() + 3600
    assert not rig.session.prefs.armed


def test_choosing_a_model_in_the_menu_filters_at_once_and_is_saved(rig: Rig) -> None:
    rig.controller.on_action("toggle_model", "sonnet")
    rig.poll()  # the change runs on the polling thread, before the next poll
    assert str(rig.monitor.models) == "sonnet"
    assert rig.saved_config()["models"] == ["sonnet"]
    rig.controller.on_action("toggle_model", "haiku 4.5")
    rig.poll()
    assert rig.saved_config()["models"] == ["sonnet", "haiku 4.5"]
    rig.controller.on_action("toggle_model", "")  # "Every model"
    rig.poll()
    assert rig.monitor.models is None and rig.saved_config()["models"] == []


def test_notify_me_when_its_back_arms_the_service_it_is_for(rig: Rig) -> None:
    rig.controller.on_action("arm", "claude")
    assert rig.session.prefs.armed == {"claude"}
    rig.controller.on_action("arm", "claude")
    assert not rig.session.prefs.armed
