"""Decide the effective level of a parsed page for the components the user watches."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .levels import Level, worst
from .model import Component, Incident, Summary


@dataclass(frozen=True)
class Selector:
    """One watched component: matched by id once the id is known, else by name (any case)."""

    name: str = ""
    id: str = ""

    @classmethod
    def parse(cls, text: str) -> Selector:
        text = text.strip()
        if text.startswith("id:"):
            return cls(id=text[3:].strip())
        return cls(name=text)

    def label(self) -> str:
        return self.name or self.id


@dataclass(frozen=True)
class Watch:
    """Which components count. Empty ``include`` means all of them, minus ``exclude``."""

    include: tuple[Selector, ...] = ()
    exclude: tuple[Selector, ...] = ()

    @property
    def filtered(self) -> bool:
        return bool(self.include or self.exclude)

    @classmethod
    def of_names(cls, names: Iterable[str], exclude: Iterable[str] = ()) -> Watch:
        return cls(
            include=tuple(Selector.parse(n) for n in names if n.strip()),
            exclude=tuple(Selector.parse(n) for n in exclude if n.strip()),
        )


@dataclass(frozen=True)
class ComponentState:
    id: str
    name: str
    level: Level
    status: str
    watched: bool


@dataclass(frozen=True)
class IncidentState:
    id: str
    name: str
    status: str
    impact: str
    level: Level
    url: str
    started_at: str
    is_maintenance: bool
    recovering: bool


@dataclass(frozen=True)
class Assessment:
    """Everything presenters need about one page at one moment."""

    level: Level
    service: str
    headline: str
    description: str
    components: tuple[ComponentState, ...]  # every leaf component, watched or not
    incidents: tuple[IncidentState, ...]  # active ones touching a watched component
    upcoming: tuple[IncidentState, ...]
    reasons: tuple[str, ...]  # why a part is unknown
    watch: Watch  # with ids learned from this page filled in
    page_id: str = ""

    @property
    def watched(self) -> tuple[ComponentState, ...]:
        return tuple(c for c in self.components if c.watched)


def _leaves(summary: Summary) -> list[Component]:
    """Components that count: group rows count through their children, not twice."""
    ids = {c.id for c in summary.components}
    parents_with_children = {c.group_id for c in summary.components if c.group_id}
    leaves = []
    for c in summary.components:
        has_children = c.id in parents_with_children or any(ch in ids for ch in c.children)
        if c.is_group and has_children:
            continue
        leaves.append(c)
    return leaves


def _select(
    summary: Summary, watch: Watch, leaves: list[Component]
) -> tuple[set[str], Watch, list[str]]:
    """Return the watched leaf ids, the watch with learned ids, and names that matched nothing.

    A selector with an id on the page matches that id; otherwise its name matches a component's
    name or id, in any case. Indexes built once keep this linear in components + selectors.
    """
    children_of: dict[str, set[str]] = {}
    for leaf in leaves:
        if leaf.group_id:
            children_of.setdefault(leaf.group_id, set()).add(leaf.id)
    by_id: dict[str, list[Component]] = {}
    by_key: dict[str, list[Component]] = {}  # casefolded names and ids, in page order
    for c in summary.components:
        by_id.setdefault(c.id, []).append(c)
        keys = {c.name.casefold(), c.id.casefold()}
        for key in sorted(keys):
            by_key.setdefault(key, []).append(c)

    def resolve(sel: Selector) -> tuple[set[str], Selector]:
        if sel.id and sel.id in by_id:
            hits = by_id[sel.id]
        else:
            hits = by_key.get(sel.name.casefold(), []) if sel.name else []
        chosen: set[str] = set()
        for c in hits:
            chosen |= children_of.get(c.id) or {c.id}
        learned = sel if sel.id or len(hits) != 1 else Selector(name=hits[0].name, id=hits[0].id)
        return chosen, learned

    leaf_ids = {c.id for c in leaves}
    missing: list[str] = []
    include: list[Selector] = []
    selected: set[str] = set()
    for sel in watch.include:
        got, learned = resolve(sel)
        include.append(learned)
        if got:
            selected |= got
        else:
            missing.append(sel.label())
    if not watch.include:
        selected = set(leaf_ids)
    exclude: list[Selector] = []
    for sel in watch.exclude:
        got, learned = resolve(sel)
        exclude.append(learned)
        selected -= got
    return selected & leaf_ids, Watch(tuple(include), tuple(exclude)), missing


def _touches(incident: Incident, watched: set[str], groups: set[str]) -> bool:
    if not incident.component_ids:
        return True  # an incident that names no components is about all of them
    return any(cid in watched or cid in groups for cid in incident.component_ids)


def _incident_level(incident: Incident, levels: dict[str, Level], watched: set[str]) -> Level:
    """A monitoring incident whose components read operational counts as degraded at most."""
    if not incident.recovering:
        return incident.level
    ids = [cid for cid in incident.component_ids if cid in levels] or list(watched)
    if ids and all(levels[cid] is Level.OPERATIONAL for cid in ids):
        if incident.level.is_known and incident.level.rank <= Level.DEGRADED.rank:
            return incident.level
        return Level.DEGRADED
    return incident.level


def assess(summary: Summary, watch: Watch = Watch(), service: str = "") -> Assessment:
    service = service or summary.page.name or "Status page"
    leaves = _leaves(summary)
    watched, learned, missing = _select(summary, watch, leaves)
    levels = {c.id: c.level for c in leaves}
    groups = {c.group_id for c in leaves if c.id in watched and c.group_id}

    parts: list[Level] = []
    reasons: list[str] = list(summary.problems)
    for c in leaves:
        if c.id in watched:
            parts.append(c.level)
            if c.problem:
                reasons.append(c.problem)
    if missing:
        names = ", ".join(c.name for c in leaves) or "none"
        reasons.append(f"no component named {', '.join(missing)} on this page (it has: {names})")
        parts.append(Level.UNKNOWN)
    if summary.problems:
        parts.append(Level.UNKNOWN)

    active: list[tuple[Incident, Level]] = []
    for inc in (*summary.incidents, *summary.maintenances):
        if _touches(inc, watched, groups):
            level = _incident_level(inc, levels, watched)
            active.append((inc, level))
            parts.append(level)
            if inc.problem:
                reasons.append(inc.problem)

    if not watch.filtered:
        parts.append(_indicator_level(summary, active, leaves))
        if summary.indicator_level is Level.UNKNOWN:
            shown = repr(summary.indicator) if summary.indicator else "missing"
            reasons.append(f"page status indicator {shown}")

    level = worst(parts) if parts else Level.UNKNOWN
    if level is Level.UNKNOWN and not reasons:
        reasons.append("no components to watch")
    incidents = tuple(
        _incident_state(inc, lvl)
        for inc, lvl in sorted(active, key=lambda pair: -pair[1].rank)
    )
    components = tuple(
        ComponentState(c.id, c.name, c.level, c.status, c.id in watched) for c in leaves
    )
    headline = _headline(service, level, incidents, components, reasons)
    return Assessment(
        level=level,
        service=service,
        headline=headline,
        description=_description(summary, level, watch.filtered, headline, service),
        components=components,
        incidents=incidents,
        upcoming=tuple(_incident_state(m, m.level) for m in summary.upcoming),
        reasons=tuple(reasons),
        watch=learned,
        page_id=summary.page.id,
    )


def _indicator_level(
    summary: Summary, active: list[tuple[Incident, Level]], leaves: list[Component]
) -> Level:
    """Discount the indicator to degraded when recovering incidents alone keep it higher.

    Every other open incident and every component counts on its own, so when none of them
    reaches the indicator's level, only the recovering incidents can have raised it.
    """
    indicator = summary.indicator_level
    if indicator.rank <= Level.DEGRADED.rank:
        return indicator

    def discounted(inc: Incident, lvl: Level) -> bool:
        return inc.recovering and lvl.rank <= Level.DEGRADED.rank

    if not any(discounted(inc, lvl) for inc, lvl in active):
        return indicator
    rest = [lvl for inc, lvl in active if not discounted(inc, lvl)] + [c.level for c in leaves]
    if all(lvl.rank < indicator.rank for lvl in rest):
        return Level.DEGRADED
    return indicator


def _incident_state(inc: Incident, level: Level) -> IncidentState:
    return IncidentState(
        id=inc.id,
        name=inc.name,
        status=inc.status,
        impact=inc.impact,
        level=level,
        url=inc.url,
        started_at=inc.started_at,
        is_maintenance=inc.is_maintenance,
        recovering=inc.recovering and level.rank <= Level.DEGRADED.rank,
    )


def _headline(
    service: str,
    level: Level,
    incidents: tuple[IncidentState, ...],
    components: tuple[ComponentState, ...],
    reasons: list[str],
) -> str:
    if level is Level.OPERATIONAL:
        return f"{service}: operational"
    if level is Level.UNKNOWN:
        return f"{service}: unknown, {reasons[0] if reasons else 'no trustworthy data'}"
    label = "recovering" if incidents and all(i.recovering for i in incidents) else level.label
    if incidents:
        return f"{service}: {label}, {incidents[0].name}"
    affected = [c.name for c in components if c.watched and c.level.is_problem]
    if affected:
        return f"{service}: {label}, {', '.join(affected[:3])}"
    return f"{service}: {label}"


def _description(
    summary: Summary, level: Level, filtered: bool, headline: str, service: str
) -> str:
    # The page's own wording when it speaks for exactly what we watch; ours otherwise.
    if not filtered and summary.description and summary.indicator_level is level:
        return summary.description
    return headline.removeprefix(f"{service}: ")
