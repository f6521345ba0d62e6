"""Read an Atlassian Statuspage v2 ``summary.json`` into a :class:`Summary`.

Nothing here raises on bad input: every value that is missing, of the wrong type or never seen
before becomes an ``unknown`` part with its reason kept, so an unreadable page can never read
as green. Keys we don't use are ignored, and the optional ones (``incidents``,
``scheduled_maintenances``, ``group``, ``time_zone``) may be absent, as some
Statuspage-compatible providers leave them out.

Only a document without the Statuspage shape raises :class:`NotAStatuspage`: a JSON object is
read as a Statuspage when one of ``page``, ``status``, ``components``, ``incidents`` has the
type a Statuspage gives it (object, object, array, array), or when at least two of them are
there whatever their types (a null counts as left out). A Statuspage whose values have the
wrong types is read, and reads ``unknown`` with a reason naming each one.

The work is linear in the size of the document. At most :data:`MAX_COMPONENTS` components and
:data:`MAX_INCIDENTS` incidents (and as many scheduled maintenances) are read; a page with more
reads ``unknown``, saying so (no real page comes near: Claude's has 6 components, GitHub's 11).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from .levels import (
    COMPONENT_STATUS,
    INCIDENT_CLOSED,
    INCIDENT_IMPACT,
    INCIDENT_OPEN,
    MAINTENANCE_ACTIVE,
    MAINTENANCE_INACTIVE,
    PAGE_INDICATOR,
    Level,
    worst,
)
from .model import Component, Incident, PageInfo, Summary
from .plaintext import clean

MAX_DEPTH = 32  # real summaries nest 5 deep; deeper is hostile or broken
NAME_LIMIT = 200
MAX_UPDATES = 50  # of one incident's updates, read for times
MAX_BODIES = 8  # of those, the newest whose text is kept (model names)
BODY_TEXT_LIMIT = 600
MAX_COMPONENTS = 2000
MAX_INCIDENTS = 200  # unresolved incidents, and scheduled maintenances, each
SHAPE: dict[str, type] = {"page": dict, "status": dict, "components": list, "incidents": list}
EXPECTED = (
    "expected a Statuspage v2 summary.json: a JSON object with 'page', 'status' and 'components'"
)


class NotAStatuspage(ValueError):
    """The body parsed (or not) but is not a Statuspage summary; the message says what was seen."""


def decode(body: bytes) -> Any:
    """JSON-decode a response body, refusing anything deeper than :data:`MAX_DEPTH`."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NotAStatuspage(f"the body is not UTF-8 text ({EXPECTED})") from exc
    stripped = text.lstrip()
    if not stripped:
        raise NotAStatuspage(f"the body is empty ({EXPECTED})")
    if stripped[0] == "<":
        raise NotAStatuspage(f"got an HTML page, not JSON ({EXPECTED})")
    try:
        value = json.loads(text)
    except RecursionError as exc:
        raise NotAStatuspage(f"the JSON nests too deeply ({EXPECTED})") from exc
    except ValueError as exc:
        raise NotAStatuspage(f"the body is not valid JSON: {exc} ({EXPECTED})") from exc
    if _depth_exceeds(value, MAX_DEPTH):
        raise NotAStatuspage(f"the JSON nests more than {MAX_DEPTH} levels deep ({EXPECTED})")
    return value


