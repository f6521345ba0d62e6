"""Outage history: the uptime arithmetic, the menu lines and the record on disk."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tray_app.core.levels import Level
from tray_app.history import (
    KEEP_SECONDS,
    MAX_EPISODES,
    Episode,
    HistoryStore,
    downtime,
    summary_lines,
    uptime,
)
from tray_app.store import Database
from tray_app.userdata import open_database

DAY = 86400.0
NOW = 1_800_000_000.0
MAJOR, PARTIAL, DEGRADED = "major_outage", "partial_outage", "degraded"


def ep(start: float, end: float | None, worst: str = MAJOR, service: str = "Claude",
       **kw: object) -> Episode:
    return Episode(service, NOW + start, None if end is None else NOW + end, worst, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("episodes", "since", "expected"),
    [
        ([], -3600, 0),
        ([ep(-600, -300)], -3600, 300),
        ([ep(-600, -300), ep(-200, -100)], -3600, 400),
        ([ep(-600, -300), ep(-400, -200)], -3600, 400),  # overlap counted once
        ([ep(-600, -100), ep(-500, -200)], -3600, 500),  # one inside the other
        ([ep(-600, -300), ep(-300, -100)], -3600, 500),  # touching
        ([ep(-7200, -3000)], -3600, 600),  # clipped at the start of the window
        ([ep(-900, None)], -3600, 900),  # still open: counts up to now
        ([ep(-900, None), ep(-1200, -800)], -3600, 1200),  # open and closed overlap
        ([ep(-9000, -5000)], -3600, 0),  # entirely before the window
        ([ep(-600, -300, "maintenance")], -3600, 0),  # maintenance is not downtime
        ([ep(-600, -300, "unknown")], -3600, 0),  # nor is not knowing
        ([ep(-600, -300, "bogus")], -3600, 0),
        ([ep(-600, -300, DEGRADED), ep(-500, -100, PARTIAL)], -3600, 500),
        ([ep(-600, -300, service="Claude"), ep(-500, -100, service="OpenAI")], -3600, 500),
    ],
    ids=[
        "none", "one", "two", "overlap", "nested", "touching", "clipped", "open",
        "open-and-closed", "before-window", "maintenance", "unknown", "bad-level",
        "levels-mixed", "services-merged",
    ],
)
def test_downtime(episodes: list[Episode], since: float, expected: float) -> None:
    assert downtime(episodes, NOW + since, NOW) == pytest.approx(expected)


def test_uptime_over_days() -> None:
    episodes = [ep(-3 * 3600, -2 * 3600), ep(-5 * DAY, -5 * DAY + 7200, PARTIAL)]
    assert uptime(episodes, 1, NOW) == pytest.approx(100 * (1 - 3600 / DAY))
    assert uptime(episodes, 7, NOW) == pytest.approx(100 * (1 - 3 * 3600 / (7 * DAY)))
    assert uptime([], 30, NOW) == 100.0
    assert uptime([ep(-40 * DAY, None)], 30, NOW) == pytest.approx(0.0)


def test_summary_lines() -> None:
    episodes = [
        ep(-2 * DAY, -2 * DAY + 45 * 60, MAJOR, incidents=("Elevated errors on the API",)),
        ep(-DAY / 2, -DAY / 2 + 3 * 3600, PARTIAL, lower_bound=True),
        ep(-600, None, DEGRADED, incidents=("Slow Claude Code",)),
    ]
    lines = summary_lines(episodes, NOW)
    assert lines[0].startswith("Uptime: 24 h ")
    assert "7 d" in lines[0] and "30 d" in lines[0]
    assert len(lines) == 4
    newest, middle, oldest = lines[1:]
    assert "degraded, ongoing, 10 min (Slow Claude Code)" in newest
    assert "partial outage, ≥ 3 h" in middle
    assert oldest.endswith("major outage, 45 min (Elevated errors on the API)")
    assert summary_lines([], NOW) == [
        "Uptime: 24 h 100.00%, 7 d 100.00%, 30 d 100.00%", "No outages recorded yet"
    ]


def test_summary_lines_shows_the_last_few() -> None:
    episodes = [ep(-n * 3600, -n * 3600 + 60) for n in range(1, 12)]
    assert len(summary_lines(episodes, NOW, last=5)) == 6


# -- the store --------------------------------------------------------------------------------

REAL = time.time()  # the store prunes by the real clock: its episodes must be recent


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "store.sqlite3")
    yield database
    database.close()


def other_process(db: Database) -> HistoryStore:
    """A second connection to the same file: what another process of the app has."""
    return HistoryStore(Database(db.path))


def test_store_open_then_close_persists(tmp_path: Path, db: Database) -> None:
    store = HistoryStore(db)
    store.open(Episode("Claude", REAL - 600, None, PARTIAL, ("Claude Code",), ("Login errors",)))
    assert other_process(db).episodes() == [
        Episode("Claude", REAL - 600, None, PARTIAL, ("Claude Code",), ("Login errors",))
    ]
    store.close("Claude", REAL - 600, REAL - 60, MAJOR, False, incidents=("Login errors",))
    (saved,) = other_process(db).episodes()
    assert (saved.end, saved.worst, saved.components, saved.incidents) == (
        REAL - 60, MAJOR, ("Claude Code",), ("Login errors",)
    )
    db.close()
    # The last connection closed folds the journal back in: one file, nothing beside it.
    assert [p.name for p in tmp_path.iterdir()] == ["store.sqlite3"]


def test_store_merges_into_the_open_episode_of_the_same_service(db: Database) -> None:
    store = HistoryStore(db)
    store.open(Episode("Claude", REAL - 600, None, DEGRADED, ("Claude Code",), ("A",)))
    store.open(Episode("OpenAI", REAL - 500, None, MAJOR))
    store.open(Episode("Claude", REAL - 300, None, MAJOR, ("claude.ai", "Claude Code"), ("B",)))
    store.open(Episode("Claude", REAL - 200, None, DEGRADED))  # worst stays major
    claude = [e for e in store.episodes() if e.service == "Claude"]
    assert claude == [Episode("Claude", REAL - 600, None, MAJOR, ("Claude Code", "claude.ai"),
                              ("A", "B"))]
    assert len(store.episodes()) == 2


def test_store_close_without_an_open_episode_records_it(db: Database) -> None:
    store = HistoryStore(db)
    store.close("Claude", REAL - 900, REAL - 100, PARTIAL, True)
    store.close("Claude", REAL - 90, REAL - 10, MAJOR, False)
    assert [(e.start, e.end, e.lower_bound) for e in other_process(db).episodes()] == [
        (REAL - 900, REAL - 100, True), (REAL - 90, REAL - 10, False)
    ]


def test_two_processes_in_the_same_outage_record_it_once(db: Database) -> None:
    tray, watch = HistoryStore(db), other_process(db)
    tray.open(Episode("Claude", REAL - 600, None, PARTIAL, ("Claude Code",), ("A",)))
    watch.open(Episode("Claude", REAL - 590, None, MAJOR, ("claude.ai",), ("A",)))
    tray.close("Claude", REAL - 600, REAL - 120, MAJOR, False)  # the tray sees the recovery first
    watch.open(Episode("Claude", REAL - 590, None, MAJOR, ("claude.ai",), ("A", "B")))
    watch.close("Claude", REAL - 590, REAL - 100, MAJOR, False)
    tray.close("Claude", REAL - 600, REAL - 120, MAJOR, False)  # a repeat changes nothing
    assert tray.episodes() == watch.episodes() == [
        Episode("Claude", REAL - 600, REAL - 100, MAJOR, ("Claude Code", "claude.ai"),
                ("A", "B"))
    ]
    # The next outage is a new episode, whoever records it.
    watch.close("Claude", REAL - 60, REAL - 30, DEGRADED, True)
    tray.open(Episode("Claude", REAL - 20, None, DEGRADED))
    assert [(e.start, e.end) for e in tray.episodes()] == [
        (REAL - 600, REAL - 100), (REAL - 60, REAL - 30), (REAL - 20, None)
    ]


def test_a_later_close_that_overlaps_keeps_the_later_end(db: Database) -> None:
    store = HistoryStore(db)
    store.close("Claude", REAL - 600, REAL - 300, MAJOR, True)  # closed by a restart, at a guess
    store.close("Claude", REAL - 590, REAL - 200, PARTIAL, False)  # the exact end, from a watcher
    assert store.episodes() == [Episode("Claude", REAL - 600, REAL - 200, MAJOR)]


def test_readers_see_another_process_write_at_once(db: Database) -> None:
    reader, writer = HistoryStore(db), other_process(db)
    assert reader.episodes() == []
    for n in range(3):
        writer.close("Claude", REAL - 1000 + n * 100, REAL - 950 + n * 100, MAJOR, False)
        assert len(reader.episodes()) == n + 1  # no stale copy held in memory


@pytest.mark.parametrize(
    "content",
    [b"", b"{oops", b"[]", b'{"episodes": 3}', b'{"episodes": [{"service": "x"}]}',
     b'{"episodes": [{"service": "x", "start": "noon", "end": null, "worst": "major_outage"}]}',
     b'{"episodes": [[1, 2]]}', b"\xff\xfe"],
    ids=["empty", "syntax", "list", "not-a-list", "missing-keys", "bad-time", "row-list",
         "not-utf8"],
)
def test_an_unreadable_json_history_is_kept_aside_not_imported(tmp_path: Path,
                                                                content: bytes) -> None:
    legacy = tmp_path / "history.json"
    legacy.write_bytes(content)
    database = open_database(tmp_path)
    try:
        store = HistoryStore(database)
        assert store.episodes() == []
        (kept,) = tmp_path.glob("history.json.broken-*")
        assert kept.read_bytes() == content
        assert not legacy.exists() and not list(tmp_path.glob("*.imported"))
        store.open(Episode("Claude", REAL - 60, None, MAJOR))
        assert len(HistoryStore(database).episodes()) == 1
    finally:
        database.close()


def test_the_store_is_capped_by_count_and_age(tmp_path: Path) -> None:
    old = {"service": "Claude", "start": REAL - KEEP_SECONDS - 7200,
           "end": REAL - KEEP_SECONDS - 3600, "worst": MAJOR}
    rows = [old] + [
        {"service": "Claude", "start": REAL - 90000 + n, "end": REAL - 90000 + n + 0.5,
         "worst": DEGRADED}
        for n in range(MAX_EPISODES + 50)
    ]
    (tmp_path / "history.json").write_text(json.dumps({"version": 1, "episodes": rows}))
    database = open_database(tmp_path)
    try:
        store = HistoryStore(database)
        store.close("Claude", REAL - 60, REAL - 30, MAJOR, False)
        kept = other_process(database).episodes()
    finally:
        database.close()
    assert len(kept) == MAX_EPISODES
    assert kept[-1].start == REAL - 60  # the newest survives, the oldest went first
    assert kept[0].start == REAL - 90000 + 51
    assert all(e.start > REAL - KEEP_SECONDS for e in kept)


def test_an_unwritable_place_is_logged_not_raised(tmp_path: Path,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("a file where the folder should be")
    database = Database(blocker / "store.sqlite3")
    store = HistoryStore(database)
    store.open(Episode("Claude", REAL - 60, None, MAJOR))  # must not raise
    assert store.episodes()[0].level is Level.MAJOR_OUTAGE  # shown while it waits
    store.close("Claude", REAL - 60, REAL - 10, MAJOR, False)
    assert [w for w in caplog.messages if "can't write" in w][:1], caplog.messages
    assert len(database.pending()) == 2
    # The place becomes usable: the next write saves everything that waited.
    blocker.unlink()
    store.open(Episode("OpenAI", REAL - 5, None, PARTIAL))
    assert database.pending() == ()
    assert [(e.service, e.end) for e in other_process(database).episodes()] == [
        ("Claude", REAL - 10), ("OpenAI", None)
    ]
    database.close()


def test_a_row_edited_into_nonsense_is_skipped(db: Database,
                                               caplog: pytest.LogCaptureFixture) -> None:
    store = HistoryStore(db)
    store.close("Claude", REAL - 900, REAL - 800, MAJOR, False)
    store.close("Claude", REAL - 90, REAL - 10, MAJOR, False)
    assert db.path is not None
    with sqlite3.connect(db.path) as raw:  # SQLite keeps whatever type it is given
        raw.execute("UPDATE episodes SET end_at = 'yesterday' WHERE start = ?", (REAL - 900,))
    raw.close()
    assert [e.start for e in other_process(db).episodes()] == [REAL - 90]
    store.open(Episode("Claude", REAL - 5, None, MAJOR))  # writing goes on around it
    assert len(other_process(db).episodes()) == 2
    assert "can't be read" in caplog.text
