"""The session: what every long-running mode does with the poller's reports. A real Monitor reads
a real Statuspage server on 127.0.0.1; time is a FakeClock moved by what ``tick()`` returns."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tray_app import config as config_mod
from tray_app.app import make_monitor
from tray_app.clock import FakeClock
from tray_app.config import Config
from tray_app.core.levels import Level
from tray_app.core.policy import Kind, Notify
from tray_app.core.prefs import Prefs
from tray_app.demo import COMPONENTS, StatusServer, summary
from tray_app.history import HistoryStore, summary_lines
from tray_app.http import HttpClient
from tray_app.poller import Poller, Report
from tray_app.session import Session
from tray_app.state import Saved, StateStore
from tray_app.store import Database
from tray_app.userdata import DATABASE, open_database

MAJOR_INCIDENT = "Elevated errors across Claude.ai, the API and Claude Code"


class CountingStore(StateStore):
    """The real store, counting its writes."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
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
                 prefs: Prefs | None = None, cfg: Config | None = None) -> None:
        cfg = cfg or Config(url=server.url, interval=60, mirror=server.url + "/mirror/{id}",
                            online_check=(f"127.0.0.1:{server.port}",))
        self.clock = clock
        self.monitor = make_monitor(cfg.main_service(), cfg, client, clock=clock)
        self.sent: list[tuple[str, str]] = []
        self.db = open_database(data)  # what the app opens
        self.store = CountingStore(self.db)
        self.history = HistoryStore(self.db)
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

    def saved(self) -> Saved:
        """What another process (or the next start) reads from the file."""
        other = Database(self.db.path)
        try:
            return StateStore(other).load()
        finally:
            other.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def rig(server: StatusServer, client: HttpClient, clock: FakeClock,
        tmp_path: Path) -> Iterator[Rig]:
    rig = Rig(server, client, clock, tmp_path)
    yield rig
    rig.db.close()


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
    assert rig.titles[0] == (
        "Claude is down: Elevated errors across Claude.ai, the API and Claude Code")
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
    assert not rig.session.prefs.armed
    assert not rig.saved().armed
    alerts = rig.saved().alerts
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
    rig.db.close()
    assert sorted(p.name for p in rig.db.path.parent.iterdir()) == [DATABASE]


def test_a_long_outage_is_not_a_write_per_poll(rig: Rig, server: StatusServer) -> None:
    rig.run(1)
    server.set_level(Level.MAJOR_OUTAGE)
    rig.run(1)
    before = rig.store.writes
    rig.run(20)  # ten minutes of the same outage, polled every 30 s
    assert rig.store.writes - before <= 3
    rig.session.save(force=True)  # on quit: exact
    saved = rig.saved().services[rig.monitor.key]
    assert saved.last_bad_at == rig.monitor.state.last_bad_at


def test_each_change_is_committed_for_other_processes_at_once(rig: Rig,
                                                              server: StatusServer) -> None:
    """No buffering: the poll that saw the outage has written it before the next one. (That a
    crash mid-write leaves the last commit intact: test_store_processes.py.)"""
    rig.run(1)
    assert rig.saved().services[rig.monitor.key].level is Level.OPERATIONAL
    server.set_level(Level.MAJOR_OUTAGE)
    rig.run(1)
    assert rig.saved().services[rig.monitor.key].level is Level.MAJOR_OUTAGE
    assert rig.db.pending() == ()


def test_every_alert_is_saved_even_past_the_cap(rig: Rig) -> None:
    """The saved list keeps the last 50 alerts; the 51st and later must still reach the disk."""
    rig.run(1)
    view = rig.monitor.view()
    for n in range(60):
        note = Notify(Kind.SUMMARY, f"alert {n}", "", Level.OPERATIONAL)
        rig.session(Report(view, True, (note,), (view,)))
        alerts = rig.saved().alerts
        assert len(alerts) == min(n + 1, 50) and alerts[-1]["title"] == f"alert {n}"


def test_a_restart_in_an_outage_keeps_its_memory(
    server: StatusServer, client: HttpClient, clock: FakeClock, tmp_path: Path
) -> None:
    first = Rig(server, client, clock, tmp_path)
    first.run(1)
    server.set_level(Level.MAJOR_OUTAGE)
    first.run(3)
    assert [t.split(":")[0] for t in first.titles] == ["Claude is down"]
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
    assert (second.session.prefs.paused_until, bool(second.session.prefs.armed)) == (until, True)


# -- learned component ids --------------------------------------------------------------------

