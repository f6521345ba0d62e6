"""The alert policy: a pure function ``step(state, observation, now, config)``.

Everything that moves the policy lives in this file. Like h11's ``_state.py`` it is several
small machines, not one; each has a table of event-triggered transitions below, and the few
couplings between them are written out in :func:`_reading`.

1. **Incidents**, one machine per incident id (and one for "loose" trouble: watched components
   in trouble that no incident explains, keyed ``LOOSE``). ``INCIDENT`` maps (phase, event) to
   (phase, action). Events, from each reading:

   - ``ABOVE``: on the page, concerns the user, not yet fixed, and of a higher class (outage >
     degraded > maintenance) than anything told about it, with that kind of alert turned on;
     or colouring the icon again after a quiet all-clear passed over it (``quieted``);
   - ``SHOWN``: on the page otherwise, or off it while the components it named still read
     no worse than told (pages resolve before they reset them); ``GONE``: closed, or off
     the page.

   A new incident is announced at the first poll that shows it, whatever else is open; a rise
   into a higher class is told once more; one first seen already fixed is only listed. When a
   told incident is over, its end is told by the all-clear machine (``FIXED`` until then).

2. **All-clear**, one per service: ``CLEAR`` → ``TROUBLE`` → ``CONFIRMING`` → ``CLEAR``. It
   confirms that nothing told is still open and the page reads operational for
   ``recovery_confirmations`` readings. Its end sends one ``recovered`` naming the incidents
   that were fixed; when it can't come (something else is still wrong), each fixed incident
   is told at once as ``resolved``. A failed poll neither confirms nor cancels it.

3. **Noise**, one machine per incident key: ``FLAP``. A key going back and forth (an incident
   that reappears after its end was told, loose trouble that comes and goes) gets one
   turnaround per ``flap_window``; later changes are held and summed up when the window
   closes (unless the all-clear goes out then: it says it), and each window that had to hold
   is followed by a wider one. A wall clock that went back past a window's start closes it.
   The first alert of a new incident is never held. Windows close only at readings, never
   at a wake.

4. **Reachability**, one per service: ``ok`` → ``failing`` → ``unknown`` after
   ``failure_threshold`` failed polls (forgiven for ``wake_grace`` after a wake). Failures
   never notify.

Every time rule is in :class:`~tray_app.core.timing.Timing`. Only kinds in ``notify`` are ever
emitted, so an alert counts as told only when the user's ``notify_on`` lets it through; the
session applies pauses and "notify me when it's back" on top.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace

from . import notices
from .assess import IncidentState
from .incidents import parse_time
from .levels import Level
from .notices import format_duration
from .timing import Timing

__all__ = [
    "ALL_CLEAR", "FLAP", "INCIDENT", "LOOSE", "Clear", "Effect", "EpisodeEnded", "Event",
    "FlapPhase", "Kind", "LevelChanged", "Notify", "Observation", "Phase", "PolicyConfig",
    "PolicyState", "QuietRecovery", "Reading", "Record", "Unreachable", "Upcoming", "Woke",
    "format_duration", "step",
]


class Kind(enum.Enum):
    STARTUP = "startup"
    DOWN = "down"
    DEGRADED = "degraded"
    MAINTENANCE = "maintenance"
    RESOLVED = "resolved"
    RECOVERED = "recovered"
    SUMMARY = "summary"
    UPCOMING = "upcoming"
    UNREACHABLE = "unreachable"  # the reachability hint: the page is green, Claude doesn't answer


LOOSE = "components"  # the key of trouble no incident explains
_CLASS = {Level.MAINTENANCE: 1, Level.DEGRADED: 2, Level.UNKNOWN: 2, Level.PARTIAL_OUTAGE: 3,
          Level.MAJOR_OUTAGE: 3}
_KIND = {1: Kind.MAINTENANCE, 2: Kind.DEGRADED, 3: Kind.DOWN}


def alert_class(level: Level) -> int:
    """0 for no problem; an incident of unknown impact is never silent: it counts as degraded."""
    return _CLASS.get(level, 0)


# --- observations ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Upcoming:
    """A scheduled maintenance that hasn't begun, touching a watched component."""

    id: str
    name: str
    starts_at: float
    when: str  # "Thu 02:00–03:00", in the user's words and time zone
    components: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reading:
    """A trustworthy (or explicitly unknown) reading of the page.

    ``incidents`` are the open incidents as the assessment judged them. ``loose`` is the level
    of watched components in trouble that no incident explains; when it is None (a reading
    made without incidents, e.g. in tests), the whole level counts as loose trouble.
    """

    service: str
    level: Level
    detail: str = ""  # the top incident's name, or the affected components
    started_at: float | None = None  # when the page says the trouble began (epoch seconds)
    incidents: tuple[IncidentState, ...] = ()
    loose: Level | None = None
    loose_names: tuple[str, ...] = ()
    loose_levels: tuple[Level, ...] = ()  # each loose component's level (when known)
    upcoming: tuple[Upcoming, ...] = ()


