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
  incidents outside the document (``incidents.json`` holds the newest 50 only). One such
  change is known: when an incident is resolved, the page puts its components back to
  operational (unless another open incident holds them), even when the resolving update
  still lists them as down; the rebuild does the same;
- scheduled maintenances, which ``incidents.json`` doesn't list.

A back-dated incident (posted after the fact, its ``created_at`` set earlier) appears when its
first update was posted, as a real poller would have seen it, with the back-dated times inside.
Nothing here raises on bad input: entries that can't be used are skipped and counted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .incidents import PastIncident, parse_incidents
from .levels import COMPONENT_STATUS, INCIDENT_CLOSED, INCIDENT_IMPACT, Level

_INDICATOR = {  # the page-wide roll-up, as Statuspage words it
    0: ("none", "All Systems Operational"),
    1: ("maintenance", "Service Under Maintenance"),
    2: ("minor", "Minor Service Outage"),
    3: ("major", "Partial System Outage"),
    4: ("critical", "Major Service Outage"),
}

def iso(ts: float) -> str:
    when = datetime.fromtimestamp(ts, UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class Change:
    at: float
    summary: dict[str, Any]


@dataclass
class Rebuilt:
    page: dict[str, Any]
    incidents: list[PastIncident]  # those with updates, in the order they were posted
    changes: list[Change] = field(default_factory=list)
    problems: tuple[str, ...] = ()


def rebuild(doc: Any, *, page: Mapping[str, Any] | None = None) -> Rebuilt:
    """One summary document per moment the page changed, in time order."""
    history = parse_incidents(doc)
    incidents = sorted((i for i in history if i.updates), key=lambda i: i.posted)
    doc_page = doc.get("page") if isinstance(doc, Mapping) else None
    page_obj = dict(page or (doc_page if isinstance(doc_page, Mapping) else {}) or {})
    components: dict[str, str] = {}  # id -> name, in the order the page lists them
    for inc in history:
        for cid, name in inc.components:
            components.setdefault(cid, name)
        for u in inc.updates:
            for cid, name, _ in u.moves:
                components.setdefault(cid, name)
    statuses = {cid: "operational" for cid in components}
    events = sorted((u.at, n, k) for n, inc in enumerate(incidents)
                    for k, u in enumerate(inc.updates))
    shown: dict[int, int] = {}  # incident index -> updates posted so far
    result = Rebuilt(page_obj, incidents, problems=history.problems)
    i = 0
    while i < len(events):
        at = events[i][0]
        while i < len(events) and events[i][0] == at:  # updates posted at the same instant
            _, n, k = events[i]
            shown[n] = k + 1
            update = incidents[n].updates[k]
            for cid, _name, status in update.moves:
                statuses[cid] = status
            if update.status in INCIDENT_CLOSED:
                _release(incidents, shown, n, statuses)
            i += 1
        result.changes.append(Change(at, _summary(page_obj, components, statuses, incidents,
                                                  shown, at)))
    return result


def _release(incidents: list[PastIncident], shown: Mapping[int, int], n: int,
             statuses: dict[str, str]) -> None:
    """A resolved incident's components go back to operational unless another open incident
    holds them. The page does so even when the resolving update still lists them as down: the
    next update to touch them gives "operational" as their old status (26 times in Claude's
    archive)."""
    held = {cid for m, count in shown.items() if m != n
            and incidents[m].updates[count - 1].status not in INCIDENT_CLOSED
            for u in incidents[m].updates[:count] for cid, _, _ in u.moves}
    for u in incidents[n].updates:
        for cid, _, _ in u.moves:
            if cid not in held:
                statuses[cid] = "operational"


def _summary(
    page: Mapping[str, Any],
    components: Mapping[str, str],
    statuses: Mapping[str, str],
    incidents: list[PastIncident],
    shown: Mapping[int, int],
    at: float,
) -> dict[str, Any]:
    stamp = iso(at)
    comps = [{"id": cid, "name": name, "status": statuses[cid], "position": k + 1,
              "group": False, "group_id": None, "updated_at": stamp}
             for k, (cid, name) in enumerate(components.items())]
    open_incidents = []
    for n, count in sorted(shown.items(), key=lambda kv: -incidents[kv[0]].posted):
        inc = incidents[n]
        posted = inc.updates[:count]
        status = posted[-1].status
        if status in INCIDENT_CLOSED:
            continue
        touched = list(dict.fromkeys(cid for u in posted for cid, _, _ in u.moves))
        ids = touched or [cid for cid, _ in inc.components]
        open_incidents.append({
            "id": inc.id, "name": inc.name, "status": status, "impact": inc.impact,
            "created_at": iso(inc.created), "started_at": iso(inc.start),
            "updated_at": iso(posted[-1].at), "monitoring_at": None, "resolved_at": None,
            "shortlink": inc.url, "page_id": page.get("id", ""),
            "incident_updates": [
                {"status": u.status, "body": u.body, "created_at": iso(u.at),
                 "display_at": iso(u.at),
                 "affected_components": [{"code": cid, "name": name, "new_status": new}
                                         for cid, name, new in u.moves]}
                for u in reversed(posted)
            ],
            "components": [{"id": cid, "name": components[cid], "status": statuses[cid]}
                           for cid in ids if cid in components],
        })
    levels = [INCIDENT_IMPACT.get(str(i.get("impact")), Level.OPERATIONAL) for i in open_incidents]
    levels += [COMPONENT_STATUS.get(s, Level.OPERATIONAL) for s in statuses.values()]
    rank = max([lv.rank for lv in levels] + [0])
    indicator, description = _INDICATOR[rank]
    return {
        "page": {**page, "updated_at": stamp},
        "status": {"indicator": indicator, "description": description},
        "components": comps,
        "incidents": open_incidents,
        "scheduled_maintenances": [],
    }
