"""The alert policy: a pure state machine stepped with (state, observation, now).

It decides what the icon shows and which changes deserve a notification:

- start-up: an operational first reading says nothing; a bad one notifies once (``startup``);
- a worsening notifies at the first poll that shows it: ``down`` for partial or major outages,
  ``degraded`` and ``maintenance`` unless turned off; one alert per severity per episode, so an
  escalation from partial to major outage only updates the icon;
- a recovery notifies only after ``recovery_confirmations`` operational readings in a row, with
  the episode's length (a lower bound when readings were missing, e.g. across a sleep);
- flapping: at most one problem/recovery pair per ``flap_window``; later changes in the window are
  held back and summed up in one ``summary`` when it closes, if the level then differs from the
  one last announced;
- fetch failures never notify. After ``failure_threshold`` in a row the level is ``unknown``;
  the first failures after a wake are forgiven for ``wake_grace`` seconds.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from .levels import Level


class Kind(enum.Enum):
    STARTUP = "startup"
    DOWN = "down"
    DEGRADED = "degraded"
    MAINTENANCE = "maintenance"
    RECOVERED = "recovered"
    SUMMARY = "summary"
    UNREACHABLE = "unreachable"  # the reachability hint: the page is green, Claude doesn't answer


@dataclass(frozen=True)
class PolicyConfig:
    notify_degraded: bool = True
    notify_maintenance: bool = True
    recovery_confirmations: int = 2
    failure_threshold: int = 3
    flap_window: float = 600.0
    gap_tolerance: float = 150.0  # a longer silence between readings makes lengths lower bounds
    wake_grace: float = 60.0


@dataclass(frozen=True)
class Reading:
    """A trustworthy (or explicitly unknown) reading of the page."""

    service: str
    level: Level
    detail: str = ""  # the top incident's name, or the affected components
    started_at: float | None = None  # when the page says the trouble began (epoch seconds)


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


@dataclass(frozen=True)
class Notify:
    kind: Kind
    title: str
    body: str
    level: Level


@dataclass(frozen=True)
class QuietRecovery:
    """A recovery the policy doesn't announce (nothing was announced for the outage): only a
    user who armed "notify me when it's back" hears of it."""

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

_CLASS = {Level.MAINTENANCE: 1, Level.DEGRADED: 2, Level.PARTIAL_OUTAGE: 3, Level.MAJOR_OUTAGE: 3}


@dataclass(frozen=True)
class PolicyState:
    level: Level = Level.UNKNOWN
    reason: str = "waiting for the first check"
    offline: bool = False
    failures: int = 0
    started: bool = False  # a trustworthy reading has arrived
    announced: Level | None = None  # the level the user was last told about
    episode_start: float | None = None
    episode_worst: Level = Level.OPERATIONAL
    episode_alert: int = 0  # highest severity class notified in this episode (0 = none)
    last_bad_at: float | None = None
    ok_since: float | None = None
    ok_streak: int = 0
    window_start: float | None = None
    window_recovered: bool = False  # the window's one problem/recovery pair is used up
    held_back: int = 0  # alerts held back in this window
    grace_until: float | None = None

    @property
    def in_episode(self) -> bool:
        return self.episode_start is not None


def step(
    state: PolicyState, obs: Observation, now: float, cfg: PolicyConfig = PolicyConfig()
) -> tuple[PolicyState, list[Effect]]:
    effects: list[Effect] = []
    old_level = state.level
    # A flap window whose time is up closes at this step. With nothing held back it closes
    # first, so an alert sent now opens a fresh window rather than escaping the limit inside
    # the old one; with changes held back, this observation is held too and the window ends
    # in at most one summary.
    closing = state.window_start is not None and now >= state.window_start + cfg.flap_window
    if closing and not state.held_back:
        state = replace(state, window_start=None, window_recovered=False)
        closing = False
    if isinstance(obs, Woke):
        state = replace(state, grace_until=now + cfg.wake_grace)
    elif isinstance(obs, Unreachable):
        state = _failed(state, obs, now, cfg)
    elif obs.level is Level.UNKNOWN:
        state = replace(
            state, level=Level.UNKNOWN, reason=obs.detail or "the page could not be read",
            offline=False, failures=0, grace_until=None, ok_streak=0, ok_since=None,
        )
    else:
        state = _reading(state, obs, now, cfg, effects, closing)
    if closing:
        state = _close_window(state, obs, now, cfg, effects)
    if state.level is not old_level:
        effects.insert(0, LevelChanged(old_level, state.level))
    return state, effects


def _failed(state: PolicyState, obs: Unreachable, now: float, cfg: PolicyConfig) -> PolicyState:
    in_grace = state.grace_until is not None and now < state.grace_until
    failures = state.failures if in_grace else state.failures + 1
    state = replace(state, failures=failures, ok_streak=0, ok_since=None)
    if failures >= cfg.failure_threshold:
        reason = "you're offline" if obs.offline else obs.reason
        state = replace(state, level=Level.UNKNOWN, reason=reason, offline=obs.offline)
    return state


def _reading(
    state: PolicyState,
    obs: Reading,
    now: float,
    cfg: PolicyConfig,
    effects: list[Effect],
    closing: bool = False,
) -> PolicyState:
    level = obs.level
    state = replace(
        state, level=level, reason=obs.detail, offline=False, failures=0, grace_until=None
    )
    if not state.started:
        state = replace(state, started=True, announced=Level.OPERATIONAL)
        if level.is_problem:
            # The page's own start time, unless it's absurd (future, or over a week old).
            plausible = obs.started_at and now - 7 * 86400 <= obs.started_at <= now
            start = obs.started_at if plausible and obs.started_at else now
            state = replace(state, episode_start=start, episode_worst=level, last_bad_at=now)
            if _enabled(level, cfg):
                effects.append(_text(Kind.STARTUP, obs, level))
                state = replace(
                    state, announced=level, episode_alert=_CLASS[level], window_start=now
                )
        return state
    if level.is_problem:
        return _worse(state, obs, now, cfg, effects, closing)
    return _better(state, obs, now, cfg, effects, closing)


def _enabled(level: Level, cfg: PolicyConfig) -> bool:
    if level is Level.DEGRADED:
        return cfg.notify_degraded
    if level is Level.MAINTENANCE:
        return cfg.notify_maintenance
    return True


def _held(state: PolicyState, now: float, cfg: PolicyConfig) -> bool:
    return (
        state.window_start is not None
        and now < state.window_start + cfg.flap_window
        and state.window_recovered
    )


def _worse(
    state: PolicyState,
    obs: Reading,
    now: float,
    cfg: PolicyConfig,
    effects: list[Effect],
    closing: bool = False,
) -> PolicyState:
    level = obs.level
    if state.episode_start is None:
        state = replace(state, episode_start=now, episode_worst=level, episode_alert=0)
    if level.rank > state.episode_worst.rank:
        state = replace(state, episode_worst=level)
    state = replace(state, last_bad_at=now, ok_streak=0, ok_since=None)
    severity = _CLASS[level]
    if severity <= state.episode_alert or not _enabled(level, cfg):
        return state
    if closing or _held(state, now, cfg):
        return replace(state, held_back=state.held_back + 1)
    kind = {3: Kind.DOWN, 2: Kind.DEGRADED, 1: Kind.MAINTENANCE}[severity]
    effects.append(_text(kind, obs, level))
    window = state.window_start if state.window_start is not None else now
    return replace(state, announced=level, episode_alert=severity, window_start=window)


def _better(
    state: PolicyState,
    obs: Reading,
    now: float,
    cfg: PolicyConfig,
    effects: list[Effect],
    closing: bool = False,
) -> PolicyState:
    start = state.episode_start
    if start is None:
        return replace(state, ok_streak=state.ok_streak + 1)
    ok_since = state.ok_since if state.ok_since is not None else now
    streak = state.ok_streak + 1
    state = replace(state, ok_streak=streak, ok_since=ok_since)
    if streak < max(1, cfg.recovery_confirmations):
        return state
    last_bad = state.last_bad_at if state.last_bad_at is not None else start
    lower_bound = ok_since - last_bad > cfg.gap_tolerance
    end = last_bad if lower_bound else ok_since
    effects.append(EpisodeEnded(start, end, state.episode_worst, lower_bound))
    alerted = state.episode_alert > 0
    state = replace(
        state, episode_start=None, episode_worst=Level.OPERATIONAL, episode_alert=0,
        last_bad_at=None,
    )
    if not alerted:
        # Nothing was announced (e.g. degraded alerts are off), but a user who asked to be
        # told when it's back still wants to hear it.
        effects.append(QuietRecovery(_back(obs.service, end - start, lower_bound)))
        return state
    if closing or _held(state, now, cfg):
        return replace(state, held_back=state.held_back + 1)
    effects.append(_back(obs.service, end - start, lower_bound))
    # The pair is complete: nothing more for the rest of the window, or, when the outage
    # outlasted its window, for a window anchored at this recovery.
    window = state.window_start if state.window_start is not None else now
    return replace(state, announced=Level.OPERATIONAL, window_start=window,
                   window_recovered=True)


def _close_window(
    state: PolicyState, obs: Observation, now: float, cfg: PolicyConfig, effects: list[Effect]
) -> PolicyState:
    """Close the window; sum up what it held back if the level now differs from the last told."""
    held = state.held_back
    state = replace(state, window_start=None, window_recovered=False, held_back=0)
    if not held or not state.level.is_known or state.level is state.announced:
        return state
    service = obs.service if isinstance(obs, Reading | Unreachable) else "The service"
    level = state.level
    minutes = round(cfg.flap_window / 60)
    body = f"It changed several times in the last {minutes} min; now: {level.label}."
    if state.reason and level.is_problem:
        body += f" {state.reason}"
    effects.append(Notify(Kind.SUMMARY, f"{service}: {level.label}", body, level))
    if level.is_problem:
        # The summary is this episode's alert: its recovery pairs with it in a new window.
        return replace(state, announced=level, episode_alert=_CLASS[level], window_start=now)
    return replace(state, announced=level)


def _text(kind: Kind, obs: Reading, level: Level) -> Notify:
    s, detail = obs.service, obs.detail
    if kind is Kind.STARTUP:
        title = f"{s} is having problems right now"
        body = detail or level.label
    elif kind is Kind.DOWN:
        title = f"{s} is down" if level is Level.MAJOR_OUTAGE else f"{s} is partly down"
        body = f"{level.label.capitalize()}: {detail}" if detail else level.label.capitalize()
    elif kind is Kind.DEGRADED:
        title = f"{s} is degraded"
        body = detail or "Some parts are slower or failing more often than usual."
    else:
        title = f"{s} maintenance in progress"
        body = detail or "Scheduled maintenance is under way."
    return Notify(kind, title, body, level)


def format_duration(seconds: float) -> str:
    minutes = max(0, round(seconds / 60))
    if minutes < 1:
        return "less than a minute"
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    return f"{hours // 24} days {hours % 24} h"


def _back(service: str, length: float, lower_bound: bool) -> Notify:
    if lower_bound:
        title = f"{service} is back"
        body = (
            f"It had problems for at least {format_duration(length)}; it wasn't watched for part "
            "of that time (sleep or no connection), so the exact length isn't known."
        )
    else:
        title = f"{service} is back, after {format_duration(length)}"
        body = "Everything you watch reads operational again."
    return Notify(Kind.RECOVERED, title, body, Level.OPERATIONAL)


# --- persistence: the state that survives a restart ------------------------------------------

RESTORE_WITHIN = 6 * 3600  # an older episode is history, not something still going on


def dump_state(state: PolicyState) -> dict[str, Any]:
    out = asdict(state)
    for key, value in out.items():
        if isinstance(value, Level):
            out[key] = value.value
    return out


def load_state(raw: Any) -> PolicyState:
    if not isinstance(raw, dict):
        raise TypeError("service state must be an object")
    values: dict[str, Any] = {}
    for f in fields(PolicyState):
        if f.name not in raw:
            continue
        value = raw[f.name]
        if f.name in ("level", "episode_worst", "announced"):
            if value is None and f.name != "announced":
                raise TypeError(f"{f.name} is missing")
            value = None if value is None else Level(value)
        elif not _fits(value, str(f.type)):
            raise TypeError(f"{f.name} has a bad type")
        values[f.name] = value
    return PolicyState(**values)


def _fits(value: Any, annotation: str) -> bool:
    """Whether a decoded JSON value has the field's type: a hand-edited ``"failures": "x"``
    would otherwise pass and break every later poll of the service."""
    base, _, rest = annotation.partition(" | ")
    if base not in _SCALARS:  # a field added later: any JSON scalar, as before
        return value is None or isinstance(value, bool | int | float | str)
    if value is None:
        return rest == "None"
    if isinstance(value, bool):
        return base == "bool"
    return isinstance(value, _SCALARS[base])


_SCALARS: dict[str, type | tuple[type, ...]] = {
    "bool": bool, "str": str, "int": int, "float": (int, float),
}


def restored(state: PolicyState, saved_at: float, now: float) -> PolicyState:
    """What a restart keeps: the outage memory if recent, never a stale level on the icon."""
    fresh = PolicyState()
    if now - saved_at > RESTORE_WITHIN or not state.started:
        return fresh
    last = state.level.label if state.level.is_known else "unknown"
    return replace(
        state, level=Level.UNKNOWN, reason=f"waiting for the first check (last seen: {last})",
        failures=0, ok_streak=0, ok_since=None, grace_until=None,
    )