@dataclass(frozen=True)
class Unreachable:
    """A poll that produced no reading. ``offline`` means our own connection is down."""

    service: str
    reason: str
    offline: bool = False


@dataclass(frozen=True)
class Woke:
    """The machine slept (or the wall clock jumped): forgive the next failures for a while."""


Observation = Reading | Unreachable | Woke


# --- effects ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Notify:
    kind: Kind
    title: str
    body: str
    level: Level
    incidents: tuple[str, ...] = ()  # the ids it announces or reports as over


@dataclass(frozen=True)
class QuietRecovery:
    """An all-clear the policy doesn't announce (nothing told was fixed): only a user who armed
    "notify me when it's back" hears of it."""

    note: Notify


@dataclass(frozen=True)
class LevelChanged:
    old: Level
    new: Level


@dataclass(frozen=True)
class EpisodeEnded:
    """A problem episode closed: for the history."""

    start: float
    end: float
    worst: Level
    lower_bound: bool


Effect = Notify | LevelChanged | EpisodeEnded | QuietRecovery


# --- machine 1: incidents --------------------------------------------------------------------


class Phase(enum.Enum):
    NOTED = "noted"  # on the page; nothing told (not a problem for the user, or turned off)
    TOLD = "told"  # announced; ``Record.told`` is the class told
    FIXED = "fixed"  # a told one is over; its end not yet told
    OVER = "over"  # over, end told (or not needed); remembered to spot a reappearance


class Event(enum.Enum):
    ABOVE = "above"
    SHOWN = "shown"
    GONE = "gone"


# (phase, event) -> (new phase or None to forget, action). Actions: "announce" a new incident,
# "escalate" one already told, "reopen" one whose end was told, "end" (the all-clear machine
# tells it), None. Only what was open (NOTED, TOLD) can go; FIXED leaves by its end being
# told, OVER by being forgotten after ``forget_after``.
INCIDENT: dict[tuple[Phase | None, Event], tuple[Phase | None, str | None]] = {
    (None, Event.ABOVE): (Phase.TOLD, "announce"),
    (None, Event.SHOWN): (Phase.NOTED, None),
    (None, Event.GONE): (None, None),
    (Phase.NOTED, Event.ABOVE): (Phase.TOLD, "announce"),
    (Phase.NOTED, Event.SHOWN): (Phase.NOTED, None),
    (Phase.NOTED, Event.GONE): (None, None),  # nothing was told: nothing to remember
    (Phase.TOLD, Event.ABOVE): (Phase.TOLD, "escalate"),
    (Phase.TOLD, Event.SHOWN): (Phase.TOLD, None),
    (Phase.TOLD, Event.GONE): (Phase.FIXED, "end"),
    (Phase.FIXED, Event.ABOVE): (Phase.TOLD, "escalate"),
    (Phase.FIXED, Event.SHOWN): (Phase.TOLD, None),  # back before its end was told
    (Phase.OVER, Event.ABOVE): (Phase.TOLD, "reopen"),
    (Phase.OVER, Event.SHOWN): (Phase.NOTED, None),
}


@dataclass(frozen=True)
class Record:
    """One incident (or the loose trouble) as the policy remembers it."""

    id: str
    name: str
    phase: Phase
    start: float  # when it began, for its length
    exact: bool = True  # False: the app didn't watch its beginning; its length is a lower bound
    told: int = 0  # the alert class told (0: none)
    level: Level = Level.OPERATIONAL  # as last shown
    seen: float = 0.0  # when it last changed; once over, the last reading that showed it
    ended: float | None = None  # the reading that first showed it over
    unwatched: bool = False  # the app missed part of it: sleep, no connection, a long gap
    maintenance: bool = False
    colouring: bool = False  # shown, concerns the user, and still colours the icon
    components: tuple[str, ...] = ()
    notice: bool = False  # first seen already fixed: news only if it opens up again
    quiet_end: bool = False  # told long before a restart: its end is old news, not told
    quieted: bool = False  # told, then the all-clear came while it no longer coloured the icon
    left: float | None = None  # off the page since, held open by trouble left on its components
    status: str = ""  # as last shown: investigating, identified, monitoring...
    models: str = ""  # the models it names ("Opus 4.8, Haiku 4.5"), for the words

    @property
    def open(self) -> bool:
        return self.phase in (Phase.NOTED, Phase.TOLD)

    @property
    def active(self) -> bool:
        """Told and still a problem now: the all-clear waits for it."""
        return self.phase is Phase.TOLD and self.colouring

    def length(self) -> tuple[float, bool]:
        end = self.seen if self.unwatched or self.ended is None else self.ended
        return max(0.0, end - self.start), self.unwatched or not self.exact


