"""Issue 12 where the user meets it: the typical time to fix in ``check --json``, ``wait``, the
menu and the tooltip (from a loopback page's own incidents.json, read once an hour and only
while something is open); the model filter and its menu; the next maintenance and its notice;
"notify me when it's back" per service."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import faultserver as fs
from tray_app.app import make_monitor
from tray_app.clock import FakeClock
from tray_app.config import Config
from tray_app.core.levels import Level
from tray_app.core.policy import Kind, Notify
from tray_app.core.prefs import Prefs, gate
from tray_app.core.timeline import iso
from tray_app.demo import StatusServer, summary
from tray_app.http import HttpClient
from tray_app.menu import Entry, build
from tray_app.monitor import Monitor
from tray_app.poller import Poller
from tray_app.session import Session

FIXTURES = Path(__file__).parent / "fixtures"
MIN, HOUR = 60.0, 3600.0


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text("utf-8"))


def outage_now(started: float) -> dict[str, Any]:
    """summary-major_outage.json with its incident begun at ``started``."""
    doc = fixture("summary-major_outage.json")
    doc["incidents"][0]["started_at"] = doc["incidents"][0]["created_at"] = iso(started)
    doc["incidents"][0]["updated_at"] = iso(started)
    return doc


def texts(entries: tuple[Entry, ...]) -> list[str]:
    out = []
    for e in entries:
        out.append(e.text)
        out += ["  " + t for t in texts(e.children)]
    return out


# --- the typical time to fix ------------------------------------------------------------------


def test_check_json_carries_the_estimate_from_the_pages_own_history(tmp_path: Path) -> None:
    with StatusServer(outage_now(time.time())) as server:
        server.set_incidents(fixture("incidents-history-critical.json"))
        result = subprocess.run(
            [sys.executable, "-m", "tray_app", "check", "--json", "--url", server.url],
            env=fs.isolated_env(tmp_path), capture_output=True, text=True, timeout=30)
        assert server.incidents_requests == 1
    assert result.returncode == 2, result.stderr
    (incident,) = json.loads(result.stdout)["incidents"]
    estimate = incident["estimate"]
    assert estimate["sample"] == 10
    assert estimate["basis"] == "10 critical incidents touching claude.ai and Claude Cowork"
    assert 30 * MIN - 60 < estimate["median_s"] <= 31 * MIN  # counted from now
    assert 64 * MIN < estimate["p75_s"] <= 65 * MIN


def test_no_estimate_when_there_is_nothing_honest_to_say(tmp_path: Path) -> None:
    # Only 4 comparable incidents were still open 45 minutes in: say nothing.
    with StatusServer(outage_now(time.time() - 45 * MIN)) as server:
        server.set_incidents(fixture("incidents-history-critical.json"))
        result = subprocess.run(
            [sys.executable, "-m", "tray_app", "check", "--json", "--url", server.url],
            env=fs.isolated_env(tmp_path), capture_output=True, text=True, timeout=30)
    (incident,) = json.loads(result.stdout)["incidents"]
    assert incident["estimate"] is None


def test_a_quiet_page_never_asks_for_its_history(tmp_path: Path) -> None:
    with StatusServer(summary(Level.OPERATIONAL)) as server:
        server.set_incidents(fixture("incidents-history-critical.json"))
        result = subprocess.run(
            [sys.executable, "-m", "tray_app", "check", "--json", "--url", server.url],
            env=fs.isolated_env(tmp_path), capture_output=True, text=True, timeout=30)
        assert result.returncode == 0 and server.incidents_requests == 0


def test_wait_tells_the_typical_time_once(tmp_path: Path) -> None:
    with StatusServer(outage_now(time.time())) as server:
        server.set_incidents(fixture("incidents-history-critical.json"))
        result = subprocess.run(
            [sys.executable, "-m", "tray_app", "wait", "--url", server.url, "--interval", "1",
             "--timeout", "3"],
            env=fs.isolated_env(tmp_path), capture_output=True, text=True, timeout=30)
    assert result.returncode == 124
    lines = [ln for ln in result.stderr.splitlines() if "Typically" in ln]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Claude.ai unavailable: Typically: of similar incidents, half "
                               "were fixed within 35 min, 3 in 4 within 1 h 10 min")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(time.time())


@pytest.fixture(autouse=True)
def clients() -> Iterator[list[HttpClient]]:
    made: list[HttpClient] = []
    CLIENTS[:] = [made]
    yield made
    for c in made:
        c.close()


CLIENTS: list[list[HttpClient]] = []


def live_monitor(server: StatusServer, clock: FakeClock, **cfg: Any) -> Monitor:
    config = Config(url=server.url, interval=1, **cfg)
    client = HttpClient()
    CLIENTS[0].append(client)  # closed after the test
    return make_monitor(config.main_service(), config, client, clock=clock)


def test_the_history_is_read_at_most_once_an_hour_and_only_while_something_is_open(
    clock: FakeClock
) -> None:
    with StatusServer(summary(Level.OPERATIONAL)) as server:
        server.set_incidents(fixture("incidents-history-critical.json"))
        m = live_monitor(server, clock)
        for _ in range(5):
            m.poll(clock.time())
            clock.advance(60)
        assert server.incidents_requests == 0
        server.set_document(outage_now(clock.time()))
        for _ in range(59):
            m.poll(clock.time())
            clock.advance(60)
        assert server.incidents_requests == 1
        clock.advance(60)
        m.poll(clock.time())  # an hour after the first read: read again (a 304)
        assert server.incidents_requests == 2 and server.not_modified >= 1
        assert m.recent is not None and m.recent.history is not None  # the copy kept


def test_the_menu_and_tooltip_say_it_is_typical(clock: FakeClock) -> None:
    with StatusServer(outage_now(clock.time())) as server:
        server.set_incidents(fixture("incidents-history-critical.json"))
        m = live_monitor(server, clock)
        m.poll(clock.time())
        model = build((m.view(),), Prefs(), clock.time())
    lines = texts(model.menu)
    at = next(i for i, t in enumerate(lines) if "Claude.ai unavailable" in t
              and t.startswith("✕"))
    assert lines[at + 1] == "– Typically: of similar incidents,"
    assert lines[at + 2] == "– half were fixed within 35 min, 3 in 4 within 1 h 10 min"
    assert "typically fixed within ~35 min" in model.tooltip


# --- models ---------------------------------------------------------------------------------


def with_models_incident(name: str, body: str = "") -> dict[str, Any]:
    doc = fixture("summary-degraded.json")
    doc["incidents"][0]["name"] = name
    if body:
        doc["incidents"][0]["incident_updates"] = [
            {"status": "investigating", "body": body, "created_at": iso(time.time())}]
    doc["incidents"][0]["updated_at"] = iso(time.time())
    return doc


def test_an_incident_about_another_model_neither_alerts_nor_colours(clock: FakeClock) -> None:
    with StatusServer(with_models_incident("Elevated errors on Claude Opus 4.8")) as server:
        m = live_monitor(server, clock, models=("sonnet",))
        m.poll(clock.time())
        _, effects = m.poll(clock.time() + 1)
        assert m.view().level is Level.OPERATIONAL
        lines = texts(build((m.view(),), Prefs(), clock.time()).menu)
        assert "Elevated errors on Claude Opus 4.8 (not your models)" in lines
        server.set_document(with_models_incident("Elevated errors on Claude Sonnet 5"))
        _, effects = m.poll(clock.time() + 2)
    notes = [e for e in effects if isinstance(e, Notify)]
    assert [n.kind for n in notes] == [Kind.DEGRADED]
    assert "Affects: Sonnet 5." in notes[0].body
    assert m.view().level is Level.DEGRADED


def test_the_models_submenu_offers_the_families_and_what_the_page_named(
    clock: FakeClock, tmp_path: Path
) -> None:
    with StatusServer(with_models_incident("Elevated errors on Claude Opus 4.8")) as server:
        config = Config(url="https://status.claude.com")
        m = live_monitor(server, clock)
        m.model_families = ("opus", "sonnet", "haiku")
        m.poll(clock.time())
    menu = build((m.view(),), Prefs(), clock.time()).menu
    (models,) = [e for e in menu if e.text == "Models"]
    labels = [(c.text, c.checked) for c in models.children]
    assert labels[0] == ("Every model", True)
    assert ("Opus 4.8", False) in labels and ("Sonnet (every version)", False) in labels
    assert config.models == ()


# --- "notify me when it's back", per service ------------------------------------------------


def test_notify_me_when_its_back_is_per_service() -> None:
    back = Notify(Kind.RECOVERED, "Claude is back", "", Level.OPERATIONAL)
    prefs = Prefs(enabled=False).arm("claude", True)
    assert gate(prefs, back, 0, "github") == (False, prefs)
    allowed, after = gate(prefs, back, 0, "claude")
    assert allowed and not after.armed_for("claude")
    assert Prefs(armed=True).armed_for("anything")  # an older "armed" arms every service


# --- the next maintenance -------------------------------------------------------------------


def with_maintenance(start: float) -> dict[str, Any]:
    doc = summary(Level.OPERATIONAL)
    doc["scheduled_maintenances"] = [{
        "id": "mnt1", "name": "Database upgrade", "status": "scheduled", "impact": "maintenance",
        "scheduled_for": iso(start), "scheduled_until": iso(start + HOUR),
        "updated_at": iso(start - 86400), "shortlink": "https://stspg.io/mnt1",
        "components": [{"id": "k8w3r06qmzrp", "name": "Claude API (api.anthropic.com)"}],
        "incident_updates": [],
    }]
    return doc


def test_the_upcoming_maintenance_is_told_once_an_hour_ahead_and_shown(tmp_path: Path) -> None:
    clock = FakeClock(1_800_000_000.0)
    start = clock.time() + 3 * HOUR
    sent: list[tuple[float, Notify]] = []
    with StatusServer(with_maintenance(start)) as server:
        m = live_monitor(server, clock)
        session = Session([m], clock=clock, on_sent=lambda n, v: sent.append((clock.time(), n)))
        poller = Poller([m], session, clock=clock)
        while clock.time() < start + 10 * MIN:
            clock.advance(min(poller.tick(), 60))
        model = build((m.view(),), Prefs(), clock.time() - 20 * MIN)
    ups = [(t, n) for t, n in sent if n.kind is Kind.UPCOMING]
    assert len(ups) == 1
    t, note = ups[0]
    assert start - HOUR <= t < start - HOUR + 61
    assert note.title == "Claude maintenance soon: Database upgrade"
    assert note.body.endswith(": Claude API (api.anthropic.com)")
    assert not [n for _, n in sent if n.kind is Kind.DOWN]
    assert any(t.startswith("Maintenance ") and "Claude API" in t for t in texts(model.menu))


def test_the_menu_names_the_next_maintenance_in_local_time(monkeypatch: pytest.MonkeyPatch,
                                                           clock: FakeClock) -> None:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        start = 1_800_000_000.0 + 86400  # a Saturday, 08:00 UTC
        with StatusServer(with_maintenance(start)) as server:
            m = live_monitor(server, clock)
            m.poll(clock.time())
        lines = texts(build((m.view(),), Prefs(), clock.time()).menu)
        assert "Maintenance Sat 08:00–09:00: Claude API (api.anthropic.com)" in lines
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_maintenance_in_progress_is_no_outage_and_its_end_no_recovery(clock: FakeClock) -> None:
    doc = copy.deepcopy(fixture("summary-maintenance.json"))
    with StatusServer(doc) as server:
        m = live_monitor(server, clock)
        kinds: list[Kind] = []
        for k in range(3):
            kinds += [e.kind for e in m.poll(clock.time() + k)[1] if isinstance(e, Notify)]
        assert m.view().level is Level.MAINTENANCE
        server.set_level(Level.OPERATIONAL)
        for k in range(3, 8):
            kinds += [e.kind for e in m.poll(clock.time() + k)[1] if isinstance(e, Notify)]
    assert kinds == [Kind.STARTUP, Kind.RESOLVED]
    assert Kind.DOWN not in kinds and Kind.RECOVERED not in kinds
