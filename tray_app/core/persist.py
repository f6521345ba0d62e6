"""The policy's state as it survives a restart: a versioned JSON object.

Fields are read by name with defaults, so a field added later reads as its default and one
dropped is ignored; a renamed field is listed in ``RENAMED`` so its value carries over. Older
formats are migrated (``MIGRATIONS``), never thrown away: the one from before incidents were
tracked (version 1) becomes a state that adopts the incidents open at the next reading as
already told, so an upgrade never repeats an alert.

``load_state`` raises ``ValueError``/``TypeError`` for an object it can't read; callers start
that service afresh.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, replace
from typing import Any

from .levels import Level
from .policy import Clear, Flap, FlapPhase, Phase, PolicyState, Record
from .timing import Timing

VERSION = 2
RENAMED: dict[str, str] = {}  # old field name -> new one, for fields renamed after version 2
RESTORE_WITHIN = Timing().restore_within  # kept for callers that ask; the rule is in Timing


def dump_state(state: PolicyState) -> dict[str, Any]:
    out: dict[str, Any] = {"v": VERSION}
    for f in fields(PolicyState):
        value = getattr(state, f.name)
        if f.name == "records":
            value = [_plain(r) for r in value]
        elif f.name == "flaps":
            value = {k: _plain(fl) for k, fl in value}
        elif f.name == "upcoming_told":
            value = [[k, t] for k, t in value]
        else:
            value = _scalar(value)
        out[f.name] = value
    return out


def _plain(obj: Record | Flap) -> dict[str, Any]:
    return {f.name: _scalar(getattr(obj, f.name)) for f in fields(obj)}


def _scalar(value: Any) -> Any:
    if isinstance(value, Level | Phase | Clear | FlapPhase):
        return value.value
    if isinstance(value, tuple):
        return list(value)
    return value


def load_state(raw: Any) -> PolicyState:
    if not isinstance(raw, dict):
        raise TypeError("service state must be an object")
    version = raw.get("v", 1)
    migrate = MIGRATIONS.get(version) if isinstance(version, int) else None
    if version != VERSION:
        if migrate is None:
            raise ValueError(f"unknown state version {version!r}")
        return migrate(raw)
    raw = {RENAMED.get(k, k): v for k, v in raw.items()}
    values: dict[str, Any] = {}
    for f in fields(PolicyState):
        if f.name not in raw:
            continue
        value = raw[f.name]
        if f.name == "records":
            value = tuple(_record(r) for r in _list(value))
        elif f.name == "flaps":
            if not isinstance(value, dict):
                raise TypeError("flaps must be an object")
            value = tuple((str(k), _flap(v)) for k, v in value.items())
        elif f.name == "upcoming_told":
            value = tuple((str(k), _num(t)) for k, t in (_pair(p) for p in _list(value)))
        else:
            value = _typed(value, str(f.type), f.name)
        values[f.name] = value
    return PolicyState(**values)


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError("expected a list")
    return value


def _pair(value: Any) -> tuple[Any, Any]:
    if not isinstance(value, list) or len(value) != 2:
        raise TypeError("expected a pair")
    return value[0], value[1]


def _num(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError("expected a number")
    return float(value)


_ENUMS: dict[str, Callable[[Any], Any]] = {
    "Level": Level, "Phase": Phase, "Clear": Clear, "FlapPhase": FlapPhase,
}
_SCALARS: dict[str, type | tuple[type, ...]] = {
    "bool": bool, "str": str, "int": int, "float": (int, float),
}


def _typed(value: Any, annotation: str, name: str) -> Any:
    """A decoded JSON value checked against the field's annotation: a hand-edited
    ``"failures": "x"`` would otherwise pass and break every later poll of the service."""
    base, _, rest = annotation.partition(" | ")
    if value is None:
        if rest == "None":
            return None
        raise TypeError(f"{name} is missing")
    if base in _ENUMS:
        return _ENUMS[base](value)
    if base == "tuple[str, ...]":
        return tuple(str(v) for v in _list(value))
    if base not in _SCALARS:
        raise TypeError(f"{name}: no decoder for {annotation}")
    if isinstance(value, bool) and base != "bool":
        raise TypeError(f"{name} has a bad type")
    if not isinstance(value, _SCALARS[base]):
        raise TypeError(f"{name} has a bad type")
    checked: Any = value
    return float(checked) if base == "float" else checked


def _fields_of(cls: type, raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise TypeError(f"{cls.__name__} must be an object")
    return {f.name: _typed(raw[f.name], str(f.type), f.name)
            for f in fields(cls) if f.name in raw}


def _record(raw: Any) -> Record:
    return Record(**_fields_of(Record, raw))


def _flap(raw: Any) -> Flap:
    return Flap(**_fields_of(Flap, raw))


_V1_FIELDS = {  # version 1's fields, checked as strictly as today's
    "level": "Level", "started": "bool", "failures": "int", "ok_streak": "int",
    "announced": "Level | None", "episode_start": "float | None", "episode_worst": "Level",
    "last_bad_at": "float | None",
}


def _from_v1(raw: dict[str, Any]) -> PolicyState:
    """Version 1 kept one episode per service and the level last announced, no incidents."""
    old = {k: _typed(raw[k], t, k) for k, t in _V1_FIELDS.items() if k in raw}
    announced = old.get("announced")
    episode = old.get("episode_start")
    return PolicyState(
        started=bool(old.get("started")),
        episode_start=episode,
        episode_worst=old.get("episode_worst", Level.OPERATIONAL),
        last_bad_at=old.get("last_bad_at"),
        last_reading=old.get("last_bad_at"),
        clear=Clear.TROUBLE if episode is not None else Clear.CLEAR,
        adopt=announced is not None and announced.is_problem,
    )


MIGRATIONS: dict[int, Callable[[dict[str, Any]], PolicyState]] = {1: _from_v1}


def restored(state: PolicyState, saved_at: float, now: float, timing: Timing | None = None
             ) -> PolicyState:
    """What a restart keeps: what was told (so nothing is told twice), never a stale level.

    Within ``restore_within`` the outage goes on where it was; the time the app was off is a
    gap, so lengths across it are lower bounds. Later, the outage is history: a fresh
    start-up alert covers anything new, and the ends of what was told are old news, never
    told; but incidents told about are remembered, so one still open isn't announced again.
    After ``forget_after`` nothing is kept.
    """
    t = timing or Timing()
    away = now - saved_at
    if away > t.forget_after or not state.started:
        return PolicyState()
    last = state.level.label if state.level.is_known else "unknown"
    state = replace(
        state, level=Level.UNKNOWN, reason=f"waiting for the first check (last seen: {last})",
        failures=0, grace_until=None, offline=False, last_reading=saved_at,
    )
    if away <= t.restore_within:
        return state
    records = tuple(replace(r, phase=Phase.OVER) if r.phase is Phase.FIXED
                    else replace(r, unwatched=True, quiet_end=True) if r.phase is Phase.TOLD
                    else r
                    for r in state.records if r.phase is not Phase.NOTED)
    return replace(state, started=False, records=records, clear=Clear.CLEAR, ok_streak=0,
                   ok_since=None, episode_start=None, episode_worst=Level.OPERATIONAL,
                   last_bad_at=None, episode_gap=False, last_reading=None, flaps=(),
                   adopt=False)


SIGNIFICANT_STEP = 300.0  # times that move at every poll are saved to this step


def signature(state: PolicyState) -> PolicyState:
    """``state`` without what changes at every poll, for deciding whether it needs saving.
    The last reading doesn't count (a restart takes the save's time for it, so the time the
    app was off is a gap); the last time each incident was seen counts to the nearest few
    minutes (a restart loses at most that much of a length)."""
    def coarse(t: float | None) -> float | None:
        return None if t is None else t // SIGNIFICANT_STEP

    return replace(
        state, reason="", failures=0, ok_streak=0, ok_since=None, grace_until=None,
        last_bad_at=coarse(state.last_bad_at), last_reading=None,
        records=tuple(replace(r, seen=coarse(r.seen) or 0.0) for r in state.records),
    )