# --- machine 2: the all-clear ----------------------------------------------------------------


class Clear(enum.Enum):
    CLEAR = "clear"  # nothing told is open, the page reads operational
    TROUBLE = "trouble"  # something told is open, or the page reads a problem
    CONFIRMING = "confirming"  # all told is over and the page reads operational: counting


# (state, reading) -> state. "good": operational and nothing told still open; "bad": a problem
# level or something told still open; "unknown": an unreadable page (neither); a failed poll is
# no reading and changes nothing. CONFIRMING -> CLEAR happens when the count is reached.
ALL_CLEAR: dict[tuple[Clear, str], Clear] = {
    (Clear.CLEAR, "good"): Clear.CLEAR,
    (Clear.CLEAR, "bad"): Clear.TROUBLE,
    (Clear.CLEAR, "unknown"): Clear.CLEAR,
    (Clear.TROUBLE, "good"): Clear.CONFIRMING,
    (Clear.TROUBLE, "bad"): Clear.TROUBLE,
    (Clear.TROUBLE, "unknown"): Clear.TROUBLE,
    (Clear.CONFIRMING, "good"): Clear.CONFIRMING,
    (Clear.CONFIRMING, "bad"): Clear.TROUBLE,
    (Clear.CONFIRMING, "unknown"): Clear.TROUBLE,
}


# --- machine 3: noise ------------------------------------------------------------------------


class FlapPhase(enum.Enum):
    CALM = "calm"  # no window: news goes out at once
    OPEN = "open"  # a window: one down/back pair per window (opened by a back: pair done)
    HOLDING = "holding"  # changes were held back: only the window's end speaks


# (phase, news) -> (phase, verdict). News about a key: "new" (a first announcement: never
# held), "worse" (a rise into a higher class), "turn" (the opposite of what the user last
# heard), "same". Verdicts: "send", "hold".
FLAP: dict[tuple[FlapPhase, str], tuple[FlapPhase, str]] = {
    (FlapPhase.CALM, "new"): (FlapPhase.OPEN, "send"),
    (FlapPhase.CALM, "worse"): (FlapPhase.OPEN, "send"),
    (FlapPhase.CALM, "turn"): (FlapPhase.OPEN, "send"),
    (FlapPhase.CALM, "same"): (FlapPhase.OPEN, "send"),
    (FlapPhase.OPEN, "new"): (FlapPhase.OPEN, "send"),
    (FlapPhase.OPEN, "worse"): (FlapPhase.OPEN, "send"),
    (FlapPhase.OPEN, "turn"): (FlapPhase.OPEN, "send"),  # the back of the window's pair
    (FlapPhase.OPEN, "same"): (FlapPhase.HOLDING, "hold"),
    (FlapPhase.HOLDING, "new"): (FlapPhase.HOLDING, "send"),
    (FlapPhase.HOLDING, "worse"): (FlapPhase.HOLDING, "hold"),
    (FlapPhase.HOLDING, "turn"): (FlapPhase.HOLDING, "hold"),
    (FlapPhase.HOLDING, "same"): (FlapPhase.HOLDING, "hold"),
}
# The back of a window's pair moves the window's start to it. At the first reading after a
# window's end: HOLDING -> HOLDING in a window flap_growth times wider (with one summary if
# the key's state now differs from what the user last heard); OPEN -> CALM, and the width
# starts over.


@dataclass(frozen=True)
class Flap:
    phase: FlapPhase = FlapPhase.CALM
    opened: float = 0.0
    width: float = 0.0
    turned: bool = False  # the window's one turnaround went out
    told_bad: bool = False  # what the user last heard about the key
    held: int = 0  # news held back in this window ...
    held_bad: int = 0  # ... of which this many were bad (down again, worse)


# --- the state -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyConfig:
    notify: frozenset[Kind] = frozenset(Kind)  # the kinds the user wants to be told
    timing: Timing = field(default_factory=Timing)

    def tells(self, kind: Kind) -> bool:
        return kind in self.notify


@dataclass(frozen=True)
class PolicyState:
    level: Level = Level.UNKNOWN
    reason: str = "waiting for the first check"
    offline: bool = False
    failures: int = 0
    grace_until: float | None = None
    started: bool = False  # a trustworthy reading has arrived
    last_reading: float | None = None
    records: tuple[Record, ...] = ()
    clear: Clear = Clear.CLEAR
    ok_streak: int = 0
    ok_since: float | None = None
    episode_start: float | None = None
    episode_worst: Level = Level.OPERATIONAL
    last_bad_at: float | None = None
    episode_gap: bool = False  # part of the episode went unwatched
    flaps: tuple[tuple[str, Flap], ...] = ()
    upcoming_told: tuple[tuple[str, float], ...] = ()  # (id, start) of maintenances announced
    adopt: bool = False  # from an older format: take what is open as told, once

    @property
    def in_episode(self) -> bool:
        return self.episode_start is not None


