"""Decide the effective level of a parsed page for the components the user watches."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .incidents import parse_time
from .levels import Level, worst
from .model import Component, Incident, Summary
from .models import ModelFilter, affects, mentions
from .timing import Timing


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
    level: Level  # what it adds to the icon now (operational when it no longer colours it)
    url: str
    started_at: str
    is_maintenance: bool
    recovering: bool  # in monitoring with its components operational, within the grace
    relevant: bool = True  # touches a watched component (and, with a model filter, the models)
    fixed: bool = False  # monitoring (or later) with its own components operational
    quiet: str = ""  # why it no longer colours the icon: "stale", "fixed", "not yours"
    components: tuple[str, ...] = ()  # names of the watched components it touches
    updated_at: str = ""
    ends_at: str = ""
    models: str = ""  # the models it names: "Opus 4.8, Haiku 4.5" ("" when none)
    component_ids: tuple[str, ...] = ()  # every component it lists, watched or not

    @property
    def colours(self) -> bool:
        """Concerns the user and still colours the icon."""
        return self.relevant and not bool(self.quiet)


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
    loose: Level = Level.OPERATIONAL  # watched components in trouble that no incident explains
    loose_names: tuple[str, ...] = ()
    loose_levels: tuple[Level, ...] = ()  # each loose component's level, as loose_names
    valid_until: float = float("inf")  # when the time rules next change this by themselves

    @property
    def watched(self) -> tuple[ComponentState, ...]:
        return tuple(c for c in self.components if c.watched)

    @property
    def colouring(self) -> list[IncidentState]:
        """The incidents that colour the icon."""
        return [i for i in self.incidents if i.colours]


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


def _monitoring_since(inc: Incident) -> float | None:
    return parse_time(inc.monitoring_since) or parse_time(inc.updated_at)


@dataclass
class _Judged:
    """One incident while the assessment works on it."""

    inc: Incident
    relevant: bool
    touched: list[str]  # watched leaf ids it touches (all watched ones when it lists none)
    models: str = ""
    level: Level = Level.OPERATIONAL
    recovering: bool = False
    fixed: bool = False
    quiet: str = ""

    @property
    def active(self) -> bool:
        """Still being worked on: it explains the trouble of the components it touches."""
        return self.relevant and not self.inc.recovering and not self.quiet


def _judge(
    incidents: Iterable[Incident], watched: set[str], groups: set[str], levels: dict[str, Level],
    now: float | None, timing: Timing, models: ModelFilter | None,
) -> tuple[list[_Judged], float]:
    """Each incident's level by the rules of its status and age; and when those next change."""
    judged: list[_Judged] = []
    next_change = float("inf")
    for inc in incidents:
        if not _touches(inc, watched, groups):
            continue
        ids = [c for c in inc.component_ids if c in watched] if inc.component_ids else []
        touched = ids or (sorted(watched) if not inc.component_ids else [])
        named = mentions(inc.name, inc.bodies)
        relevant = not models or affects(models, named)
        judged.append(_Judged(inc, relevant, touched, named.label))
    # Components some active incident touches: a monitoring incident doesn't own those.
    claimed = {cid for j in judged if j.active and not j.inc.is_maintenance for cid in j.touched}
    # Trouble another recent incident explains doesn't keep an old one alive: for one that
    # names its components, another that names them and still colours the icon; for one that
    # names none (it touches everything), any that names them, whatever its status or models.
    explained = _explainers(judged, now, timing)
    for j in judged:
        inc = j.inc
        own = [cid for cid in j.touched if cid not in claimed]
        own_ok = all(levels.get(cid) is Level.OPERATIONAL for cid in own)
        if not j.relevant:
            j.quiet = "not yours"
            continue
        if inc.is_maintenance:
            j.level = inc.level
            continue
        updated = parse_time(inc.updated_at)
        all_ok = all(levels.get(cid) is Level.OPERATIONAL for cid in j.touched)
        by = explained[bool(inc.component_ids)]
        others = all(levels.get(cid) is Level.OPERATIONAL or by.get(cid, set()) - {inc.id}
                     for cid in j.touched)
        if updated is not None and others and now is not None:
            if now - updated >= timing.stale_after:
                j.quiet = "stale"
                continue
            next_change = min(next_change, updated + timing.stale_after)
        if not inc.recovering:
            j.level = inc.level
            continue
        # Monitoring counts by its own status: a fix is out, so degraded at most, and only
        # for the grace; never by the statuses of components other incidents hold. It reads
        # as fixed (a notice after the fact when first seen so) only once all it touches is
        # green.
        j.fixed = all_ok
        since = _monitoring_since(inc)
        if now is not None and since is not None and now - since >= timing.monitoring_grace:
            j.quiet = "fixed"
            continue
        if since is not None:
            next_change = min(next_change, since + timing.monitoring_grace)
        j.recovering = own_ok
        known = inc.level.is_known and inc.level.rank <= Level.DEGRADED.rank
        j.level = inc.level if known else Level.DEGRADED
    return judged, next_change


