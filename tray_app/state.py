"""State that survives a restart: each service's alert state, learned page ids, the pause,
the armed one-shot alert and the last notifications.

Kept in the user data directory as JSON, written atomically (temporary file, fsync, rename).
A missing or corrupt file means a fresh start, with the bad file kept aside.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .atomic import keep_aside, write_atomic
from .core.levels import Level
from .core.policy import PolicyState

log = logging.getLogger(__name__)

VERSION = 1
MAX_ALERTS = 50
RESTORE_WITHIN = 6 * 3600  # an older episode is history, not something still going on


@dataclass(frozen=True)
class Saved:
    services: dict[str, PolicyState] = field(default_factory=dict)
    page_ids: dict[str, str] = field(default_factory=dict)
    paused_until: float = 0.0
    armed: bool = False
    alerts: tuple[dict[str, Any], ...] = ()
    saved_at: float = 0.0


def _encode_policy(state: PolicyState) -> dict[str, Any]:
    out = asdict(state)
    for key, value in out.items():
        if isinstance(value, Level):
            out[key] = value.value
    return out


def _decode_policy(raw: Any) -> PolicyState:
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


class StateStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def load(self) -> Saved:
        if not self.path.exists():
            return Saved()
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(raw, dict) or raw.get("version") != VERSION:
                raise ValueError("unknown format")
            alerts = raw.get("alerts", [])
            return Saved(
                services={str(k): _decode_policy(v) for k, v in raw.get("services", {}).items()},
                page_ids={str(k): str(v) for k, v in raw.get("page_ids", {}).items()},
                paused_until=float(raw.get("paused_until", 0.0)),
                armed=bool(raw.get("armed", False)),
                alerts=tuple(a for a in alerts if isinstance(a, dict))[-MAX_ALERTS:],
                saved_at=float(raw.get("saved_at", 0.0)),
            )
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            moved = keep_aside(self.path) if self.path.exists() else None
            log.warning("state file %s unreadable (%s); starting fresh, kept it as %s",
                        self.path, exc, moved)
            return Saved()

    def save(self, saved: Saved) -> None:
        data = {
            "version": VERSION,
            "saved_at": saved.saved_at,
            "services": {k: _encode_policy(v) for k, v in saved.services.items()},
            "page_ids": saved.page_ids,
            "paused_until": saved.paused_until,
            "armed": saved.armed,
            "alerts": list(saved.alerts[-MAX_ALERTS:]),
        }
        with self._lock:
            try:
                write_atomic(self.path, json.dumps(data, ensure_ascii=False).encode("utf-8"))
            except OSError as exc:
                log.warning("can't save state to %s: %s", self.path, exc)
