"""Statuspage's ``/api/v2/incidents.json`` (the newest 50 incidents, open or resolved), read
into plain data: for the fix-time estimates (:mod:`.estimate`) and for rebuilding a page's
timeline (:mod:`.timeline`, ``replay --incidents``).

Pure, standard library only, and it never raises on bad input: values of the wrong type are
skipped with the reason kept in ``History.problems``; counts and texts are capped. Decode bytes
first with ``statuspage.decode``. Times are epoch seconds; an update's time is when it was
really posted (``created_at``), not the back-datable ``display_at``.

Posted after the fact: an incident whose first update is already ``resolved``, ``postmortem``
or ``monitoring``, or that was first posted more than :data:`LATE_POST_S` after the start the
page gives it (back-dated). It was never news while it lasted.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from .levels import INCIDENT_DONE, INCIDENT_WORKING
from .plaintext import clean

LATE_POST_S = 30 * 60  # first posted later than this after its start: back-dated
MAX_INCIDENTS = 1000  # incidents.json has 50; a replay may pass a whole archive (342)
MAX_UPDATES = 60
MAX_COMPONENTS = 40
MAX_PROBLEMS = 20
BODY_LIMIT = 2000
NAME_LIMIT = 200

_OPEN = INCIDENT_WORKING
_CLOSED = INCIDENT_DONE
_AFTER_THE_FACT = _CLOSED | {"monitoring"}


@dataclass(frozen=True)
class Update:
    status: str
    at: float  # the real posting time (epoch seconds), not the back-datable display_at
    body: str = ""
    moves: tuple[tuple[str, str, str], ...] = ()  # (component id, name, new status)


@dataclass(frozen=True)
class PastIncident:
    """One incident of ``incidents.json``, open or resolved. Times are epoch seconds."""

    id: str
    name: str
    impact: str
    status: str
    start: float  # started_at, else created_at
    created: float
    resolved: float | None = None
    components: tuple[tuple[str, str], ...] = ()  # (id, name)
    updates: tuple[Update, ...] = ()  # oldest first
    url: str = ""  # its shortlink

    @cached_property  # the archive replay asks millions of times
    def component_ids(self) -> frozenset[str]:
        return frozenset(cid for cid, _ in self.components)

    @cached_property
    def bodies(self) -> tuple[str, ...]:
        """Update texts, oldest first (for ``models.mentions``)."""
        return tuple(u.body for u in self.updates)

    @cached_property
    def fixed(self) -> float | None:
        """When the fix was in: the start of the last monitoring stretch, else resolution."""
        if self.resolved is None:
            return None
        stretch: float | None = None
        for u in self.updates:
            if u.status == "monitoring" and stretch is None:
                stretch = u.at
            elif u.status in _OPEN:
                stretch = None
        return min(stretch, self.resolved) if stretch is not None else self.resolved

    @cached_property
    def posted_live(self) -> bool:
        """False for a report made after the fact (see the module docstring)."""
        if not self.updates:
            return False
        first = self.updates[0]
        return first.status not in _AFTER_THE_FACT and first.at - self.start <= LATE_POST_S

    @cached_property
    def posted(self) -> float:
        """When it first appeared on the page: its first update's real posting time."""
        return self.updates[0].at if self.updates else self.created

    @cached_property
    def closed_at(self) -> float | None:
        """When an update first closed it (``resolved``/``postmortem``), or None."""
        return next((u.at for u in self.updates if u.status in _CLOSED), None)

    @cached_property
    def shown_open(self) -> bool:
        """Was it ever on the page unresolved? (A report after the fact never was.)"""
        return bool(self.updates) and self.updates[0].status not in _CLOSED

    def status_at(self, moment: float) -> str:
        """The status its updates gave at ``moment`` ("" before the first was posted)."""
        status = ""
        for u in self.updates:
            if u.at > moment:
                break
            status = u.status
        return status


@dataclass(frozen=True)
class History:
    incidents: tuple[PastIncident, ...] = ()
    problems: tuple[str, ...] = ()

    def __iter__(self) -> Iterator[PastIncident]:
        return iter(self.incidents)


# --- parsing ---------------------------------------------------------------------------------


