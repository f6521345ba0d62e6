"""Rebuild what a Statuspage page showed over time from its incidents (``incidents.json``).

Each incident update says when it was posted (``created_at``), the incident's status from then
on, and which components it moved to which status (``affected_components``). Played in posting
order, they give the page as a poller would have read it: the unresolved incidents with the
updates posted so far, and the component statuses the last update set. :func:`rebuild` returns
one ``summary.json`` document per moment the page changed.

What the rebuild can't know (``replay --help`` says so too):
- the impact an incident had before its last edit: every update shows the final impact, so an
  impact raised during an incident reads as if it had been that high from the start;
- earlier names of renamed incidents and components: the final names are used throughout;
- changes made without an update (a component set by hand, an incident edited silently), and
  incidents outside the document (``incidents.json`` holds the newest 50 only);
- scheduled maintenances, which ``incidents.json`` doesn't list.

A back-dated incident (posted after the fact, its ``created_at`` set earlier) appears when its
first update was posted, as a real poller would have seen it, with the back-dated times inside.
Nothing here raises on bad input: entries that can't be used are skipped and counted.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .levels import COMPONENT_STATUS, INCIDENT_CLOSED, Level

MAX_INCIDENTS = 5000
MAX_UPDATES = 200  # per incident

_INDICATOR = {  # the page-wide roll-up, as Statuspage words it
    0: ("none", "All Systems Operational"),
    1: ("maintenance", "Service Under Maintenance"),
    2: ("minor", "Minor Service Outage"),
    3: ("major", "Partial System Outage"),
    4: ("critical", "Major Service Outage"),
}
_IMPACT_RANK = {"none": 0, "maintenance": 1, "minor": 2, "major": 3, "critical": 4}


def epoch(stamp: Any) -> float | None:
    """Statuspage's ISO 8601 times (``2026-09-10T09:12:03.095Z`` or with an offset)."""
    if not isinstance(stamp, str) or not stamp:
        return None
    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        return float(calendar.timegm(when.timetuple()))
    return when.timestamp()