# --- stepping --------------------------------------------------------------------------------


def step(
    state: PolicyState, obs: Observation, now: float, cfg: PolicyConfig | None = None,
    *, unchanged: bool = False,
) -> tuple[PolicyState, list[Effect]]:
    """One observation. ``unchanged`` says the reading is the same as the last one (the page
    didn't change), which lets a steady state skip the machines when none of them is due."""
    cfg = cfg or PolicyConfig()
    effects: list[Effect] = []
    old_level = state.level
    if unchanged and isinstance(obs, Reading) and _steady(state, obs, now, cfg.timing):
        return replace(state, last_reading=now,
                       last_bad_at=now if state.clear is Clear.TROUBLE else state.last_bad_at
                       ), effects
    if isinstance(obs, Woke):
        state = replace(state, grace_until=now + cfg.timing.wake_grace)
    elif isinstance(obs, Unreachable):
        state = _failed(state, obs, now, cfg.timing)
    else:
        state = _reading(state, obs, now, cfg, effects)
    if state.level is not old_level:
        effects.insert(0, LevelChanged(old_level, state.level))
    return state, effects


def _steady(state: PolicyState, obs: Reading, now: float, t: Timing) -> bool:
    """The same reading again, and nothing waiting on time or on a count: no machine can
    move, only the time of the last reading does."""
    return (
        state.started and not state.adopt and not state.failures and state.grace_until is None
        and state.clear is not Clear.CONFIRMING and state.last_reading is not None
        and now - state.last_reading <= t.gap_tolerance
        and all(f.phase is FlapPhase.CALM or now < f.opened + f.width for _, f in state.flaps)
        and not any(r.phase is Phase.FIXED or r.left is not None for r in state.records)
        and all(m.starts_at - t.upcoming_lead > now or m.id in dict(state.upcoming_told)
                for m in obs.upcoming)
    )


def _failed(state: PolicyState, obs: Unreachable, now: float, t: Timing) -> PolicyState:
    in_grace = state.grace_until is not None and now < state.grace_until
    failures = state.failures if in_grace else state.failures + 1
    state = replace(state, failures=failures)
    if failures >= t.failure_threshold:
        reason = "you're offline" if obs.offline else obs.reason
        state = replace(state, level=Level.UNKNOWN, reason=reason, offline=obs.offline)
    return state


@dataclass
class _Step:
    """What one reading does, while it is being worked out."""

    service: str
    now: float
    previous: float | None  # the reading before this one
    cfg: PolicyConfig
    records: dict[str, Record]
    flaps: dict[str, Flap]
    loose_levels: tuple[Level, ...] = ()  # the reading's, one per loose component
    # (news for the flap machine, the note, the keys it concerns)
    news: list[tuple[str, Notify, tuple[str, ...]]] = field(default_factory=list)

    def send(self, note: Notify, news: str = "new", keys: tuple[str, ...] | None = None
             ) -> None:
        """Queue ``note`` if the user wants its kind. ``news`` is "new" for a first
        announcement (never held), "worse" for an escalation, "change" for anything else."""
        if self.cfg.tells(note.kind):
            self.news.append((news, note, note.incidents if keys is None else keys))


def _reading(
    state: PolicyState, obs: Reading, now: float, cfg: PolicyConfig, effects: list[Effect]
) -> PolicyState:
    t = cfg.timing
    gap = state.last_reading is not None and now - state.last_reading > t.gap_tolerance
    previous = state.last_reading
    startup = not state.started
    # An unreadable first page isn't a start: the start-up alert waits for a real reading.
    state = replace(state, level=obs.level, reason=obs.detail, offline=False, failures=0,
                    grace_until=None, last_reading=now,
                    started=state.started or obs.level.is_known or bool(obs.incidents))
    s = _Step(obs.service, now, previous, cfg, {r.id: r for r in state.records},
              dict(state.flaps), obs.loose_levels)
    if gap:  # the app wasn't watching: lengths across the silence are lower bounds
        for key, r in s.records.items():
            if r.phase in (Phase.NOTED, Phase.TOLD, Phase.FIXED):
                s.records[key] = replace(r, unwatched=True)
    # An unreadable page (no incidents read either) is no evidence that anything ended.
    blind = obs.level is Level.UNKNOWN and not obs.incidents
    announce = [] if blind else _incidents(s, _shown(obs, now, previous, startup, t), startup,
                                           state.adopt)
    # Coupling 1: a first reading with problems says so once, naming them all.
    if startup and announce and cfg.tells(Kind.STARTUP):
        worst = max((r.level for r in announce), key=alert_class)
        title, body = notices.startup(obs.service, [r.name for r in announce], worst)
        s.send(Notify(Kind.STARTUP, title, body, worst,
                      tuple(r.id for r in announce if r.id != LOOSE)),
               keys=tuple(r.id for r in announce))
    else:
        for r in announce:
            s.send(_announcement(obs.service, r, "announce"), keys=(r.id,))
    state = _all_clear(state, obs, s, effects)
    state = _upcoming(state, obs, s)
    # Coupling 2: noise. Windows whose time is up close first (a summary if the key now
    # differs from what the user last heard); then every news item passes its key's flap
    # machine (new incidents go through, and open a window for their key).
    summed = _close_windows(s, effects, obs.service)
    for news, note, keys in s.news:
        if keys and all(k in summed for k in keys):
            continue  # the window's summary just said it
        if _flap(s, note, news, tuple(k for k in keys if k not in summed)):
            effects.append(note)
    records = tuple(r for r in s.records.values() if _remember(r, now, t))
    flaps = tuple((k, f) for k, f in s.flaps.items()
                  if f.phase is not FlapPhase.CALM or f.told_bad)
    return replace(state, records=records, flaps=flaps, adopt=False)