def _attribute(judged: list[_Judged], levels: dict[str, Level], watched: set[str]
               ) -> tuple[dict[str, Level], list[str]]:
    """Which watched components count for the icon, and those no incident explains (loose).

    A component counts while an active incident that concerns the user touches it, or while
    no open incident touches it at all (then it is loose trouble of its own). One held only by
    incidents that no longer colour the icon (stale, fixed past the grace, or about models the
    user doesn't use) doesn't count; held only by ones that name no components, it counts once
    it reads worse than their impact. An active incident rated lower than the components it
    holds is raised to their level (the newest one, when several share them).
    """
    counted: dict[str, Level] = {}
    loose: list[str] = []
    holders: dict[str, list[_Judged]] = {}
    for j in judged:
        for cid in j.touched:
            holders.setdefault(cid, []).append(j)
    for cid in sorted(watched):
        level = levels.get(cid, Level.UNKNOWN)
        mine = holders.get(cid, [])
        active = [j for j in mine if j.active]
        recovering = [j for j in mine if j.relevant and j.inc.recovering and not j.quiet]
        if active:
            counted[cid] = level
            if level.is_known and level.is_problem and all(
                j.level.is_known and j.level.rank < level.rank for j in active
            ):
                newest = max(active, key=lambda j: j.inc.started_at)
                newest.level = level
        elif recovering:
            # Held by a fix being watched: it counts through that incident's own level.
            counted[cid] = min(level, max(j.level for j in recovering), key=lambda lv: lv.rank) \
                if level.is_known else level
        elif _explained(level, mine):
            # Held only by quiet incidents (or ones about models the user doesn't use): their
            # trouble doesn't colour the icon; an unreadable status still does.
            counted[cid] = level if level is Level.UNKNOWN else Level.OPERATIONAL
        else:
            counted[cid] = level
            if level.is_problem:
                loose.append(cid)
    return counted, loose


def assess(
    summary: Summary,
    watch: Watch = Watch(),
    service: str = "",
    *,
    now: float | None = None,
    timing: Timing | None = None,
    models: ModelFilter | None = None,
) -> Assessment:
    """The page as it concerns the user at ``now`` (None: no time rules apply).

    ``models`` is the user's model filter: an incident that names only other models concerns
    them no more than one about a component they don't watch (listed, never colouring).
    """
    service = service or summary.page.name or "Status page"
    leaves = _leaves(summary)
    watched, learned, missing = _select(summary, watch, leaves)
    levels = {c.id: c.level for c in leaves}
    groups = {c.group_id for c in leaves if c.id in watched and c.group_id}

    reasons: list[str] = list(summary.problems)
    for c in leaves:
        if c.id in watched and c.problem:
            reasons.append(c.problem)
    judged, valid_until = _judge((*summary.incidents, *summary.maintenances), watched, groups,
                                 levels, now, timing or Timing(), models)
    counted, loose = _attribute(judged, levels, watched)
    parts: list[Level] = list(counted.values())
    if missing:
        names = ", ".join(c.name for c in leaves) or "none"
        reasons.append(f"no component named {', '.join(missing)} on this page (it has: {names})")
        parts.append(Level.UNKNOWN)
    if summary.problems:
        parts.append(Level.UNKNOWN)
    for j in judged:
        if j.relevant and not j.quiet:
            parts.append(j.level)
            if j.inc.problem:
                reasons.append(j.inc.problem)

    if not watch.filtered:
        parts.append(_indicator_level(summary, judged, parts))
        if summary.indicator_level is Level.UNKNOWN:
            shown = repr(summary.indicator) if summary.indicator else "missing"
            reasons.append(f"page status indicator {shown}")

    level = worst(parts) if parts else Level.UNKNOWN
    if level is Level.UNKNOWN and not reasons:
        reasons.append("no components to watch")
    names_of = {c.id: c.name for c in leaves}
    incidents = tuple(
        _incident_state(j, names_of)
        for j in sorted(judged, key=lambda j: (not j.relevant, bool(j.quiet), -j.level.rank))
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
        upcoming=_upcoming(summary, watched, groups, names_of),
        reasons=tuple(reasons),
        watch=learned,
        page_id=summary.page.id,
        loose=worst(levels[cid] for cid in loose) if loose else Level.OPERATIONAL,
        loose_names=tuple(names_of[cid] for cid in loose),
        loose_levels=tuple(levels[cid] for cid in loose),
        valid_until=valid_until,
    )


