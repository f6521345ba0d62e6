"""Outage history: episodes (start, end, worst level, components, incidents) and uptime.

The arithmetic is pure; :class:`HistoryStore` keeps the record in the user data directory as
one JSON file, rewritten atomically and capped, with a corrupt file set aside, never fatal.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from .atomic import keep_aside, write_atomic
from .core.levels import Level
from .core.policy import format_duration

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
    """The record on disk. Thread-safe: the poller writes, the menu and CLI read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._episodes: list[Episode] | None = None

    def episodes(self) -> list[Episode]:
        with self._lock:
            return list(self._load())

    def _load(self) -> list[Episode]:
        if self._episodes is not None:
            return self._episodes
        self._episodes = []
        if not self.path.exists():
            return self._episodes
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            self._episodes = [_episode(item) for item in raw["episodes"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            moved = keep_aside(self.path)
            log.warning("history file %s unreadable (%s); kept aside as %s", self.path, exc, moved)
            self._episodes = []
        return self._episodes

    def open(self, episode: Episode) -> None:
        """Record the start of an episode, or add to the one open for the service."""
        with self._lock:
            eps = self._load()
            for i, e in enumerate(eps):
                if e.service == episode.service and e.end is None:
                    worst = max(e.level, episode.level, key=lambda lv: lv.rank)
                    eps[i] = Episode(
                        e.service, min(e.start, episode.start), None, worst.value,
                        tuple(dict.fromkeys((*e.components, *episode.components))),
                        tuple(dict.fromkeys((*e.incidents, *episode.incidents))),
                    )
                    break
            else:
                eps.append(episode)
            self._save(eps)

    def close(self, service: str, start: float, end: float, worst: str, lower_bound: bool,
              components: tuple[str, ...] = (), incidents: tuple[str, ...] = ()) -> None:
        with self._lock:
            eps = self._load()
            for i, e in enumerate(eps):
                if e.service == service and e.end is None:
                    eps[i] = Episode(service, min(e.start, start), end, worst,
                                     tuple(dict.fromkeys((*e.components, *components))),
                                     tuple(dict.fromkeys((*e.incidents, *incidents))),
                                     lower_bound)
                    break
            else:
                eps.append(Episode(service, start, end, worst, components, incidents,
                                   lower_bound))
            self._save(eps)

    def _save(self, eps: list[Episode]) -> None:
        cutoff = time.time() - KEEP_SECONDS
        eps[:] = [e for e in eps if (e.end or e.start) >= cutoff][-MAX_EPISODES:]
        data = {"version": 1, "episodes": [asdict(e) for e in eps]}
        try:
            write_atomic(self.path, json.dumps(data, ensure_ascii=False).encode("utf-8"))
        except OSError as exc:
            log.warning("can't save history to %s: %s", self.path, exc)


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
