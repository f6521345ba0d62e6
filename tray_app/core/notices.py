"""The words of every notification the policy sends (no decisions here, only texts)."""

from __future__ import annotations

import time
from collections.abc import Sequence

from .levels import Level
from .plaintext import TITLE_LIMIT

_VERB = {
    Level.MAJOR_OUTAGE: "is down",
    Level.PARTIAL_OUTAGE: "is partly down",
    Level.DEGRADED: "is degraded",
    Level.MAINTENANCE: "maintenance",
    Level.UNKNOWN: "has a problem",
    Level.OPERATIONAL: "is fine",
}


def format_duration(seconds: float) -> str:
    minutes = max(0, round(seconds / 60))
    if minutes < 1:
        return "less than a minute"
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    hours = round(minutes / 60)  # past two days, to the nearest hour
    return f"{hours // 24} days {hours % 24} h"


def length_text(seconds: float, lower_bound: bool) -> str:
    if lower_bound and seconds < 60:
        return "a while (the app missed part of it)"
    return ("at least " if lower_bound else "") + format_duration(seconds)


def listing(names: Sequence[str], most: int = 3) -> str:
    shown = list(dict.fromkeys(n for n in names if n))[:most]
    more = len(set(names)) - len(shown)
    return "; ".join(shown) + (f" (+{more} more)" if more > 0 else "")


def new_incident(service: str, name: str, level: Level, status: str, components: Sequence[str],
                 models: str = "", again: bool = False) -> tuple[str, str]:
    """ "Claude is partly down: Elevated errors on Claude Opus 4.8" / "Partial outage,
    investigating. Affects: Opus 4.8. On: claude.ai, Claude API." """
    verb = _VERB[level] + (" again" if again else "")
    title = f"{service} {verb}: {name}"
    parts = []
    if len(title) > TITLE_LIMIT:  # the title will be cut: the body keeps the whole name
        parts.append(f"{name}.")
    label = level.label.capitalize() if level.is_known else "Unrecognised impact"
    parts.append(f"{label}, {status.replace('_', ' ')}." if status else f"{label}.")
    if models:
        parts.append(f"Affects: {models}.")
    if components:
        parts.append(f"On: {', '.join(components[:4])}.")
    return title, " ".join(parts)


def escalated(service: str, name: str, level: Level, was: Level) -> tuple[str, str]:
    title = f"{service} {_VERB[level]}: {name}"
    body = f"Now a {level.label} (it was {was.label})."
    if len(title) > TITLE_LIMIT:
        body = f"{name}. {body}"
    return title, body


def loose_trouble(service: str, level: Level, detail: str, again: bool = False
                  ) -> tuple[str, str]:
    """Components in trouble with no incident posted for them."""
    if level is Level.MAINTENANCE:
        return f"{service} maintenance in progress", detail or "Scheduled maintenance is under way."
    if level is Level.DEGRADED:
        body = detail or "Some parts are slower or failing more often than usual."
        return f"{service} is degraded" + (" again" if again else ""), body
    title = f"{service} {_VERB[level]}" + (" again" if again else "")
    label = level.label.capitalize() if level.is_known else "A problem"
    return title, f"{label}: {detail}" if detail else label


def startup(service: str, names: Sequence[str], level: Level) -> tuple[str, str]:
    return f"{service} is having problems right now", listing(names) or level.label


def fixed(name: str, length: float, lower_bound: bool, still_open: Sequence[str],
          maintenance: bool = False) -> tuple[str, str]:
    head = "Maintenance over" if maintenance else "Fixed"
    title = f"{head}: {name}, after {length_text(length, lower_bound)}"
    body = f"Still open: {listing(still_open)}." if still_open else ""
    if len(title) > TITLE_LIMIT:
        body = f"{name}, after {length_text(length, lower_bound)}. {body}".strip()
    return title, body


def back(service: str, length: float, lower_bound: bool, names: Sequence[str] = ()
         ) -> tuple[str, str]:
    if lower_bound:
        title = f"{service} is back"
        body = (
            f"It had problems for at least {format_duration(length)}; it wasn't watched for "
            "part of that time (sleep or no connection), so the exact length isn't known."
        ) if length >= 60 else (
            "It had problems while it wasn't watched (sleep or no connection), so how long "
            "isn't known."
        )
    else:
        title = f"{service} is back, after {format_duration(length)}"
        body = "Everything you watch reads operational again."
    if names:
        body = f"Fixed: {listing(names)}. {body}"
    return title, body


def flapping(service: str, what: str, downs: int, backs: int, window: float, level: Level
             ) -> tuple[str, str]:
    """The summary of a window that held changes back: what happened, and how it is now."""
    now = "operational again" if not level.is_problem else level.label
    happened = []
    if downs:
        happened.append(f"went down {_times(downs)}")
    if backs:
        happened.append(f"came back {_times(backs)}")
    body = (f"{what} {' and '.join(happened)} in the last {format_duration(window)}; "
            f"now: {now}.")
    return f"{service}: {now}", body


def _times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def upcoming(service: str, name: str, when: str, components: Sequence[str]) -> tuple[str, str]:
    body = when + (f": {', '.join(components[:4])}" if components else "")
    return f"{service} maintenance soon: {name}", body


def local_window(start: float, end: float | None) -> str:
    """A maintenance window in the user's time zone: "Thu 02:00–03:00" (the day again when it
    ends on another day, "Thu 23:00–Fri 01:00"; just the start when there is no end)."""
    a = time.localtime(start)
    text = time.strftime("%a %H:%M", a)
    if end is None or end <= start:
        return text
    b = time.localtime(end)
    same_day = (a.tm_year, a.tm_yday) == (b.tm_year, b.tm_yday)
    return text + "–" + time.strftime("%H:%M" if same_day else "%a %H:%M", b)