@dataclass(frozen=True)
class _Seen:
    rec: Record  # fresh, as this reading shows it
    concerns: bool  # about what the user watches, and colouring the icon
    fixed: bool  # in monitoring with everything it touches green
    monitoring: bool


def _shown(obs: Reading, now: float, previous: float | None, startup: bool, t: Timing
           ) -> list[_Seen]:
    """What the reading shows, as fresh records."""
    out = []
    earliest = (previous if previous is not None else now) - t.backdate_allowance
    for inc in obs.incidents:
        start = parse_time(inc.started_at)
        plausible = start is not None and earliest <= start <= now
        rec = Record(
            id=inc.id, name=inc.name, phase=Phase.NOTED,
            start=start if plausible and start is not None else now,
            exact=plausible or not startup, level=inc.level, seen=now,
            maintenance=inc.is_maintenance, components=inc.components,
            colouring=inc.colours and alert_class(inc.level) > 0,
            status=inc.status, models=inc.models,
        )
        monitoring = inc.status == "monitoring" and not inc.is_maintenance
        out.append(_Seen(rec, inc.colours, inc.fixed, monitoring))
    loose = obs.loose if obs.loose is not None else (
        obs.level if not obs.incidents else Level.OPERATIONAL)
    if loose.is_problem:
        start = obs.started_at if startup else None
        plausible = start is not None and earliest <= start <= now
        detail = ", ".join(obs.loose_names[:3]) if obs.loose_names else obs.detail
        rec = Record(LOOSE, detail, Phase.NOTED,
                     start=start if plausible and start is not None else now,
                     exact=plausible or not startup, level=loose, seen=now, colouring=True,
                     components=obs.loose_names)
        out.append(_Seen(rec, True, False, False))
    return out


def _incidents(s: _Step, shown: list[_Seen], startup: bool, adopt: bool) -> list[Record]:
    """Step every incident's machine; return the records to announce as new (the caller
    decides between one start-up alert and one alert each)."""
    announce: list[Record] = []
    shown, held = _left_over(s, shown)
    on_page = set(held)
    for seen in shown:
        fresh = seen.rec
        on_page.add(fresh.id)
        old = s.records.get(fresh.id)
        # What the user believes now: nothing for a new or noted one, and nothing for one
        # whose end was told (a problem again is news again).
        told = old.told if old is not None and old.phase in (Phase.TOLD, Phase.FIXED) else 0
        klass = alert_class(fresh.level)
        wanted = klass > 0 and s.cfg.tells(_KIND[klass])
        # A notice after the fact (first seen already fixed) stays one while it sits in
        # monitoring, whatever other incidents do to the components it shares.
        notice = (old.notice if old is not None else seen.fixed) and seen.monitoring
        # One the all-clear passed over while it was quiet, colouring the icon again: news.
        again = old is not None and old.quieted and fresh.colouring
        above = seen.concerns and not (seen.fixed or notice) and wanted and (
            klass > told or again)
        event = Event.ABOVE if above else Event.SHOWN
        phase, action = INCIDENT[(old.phase if old else None, event)]
        assert phase is not None
        if old is None:
            rec = replace(fresh, notice=notice)
        elif old.phase is Phase.OVER:  # back on the page: a new spell
            rec = replace(fresh, notice=notice, told=0, phase=old.phase)
        else:
            rec = _refreshed(old, fresh, notice, s.now)
        if again and action == "escalate":
            action = "reopen"
            rec = replace(rec, quieted=False)
        if action and adopt:
            action = None  # restored from an older format: it was told before the restart
        if action:
            rec = replace(rec, told=klass)
            if action == "announce":
                announce.append(rec)
            else:
                was = old.level if old is not None else Level.OPERATIONAL
                s.send(_announcement(s.service, rec, action, was),
                       "change" if action == "reopen" else "worse", keys=(rec.id,))
        elif adopt and above:
            rec = replace(rec, told=klass)
        s.records[rec.id] = rec if rec.phase is phase else replace(rec, phase=phase)
    absorbed = _absorbed(s, on_page)
    for key, old in list(s.records.items()):
        if key in on_page or not old.open:  # only what was open can go
            continue
        phase, action = INCIDENT[(old.phase, Event.GONE)]
        if phase is None:
            del s.records[key]
            continue
        # It was on the page at the reading before this one (or at its last change).
        last = max(old.seen, s.previous if s.previous is not None else old.seen)
        rec = replace(old, phase=phase, colouring=False, seen=last, ended=s.now, left=None)
        if action == "end" and (key in absorbed or old.quiet_end):
            # An incident took over the loose trouble, or the app was away for this one's
            # story: nothing to tell of its end.
            rec = replace(rec, phase=Phase.OVER, told=0)
        s.records[key] = rec
    return announce