def _explainers(judged: list[_Judged], now: float | None, timing: Timing
                ) -> dict[bool, dict[str, set[str]]]:
    """component id -> recent incidents naming it: [False] any, [True] those still colouring
    the icon (relevant, and not in monitoring past the grace)."""
    out: dict[bool, dict[str, set[str]]] = {False: {}, True: {}}
    for j in judged:
        inc = j.inc
        updated = parse_time(inc.updated_at)
        if not inc.component_ids or inc.is_maintenance or (
                updated is not None and now is not None and now - updated >= timing.stale_after):
            continue
        since = _monitoring_since(inc) if inc.recovering else None
        colouring = j.relevant and not (since is not None and now is not None
                                        and now - since >= timing.monitoring_grace)
        for cid in j.touched:
            out[False].setdefault(cid, set()).add(inc.id)
            if colouring:
                out[True].setdefault(cid, set()).add(inc.id)
    return out


def _explained(level: Level, holders: list[_Judged]) -> bool:
    """Do quiet incidents account for this component's status? One that names it does (pages
    leave components red long after the fix); one that names no components only up to its
    own impact: worse than that is trouble of its own."""
    if not level.is_known or not level.is_problem:
        return bool(holders)
    return any(j.inc.component_ids or (j.inc.level.is_known and level.rank <= j.inc.level.rank)
               for j in holders)


def _upcoming(summary: Summary, watched: set[str], groups: set[str], names_of: dict[str, str]
              ) -> tuple[IncidentState, ...]:
    """Scheduled maintenances that touch a watched component, soonest first."""
    out = []
    for m in summary.upcoming:
        if _touches(m, watched, groups):
            touched = [c for c in m.component_ids if c in watched] or sorted(watched)
            out.append(_incident_state(_Judged(m, True, touched), names_of))
    return tuple(sorted(out, key=lambda m: parse_time(m.started_at) or float("inf")))


def _indicator_level(summary: Summary, judged: list[_Judged], counted: list[Level]) -> Level:
    """The page-wide indicator, unless only incidents we discount (a fix being watched, a stale
    or past-grace notice, another model's trouble) can have raised it above everything else.
    Every other open incident and every component counts on its own, so when none of them
    reaches the indicator's level, only the discounted incidents can have raised it."""
    indicator = summary.indicator_level
    if not indicator.is_problem or not any(j.quiet or j.inc.recovering for j in judged):
        return indicator
    rest = [lv for lv in counted if lv.is_known]
    if all(lv.rank < indicator.rank for lv in rest):
        return max(rest, key=lambda lv: lv.rank, default=Level.OPERATIONAL)
    return indicator


def _incident_state(j: _Judged, names_of: dict[str, str]) -> IncidentState:
    inc = j.inc
    return IncidentState(
        id=inc.id,
        name=inc.name,
        status=inc.status,
        impact=inc.impact,
        level=j.level,
        url=inc.url,
        started_at=inc.started_at,
        is_maintenance=inc.is_maintenance,
        recovering=j.recovering,
        relevant=j.relevant,
        models=j.models,
        component_ids=inc.component_ids,
        fixed=j.fixed,
        quiet=j.quiet,
        components=tuple(names_of[cid] for cid in j.touched if cid in names_of),
        updated_at=inc.updated_at,
        ends_at=inc.ends_at,
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
    colouring = [i for i in incidents if i.colours]
    label = "recovering" if colouring and all(i.recovering for i in colouring) else level.label
    if colouring:
        return f"{service}: {label}, {colouring[0].name}"
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
