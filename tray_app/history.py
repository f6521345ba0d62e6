"""Outage history: episodes (start, end, worst level, components, incidents) and uptime.

The arithmetic is pure; :class:`HistoryStore` keeps the record in the shared database
(:mod:`tray_app.store`), one row per episode, capped by age and count.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .core.levels import Level
from .core.policy import format_duration
from .store import Database

log = logging.getLogger(__name__)

MAX_EPISODES = 2000
KEEP_SECONDS = 400 * 86400


@dataclass(frozen=True)
class Episode:
    service: str
    start: float
    end: float | None  # None while it lasts
    worst: str  # a Level value
    components: tuple[str, ...] = ()
    incidents: tuple[str, ...] = ()
    lower_bound: bool = False  # the end is the last bad reading; it may have lasted longer

    @property
    def level(self) -> Level:
        try:
            return Level(self.worst)
        except ValueError:
            return Level.UNKNOWN

    def length(self, now: float) -> float:
        return max(0.0, (self.end if self.end is not None else now) - self.start)


def downtime(episodes: Iterable[Episode], since: float, now: float,
             levels: frozenset[Level] = frozenset({Level.PARTIAL_OUTAGE, Level.MAJOR_OUTAGE,
                                                   Level.DEGRADED})) -> float:
    """Seconds within [since, now] covered by episodes at the given levels (overlaps merged)."""
    spans = sorted(
        (max(e.start, since), min(e.end if e.end is not None else now, now))
        for e in episodes
        if e.level in levels
    )
    total, cursor = 0.0, since
    for start, end in spans:
        start = max(start, cursor)
        if end > start:
            total += end - start
            cursor = end
    return total


def uptime(episodes: Iterable[Episode], days: float, now: float) -> float:
    """Share of the last ``days`` without a problem, in percent."""
    span = days * 86400
    return 100.0 * (1 - downtime(episodes, now - span, now) / span)


def summary_lines(episodes: list[Episode], now: float, last: int = 5) -> list[str]:
    lines = [
        "Uptime: " + ", ".join(
            f"{label} {uptime(episodes, d, now):.2f}%" for label, d in
            (("24 h", 1), ("7 d", 7), ("30 d", 30))
        )
    ]
    recent = sorted(episodes, key=lambda e: e.start, reverse=True)[:last]
    for e in recent:
        when = time.strftime("%a %d %b %H:%M", time.localtime(e.start))
        if e.end is None:
            length = f"ongoing, {format_duration(e.length(now))}"
        else:
            length = ("≥ " if e.lower_bound else "") + format_duration(e.length(now))
        what = f" ({e.incidents[0]})" if e.incidents else ""
        lines.append(f"{when}: {e.level.label}, {length}{what}")
    if not recent:
        lines.append("No outages recorded yet")
    return lines


class HistoryStore:
    """The record in the database. Thread-safe: the poller writes, the menu and CLI read.

    Two processes watching the same service record one outage once: an episode joins the
    service's open row, or a closed row it overlaps (the other process saw the recovery first).
    """

    def __init__(self, db: Database | Path) -> None:
        self.db = db if isinstance(db, Database) else Database(db)
        self.path = self.db.path
        self._lock = threading.Lock()
        self._cache: tuple[tuple[int, int, int], list[Episode]] | None = None
        self._seen: list[Episode] = []  # the last successful read, for when the file can't be

    def episodes(self) -> list[Episode]:
        """Everything recorded, oldest first, as the file has it now (other processes' writes
        included), plus this process's writes still waiting for a retry."""
        with self._lock:
            key = self.db.changes()
            if key is not None and self._cache is not None and self._cache[0] == key:
                rows = self._cache[1]
            else:
                read = self.db.read(_all_rows)
                if read is not None:
                    self._seen = read
                    if key is not None:
                        self._cache = (key, read)
                rows = self._seen
            waiting = [w for w in self.db.pending() if isinstance(w, _Record)]
            if not waiting:
                return list(rows)
            merged = list(rows)
            for w in waiting:
                w.overlay(merged)
            return sorted(merged, key=lambda e: e.start)

    def open(self, episode: Episode) -> None:
        """Record the start of an episode, or add to the one open for the service."""
        self.db.write(_Record(replace(episode, end=None)))

    def close(self, service: str, start: float, end: float, worst: str, lower_bound: bool,
              components: tuple[str, ...] = (), incidents: tuple[str, ...] = ()) -> None:
        self.db.write(_Record(Episode(service, start, end, worst, components, incidents,
                                      lower_bound)))


