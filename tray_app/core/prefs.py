"""Notification preferences: on/off, pause, and the one-shot "notify me when it's back"."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from .levels import Level
from .policy import Kind, Notify

EVERY_SERVICE = "*"


def armed_keys(value: object) -> frozenset[str]:
    """The services "notify me when it's back" is armed for, from what a file or an older
    version held: service keys; ``true`` (every service) or ``false``; anything else: none."""
    if isinstance(value, bool):
        return frozenset({EVERY_SERVICE} if value else ())
    if isinstance(value, list | tuple | set | frozenset):
        return frozenset(str(v) for v in value if isinstance(v, str))
    return frozenset()


@dataclass(frozen=True)
class Prefs:
    enabled: bool = True
    paused_until: float = 0.0
    # "Notify me when it's back", per service key: fires once, even while paused. True (an
    # older setting, or "any service") arms every service.
    armed: frozenset[str] = frozenset()
    kinds: frozenset[str] = frozenset(k.value for k in Kind)

    def __post_init__(self) -> None:
        if isinstance(self.armed, bool):
            object.__setattr__(self, "armed", armed_keys(self.armed))

    def armed_for(self, service: str) -> bool:
        return EVERY_SERVICE in self.armed or service in self.armed

    def arm(self, service: str, on: bool) -> Prefs:
        armed = self.armed - {EVERY_SERVICE, service}
        return replace(self, armed=armed | {service} if on else armed)

    def paused(self, now: float) -> bool:
        return self.paused_until > now

    def pause_left(self, now: float) -> float:
        return max(0.0, self.paused_until - now)


def is_recovery(note: Notify) -> bool:
    return note.kind is Kind.RECOVERED or (
        note.kind is Kind.SUMMARY and note.level is Level.OPERATIONAL
    )


def gate(prefs: Prefs, note: Notify, now: float, service: str = "") -> tuple[bool, Prefs]:
    """Whether to show ``note`` (about ``service``) now, and the preferences after it (an
    alert armed for that service disarms)."""
    if prefs.armed_for(service) and is_recovery(note):
        return True, prefs.arm(service, False)
    if not prefs.enabled or prefs.paused(now) or note.kind.value not in prefs.kinds:
        return False, prefs
    return True, prefs


def pause_for(prefs: Prefs, now: float, seconds: float) -> Prefs:
    return replace(prefs, paused_until=now + seconds)


def next_morning(now: float, hour: int = 8) -> float:
    """Epoch seconds of the next ``hour``:00 in local time: today's if it is still ahead
    ("Pause until 08:00" at 01:30 ends at 08:00 that morning), else tomorrow's."""
    # Naive local times: ``timestamp()`` then applies the offset in force on that day, so a
    # daylight-saving change overnight doesn't move the end of the pause by an hour.
    day = dt.datetime.fromtimestamp(now).date()
    while True:  # today's, else tomorrow's
        until = dt.datetime.combine(day, dt.time(hour)).timestamp()
        if until > now:
            return until
        day += dt.timedelta(days=1)


def describe_left(seconds: float) -> str:
    minutes = int(seconds // 60) + (1 if seconds % 60 else 0)
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest:02d} min"
