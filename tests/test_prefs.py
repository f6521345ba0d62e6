"""Notification preferences: the gate, the pause and the one-shot "notify me when it's back"."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from tray_app.core.levels import Level
from tray_app.core.policy import Kind, Notify
from tray_app.core.prefs import Prefs, describe_left, gate, next_morning, pause_for

NOW = 1_800_000_000.0
DOWN = Notify(Kind.DOWN, "Claude is down", "Major outage", Level.MAJOR_OUTAGE)
BACK = Notify(Kind.RECOVERED, "Claude is back, after 12 min", "", Level.OPERATIONAL)
SUMMARY_OK = Notify(Kind.SUMMARY, "Claude: operational", "", Level.OPERATIONAL)
SUMMARY_BAD = Notify(Kind.SUMMARY, "Claude: major outage", "", Level.MAJOR_OUTAGE)
PAUSED = Prefs(paused_until=NOW + 600)


@pytest.mark.parametrize(
    ("prefs", "note", "sent", "armed_after"),
    [
        (Prefs(), DOWN, True, False),
        (Prefs(), BACK, True, False),
        (Prefs(enabled=False), DOWN, False, False),
        (Prefs(enabled=False), BACK, False, False),
        (PAUSED, DOWN, False, False),
        (PAUSED, BACK, False, False),
        (Prefs(paused_until=NOW - 1), DOWN, True, False),  # the pause is over
        (Prefs(kinds=frozenset({"recovered"})), DOWN, False, False),
        (Prefs(kinds=frozenset({"recovered"})), BACK, True, False),
        # The armed one-shot: the first recovery goes out whatever the settings, then disarms.
        (Prefs(paused_until=NOW + 600, armed=True), BACK, True, False),
        (Prefs(enabled=False, armed=True), BACK, True, False),
        (Prefs(kinds=frozenset(), armed=True), BACK, True, False),
        (Prefs(paused_until=NOW + 600, armed=True), SUMMARY_OK, True, False),
        # ...but it is no way around the pause for anything else, and it stays armed.
        (Prefs(paused_until=NOW + 600, armed=True), DOWN, False, True),
        (Prefs(paused_until=NOW + 600, armed=True), SUMMARY_BAD, False, True),
        (Prefs(armed=True), DOWN, True, True),
    ],
    ids=[
        "default-down", "default-back", "disabled-down", "disabled-back", "paused-down",
        "paused-back", "pause-over", "kind-off", "kind-on", "armed-paused-back",
        "armed-disabled-back", "armed-no-kinds-back", "armed-paused-summary-ok",
        "armed-paused-down", "armed-paused-summary-bad", "armed-down-stays-armed",
    ],
)
def test_gate(prefs: Prefs, note: Notify, sent: bool, armed_after: bool) -> None:
    allowed, after = gate(prefs, note, NOW)
    assert allowed is sent
    assert bool(after.armed) is armed_after
    assert (after.enabled, after.paused_until, after.kinds) == (
        prefs.enabled, prefs.paused_until, prefs.kinds
    )


def test_the_armed_alert_fires_once() -> None:
    prefs = Prefs(paused_until=NOW + 600, armed=True)
    first, prefs = gate(prefs, BACK, NOW)
    second, prefs = gate(prefs, BACK, NOW + 1)
    assert (first, second) == (True, False)


def test_pause_for_and_time_left() -> None:
    prefs = pause_for(Prefs(), NOW, 3600)
    assert prefs.paused(NOW) and prefs.paused(NOW + 3599)
    assert not prefs.paused(NOW + 3600)
    assert prefs.pause_left(NOW + 600) == 3000
    assert prefs.pause_left(NOW + 7200) == 0


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 min"),
        (1, "1 min"),
        (59, "1 min"),
        (60, "1 min"),
        (61, "2 min"),
        (59 * 60, "59 min"),
        (59 * 60 + 1, "1 h 00 min"),
        (3600, "1 h 00 min"),
        (3600 + 5 * 60, "1 h 05 min"),
        (16.5 * 3600, "16 h 30 min"),
    ],
)
def test_describe_left(seconds: float, text: str) -> None:
    assert describe_left(seconds) == text


@pytest.fixture
def local_zone() -> Iterator[None]:
    """Run the test in named time zones (set per test with ``zone``); restored afterwards."""
    old = os.environ.get("TZ")
    yield
    if old is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = old
    time.tzset()


def zone(name: str) -> None:
    os.environ["TZ"] = name
    time.tzset()


def local(y: int, mo: int, d: int, h: int, mi: int = 0) -> float:
    return time.mktime((y, mo, d, h, mi, 0, 0, 0, -1))


@pytest.mark.usefixtures("local_zone")
@pytest.mark.parametrize(
    ("tz", "now", "expected"),
    [
        ("Europe/Berlin", (2026, 11, 24, 15, 0), (2026, 11, 25)),
        ("Europe/Berlin", (2026, 11, 24, 23, 59), (2026, 11, 25)),
        ("Europe/Berlin", (2026, 11, 24, 8, 0), (2026, 11, 25)),  # 08:00 sharp: the next one
        # Before 08:00 the next 08:00 is the same morning (it was 30.5 h at 01:30).
        ("Europe/Berlin", (2026, 11, 25, 1, 30), (2026, 11, 25)),
        ("Europe/Berlin", (2026, 11, 24, 7, 59), (2026, 11, 24)),
        ("Europe/Berlin", (2026, 11, 25, 0, 5), (2026, 11, 25)),
        ("America/Los_Angeles", (2026, 11, 24, 16, 30), (2026, 11, 25)),  # 00:30 UTC next day
        ("Pacific/Auckland", (2026, 11, 25, 0, 10), (2026, 11, 25)),
        ("Europe/Berlin", (2026, 12, 31, 20, 0), (2027, 1, 1)),
        # Daylight saving starts / ends overnight: still 08:00 on the wall clock.
        ("Europe/Berlin", (2026, 3, 28, 22, 0), (2026, 3, 29)),
        ("Europe/Berlin", (2026, 10, 24, 22, 0), (2026, 10, 25)),
        ("America/New_York", (2026, 3, 7, 23, 30), (2026, 3, 8)),
        # ... and in the same night, after midnight, before the change.
        ("Europe/Berlin", (2026, 3, 29, 1, 30), (2026, 3, 29)),
        ("Europe/Berlin", (2026, 10, 25, 1, 30), (2026, 10, 25)),
        ("America/New_York", (2026, 3, 8, 1, 30), (2026, 3, 8)),
    ],
    ids=lambda v: v if isinstance(v, str) else "-".join(map(str, v)),
)
def test_next_morning(
    tz: str, now: tuple[int, ...], expected: tuple[int, int, int]
) -> None:
    zone(tz)
    until = next_morning(local(*now))
    assert until == local(*expected, 8)
    shown = time.localtime(until)
    assert (shown.tm_year, shown.tm_mon, shown.tm_mday, shown.tm_hour, shown.tm_min) == (
        *expected, 8, 0
    )


@pytest.mark.usefixtures("local_zone")
@pytest.mark.parametrize(
    ("tz", "day", "hours"),
    [
        ("Europe/Berlin", (2026, 11, 25), 6.5),
        ("Europe/Berlin", (2026, 3, 29), 5.5),  # 02:00 -> 03:00 in between: an hour shorter
        ("Europe/Berlin", (2026, 10, 25), 7.5),  # 03:00 -> 02:00 in between: an hour longer
        ("America/New_York", (2026, 3, 8), 5.5),
    ],
    ids=lambda v: v if isinstance(v, str | float) else "-".join(map(str, v)),
)
def test_pausing_at_half_past_one_lasts_until_that_morning(
    tz: str, day: tuple[int, int, int], hours: float
) -> None:
    zone(tz)
    now = local(*day, 1, 30)
    assert next_morning(now) - now == hours * 3600
