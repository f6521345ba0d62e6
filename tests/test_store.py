"""The database file itself: schema versions, what an error does (a lock, a failing disk, a
damaged file), and the import of the JSON files earlier versions wrote. Every test uses a real
SQLite file in tmp_path; the injected errors come from a real connection class whose writes
fail on demand, or from a real lock held by a second connection."""

from __future__ import annotations

import json
import logging
import os
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import faultserver as fs
from tray_app import store as store_mod
from tray_app.core.levels import Level
from tray_app.core.persist import load_state
from tray_app.core.policy import PolicyState
from tray_app.history import Episode, HistoryStore
from tray_app.state import Saved, StateStore
from tray_app.store import SCHEMA_VERSION, Database
from tray_app.userdata import DATABASE, open_database

FIXTURES = Path(__file__).parent / "fixtures"
NOW = time.time()  # the history prunes by the real clock
MAJOR = "major_outage"


def episode(n: int, service: str = "Claude") -> Episode:
    return Episode(service, NOW - 100_000 + n * 100, NOW - 100_000 + n * 100 + 50, MAJOR)


def record(db: Database, *numbers: int) -> None:
    store = HistoryStore(db)
    for n in numbers:
        e = episode(n)
        assert e.end is not None
        store.close(e.service, e.start, e.end, e.worst, False)


def on_disk(path: Path) -> list[Episode]:
    """What a process that opens the file now reads."""
    other = Database(path)
    try:
        return HistoryStore(other).episodes()
    finally:
        other.close()


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / DATABASE


# -- schema -----------------------------------------------------------------------------------


def test_a_new_file_is_wal_with_the_current_schema(path: Path) -> None:
    db = Database(path)
    record(db, 1)
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    raw.close()
    assert db._box[0] is not None
    assert db._box[0].execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    db.close()


def test_an_older_schema_is_migrated_and_keeps_its_rows(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Database(path)
    record(db, 1, 2)
    db.close()
    # A later version adds a column: the file made by this one is brought up to it.
    later = (*store_mod.MIGRATIONS, ("ALTER TABLE episodes ADD COLUMN note TEXT",))
    monkeypatch.setattr(store_mod, "MIGRATIONS", later)
    monkeypatch.setattr(store_mod, "SCHEMA_VERSION", len(later))
    db = Database(path)
    record(db, 3)
    assert [e.start for e in HistoryStore(db).episodes()] == [episode(n).start for n in (1, 2, 3)]
    db.close()
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == len(later)
        columns = [row[1] for row in raw.execute("PRAGMA table_info(episodes)")]
    raw.close()
    assert "note" in columns


def test_a_file_from_a_newer_version_is_used_as_it_is(
    path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "tray_app.store")
    db = Database(path)
    record(db, 1)
    db.close()
    with sqlite3.connect(path) as raw:
        raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 3}")
    raw.close()
    db = Database(path)
    record(db, 2)
    assert len(HistoryStore(db).episodes()) == 2
    db.close()
    assert "from a newer version" in caplog.text
    assert names(path.parent) == [DATABASE]


def test_no_path_is_a_private_database_in_memory(tmp_path: Path) -> None:
    db = Database(None)
    record(db, 1)
    StateStore(db).save(Saved(paused_until=NOW))
    assert len(HistoryStore(db).episodes()) == 1
    assert StateStore(db).load().paused_until == NOW
    assert db.in_memory
    db.close()
    assert list(tmp_path.iterdir()) == []


# -- errors that are not corruption -----------------------------------------------------------