@dataclass(frozen=True)
class _Record:
    """One write: an episode still going on (``end`` None) or over."""

    episode: Episode

    def apply(self, conn: sqlite3.Connection) -> None:
        e = self.episode
        rows = _decoded(conn.execute(
            f"SELECT id, {_COLUMNS} FROM episodes WHERE service = ? "
            "AND (end_at IS NULL OR end_at >= ?)", (e.service, e.start),
        ))
        found = _belongs_to([row for _, row in rows], e)
        if found is None:
            conn.execute(f"INSERT INTO episodes ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                         _values(e))
        else:
            row_id, old = rows[found]
            conn.execute(
                "UPDATE episodes SET service = ?, start = ?, end_at = ?, worst = ?, "
                "components = ?, incidents = ?, lower_bound = ? WHERE id = ?",
                (*_values(_merge(old, e)), row_id),
            )
        _prune(conn)

    def overlay(self, episodes: list[Episode]) -> None:
        """The same change on a list in memory: what a read shows while the write waits."""
        found = _belongs_to(episodes, self.episode)
        if found is None:
            episodes.append(self.episode)
        else:
            episodes[found] = _merge(episodes[found], self.episode)


def _belongs_to(rows: Sequence[Episode], e: Episode) -> int | None:
    """The recorded episode ``e`` is part of: the service's open one, else a closed one whose
    span overlaps it. Rows that started after ``e`` ended are another outage."""
    open_at = closed_at = None
    for i, r in enumerate(rows):
        if r.service != e.service or (e.end is not None and r.start > e.end):
            continue
        if r.end is None:
            if open_at is None or r.start >= rows[open_at].start:
                open_at = i
        elif r.end >= e.start and (closed_at is None or r.start >= rows[closed_at].start):
            closed_at = i
    return open_at if open_at is not None else closed_at


def _merge(old: Episode, new: Episode) -> Episode:
    worst = old.worst if old.level.rank >= new.level.rank else new.worst
    start = min(old.start, new.start)
    components = tuple(dict.fromkeys((*old.components, *new.components)))
    incidents = tuple(dict.fromkeys((*old.incidents, *new.incidents)))
    if new.end is None:  # still going on (for whoever says so last)
        return Episode(new.service, start, None, worst, components, incidents)
    if old.end is None or new.end > old.end:
        end, lower_bound = new.end, new.lower_bound
    elif old.end > new.end:
        end, lower_bound = old.end, old.lower_bound
    else:
        end, lower_bound = new.end, old.lower_bound and new.lower_bound
    return Episode(new.service, start, end, worst, components, incidents, lower_bound)


_COLUMNS = "service, start, end_at, worst, components, incidents, lower_bound"


def _values(e: Episode) -> tuple[object, ...]:
    return (e.service, e.start, e.end, e.worst, json.dumps(list(e.components)),
            json.dumps(list(e.incidents)), int(e.lower_bound))


def _names(text: object) -> tuple[str, ...]:
    try:
        items = json.loads(str(text))
    except ValueError:
        return ()
    return tuple(str(i) for i in items) if isinstance(items, list) else ()


def _decoded(rows: Iterable[Sequence[Any]]) -> list[tuple[int, Episode]]:
    """(id, episode) per row; a row edited into nonsense by hand is skipped, not fatal."""
    out = []
    for row_id, service, start, end, worst, components, incidents, lower_bound in rows:
        try:
            e = Episode(str(service), float(start), None if end is None else float(end),
                        str(worst), _names(components), _names(incidents), bool(lower_bound))
        except (TypeError, ValueError):
            log.warning("history row %s can't be read; skipped", row_id)
            continue
        out.append((int(row_id), e))
    return out


def _all_rows(conn: sqlite3.Connection) -> list[Episode]:
    rows = conn.execute(f"SELECT id, {_COLUMNS} FROM episodes ORDER BY start, id")
    return [e for _, e in _decoded(rows)]


def _prune(conn: sqlite3.Connection) -> None:
    cutoff = time.time() - KEEP_SECONDS
    conn.execute("DELETE FROM episodes WHERE coalesce(end_at, start) < ?", (cutoff,))
    conn.execute("DELETE FROM episodes WHERE id IN (SELECT id FROM episodes "
                 "ORDER BY start DESC, id DESC LIMIT -1 OFFSET ?)", (MAX_EPISODES,))


def import_json(conn: sqlite3.Connection, data: bytes) -> None:
    """Copy an earlier version's ``history.json`` into the database (see store.Legacy)."""
    raw = json.loads(data.decode("utf-8"))
    episodes = [_episode(item) for item in raw["episodes"]]
    conn.executemany(f"INSERT INTO episodes ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                     [_values(e) for e in episodes])
    _prune(conn)


def _episode(item: dict[str, object]) -> Episode:
    start = item["start"]
    end = item.get("end")
    if not isinstance(start, int | float) or not (end is None or isinstance(end, int | float)):
        raise TypeError("episode times must be numbers")
    comps = item.get("components", [])
    incs = item.get("incidents", [])
    return Episode(
        service=str(item["service"]), start=float(start),
        end=None if end is None else float(end), worst=str(item["worst"]),
        components=tuple(str(c) for c in comps) if isinstance(comps, list) else (),
        incidents=tuple(str(c) for c in incs) if isinstance(incs, list) else (),
        lower_bound=bool(item.get("lower_bound", False)),
    )
