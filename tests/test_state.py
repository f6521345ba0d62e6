"""State that survives a restart: round trip through the database, a fresh start from anything
broken (for the one service it concerns), the JSON file of earlier versions, and what a restart
keeps of an outage."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tray_app.core.levels import Level
from tray_app.core.persist import dump_state, restored
from tray_app.core.policy import (
    Clear,
    Phase,
    PolicyState,
    Reading,
    Record,
    Unreachable,
    step,
)
from tray_app.state import Saved, StateStore
from tray_app.store import SCHEMA_VERSION, Database
from tray_app.userdata import open_database

NOW = 1_800_000_000.0
OUTAGE = PolicyState(
    level=Level.MAJOR_OUTAGE, reason="Elevated errors", started=True, last_reading=NOW - 30,
    records=(Record("inc1", "Elevated errors", Phase.TOLD, NOW - 900, told=3,
                    level=Level.MAJOR_OUTAGE, seen=NOW - 30, colouring=True),),
    clear=Clear.TROUBLE, episode_start=NOW - 900, episode_worst=Level.MAJOR_OUTAGE,
    last_bad_at=NOW - 30, failures=1, ok_streak=0,
)


def saved_sample() -> Saved:
    return Saved(
        services={"claude": OUTAGE, "openai": PolicyState(level=Level.OPERATIONAL, started=True)},
        page_ids={"claude": "tymt9n04zgry"},
        paused_until=NOW + 3600,
        armed=True,
        alerts=({"at": NOW - 900, "kind": "down", "title": "Claude is down", "sent": True},),
        saved_at=NOW,
    )


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "store.sqlite3")
    yield database
    database.close()


def test_round_trip(db: Database) -> None:
    StateStore(db).save(saved_sample())
    assert StateStore(Database(db.path)).load() == saved_sample()


def test_each_thing_is_a_row_and_a_service_state_is_opaque_json(db: Database) -> None:
    StateStore(db).save(saved_sample())
    with sqlite3.connect(db.path) as raw:
        states = dict(raw.execute("SELECT service, state FROM service_state"))
        settings = dict(raw.execute("SELECT name, value FROM settings"))
        version = raw.execute("PRAGMA user_version").fetchone()[0]
    raw.close()
    assert json.loads(states["claude"]) == dump_state(OUTAGE)
    assert json.loads(settings["paused_until"]) == NOW + 3600
    assert version == SCHEMA_VERSION


def test_only_the_last_alerts_are_kept(db: Database) -> None:
    alerts = tuple({"at": float(n), "kind": "down", "title": str(n), "sent": True}
                   for n in range(120))
    store = StateStore(db)
    store.save(Saved(alerts=alerts))
    kept = store.load().alerts
    assert len(kept) == 50 and kept[-1]["title"] == "119"
    with sqlite3.connect(db.path) as raw:
        assert raw.execute("SELECT count(*) FROM alerts").fetchone()[0] == 50
    raw.close()


def test_a_missing_file_is_a_fresh_start(tmp_path: Path) -> None:
    database = Database(tmp_path / "store.sqlite3")
    assert StateStore(database).load() == Saved()
    database.close()


def test_a_save_writes_only_what_changed_so_processes_keep_each_others_values(
    db: Database,
) -> None:
    """The tray pauses alerts from its menu while a ``watch`` keeps saving its own service
    state: the watch's saves must not put back the pause it read at its start."""
    tray, watch = StateStore(db), StateStore(Database(db.path))
    tray.load(), watch.load()
    tray.save(Saved(services={"claude": OUTAGE}, paused_until=NOW + 3600, saved_at=NOW))
    watch.save(Saved(services={"openai": PolicyState(level=Level.OPERATIONAL, started=True)},
                     page_ids={"openai": "kctbh9vrtdwd"},
                     alerts=({"at": NOW, "kind": "down", "title": "OpenAI", "sent": True},),
                     saved_at=NOW + 1))
    tray.save(Saved(services={"claude": OUTAGE}, paused_until=NOW + 3600, armed=True,
                    saved_at=NOW + 2))
    both = StateStore(Database(db.path)).load()
    assert set(both.services) == {"claude", "openai"}
    assert (both.paused_until, bool(both.armed), both.saved_at) == (NOW + 3600, True, NOW + 2)
    assert both.page_ids == {"openai": "kctbh9vrtdwd"}
    assert [a["title"] for a in both.alerts] == ["OpenAI"]


