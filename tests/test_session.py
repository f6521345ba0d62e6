"""The session: what every long-running mode does with the poller's reports. A real Monitor reads
a real Statuspage server on 127.0.0.1; time is a FakeClock moved by what ``tick()`` returns."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tray_app.app import make_monitor
from tray_app.clock import FakeClock
from tray_app.config import Config
from tray_app.core.levels import Level
from tray_app.core.policy import Kind, Notify
from tray_app.core.prefs import Prefs
from tray_app.demo import COMPONENTS, StatusServer
from tray_app.history import HistoryStore, summary_lines
from tray_app.http import HttpClient
from tray_app.poller import Poller, Report
from tray_app.session import Session
from tray_app.state import Saved, StateStore

MAJOR_INCIDENT = "Elevated errors across Claude.ai, the API and Claude Code"


class CountingStore(StateStore):
    """The real store, counting its writes."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.writes = 0

    def save(self, saved: Saved) -> None:
        self.writes += 1
        super().save(saved)


@pytest.fixture
def server() -> Iterator[StatusServer]:
    with StatusServer() as s:
        yield s


@pytest.fixture
def client() -> Iterator[HttpClient]:
    c = HttpClient(total_timeout=5.0)
    yield c
    c.close()


class Rig:
    """One run of the app: monitor, session and poller over shared files and a shared clock."""

    def __init__(self, server: StatusServer, client: HttpClient, clock: FakeClock, data: Path,
                 prefs: Prefs | None = None) -> None:
        cfg = Config(url=server.url, interval=60, mirror=server.url + "/mirror/{id}",
                     online_check=(f"127.0.0.1:{server.port}",))
        self.clock = clock
        self.monitor = make_monitor(cfg.main_service(), cfg, client, clock=clock)
        self.sent: list[tuple[str, str]] = []
        self.store = CountingStore(data / "state.json")
        self.history = HistoryStore(data / "history.json")
        self.session = Session(
            [self.monitor], send=lambda title, body: self.sent.append((title, body)),
            prefs=prefs, store=self.store, history=self.history, clock=clock,
        )
        self.session.restore()
        self.poller = Poller([self.monitor], self.session, clock=clock)

    def run(self, polls: int) -> None:
        for _ in range(polls):
            self.clock.advance(self.poller.tick())

    @property
    def titles(self) -> list[str]:
        return [title for title, _ in self.sent]

    def saved(self) -> dict[str, object]:
        data = json.loads(self.store.path.read_text(encoding="utf-8"))
        assert isinstance(data, dict)
        return data


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def rig(server: StatusServer, client: HttpClient, clock: FakeClock, tmp_path: Path) -> Rig:
    return Rig(server, client, clock, tmp_path)


def outage_and_back(rig: Rig, server: StatusServer, level: Level = Level.MAJOR_OUTAGE,
                    **kw: Any) -> None:
    server.set_level(level, **kw)
    rig.run(3)
    server.set_level(Level.OPERATIONAL)
    rig.run(2)
    rig.run(12)  # operational long enough for the flap window to close


def test_an_outage_notifies_down_then_back(rig: Rig, server: StatusServer) -> None:
    rig.run(2)
    assert rig.sent == [] and rig.monitor.state.level is Level.OPERATIONAL
    outage_and_back(rig, server)
    assert rig.titles[0] == "Claude is down"
    assert rig.titles[1].startswith("Claude is back, after ")
    assert len(rig.sent) == 2