def _depth_exceeds(value: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def parse_summary(doc: Any) -> Summary:
    """Build a :class:`Summary`; raises :class:`NotAStatuspage` only when ``doc`` is not one."""
    if not isinstance(doc, dict):
        raise NotAStatuspage(f"got a JSON {_kind(doc)} ({EXPECTED})")
    present = [k for k in SHAPE if doc.get(k) is not None]  # null: as if left out
    wrong = [k for k in present if not isinstance(doc[k], SHAPE[k])]
    if len(wrong) == len(present) and len(present) < 2:
        raise NotAStatuspage(_not_a_statuspage(doc, wrong))
    problems: list[str] = []
    if wrong:  # one reason naming each wrong value: the first reason is the one shown
        problems.append("; ".join(_wrong_type(k, doc[k]) for k in wrong))
    page = _page(doc.get("page"))
    indicator, indicator_level, description = _status(doc.get("status"))
    components = _components(doc.get("components"), problems)
    incidents = _incidents(doc.get("incidents", []), "incidents", problems)
    maintenances, upcoming = _maintenances(doc.get("scheduled_maintenances", []), problems)
    return Summary(
        page=page,
        indicator=indicator,
        indicator_level=indicator_level,
        description=description,
        components=components,
        incidents=incidents,
        maintenances=maintenances,
        upcoming=upcoming,
        problems=tuple(problems),
    )


def _wrong_type(key: str, value: Any) -> str:
    expected = "an object" if SHAPE[key] is dict else "a list"
    return f"'{key}' is {_a(_kind(value))}, not {expected}"


def _a(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def _not_a_statuspage(doc: dict[Any, Any], wrong: list[str]) -> str:
    keys = ", ".join(sorted(str(k)[:40] for k in doc)[:8]) or "none"
    if wrong:
        (key,) = wrong
        return (f"the JSON object's only Statuspage key is {_wrong_type(key, doc[key])} "
                f"(keys: {keys}); {EXPECTED}")
    return f"the JSON object has none of a Statuspage's keys (keys: {keys}); {EXPECTED}"


def _kind(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number" if isinstance(value, int | float) else "value"
    )


def _text(value: Any, limit: int = NAME_LIMIT) -> str:
    return clean(value, limit) if isinstance(value, str) else ""


def _page(raw: Any) -> PageInfo:
    if not isinstance(raw, Mapping):
        return PageInfo(id="", name="", url="")
    return PageInfo(
        id=_text(raw.get("id"), 64),
        name=_text(raw.get("name")),
        url=_text(raw.get("url"), 300),
        time_zone=_text(raw.get("time_zone"), 64),
        updated_at=_text(raw.get("updated_at"), 64),
    )


def _status(raw: Any) -> tuple[str, Level, str]:
    if not isinstance(raw, Mapping):
        return "", Level.UNKNOWN, ""
    indicator = raw.get("indicator")
    description = _text(raw.get("description"))
    if not isinstance(indicator, str):
        return "", Level.UNKNOWN, description
    return indicator, PAGE_INDICATOR.get(indicator, Level.UNKNOWN), description


def _components(raw: Any, problems: list[str]) -> tuple[Component, ...]:
    if raw is None:
        problems.append("'components' is missing")
        return ()
    if not isinstance(raw, list):
        return ()  # named by parse_summary
    raw = _capped(raw, MAX_COMPONENTS, "components", problems)
    out: list[Component] = []
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping):
            problems.append(f"component #{i + 1} is a {_kind(item)}, not an object")
            continue
        out.append(_component(item, i))
    return tuple(out)


def _capped(raw: list[Any], cap: int, what: str, problems: list[str]) -> list[Any]:
    if len(raw) <= cap:
        return raw
    problems.append(f"the page lists {len(raw)} {what}; only the first {cap} are read")
    return raw[:cap]


def _component(item: Mapping[str, Any], index: int) -> Component:
    name = _text(item.get("name")) or f"component #{index + 1}"
    cid = _text(item.get("id"), 64) or f"name:{name.casefold()}"
    status = item.get("status")
    problem = ""
    if not isinstance(status, str):
        level, status, problem = Level.UNKNOWN, "", f"{name}: status missing"
    else:
        level = COMPONENT_STATUS.get(status, Level.UNKNOWN)
        if level is Level.UNKNOWN:
            problem = f"{name}: unrecognised status {_text(status, 40)!r}"
    children = item.get("components")
    if not isinstance(children, list):
        children = []
    child_ids = tuple(c for c in children if isinstance(c, str))
    group_id = item.get("group_id")
    return Component(
        id=cid,
        name=name,
        status=_text(status, 40),
        level=level,
        is_group=item.get("group") is True,
        group_id=group_id if isinstance(group_id, str) else "",
        children=child_ids,
        problem=problem,
    )


def _component_ids(raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list):
        return ()
    ids = []
    for c in raw:
        if isinstance(c, Mapping) and isinstance(c.get("id"), str):
            ids.append(c["id"])
        elif isinstance(c, str):
            ids.append(c)
    return tuple(ids)


def _incidents(raw: Any, key: str, problems: list[str]) -> tuple[Incident, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        return ()  # named by parse_summary
    raw = _capped(raw, MAX_INCIDENTS, key, problems)
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping):
            problems.append(f"{key} #{i + 1} is a {_kind(item)}, not an object")
            continue
        incident = _incident(item, i)
        if incident is not None:
            out.append(incident)
    return tuple(out)


def _incident(item: Mapping[str, Any], index: int) -> Incident | None:
    name = _text(item.get("name")) or f"incident #{index + 1}"
    status = item.get("status")
    impact = item.get("impact")
    if isinstance(status, str) and status in INCIDENT_CLOSED:
        return None  # the unresolved list sometimes lags; a closed incident is over
    problems = []
    impact_level = INCIDENT_IMPACT.get(impact, Level.UNKNOWN) if isinstance(impact, str) else (
        Level.UNKNOWN
    )
    if impact_level is Level.UNKNOWN:
        problems.append(f"unrecognised impact {_text(impact, 40)!r}" if impact else "no impact")
    if not (isinstance(status, str) and status in INCIDENT_OPEN):
        problems.append(f"unrecognised status {_text(status, 40)!r}" if status else "no status")
    level = worst([impact_level, Level.UNKNOWN]) if problems else impact_level
    return Incident(
        id=_text(item.get("id"), 64) or f"incident-{index}",
        name=name,
        status=_text(status, 40),
        impact=_text(impact, 40),
        level=level,
        component_ids=_component_ids(item.get("components")),
        url=_text(item.get("shortlink"), 300),
        started_at=_text(item.get("started_at") or item.get("created_at"), 64),
        problem=f"{name}: " + "; ".join(problems) if problems else "",
        **_updates(item, status if isinstance(status, str) else ""),
    )


def _updates(item: Mapping[str, Any], status: str) -> dict[str, Any]:
    """From the incident's updates: the newest time, when the current monitoring spell began,
    and the text of the newest few (newest first)."""
    raw = item.get("incident_updates")
    updates = [u for u in (raw if isinstance(raw, list) else [])[:MAX_UPDATES]
               if isinstance(u, Mapping) and isinstance(u.get("created_at"), str)]
    updates.sort(key=lambda u: str(u["created_at"]), reverse=True)
    monitoring_since = ""
    if status == "monitoring":
        for u in updates:  # newest first: the start of the unbroken run of monitoring updates
            if u.get("status") != "monitoring":
                break
            monitoring_since = str(u["created_at"])
        monitoring_since = monitoring_since or _text(item.get("monitoring_at"), 64)
    newest = updates[0]["created_at"] if updates else item.get("updated_at")
    return {
        "updated_at": _text(newest, 64),
        "monitoring_since": _text(monitoring_since, 64),
        "bodies": tuple(b for b in (_text(u.get("body"), BODY_TEXT_LIMIT)
                                    for u in updates[:MAX_BODIES]) if b),
    }


def _maintenances(
    raw: Any, problems: list[str]
) -> tuple[tuple[Incident, ...], tuple[Incident, ...]]:
    if raw is None:
        return (), ()
    if not isinstance(raw, list):
        problems.append(f"'scheduled_maintenances' is {_a(_kind(raw))}, not a list")
        return (), ()
    raw = _capped(raw, MAX_INCIDENTS, "scheduled maintenances", problems)
    active: list[Incident] = []
    upcoming: list[Incident] = []
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping):
            problems.append(f"scheduled maintenance #{i + 1} is a {_kind(item)}, not an object")
            continue
        status = item.get("status")
        name = _text(item.get("name")) or f"maintenance #{i + 1}"
        base = Incident(
            id=_text(item.get("id"), 64) or f"maintenance-{i}",
            name=name,
            status=_text(status, 40),
            impact=_text(item.get("impact"), 40),
            level=Level.MAINTENANCE,
            component_ids=_component_ids(item.get("components")),
            url=_text(item.get("shortlink"), 300),
            started_at=_text(item.get("scheduled_for") or item.get("started_at"), 64),
            is_maintenance=True,
            ends_at=_text(item.get("scheduled_until"), 64),
            updated_at=_text(item.get("updated_at"), 64),
        )
        if isinstance(status, str) and status in MAINTENANCE_ACTIVE:
            active.append(base)
        elif isinstance(status, str) and status in MAINTENANCE_INACTIVE:
            if status == "scheduled":
                upcoming.append(base)
        else:
            shown = _text(status, 40)
            problem = f"{name}: unrecognised maintenance status {shown!r}"
            active.append(replace(base, level=Level.UNKNOWN, problem=problem))
    return tuple(active), tuple(upcoming)