def iso(ts: float) -> str:
    when = datetime.fromtimestamp(ts, UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class Update:
    at: float  # when it was posted
    status: str
    raw: Mapping[str, Any]
    moves: tuple[tuple[str, str, str], ...]  # (component id, name, new status)


@dataclass(frozen=True)
class PastIncident:
    """One incident as the rebuild uses it: its updates in posting order."""

    id: str
    name: str
    impact: str
    raw: Mapping[str, Any]
    updates: tuple[Update, ...]
    component_ids: tuple[str, ...]

    @property
    def posted(self) -> float:
        return self.updates[0].at

    @property
    def closed_at(self) -> float | None:
        """When an update first closed it (``resolved``/``postmortem``), or None."""
        for u in self.updates:
            if u.status in INCIDENT_CLOSED:
                return u.at
        return None

    def status_at(self, t: float) -> str:
        status = ""
        for u in self.updates:
            if u.at > t:
                break
            status = u.status
        return status

    @property
    def shown_open(self) -> bool:
        """Was it ever on the page unresolved? (A post-mortem notice never was.)"""
        return self.updates[0].status not in INCIDENT_CLOSED


@dataclass(frozen=True)
class Change:
    at: float
    summary: dict[str, Any]


@dataclass
class Rebuilt:
    page: dict[str, Any]
    incidents: list[PastIncident]
    changes: list[Change] = field(default_factory=list)
    skipped: int = 0


def incidents_of(doc: Any) -> tuple[list[Any], dict[str, Any]]:
    """The incident list and page object of ``incidents.json`` (or of a bare list)."""
    if isinstance(doc, list):
        return doc, {}
    if isinstance(doc, Mapping):
        raw = doc.get("incidents")
        page = doc.get("page")
        return (raw if isinstance(raw, list) else []), (dict(page) if isinstance(page, Mapping)
                                                          else {})
    return [], {}


def parse_incidents(doc: Any) -> tuple[list[PastIncident], int]:
    """Incidents with at least one usable update, and how many entries were skipped."""
    raw_list, _ = incidents_of(doc)
    out: list[PastIncident] = []
    skipped = 0
    for item in raw_list[:MAX_INCIDENTS]:
        inc = _incident(item)
        if inc is None:
            skipped += 1
        else:
            out.append(inc)
    skipped += max(0, len(raw_list) - MAX_INCIDENTS)
    out.sort(key=lambda i: i.posted)
    return out, skipped


def _incident(item: Any) -> PastIncident | None:
    if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
        return None
    updates: list[Update] = []
    raw_updates = item.get("incident_updates")
    for u in (raw_updates if isinstance(raw_updates, list) else [])[:MAX_UPDATES]:
        if not isinstance(u, Mapping):
            continue
        at = epoch(u.get("created_at"))
        status = u.get("status")
        if at is None or not isinstance(status, str):
            continue
        moves = []
        affected = u.get("affected_components")
        for a in affected if isinstance(affected, list) else []:
            if isinstance(a, Mapping) and isinstance(a.get("code"), str) and isinstance(
                a.get("new_status"), str
            ):
                moves.append((a["code"], str(a.get("name") or a["code"]), a["new_status"]))
        updates.append(Update(at, status, u, tuple(moves)))
    if not updates:
        return None
    updates.sort(key=lambda u: u.at)
    comps = item.get("components")
    ids = tuple(
        c["id"] for c in (comps if isinstance(comps, list) else [])
        if isinstance(c, Mapping) and isinstance(c.get("id"), str)
    )
    impact = item.get("impact")
    return PastIncident(
        id=item["id"], name=str(item.get("name") or item["id"]),
        impact=impact if isinstance(impact, str) else "", raw=item, updates=tuple(updates),
        component_ids=ids,
    )


def _components(incidents: list[PastIncident]) -> dict[str, dict[str, Any]]:
    """Every component any incident names, with its final name, in page order."""
    found: dict[str, dict[str, Any]] = {}
    for inc in incidents:
        comps = inc.raw.get("components")
        for c in comps if isinstance(comps, list) else []:
            if isinstance(c, Mapping) and isinstance(c.get("id"), str):
                found[c["id"]] = {k: v for k, v in c.items() if k != "status"}
        for u in inc.updates:
            for cid, name, _ in u.moves:
                found.setdefault(cid, {"id": cid, "name": name, "position": 999})
    ordered = sorted(found.values(), key=lambda c: (_num(c.get("position")), str(c["name"])))
    return {str(c["id"]): c for c in ordered}


def _num(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 999


def rebuild(doc: Any, *, page: Mapping[str, Any] | None = None) -> Rebuilt:
    """One summary document per moment the page changed, in time order."""
    incidents, skipped = parse_incidents(doc)
    _, doc_page = incidents_of(doc)
    page_obj = dict(page or doc_page or {})
    if not page_obj and incidents:
        page_obj = {"id": str(incidents[0].raw.get("page_id") or ""), "name": "", "url": ""}
    components = _components(incidents)
    statuses = {cid: "operational" for cid in components}
    events = sorted(
        ((u.at, n, k) for n, inc in enumerate(incidents) for k, u in enumerate(inc.updates)),
    )
    shown: dict[int, int] = {}  # incident index -> updates posted so far
    result = Rebuilt(page_obj, incidents, skipped=skipped)
    i = 0
    while i < len(events):
        at = events[i][0]
        while i < len(events) and events[i][0] == at:  # updates posted at the same instant
            _, n, k = events[i]
            shown[n] = k + 1
            for cid, _name, status in incidents[n].updates[k].moves:
                statuses[cid] = status
            i += 1
        result.changes.append(Change(at, _summary(page_obj, components, statuses, incidents,
                                                  shown, at)))
    return result


def _summary(
    page: Mapping[str, Any],
    components: Mapping[str, Mapping[str, Any]],
    statuses: Mapping[str, str],
    incidents: list[PastIncident],
    shown: Mapping[int, int],
    at: float,
) -> dict[str, Any]:
    comps = [{**c, "status": statuses[cid], "updated_at": iso(at)} for cid, c in
             components.items()]
    open_incidents = []
    for n, count in sorted(shown.items(), key=lambda kv: -incidents[kv[0]].posted):
        inc = incidents[n]
        posted = inc.updates[:count]
        status = posted[-1].status
        if status in INCIDENT_CLOSED:
            continue
        touched = list(dict.fromkeys(cid for u in posted for cid, _, _ in u.moves))
        ids = touched or list(inc.component_ids)
        open_incidents.append({
            **{k: v for k, v in inc.raw.items() if k not in ("incident_updates", "components")},
            "status": status,
            "updated_at": iso(posted[-1].at),
            "resolved_at": None,
            "incident_updates": [dict(u.raw) for u in reversed(posted)],
            "components": [{**components[cid], "status": statuses[cid]} for cid in ids
                           if cid in components],
        })
    rank = max([_IMPACT_RANK.get(str(i.get("impact")), 0) for i in open_incidents]
               + [COMPONENT_STATUS.get(s, Level.OPERATIONAL).rank for s in statuses.values()]
               + [0])
    indicator, description = _INDICATOR[rank]
    return {
        "page": {**page, "updated_at": iso(at)},
        "status": {"indicator": indicator, "description": description},
        "components": comps,
        "incidents": open_incidents,
        "scheduled_maintenances": [],
    }