def parse_incidents(doc: Any) -> History:
    """Read a decoded ``incidents.json`` (or a list of incidents); never raises."""
    problems: list[str] = []
    raw = doc.get("incidents") if isinstance(doc, Mapping) else doc
    if not isinstance(raw, list):
        what = "an object without an 'incidents' list" if isinstance(doc, Mapping) else _kind(doc)
        return History((), (f"expected Statuspage incidents.json: got {what}",))
    if len(raw) > MAX_INCIDENTS:
        problems.append(f"{len(raw)} incidents; read the first {MAX_INCIDENTS}")
    out: list[PastIncident] = []
    for index, item in enumerate(raw[:MAX_INCIDENTS]):
        incident = _incident(item, index, problems)
        if incident is not None:
            out.append(incident)
    if len(problems) > MAX_PROBLEMS:
        problems[MAX_PROBLEMS:] = [f"... and {len(problems) - MAX_PROBLEMS} more problems"]
    return History(tuple(out), tuple(problems))


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    return {dict: "an object", list: "an array", str: "a string", type(None): "null"}.get(
        type(value), "a number" if isinstance(value, int | float) else "a value"
    )


def _text(value: Any, limit: int) -> str:
    return clean(value, limit) if isinstance(value, str) else ""


def parse_time(value: Any) -> float | None:
    """ISO 8601 (``Z`` or an offset; naive reads as UTC) -> epoch seconds; None if unreadable."""
    if not isinstance(value, str) or not 10 <= len(value) <= 40:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _incident(item: Any, index: int, problems: list[str]) -> PastIncident | None:
    label = f"incident #{index + 1}"
    if not isinstance(item, Mapping):
        problems.append(f"{label} is {_kind(item)}, not an object: skipped")
        return None
    name = _text(item.get("name"), NAME_LIMIT)
    label = f"{label} ({name})" if name else label
    created = parse_time(item.get("created_at"))
    start = parse_time(item.get("started_at")) or created
    if created is None or start is None:
        problems.append(f"{label}: no readable created_at: skipped")
        return None
    status = _text(item.get("status"), 40)
    resolved = parse_time(item.get("resolved_at"))
    if item.get("resolved_at") is not None and resolved is None:
        problems.append(f"{label}: unreadable resolved_at: treated as unresolved")
    if status not in INCIDENT_DONE:
        resolved = None  # an open incident's resolved_at (if any) is stale
    return PastIncident(
        id=_text(item.get("id"), 64) or f"incident-{index}",
        name=name,
        impact=_text(item.get("impact"), 40),
        status=status,
        start=start,
        created=created,
        resolved=resolved,
        components=_components(item.get("components"), label, problems),
        updates=_updates(item.get("incident_updates"), label, problems),
        url=_text(item.get("shortlink"), 300),
    )


def _components(raw: Any, label: str, problems: list[str]) -> tuple[tuple[str, str], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.append(f"{label}: 'components' is {_kind(raw)}, not a list")
        return ()
    out: list[tuple[str, str]] = []
    for c in raw[:MAX_COMPONENTS]:
        if isinstance(c, Mapping) and isinstance(c.get("id"), str):
            cid = _text(c["id"], 64)
            if cid and cid not in (x for x, _ in out):
                out.append((cid, _text(c.get("name"), NAME_LIMIT) or cid))
    return tuple(out)


def _updates(raw: Any, label: str, problems: list[str]) -> tuple[Update, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.append(f"{label}: 'incident_updates' is {_kind(raw)}, not a list")
        return ()
    out: list[Update] = []
    skipped = 0
    for u in raw[:MAX_UPDATES]:
        at = parse_time(u.get("created_at")) if isinstance(u, Mapping) else None
        status = u.get("status") if isinstance(u, Mapping) else None
        if at is None or not isinstance(status, str):
            skipped += 1
            continue
        out.append(Update(_text(status, 40), at, _text(u.get("body"), BODY_LIMIT),
                          _moves(u.get("affected_components"))))
    if skipped:
        problems.append(f"{label}: {skipped} update(s) without a status or time: skipped")
    out.sort(key=lambda u: u.at)  # the API lists them newest first
    return tuple(out)




def _moves(raw: Any) -> tuple[tuple[str, str, str], ...]:
    """What an update did to components: (id, name, new status)."""
    out = []
    for a in (raw if isinstance(raw, list) else [])[:MAX_COMPONENTS]:
        if isinstance(a, Mapping) and isinstance(a.get("code"), str) and isinstance(
            a.get("new_status"), str
        ):
            cid = _text(a["code"], 64)
            out.append((cid, _text(a.get("name"), NAME_LIMIT) or cid, _text(a["new_status"], 40)))
    return tuple(out)