@pytest.mark.parametrize(
    ("prefs", "expected"),
    [
        (Prefs(enabled=False), []),
        (Prefs(paused_until=FakeClock().time() + 86400), []),
        (Prefs(kinds=frozenset({"recovered"})), ["back"]),
        (Prefs(enabled=False, armed=True), ["back"]),
        (Prefs(paused_until=FakeClock().time() + 86400, armed=True), ["back"]),
    ],
    ids=["disabled", "paused", "recovered-only", "armed-while-disabled", "armed-while-paused"],
)
def test_notifications_follow_the_preferences(
    server: StatusServer, client: HttpClient, clock: FakeClock, tmp_path: Path, prefs: Prefs,
    expected: list[str],
) -> None:
    rig = Rig(server, client, clock, tmp_path, prefs)
    rig.session.set_prefs(prefs)  # what the menu does
    rig.run(1)
    outage_and_back(rig, server)
    assert [("back" if "is back" in t else t) for t in rig.titles] == expected
    # The armed alert is spent once it fired, and that is saved too.
    assert rig.session.prefs.armed is False
    assert rig.saved()["armed"] is False
    alerts = rig.saved()["alerts"]
    assert isinstance(alerts, list)
    assert [a["kind"] for a in alerts] == ["down", "recovered"]
    assert [a["sent"] for a in alerts] == [False, bool(expected)]


def test_the_armed_alert_fires_only_once(rig: Rig, server: StatusServer) -> None:
    rig.session.set_prefs(Prefs(paused_until=rig.clock.time() + 86400, armed=True))
    rig.run(1)
    outage_and_back(rig, server)
    outage_and_back(rig, server)
    assert len(rig.sent) == 1 and "is back" in rig.sent[0][0]


def test_a_failing_notifier_is_not_fatal(rig: Rig, server: StatusServer) -> None:
    def broken(title: str, body: str) -> None:
        raise RuntimeError("no notification daemon")

    rig.session.send = broken
    rig.run(1)
    outage_and_back(rig, server)
    assert rig.monitor.state.level is Level.OPERATIONAL
    assert len(rig.history.episodes()) == 1


def test_history_records_each_episode(rig: Rig, server: StatusServer) -> None:
    rig.run(2)
    outage_and_back(rig, server)
    outage_and_back(rig, server, Level.PARTIAL_OUTAGE, affected=("yyzkbfz2thpt",))
    first, second = rig.history.episodes()
    assert first.worst == "major_outage" and first.end is not None
    assert set(first.components) == {name for _, name in COMPONENTS}
    assert first.incidents == (MAJOR_INCIDENT,)
    assert 60 <= first.end - first.start <= 200  # three polls 30 s apart, then two good ones
    assert second.worst == "partial_outage"
    assert second.components == ("Claude Code",)
    assert second.incidents == ("Claude Code login failures",)
    assert not first.lower_bound and not second.lower_bound
    assert second.start > first.end
    assert "ongoing" not in "\n".join(summary_lines(rig.history.episodes(), rig.clock.time()))


def test_an_open_episode_is_recorded_while_it_lasts(rig: Rig, server: StatusServer) -> None:
    rig.run(1)
    server.set_level(Level.DEGRADED)
    rig.run(2)
    (ongoing,) = rig.history.episodes()
    assert ongoing.end is None and ongoing.worst == "degraded"
    server.set_level(Level.MAJOR_OUTAGE)
    rig.run(1)
    (ongoing,) = rig.history.episodes()
    assert ongoing.end is None and ongoing.worst == "major_outage"
    assert MAJOR_INCIDENT in ongoing.incidents and "Elevated errors on Claude Code" in (
        ongoing.incidents
    )


def test_state_is_written_only_when_it_matters(rig: Rig, server: StatusServer) -> None:
    rig.run(1)
    after_first = rig.store.writes
    assert after_first == 1
    rig.run(30)  # nothing changes: conditional requests, same level
    assert rig.store.writes == after_first
    assert server.not_modified >= 29
    outage_and_back(rig, server)
    during = rig.store.writes
    assert during > after_first
    rig.run(30)
    assert rig.store.writes == during
    assert sorted(p.name for p in rig.store.path.parent.iterdir()) == [
        "history.json", "state.json"
    ]