def test_a_lock_held_by_another_process_is_waited_out_then_retried(
    path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = Database(path, busy_timeout=0.05)
    record(db, 1)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process in the middle of a long write
    record(db, 2)  # must not raise
    assert "database is locked" in caplog.text
    assert len(db.pending()) == 1
    assert [e.start for e in HistoryStore(db).episodes()] == [episode(1).start,
                                                              episode(2).start]
    holder.execute("ROLLBACK")
    holder.close()
    record(db, 3)  # the next write takes the one that waited along
    assert db.pending() == ()
    assert [e.start for e in on_disk(path)] == [episode(n).start for n in (1, 2, 3)]
    assert names(path.parent) == [DATABASE, f"{DATABASE}-shm", f"{DATABASE}-wal"]  # nothing aside
    db.close()


class FailingWrites(sqlite3.Connection):
    """A real connection whose writes fail with ``error`` while it is set (for every
    connection of the class: the database reopens after an I/O error)."""

    error: str | None = None

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:  # type: ignore[override]
        if FailingWrites.error and sql.lstrip().upper().startswith(("INSERT", "UPDATE")):
            raise sqlite3.OperationalError(FailingWrites.error)
        return super().execute(sql, *args)


@pytest.fixture
def failing() -> Iterator[type[FailingWrites]]:
    yield FailingWrites
    FailingWrites.error = None


@pytest.mark.parametrize("error", ["disk I/O error", "database or disk is full",
                                   "attempt to write a readonly database",
                                   "database is locked", "unable to open database file"])
def test_a_failing_write_is_logged_kept_and_retried(
    path: Path, failing: type[FailingWrites], error: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "tray_app.store")
    db = Database(path, factory=failing)
    record(db, 1)
    StateStore(db).save(Saved(paused_until=NOW + 60, saved_at=NOW))
    failing.error = error
    record(db, 2, 3)
    StateStore(db).save(Saved(paused_until=NOW + 60, armed=True, saved_at=NOW + 1))
    warnings = [r for r in caplog.records if "can't write" in r.getMessage()]
    assert len(warnings) == 1 and error in warnings[0].getMessage()  # once, not per write
    assert len(db.pending()) == 3
    # The history is kept, readable and never moved aside for it.
    assert len(on_disk(path)) == 1
    assert len(HistoryStore(db).episodes()) == 3  # with the writes still waiting
    assert not [p for p in path.parent.iterdir() if ".broken" in p.name]
    failing.error = None
    record(db, 4)
    assert db.pending() == ()
    assert [e.start for e in on_disk(path)] == [episode(n).start for n in (1, 2, 3, 4)]
    saved = StateStore(Database(path)).load()
    assert (saved.paused_until, bool(saved.armed), saved.saved_at) == (NOW + 60, True, NOW + 1)
    assert "works again" in caplog.text
    db.close()


def test_the_writes_waiting_are_tried_once_more_on_close(
    path: Path, failing: type[FailingWrites]
) -> None:
    db = Database(path, factory=failing)
    record(db, 1)
    failing.error = "disk I/O error"
    record(db, 2)
    failing.error = None
    db.close()  # the app quitting
    assert len(on_disk(path)) == 2


def test_writes_waiting_are_capped(path: Path, failing: type[FailingWrites],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_mod, "MAX_PENDING", 3)
    db = Database(path, factory=failing)
    failing.error = "disk I/O error"
    record(db, 1, 2, 3, 4, 5)
    assert len(db.pending()) == 3
    failing.error = None
    record(db, 6)
    assert [e.start for e in on_disk(path)] == [episode(n).start for n in (3, 4, 5, 6)]
    db.close()


def test_a_write_that_can_never_apply_is_dropped_not_blocking(
    path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        def apply(self, conn: sqlite3.Connection) -> None:
            conn.execute("INSERT INTO no_such_table VALUES (1)")

    db = Database(path)
    record(db, 1)
    assert db.write(Broken())
    record(db, 2)
    assert len(on_disk(path)) == 2
    assert "dropped a write" in caplog.text
    db.close()


# -- a damaged file ---------------------------------------------------------------------------


def damaged_copies(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if ".broken-" in p.name)


def full_file(path: Path, episodes: int = 400) -> bytes:
    db = Database(path)
    record(db, *range(episodes))
    db.close()
    return path.read_bytes()


@pytest.mark.parametrize("damage", ["truncated", "garbage", "zeroed-pages"])
def test_a_damaged_file_is_set_aside_and_a_fresh_one_started(
    path: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    data = full_file(path)
    assert len(data) > 8 * 4096, "several pages, so damage can hit the middle"
    if damage == "truncated":
        bad = data[: len(data) // 2 + 100]
    elif damage == "garbage":
        bad = os.urandom(len(data))
    else:
        bad = data[:4096] + b"\0" * 4096 * 4 + data[4096 * 5:]
    path.write_bytes(bad)
    db = Database(path)
    assert HistoryStore(db).episodes() == []  # a fresh start, no exception
    (kept,) = damaged_copies(path.parent)
    assert re.fullmatch(rf"{re.escape(DATABASE)}\.broken-\d{{8}}-\d{{6}}", kept.name)
    assert kept.read_bytes() == bad  # nothing of it lost
    record(db, 1)
    assert len(on_disk(path)) == 1
    assert "is damaged" in caplog.text
    db.close()


def test_a_damaged_file_leaves_no_stale_journal_for_the_fresh_one(path: Path) -> None:
    """A -wal left by the damaged file must never be replayed into the fresh one (SQLite
    removes it when it closes the bad file, or it goes aside with it)."""
    full_file(path, 50)
    path.write_bytes(b"not a database at all" * 300)
    stale = path.parent / f"{DATABASE}-wal"
    stale.write_bytes(b"x" * 100)  # what a crash might leave
    db = Database(path)
    assert HistoryStore(db).episodes() == []
    assert len(damaged_copies(path.parent)) in (1, 2)
    assert not stale.exists() or stale.read_bytes() != b"x" * 100
    record(db, 1)
    db.close()
    assert len(on_disk(path)) == 1


def test_when_even_the_rename_fails_the_run_keeps_its_records_in_memory(
    path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path.write_bytes(b"garbage" * 1000)

    def sharing_violation(*args: object) -> None:  # what Windows says for an open file
        raise PermissionError(13, "The process cannot access the file")

    monkeypatch.setattr(store_mod, "keep_aside", sharing_violation)
    db = Database(path)
    record(db, 1)  # no exception at start-up or after
    assert len(HistoryStore(db).episodes()) == 1
    assert db.in_memory
    assert "in memory only" in caplog.text
    assert path.read_bytes() == b"garbage" * 1000  # left as it was
    db.close()


def test_history_command_on_a_damaged_file_sets_it_aside_and_answers(tmp_path: Path) -> None:
    folder = tmp_path / "data" / "claude-status-tray"
    folder.mkdir(parents=True)
    (folder / DATABASE).write_bytes(b"SQLite format 3\0" + b"\xff" * 5000)
    result = subprocess.run(
        [sys.executable, "-m", "tray_app", "history", "--json"],
        env=fs.isolated_env(tmp_path), capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["episodes"] == []
    assert "Traceback" not in result.stderr
    assert len(damaged_copies(folder)) == 1


# -- the JSON files of earlier versions -------------------------------------------------------


def legacy_files(folder: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """tests/fixtures/legacy-*.json were written by the app as of commit 9535843 (the JSON
    stores) through an outage, a recovery, a second outage still going on, with a pause and
    the one-shot alert set. Their times are moved to now, so the history keeps them."""
    history = json.loads((FIXTURES / "legacy-history.json").read_text(encoding="utf-8"))
    state = json.loads((FIXTURES / "legacy-state.json").read_text(encoding="utf-8"))
    shift = NOW - state["saved_at"]
    for e in history["episodes"]:
        e["start"] += shift
        e["end"] = None if e["end"] is None else e["end"] + shift
    state["saved_at"] += shift
    state["paused_until"] += shift
    for a in state["alerts"]:
        a["at"] += shift
    for s in state["services"].values():
        for key in ("episode_start", "last_bad_at", "window_start"):
            if s.get(key) is not None:
                s[key] += shift
    # Written the way that version wrote them.
    (folder / "history.json").write_text(json.dumps(history, ensure_ascii=False),
                                         encoding="utf-8")
    (folder / "state.json").write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
    return history, state


def expected_services(state: dict[str, Any]) -> dict[str, PolicyState]:
    """What the policy makes of each saved state (it owns the format; one it can't read is a
    fresh start for that service)."""
    out = {}
    for key, raw in state["services"].items():
        try:
            out[key] = load_state(raw)
        except (ValueError, TypeError):
            pass
    return out


def test_the_json_files_are_imported_once_then_kept_as_imported(tmp_path: Path) -> None:
    history, state = legacy_files(tmp_path)
    db = open_database(tmp_path)
    episodes = HistoryStore(db).episodes()
    saved = StateStore(db).load()
    db.close()

    assert [(e.service, e.start, e.end, e.worst, list(e.components), list(e.incidents))
            for e in episodes] == [
        (e["service"], e["start"], e["end"], e["worst"], e["components"], e["incidents"])
        for e in history["episodes"]
    ]
    assert episodes[-1].end is None and episodes[-1].level is Level.PARTIAL_OUTAGE
    assert saved == Saved(
        services=expected_services(state), page_ids={"main": "tymt9n04zgry"},
        paused_until=state["paused_until"], armed=True, alerts=tuple(state["alerts"]),
        saved_at=state["saved_at"],
    )
    with sqlite3.connect(tmp_path / DATABASE) as raw:
        (text,) = raw.execute("SELECT state FROM service_state WHERE service = 'main'").fetchone()
    raw.close()
    assert json.loads(text) == state["services"]["main"]  # copied as it was, never rewritten
    assert names(tmp_path) == ["history.json.imported", "state.json.imported", DATABASE]

    # The next start finds nothing to import and reads the same.
    db = open_database(tmp_path)
    assert HistoryStore(db).episodes() == episodes
    assert StateStore(db).load() == saved
    db.close()


def test_a_file_imported_but_not_renamed_is_not_imported_twice(tmp_path: Path) -> None:
    """The rename after the import can fail (antivirus, OneDrive): the next start renames it
    without importing it again."""
    history, _ = legacy_files(tmp_path)
    db = open_database(tmp_path)
    assert len(HistoryStore(db).episodes()) == len(history["episodes"])
    db.close()
    (tmp_path / "history.json").write_bytes((tmp_path / "history.json.imported").read_bytes())
    db = open_database(tmp_path)
    assert len(HistoryStore(db).episodes()) == len(history["episodes"])
    db.close()
    assert not (tmp_path / "history.json").exists()
    assert len(list(tmp_path.glob("history.json.imported*"))) == 2


def test_the_demo_imports_only_its_own_history(tmp_path: Path) -> None:
    legacy_files(tmp_path)
    (tmp_path / "demo-history.json").write_text(json.dumps({"version": 1, "episodes": [
        {"service": "Claude (demo)", "start": NOW - 50, "end": NOW - 20, "worst": MAJOR}
    ]}), encoding="utf-8")
    db = open_database(tmp_path, demo=True)
    assert [e.service for e in HistoryStore(db).episodes()] == ["Claude (demo)"]
    db.close()
    assert (tmp_path / "history.json").exists() and (tmp_path / "state.json").exists()
    assert (tmp_path / "demo-history.json.imported").exists()
