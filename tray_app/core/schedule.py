"""When to poll next: the base interval, faster during trouble, backing off on failures."""

from __future__ import annotations

REMOTE_FLOOR = 30.0  # polite to a public page
LOOPBACK_FLOOR = 1.0  # tests and the demo
MAX_BACKOFF = 600.0
MAX_RETRY_AFTER = 3600.0  # a hostile Retry-After can't silence us for days
URGENT_INTERVAL = 30.0


def floor_for(loopback: bool) -> float:
    return LOOPBACK_FLOOR if loopback else REMOTE_FLOOR


def clamp_interval(interval: float, loopback: bool) -> float:
    return max(float(interval), floor_for(loopback))


def next_delay(
    interval: float,
    *,
    loopback: bool,
    failures: int = 0,
    retry_after: float | None = None,
    urgent: bool = False,
) -> float:
    """Seconds until the next poll.

    ``failures`` consecutive failed polls double the interval each time, up to 10 min; a
    success resets it. ``urgent`` (an open incident or a level other than operational) polls at
    most every 30 s, never below the floor. ``Retry-After`` is honoured, capped at an hour.
    """
    floor = floor_for(loopback)
    base = max(interval, floor)
    if failures > 0:
        delay = min(base * 2.0 ** min(failures, 16), max(MAX_BACKOFF, base))
    elif urgent:
        delay = min(base, max(URGENT_INTERVAL, floor))
    else:
        delay = base
    if retry_after is not None and retry_after > 0:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
    return max(delay, floor)