def test_a_long_outage_is_not_a_write_per_poll(rig: Rig, server: StatusServer) -> None:
    rig.run(1)
    server.set_level(Level.MAJOR_OUTAGE)
    rig.run(1)
    before = rig.store.writes
    rig.run(20)  # ten minutes of the same outage, polled every 30 s
    assert rig.store.writes - before <= 3
    rig.session.save(force=True)  # on quit: exact
    saved = rig.saved()["services"][rig.monitor.key]  # type: ignore[index]
    assert saved["last_bad_at"] == rig.monitor.state.last_bad_at


def test_state_is_written_atomically(rig: Rig, server: StatusServer) -> None:
    rig.run(1)
    inode = rig.store.path.stat().st_ino
    server.set_level(Level.MAJOR_OUTAGE)
    rig.run(1)
    assert rig.store.path.stat().st_ino != inode  # replaced by a rename, not rewritten
    assert rig.saved()["services"][rig.monitor.key]["level"] == "major_outage"  # type: ignore[index]


def test_every_alert_is_saved_even_past_the_cap(rig: Rig) -> None:
    """The saved list keeps the last 50 alerts; the 51st and later must still reach the disk."""
    rig.run(1)
    view = rig.monitor.view()
    for n in range(60):
        note = Notify(Kind.SUMMARY, f"alert {n}", "", Level.OPERATIONAL)
        rig.session(Report(view, True, (note,), (view,)))
        alerts = rig.saved()["alerts"]
        assert isinstance(alerts, list) and alerts[-1]["title"] == f"alert {n}"


def test_a_restart_in_an_outage_keeps_its_memory(
    server: StatusServer, client: HttpClient, clock: FakeClock, tmp_path: Path
) -> None:
    first = Rig(server, client, clock, tmp_path)
    first.run(1)
    server.set_level(Level.MAJOR_OUTAGE)
    first.run(3)
    assert first.titles == ["Claude is down"]
    first.session.save(force=True)  # what closing the app does

    clock.advance(120)  # the app restarts two minutes later
    second = Rig(server, client, clock, tmp_path)
    view = second.session.views[0]
    assert view.level is Level.UNKNOWN  # never the stale red until a check says so
    assert "last seen: major outage" in view.reason
    second.run(3)
    assert second.sent == []  # the same outage: no second "down"
    server.set_level(Level.OPERATIONAL)
    second.run(2)
    assert len(second.titles) == 1 and second.titles[0].startswith("Claude is back")
    (episode,) = second.history.episodes()
    assert episode.end is not None and episode.worst == "major_outage"


def test_a_restart_long_after_an_outage_closes_it_in_the_history(
    server: StatusServer, client: HttpClient, clock: FakeClock, tmp_path: Path
) -> None:
    first = Rig(server, client, clock, tmp_path)
    first.run(1)
    server.set_level(Level.MAJOR_OUTAGE)
    first.run(3)
    last_bad = first.monitor.state.last_bad_at
    first.session.save(force=True)

    clock.advance(9 * 3600)  # switched off overnight; the outage ended meanwhile
    server.set_level(Level.OPERATIONAL)
    second = Rig(server, client, clock, tmp_path)
    second.run(3)
    assert second.sent == []
    (episode,) = second.history.episodes()
    assert episode.end == last_bad and episode.lower_bound
    lines = summary_lines(second.history.episodes(), clock.time())
    assert not any("ongoing" in line for line in lines)
    # A new outage is a new episode, not a continuation of the old one.
    server.set_level(Level.PARTIAL_OUTAGE)
    second.run(2)
    old, new = second.history.episodes()
    assert old == episode and new.start > clock.time() - 3600


def test_a_restart_keeps_the_pause_and_the_armed_alert(
    server: StatusServer, client: HttpClient, clock: FakeClock, tmp_path: Path
) -> None:
    first = Rig(server, client, clock, tmp_path)
    until = clock.time() + 7200
    first.session.set_prefs(Prefs(paused_until=until, armed=True))
    clock.advance(60)
    second = Rig(server, client, clock, tmp_path)
    assert (second.session.prefs.paused_until, second.session.prefs.armed) == (until, True)