def _left_over(s: _Step, shown: list[_Seen]) -> tuple[list[_Seen], set[str]]:
    """Trouble left on the components of incidents that have just left the page is still
    theirs: pages often resolve one before they reset its components, or drop it from the
    list for a poll. A told incident still colouring the icon is held open until they read
    well (its end told then), unless the trouble is worse than the class told; any other
    (quiet, not the user's models, never told) holds any trouble on them, but only for
    ``flap_base``. Trouble they don't hold is news of its own. Returns what is shown, and
    the ids held open."""
    loose = next((x.rec for x in shown if x.rec.id == LOOSE), None)
    if loose is None or not loose.components:
        return shown, set()
    on_page = {x.rec.id for x in shown}
    levels = s.loose_levels if len(s.loose_levels) == len(loose.components) else (
        (loose.level,) * len(loose.components))
    allowed: list[tuple[Record, int]] = []
    for r in s.records.values():
        if r.id in on_page or r.id == LOOSE or not r.open or not r.components:
            continue
        if r.phase is Phase.TOLD and r.colouring:
            allowed.append((r, r.told))
        elif s.now - (r.left if r.left is not None else s.now) < s.cfg.timing.flap_base:
            allowed.append((r, max(_CLASS.values())))
    held: set[str] = set()
    rest: list[tuple[str, Level]] = []
    for name, level in zip(loose.components, levels, strict=True):
        holders = [r.id for r, cap in allowed if name in r.components
                   and alert_class(level) <= cap]
        held.update(holders)
        if not holders:
            rest.append((name, level))
    for key in held:
        r = s.records[key]
        if r.left is None:
            s.records[key] = replace(r, left=s.now)
    if not held:
        return shown, held
    out = [x for x in shown if x.rec.id != LOOSE]
    if rest:
        names = tuple(n for n, _ in rest)
        rec = replace(loose, components=names, name=", ".join(names[:3]),
                      level=max((lv for _, lv in rest), key=lambda lv: lv.rank))
        out += [replace(x, rec=rec) for x in shown if x.rec.id == LOOSE]
    return out, held


def _refreshed(old: Record, fresh: Record, notice: bool, now: float) -> Record:
    """``old`` updated to what this reading shows. Unchanged, it stays the same object: an
    open record's last sighting is the state's last reading, written down when it goes."""
    if (old.name, old.level, old.colouring, old.maintenance, old.notice, old.ended, old.left,
            old.status, old.models) == (fresh.name, fresh.level, fresh.colouring,
                                        fresh.maintenance, notice, None, None, fresh.status,
                                        fresh.models) and (
            not fresh.components or fresh.components == old.components):
        return old
    return replace(old, name=fresh.name, level=fresh.level, seen=now, ended=None, left=None,
                   notice=notice, colouring=fresh.colouring, status=fresh.status,
                   models=fresh.models, components=fresh.components or old.components,
                   maintenance=fresh.maintenance)


def _absorbed(s: _Step, on_page: set[str]) -> set[str]:
    """Loose trouble that an incident now explains (its components are held by one)."""
    loose = s.records.get(LOOSE)
    if loose is None or LOOSE in on_page or loose.phase is not Phase.TOLD:
        return set()
    held = {c for r in s.records.values() if r.id in on_page and r.colouring
            for c in r.components}
    if set(loose.components) <= held or not loose.components:
        return {LOOSE} if any(r.colouring for r in s.records.values() if r.id in on_page) else set()
    return set()


def _announcement(service: str, r: Record, action: str, was: Level = Level.OPERATIONAL
                  ) -> Notify:
    klass = alert_class(r.level)
    kind = _KIND[klass]
    if r.id == LOOSE:
        title, body = notices.loose_trouble(service, r.level, r.name, again=action == "reopen")
        return Notify(kind, title, body, r.level)
    if action == "escalate":
        title, body = notices.escalated(service, r.name, r.level, was)
    else:
        title, body = notices.new_incident(service, r.name, r.level, r.status, r.components,
                                           r.models, again=action == "reopen")
    return Notify(kind, title, body, r.level, (r.id,))