def test_an_unusable_service_state_is_a_fresh_start_for_that_service_only(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    StateStore(db).save(saved_sample())
    with sqlite3.connect(db.path) as raw:
        raw.execute("UPDATE service_state SET state = ? WHERE service = 'claude'",
                    ('{"level": "on fire"}',))
    raw.close()
    loaded = StateStore(Database(db.path)).load()
    assert loaded == replace(saved_sample(), services={"openai": saved_sample().services["openai"]})
    assert any("saved state of claude" in m for m in caplog.messages)


def test_an_unwritable_place_is_logged_not_raised(tmp_path: Path) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("a file where the folder should be")
    database = Database(blocker / "store.sqlite3")
    StateStore(database).save(saved_sample())  # must not raise
    assert StateStore(Database(database.path)).load() == Saved()
    blocker.unlink()  # once the place is usable, the next save brings everything
    StateStore(database).save(Saved(saved_at=NOW + 5))
    assert StateStore(Database(database.path)).load() == replace(saved_sample(),
                                                                 saved_at=NOW + 5)
    database.close()


# -- state.json of earlier versions -----------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{",
        b"\xff\xfe not utf-8",
        b"null",
        b"[1, 2, 3]",
        b'"a string"',
        b'{"version": 2, "services": {}}',  # a future format
        b'{"services": {}}',  # no version at all
        b'{"version": 1, "services": []}',
    ],
    ids=lambda c: c.decode("utf-8", "replace")[:60] or "empty",
)
def test_an_unreadable_state_file_is_kept_aside_not_imported(tmp_path: Path,
                                                             content: bytes) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(content)
    database = open_database(tmp_path)
    assert StateStore(database).load() == Saved()
    kept = sorted(tmp_path.glob("state.json.broken-*"))
    assert len(kept) == 1 and kept[0].read_bytes() == content
    assert not path.exists()
    # The database works as usual.
    StateStore(database).save(saved_sample())
    assert StateStore(database).load() == saved_sample()
    database.close()


@pytest.mark.parametrize(
    "content",
    [
        b'{"version": 1, "services": {"claude": 5}}',
        b'{"version": 1, "services": {"claude": {"level": "on fire"}}}',
        b'{"version": 1, "services": {"claude": {"level": null}}}',
        b'{"version": 1, "services": {"claude": {"episode_start": "yesterday"}}}',
        b'{"version": 1, "services": {"claude": {"failures": "3"}}}',
        b'{"version": 1, "services": {"claude": {"ok_streak": null}}}',
        b'{"version": 1, "services": {"claude": {"last_bad_at": [1]}}}',
        b'{"version": 1, "paused_until": "soon"}',
        b'{"version": 1, "paused_until": null}',
        b'{"version": 1, "armed": "yes"}',
        b'{"version": 1, "page_ids": []}',
        b'{"version": 1, "alerts": 7}',
        b'{"version": 1, "alerts": [7, "x"]}',
    ],
    ids=lambda c: c.decode("utf-8", "replace")[:60],
)
def test_a_bad_value_in_a_state_file_is_skipped_alone(tmp_path: Path, content: bytes) -> None:
    """A value of the wrong type costs that value only (a service's state: that service's)."""
    path = tmp_path / "state.json"
    path.write_bytes(content)
    database = open_database(tmp_path)
    assert StateStore(database).load() == Saved()
    assert (tmp_path / "state.json.imported").read_bytes() == content
    assert not list(tmp_path.glob("state.json.broken-*"))
    database.close()


def _poll_through(state: PolicyState) -> PolicyState:
    """Step a state through what a day can bring; raises if the state was unusable."""
    t = NOW + 10
    for obs in (Reading("Claude", Level.MAJOR_OUTAGE, "x", NOW - 100),
                Unreachable("Claude", "refused"), Unreachable("Claude", "refused"),
                Unreachable("Claude", "refused"), Reading("Claude", Level.OPERATIONAL),
                Reading("Claude", Level.OPERATIONAL), Reading("Claude", Level.DEGRADED),
                Reading("Claude", Level.OPERATIONAL), Reading("Claude", Level.OPERATIONAL)):
        state, _ = step(state, obs, t)
        t += 700
    return state


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                 max_size=3),
    max_leaves=5,
)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(sorted(asdict(OUTAGE))), value=json_values)
def test_any_mutated_field_loads_into_a_usable_state(
    tmp_path: Path, field: str, value: Any
) -> None:
    """A hand-edited or damaged field either loads into a state the policy can step, or that
    service starts afresh: never a monitor stuck on a TypeError at every poll, and never the
    other services' state lost with it."""
    database = Database(tmp_path / "store.sqlite3")
    StateStore(database).save(saved_sample())
    raw = dump_state(OUTAGE)
    raw[field] = value
    with sqlite3.connect(database.path) as conn:
        conn.execute("UPDATE service_state SET state = ? WHERE service = 'claude'",
                     (json.dumps(raw),))
    conn.close()
    loaded = StateStore(Database(database.path)).load()
    database.close()
    for state in loaded.services.values():
        _poll_through(restored(state, loaded.saved_at, NOW + 5))
    assert loaded.services["openai"] == saved_sample().services["openai"]
    assert replace(loaded, services={}) == replace(saved_sample(), services={})


def test_a_restart_in_an_outage_neither_repeats_the_alert_nor_forgets_it() -> None:
    state = restored(OUTAGE, NOW, NOW + 60)
    state, effects = step(state, Reading("Claude", Level.MAJOR_OUTAGE, "x", incidents=(
        _incident("inc1"),)), NOW + 70)
    assert not [e for e in effects if hasattr(e, "kind")]
    state, _ = step(state, Reading("Claude", Level.OPERATIONAL), NOW + 700)
    state, effects = step(state, Reading("Claude", Level.OPERATIONAL), NOW + 760)
    kinds = [e.kind.value for e in effects if hasattr(e, "kind")]
    assert kinds == ["recovered"]


def _incident(iid: str) -> Any:
    from tray_app.core.assess import IncidentState

    return IncidentState(iid, "Elevated errors", "investigating", "critical",
                         Level.MAJOR_OUTAGE, "", "", False, False)