CODE_ID = "yyzkbfz2thpt"


def renamed(name: str, *, new_id: str = CODE_ID) -> dict[str, Any]:
    """The page with Claude Code's row renamed (and, optionally, given a new id)."""
    doc = summary()
    for c in doc["components"]:
        if c["id"] == CODE_ID:
            c["name"], c["id"] = name, new_id
    return doc


def watching_code(server: StatusServer, client: HttpClient, clock: FakeClock, data: Path,
                  config: Path) -> Rig:
    config.write_text(f'url = "{server.url}"\ninterval = 60\ncomponents = ["claude code"]\n'
                      f'online_check = ["127.0.0.1:{server.port}"]\n', encoding="utf-8")
    cfg, problems = config_mod.load(config)
    assert problems == []
    return Rig(server, client, clock, data, cfg=cfg)


def test_learned_component_ids_survive_a_restart_and_a_rename(
    server: StatusServer, client: HttpClient, clock: FakeClock, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    first = watching_code(server, client, clock, tmp_path / "data", config)
    first.run(1)
    assert first.monitor.learned_ids() == {"claude code": CODE_ID}
    first.db.close()
    written = config.read_bytes()

    # Between runs the page renames the component the user named.
    server.set_document(renamed("Claude Code (CLI and IDEs)"))
    clock.advance(3600)
    second = watching_code(server, client, clock, tmp_path / "data", config)
    assert second.monitor.watch.include[0].id == CODE_ID  # applied before the first poll
    second.run(1)
    view = second.session.views[0]
    assert view.level is Level.OPERATIONAL, view.reason
    assert view.assessment is not None
    assert [c.name for c in view.assessment.watched] == ["Claude Code (CLI and IDEs)"]
    # ...and it is still the component an outage is read from.
    doc = renamed("Claude Code (CLI and IDEs)")
    doc["components"][3]["status"] = "partial_outage"
    server.set_document(doc)
    second.run(1)
    assert second.monitor.state.level is Level.PARTIAL_OUTAGE
    second.db.close()
    assert config.read_bytes() == written  # learned at run time, never written into the config


def test_without_saved_ids_a_rename_between_runs_turns_the_icon_grey(
    server: StatusServer, client: HttpClient, clock: FakeClock, tmp_path: Path
) -> None:
    """What a user saw before ids were saved (the reproduction in issue 11)."""
    server.set_document(renamed("Claude Code (CLI and IDEs)"))
    rig = watching_code(server, client, clock, tmp_path / "data", tmp_path / "config.toml")
    rig.run(1)
    view = rig.session.views[0]
    assert view.level is Level.UNKNOWN
    assert "no component named claude code" in view.reason
    rig.db.close()


def test_a_stale_learned_id_falls_back_to_the_name(
    server: StatusServer, client: HttpClient, clock: FakeClock, tmp_path: Path
) -> None:
    first = watching_code(server, client, clock, tmp_path / "data", tmp_path / "config.toml")
    first.run(1)
    first.db.close()
    server.set_document(renamed("Claude Code", new_id="n3wc0deid000"))  # rebuilt with a new id
    second = watching_code(server, client, clock, tmp_path / "data", tmp_path / "config.toml")
    second.run(1)
    view = second.session.views[0]
    assert view.level is Level.OPERATIONAL, view.reason
    assert view.assessment is not None
    assert [c.id for c in view.assessment.watched] == ["n3wc0deid000"]
    second.db.close()


def test_a_session_without_stores_touches_no_file(
    server: StatusServer, client: HttpClient, clock: FakeClock, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What ``replay`` needs: the whole session, with no history or state on disk."""
    monkeypatch.chdir(tmp_path)
    cfg = Config(url=server.url, interval=60, online_check=(f"127.0.0.1:{server.port}",))
    monitor = make_monitor(cfg.main_service(), cfg, client, clock=clock)
    sent: list[str] = []
    session = Session([monitor], send=lambda title, body: sent.append(title), clock=clock)
    session.restore()
    poller = Poller([monitor], session, clock=clock)
    for level, polls in ((Level.OPERATIONAL, 1), (Level.MAJOR_OUTAGE, 3),
                         (Level.OPERATIONAL, 3)):
        server.set_level(level)
        for _ in range(polls):
            clock.advance(poller.tick())
    session.save(force=True)
    assert sent[0].startswith("Claude is down") and sent[1].startswith("Claude is back")
    assert list(tmp_path.iterdir()) == []