def _all_clear(state: PolicyState, obs: Reading, s: _Step, effects: list[Effect]
               ) -> PolicyState:
    now, t, cfg = s.now, s.cfg.timing, s.cfg
    active = [r for r in s.records.values() if r.active]
    verdict = ("bad" if obs.level.is_problem or active else
               "unknown" if obs.level is Level.UNKNOWN else "good")
    clear = ALL_CLEAR[(state.clear, verdict)]
    if verdict == "bad":
        start = state.episode_start
        if start is None:
            starts = [r.start for r in s.records.values() if r.open and r.colouring]
            start = min([now, *starts])
        worst = max(state.episode_worst, obs.level, key=lambda lv: lv.rank) \
            if obs.level.is_known else state.episode_worst
        gap = state.episode_gap or (state.last_bad_at is not None
                                    and now - state.last_bad_at > t.gap_tolerance
                                    and state.episode_start is not None)
        state = replace(state, episode_start=start, episode_worst=worst, last_bad_at=now,
                        ok_streak=0, ok_since=None, episode_gap=gap)
    elif verdict == "unknown":
        state = replace(state, ok_streak=0, ok_since=None)
    else:
        streak = state.ok_streak + 1
        ok_since = state.ok_since if state.ok_since is not None else now
        state = replace(state, ok_streak=streak, ok_since=ok_since)
    # Told incidents that ended: at once when something else still needs telling (or the icon
    # is already green), else the all-clear names them.
    fixed = [r for r in s.records.values() if r.phase is Phase.FIXED]
    if fixed and (active or verdict == "bad" or not cfg.tells(Kind.RECOVERED)
                  or state.clear is Clear.CLEAR and clear is Clear.CLEAR):
        _tell_resolved(s, fixed, [r.name for r in active])
        fixed = []
    # Maintenance ends are never a recovery from an outage.
    for r in [r for r in fixed if r.maintenance]:
        _tell_resolved(s, [r], [])
        fixed.remove(r)
    if clear is Clear.CONFIRMING and state.ok_streak >= max(1, t.recovery_confirmations):
        clear = Clear.CLEAR
        state = _confirmed(state, s, fixed, effects)
    return replace(state, clear=clear)


def _confirmed(state: PolicyState, s: _Step, fixed: list[Record], effects: list[Effect]
               ) -> PolicyState:
    """The all-clear is confirmed: one ``recovered`` naming what was fixed."""
    t = s.cfg.timing
    ok_since = state.ok_since if state.ok_since is not None else s.now
    start = state.episode_start if state.episode_start is not None else ok_since
    last_bad = state.last_bad_at if state.last_bad_at is not None else start
    gap = state.episode_gap or ok_since - last_bad > t.gap_tolerance
    if state.episode_start is not None:
        effects.append(EpisodeEnded(start, last_bad if gap else ok_since,
                                    state.episode_worst, gap))
    state = replace(state, episode_start=None, episode_worst=Level.OPERATIONAL,
                    last_bad_at=None, episode_gap=False)
    for r in list(s.records.values()):  # told, but quiet now: colouring again will be news
        if r.phase is Phase.TOLD and not r.colouring and not r.quieted:
            s.records[r.id] = replace(r, quieted=True)
    if fixed:
        begun = min(r.start for r in fixed)
        lower = gap or any(r.unwatched or not r.exact for r in fixed)
        end = max(r.seen for r in fixed) if lower else ok_since
        names = [r.name for r in fixed if r.id != LOOSE]
        title, body = notices.back(s.service, end - begun, lower, names)
        s.send(Notify(Kind.RECOVERED, title, body, Level.OPERATIONAL,
                      tuple(r.id for r in fixed if r.id != LOOSE)), "change",
               keys=tuple(r.id for r in fixed))
        for r in fixed:
            s.records[r.id] = replace(r, phase=Phase.OVER)
    else:
        title, body = notices.back(s.service, (last_bad if gap else ok_since) - start, gap)
        effects.append(QuietRecovery(Notify(Kind.RECOVERED, title, body, Level.OPERATIONAL)))
    return state


def _tell_resolved(s: _Step, fixed: list[Record], still_open: list[str]) -> None:
    for r in fixed:
        length, lower = r.length()
        if r.id == LOOSE:
            title, body = notices.back(s.service, length, lower)
            note = Notify(Kind.RESOLVED, title, body, Level.OPERATIONAL)
        else:
            title, body = notices.fixed(r.name, length, lower, still_open, r.maintenance)
            note = Notify(Kind.RESOLVED, title, body, Level.OPERATIONAL, (r.id,))
        s.send(note, "change", keys=(r.id,))
        s.records[r.id] = replace(r, phase=Phase.OVER)


