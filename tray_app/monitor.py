"""One watched service: fetch, assess, step the policy, and describe the result.

The monitor joins an adapter (the source) to the pure core; it holds no thread and no clock of
its own, so tests drive it poll by poll with a fake source.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from .core.assess import Assessment, IncidentState, Selector, Watch, assess
from .core.estimate import Estimate, estimate
from .core.hint import HintState, hint_text, step_hint
from .core.incidents import History, parse_time
from .core.levels import INCIDENT_WORKING, Level, worst
from .core.model import Failure, FailureKind, Fetched, Summary
from .core.models import Mentions, Model, ModelFilter, mentions, seen_models
from .core.notices import local_window
from .core.policy import (
    Effect,
    Kind,
    Notify,
    PolicyConfig,
    PolicyState,
    Reading,
    Unreachable,
    Upcoming,
    Woke,
    step,
)
from .core.schedule import next_delay
from .core.urls import host_of, is_loopback

log = logging.getLogger(__name__)

# Failures that could mean our own connection is down (worth asking the connectivity check).
_NETWORKISH = {FailureKind.DNS, FailureKind.CONNECT, FailureKind.TIMEOUT, FailureKind.TLS}


class Recent(Protocol):
    """The page's recent incidents, for typical times to fix (:class:`~tray_app.recent.
    RecentIncidents`)."""

    history: History | None

    def refresh(self, needed: bool) -> None: ...


class Source(Protocol):
    base: str

    def fetch(self) -> Fetched: ...

    def hosts(self) -> frozenset[str]: ...

    @property
    def using_mirror(self) -> bool: ...


@dataclass(frozen=True)
class ServiceView:
    """What presenters show for one service."""

    key: str
    name: str
    url: str
    level: Level
    headline: str
    reason: str = ""  # why the level is unknown, or the last failure
    offline: bool = False
    assessment: Assessment | None = None
    checked_at: float | None = None
    failures: int = 0
    via_mirror: bool = False
    hint: str = ""  # reachability hint, shown apart from the official status
    reachability: str = ""  # what the last probe of the service itself saw
    links: frozenset[str] = frozenset()
    estimates: Mapping[str, Estimate] = field(default_factory=dict)  # by incident id
    models: str = ""  # the model filter ("sonnet, haiku 4.5"); "" watches every model
    models_seen: tuple[str, ...] = ()  # model keys named by the page's incidents, for a menu

    @property
    def status_line(self) -> str:
        if self.level is Level.UNKNOWN:
            return f"{self.name}: {self.reason or 'unknown'}"
        return self.headline


@dataclass
class Monitor:
    key: str
    name: str
    source: Source
    watch: Watch = field(default_factory=Watch)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    interval: float = 60.0
    online_check: Callable[[], bool | None] | None = None
    state: PolicyState = field(default_factory=PolicyState)
    assessment: Assessment | None = None
    checked_at: float | None = None
    last_failure: Failure | None = None
    via_mirror: bool = False
    name_from_page: bool = False  # no name configured: use the page's own once it's known
    reach: Callable[[], bool] | None = None  # the reachability probe, when the hint is on
    hint_state: HintState = field(default_factory=HintState)
    reach_every: int = 2  # probe every Nth good poll while all is quiet, every poll after a miss
    models: ModelFilter | None = None  # the user's model filter, when one is set
    recent: Recent | None = None  # the page's recent incidents, for typical times to fix
    model_families: tuple[str, ...] = ()  # families to offer before the page names any
    _polls: int = 0
    _assessed: object = None
    _summary: Summary | None = None
    _read: tuple[Assessment, Reading] | None = None
    _loopback: tuple[str, bool] | None = None
    _last_obs: object = None
    _assessed_page: int = 0
    _seen: set[Model] = field(default_factory=set)  # models the page's incidents named
    _seen_history: object = None
    _seen_keys: tuple[object, tuple[str, ...]] = (None, ())

    @property
    def hint(self) -> str:
        return hint_text(self.name, self.hint_state, self.state.level)

    @property
    def loopback(self) -> bool:
        if self._loopback is None or self._loopback[0] != self.source.base:
            self._loopback = (self.source.base, is_loopback(host_of(self.source.base)))
        return self._loopback[1]

    def poll(self, now: float) -> tuple[Fetched, list[Effect]]:
        fetched = self.source.fetch()
        self.checked_at = now
        self.via_mirror = fetched.via_mirror
        if fetched.summary is not None:
            if self.name_from_page and fetched.summary.page.name:
                self.name = fetched.summary.page.name
            self.last_failure = None
            self.assessment = self._assess(fetched.summary, now)
            self.watch = self.assessment.watch
            obs: Reading | Unreachable = self._reading(self.assessment)
            if self.recent is not None:
                self.recent.refresh(bool(_estimable(self.assessment)))
        else:
            assert fetched.failure is not None
            self.last_failure = fetched.failure
            obs = Unreachable(self.name, _failure_reason(fetched.failure), self._offline(fetched))
        unchanged = obs is self._last_obs
        self._last_obs = obs
        self.state, effects = step(self.state, obs, now, self.policy, unchanged=unchanged)
        self._polls += 1
        quiet = self.hint_state.misses == 0
        if self.reach is not None and fetched.ok and (not quiet or
                                                       self._polls % self.reach_every == 1):
            effects += self._probe()
        return fetched, effects

    def _assess(self, summary: Summary, now: float) -> Assessment:
        """The page judged for this user at ``now``. An unchanged page (a 304) is judged again
        only when a time rule (monitoring grace, staleness) changes something by itself."""
        key = (id(summary), self.watch, self.name, self.models)
        a = self.assessment
        if a is not None and self._assessed == key and now < a.valid_until:
            return a
        a = assess(summary, self.watch, self.name, now=now, timing=self.policy.timing,
                   models=self.models)
        if id(summary) != self._assessed_page:
            self._assessed_page = id(summary)
            self._seen.update(m for inc in summary.incidents
                              for m in mentions(inc.name, inc.bodies).named)
        self._assessed = (id(summary), a.watch, self.name, self.models)
        self._summary = summary  # keeps id(summary) from being reused while it is the key
        return a

    def _reading(self, a: Assessment) -> Reading:
        if self._read is not None and self._read[0] is a:
            return self._read[1]
        reading = _reading(a)
        self._read = (a, reading)
        return reading

    def _reach_line(self) -> str:
        seen = getattr(self.reach, "last", None)
        return f"From this machine: {', '.join(seen)}" if seen else ""

    def _probe(self) -> list[Effect]:
        """Ask the service itself; a hint when it stays silent while the page is green."""
        assert self.reach is not None
        try:
            answered = self.reach()
        except Exception:  # noqa: BLE001 - a broken probe is no evidence either way
            log.exception("reachability probe failed")
            return []
        online = True
        if not answered and self.online_check is not None:
            try:
                online = self.online_check() is not False
            except Exception:  # noqa: BLE001
                online = True
        self.hint_state, notify = step_hint(self.hint_state, answered, self.state.level, online)
        if not notify:
            return []
        return [Notify(Kind.UNREACHABLE, f"{self.name} looks unreachable from here",
                       "The status page still says all systems operational, but "
                       f"{self.name} hasn't answered from this machine "
                       f"{self.hint_state.misses} times in a row.", Level.OPERATIONAL)]

    def internal_error(self, now: float, exc: BaseException) -> list[Effect]:
        reason = f"internal error reading the page ({type(exc).__name__})"
        self.last_failure = Failure(FailureKind.OTHER, reason)
        self.state, effects = step(self.state, Unreachable(self.name, reason), now, self.policy)
        return effects

    def woke(self, now: float) -> list[Effect]:
        self.state, effects = step(self.state, Woke(), now, self.policy)
        return effects

    def _offline(self, fetched: Fetched) -> bool:
        failure = fetched.failure
        if failure is None or failure.kind not in _NETWORKISH or self.online_check is None:
            return False
        if self.state.failures + 1 < self.policy.timing.failure_threshold:
            return False  # only worth a second request once the level is about to change
        try:
            return self.online_check() is False
        except Exception:  # noqa: BLE001 - a broken check must not stop the poll
            log.exception("connectivity check failed")
            return False

    def learned_ids(self) -> dict[str, str]:
        """The ids the page gave the components the user named (name casefolded -> id)."""
        return {s.name.casefold(): s.id for s in (*self.watch.include, *self.watch.exclude)
                if s.name and s.id}

    def apply_learned_ids(self, ids: Mapping[str, str]) -> None:
        """Give the named components the ids a previous run learned, so one the page renamed
        since is still found (by id; a stale id falls back to the name)."""
        def fill(sel: Selector) -> Selector:
            learned = ids.get(sel.name.casefold()) if sel.name and not sel.id else None
            return Selector(name=sel.name, id=learned) if learned else sel

        self.watch = Watch(tuple(map(fill, self.watch.include)),
                           tuple(map(fill, self.watch.exclude)))

    def next_delay(self) -> float:
        retry = self.last_failure.retry_after if self.last_failure else None
        a = self.assessment
        live = bool(a and a.colouring)
        urgent = self.state.level.is_problem or (live and not self.state.failures)
        delay = next_delay(
            self.interval, loopback=self.loopback, failures=self.state.failures,
            retry_after=retry, urgent=urgent,
        )
        if a is not None and self.checked_at is not None and not self.state.failures:
            # A time rule (monitoring grace, staleness) changes the icon by itself then:
            # look again right at that moment rather than up to an interval later.
            delay = min(delay, max(1.0, a.valid_until - self.checked_at))
        return delay

    def view(self) -> ServiceView:
        a = self.assessment
        state = self.state
        reason = state.reason if state.level is Level.UNKNOWN else ""
        if state.failures and self.last_failure is not None and state.level is not Level.UNKNOWN:
            reason = f"last check failed: {self.last_failure.message}"
        if state.level is Level.UNKNOWN:
            headline = f"{self.name}: unknown, {state.reason}"
        else:
            headline = a.headline if a else f"{self.name}: {state.level.label}"
        return ServiceView(
            key=self.key,
            name=self.name,
            url=self.source.base,
            level=state.level,
            headline=headline,
            reason=reason,
            offline=state.offline,
            assessment=a,
            checked_at=self.checked_at,
            failures=state.failures,
            via_mirror=self.via_mirror,
            hint=self.hint,
            reachability=self._reach_line(),
            links=self.source.hosts(),
            estimates=self._estimates(a),
            models=str(self.models or ""),
            models_seen=self._models_seen(),
        )

    def _models_seen(self) -> tuple[str, ...]:
        history = self.recent.history if self.recent is not None else None
        if history is not None and history is not self._seen_history:
            self._seen_history = history
            self._seen.update(m for h in history for m in mentions(h.name, h.bodies).named)
        key = (len(self._seen), self.model_families)
        if self._seen_keys[0] != key:  # the set only grows: its size says when it changed
            known = (*self._seen, *(Model(f) for f in self.model_families))
            self._seen_keys = (key, tuple(m.key for m in seen_models([Mentions(named=known)])))
        return self._seen_keys[1]

    def _estimates(self, a: Assessment | None) -> dict[str, Estimate]:
        """Typical time to fix for each open incident worth one, counted from the last check."""
        history = self.recent.history if self.recent is not None else None
        if a is None or history is None or self.checked_at is None:
            return {}
        out = {}
        for inc in _estimable(a):
            start = parse_time(inc.started_at)
            if start is None:
                continue
            found = estimate(history, inc.impact, inc.component_ids, self.checked_at - start)
            if found is not None:
                out[inc.id] = found
        return out


def _failure_reason(failure: Failure) -> str:
    return f"can't reach the status page ({failure.message})"


def _reading(a: Assessment) -> Reading:
    if a.level is Level.UNKNOWN and not a.incidents:
        return Reading(a.service, a.level, a.reasons[0] if a.reasons else "unreadable page")
    colouring = a.colouring
    if colouring:
        detail = colouring[0].name
    else:
        affected = [c.name for c in a.watched if c.level.is_problem]
        detail = ", ".join(affected[:3])
    if a.level is Level.UNKNOWN:
        detail = a.reasons[0] if a.reasons else detail
    starts = [t for t in (parse_time(i.started_at) for i in colouring) if t is not None]
    return Reading(a.service, a.level, detail, min(starts) if starts else None,
                   incidents=a.incidents, loose=a.loose, loose_names=a.loose_names,
                   loose_levels=a.loose_levels,
                   upcoming=tuple(_upcoming(a)))


def _estimable(a: Assessment) -> list[IncidentState]:
    """Open incidents a typical time to fix makes sense for: colouring the icon, not a
    maintenance, and not yet fixed (one in monitoring is fixed by the estimate's measure)."""
    return [i for i in a.colouring if not i.is_maintenance
            and i.status in INCIDENT_WORKING]


def _upcoming(a: Assessment) -> Iterator[Upcoming]:
    for m in a.upcoming:
        start = parse_time(m.started_at)
        if start is not None:
            yield Upcoming(m.id, m.name, start, local_window(start, parse_time(m.ends_at)),
                           m.components)


def worst_view(views: list[ServiceView]) -> Level:
    return worst(v.level for v in views) if views else Level.UNKNOWN