def _upcoming(state: PolicyState, obs: Reading, s: _Step) -> PolicyState:
    """One notice per scheduled maintenance, ``upcoming_lead`` before it starts."""
    t = s.cfg.timing
    told = dict(state.upcoming_told)
    for m in obs.upcoming:
        if m.id in told or not (m.starts_at - t.upcoming_lead <= s.now < m.starts_at):
            continue
        told[m.id] = m.starts_at
        title, body = notices.upcoming(obs.service, m.name, m.when, m.components)
        s.send(Notify(Kind.UPCOMING, title, body, Level.MAINTENANCE, (m.id,)), keys=())
    keep = tuple((k, at) for k, at in told.items() if at > s.now - t.forget_after)
    return replace(state, upcoming_told=keep)


def _flap(s: _Step, note: Notify, news: str, keys: tuple[str, ...]) -> bool:
    """Pass one piece of news through the flap machine of each key it concerns; it goes out
    if any of them lets it."""
    if not keys:
        return True
    bad = note.level.is_problem
    verdicts = []
    for key in keys:
        f = s.flaps.get(key, Flap())
        kind = news if news in ("new", "worse") else ("turn" if bad != f.told_bad else "same")
        if kind == "turn" and f.phase is FlapPhase.OPEN and f.turned:
            kind = "same"
        phase, verdict = FLAP[(f.phase, kind)]
        if f.phase is FlapPhase.CALM:
            # One down/back pair per window: a window opened by a "back" has had its pair.
            f = replace(_opened(f, s.now, s.cfg.timing, bad), turned=not bad)
        elif verdict == "send" and kind == "turn":
            # The pair is complete; the window runs on from its back, so a relapse soon
            # after is flapping, however long the problem lasted.
            f = replace(f, told_bad=bad, turned=True, opened=s.now)
        elif verdict == "send":
            f = replace(f, told_bad=bad)
        else:
            f = replace(f, held=f.held + 1, held_bad=f.held_bad + bad)
        s.flaps[key] = replace(f, phase=phase)
        verdicts.append(verdict)
    return "send" in verdicts


def _opened(f: Flap, now: float, t: Timing, bad: bool) -> Flap:
    width = f.width if f.phase is not FlapPhase.CALM and f.width else t.flap_base
    return Flap(FlapPhase.OPEN, now, width, False, bad)


def _close_windows(s: _Step, effects: list[Effect], service: str) -> set[str]:
    """Close the windows whose time is up (or that the wall clock went back past); return the
    keys a summary spoke for."""
    t = s.cfg.timing
    summed: set[str] = set()
    good_news = {k for _, note, keys in s.news
                 if note.kind in (Kind.RECOVERED, Kind.RESOLVED) for k in keys}
    for key, f in list(s.flaps.items()):
        if f.phase is FlapPhase.CALM or f.opened <= s.now < f.opened + f.width:
            continue
        if f.phase is FlapPhase.OPEN or not f.held:  # a window that held nothing: calm
            s.flaps[key] = Flap(told_bad=f.told_bad)
            continue
        rec = s.records.get(key)
        bad = rec is not None and rec.active
        width = min(f.width * t.flap_growth, max(t.flap_max, t.flap_base))
        s.flaps[key] = Flap(FlapPhase.HOLDING, s.now, width, True, f.told_bad)
        if bad == f.told_bad:
            continue
        if not bad and key in good_news:
            # The all-clear (or its end) goes out now anyway: it is the window's turn.
            s.flaps[key] = Flap(FlapPhase.OPEN, s.now, width, False, f.told_bad)
            continue
        level = rec.level if bad and rec is not None else Level.OPERATIONAL
        what = (rec.name if rec is not None and key != LOOSE else
                (rec.name if rec is not None and rec.name else "What you watch"))
        title, body = notices.flapping(service, what, f.held_bad, f.held - f.held_bad,
                                       f.width, level)
        kind = Kind.SUMMARY
        # A summary counts as told only if the user would be told its news.
        news_kind = _KIND[alert_class(level)] if bad else Kind.RECOVERED
        if s.cfg.tells(kind) and s.cfg.tells(news_kind):
            effects.append(Notify(kind, title, body, level, () if key == LOOSE else (key,)))
            s.flaps[key] = replace(s.flaps[key], told_bad=bad)
            summed.add(key)
            if not bad and rec is not None and rec.phase is Phase.FIXED:
                s.records[key] = replace(rec, phase=Phase.OVER)
    return summed


def _remember(r: Record, now: float, t: Timing) -> bool:
    if r.phase is not Phase.OVER:
        return True
    return now - (r.ended if r.ended is not None else r.seen) < t.forget_after
