"""When to poll next: floors, back-off on failures, urgency and Retry-After."""

from __future__ import annotations

import pytest

from tray_app.core.schedule import (
    LOOPBACK_FLOOR,
    MAX_BACKOFF,
    MAX_RETRY_AFTER,
    REMOTE_FLOOR,
    clamp_interval,
    floor_for,
    next_delay,
)


def test_floors() -> None:
    assert (REMOTE_FLOOR, LOOPBACK_FLOOR, MAX_BACKOFF) == (30.0, 1.0, 600.0)
    assert floor_for(loopback=False) == 30.0
    assert floor_for(loopback=True) == 1.0


@pytest.mark.parametrize(
    ("interval", "loopback", "expected"),
    [(60, False, 60.0), (10, False, 30.0), (30, False, 30.0), (10, True, 10.0),
     (1, True, 1.0), (0.2, True, 1.0), (2.5, True, 2.5)],
)
def test_clamp_interval(interval: float, loopback: bool, expected: float) -> None:
    assert clamp_interval(interval, loopback) == expected


def test_default_interval_when_all_is_well() -> None:
    assert next_delay(60, loopback=False) == 60
    assert next_delay(5, loopback=False) == 30  # polite to a public page
    assert next_delay(2, loopback=True) == 2


@pytest.mark.parametrize(
    ("failures", "expected"),
    [(0, 60), (1, 120), (2, 240), (3, 480), (4, 600), (5, 600), (50, 600), (10_000, 600)],
)
def test_failures_double_the_interval_up_to_ten_minutes(failures: int, expected: float) -> None:
    assert next_delay(60, loopback=False, failures=failures) == expected


def test_backoff_from_a_short_loopback_interval() -> None:
    delays = [next_delay(1, loopback=True, failures=f) for f in range(12)]
    assert delays[:4] == [1, 2, 4, 8]
    assert delays == sorted(delays)
    assert max(delays) == MAX_BACKOFF


def test_backoff_never_polls_faster_than_a_long_interval() -> None:
    assert next_delay(900, loopback=False, failures=3) == 900


def test_a_success_resets_the_backoff() -> None:
    assert next_delay(60, loopback=False, failures=4) == 600
    assert next_delay(60, loopback=False, failures=0) == 60


@pytest.mark.parametrize(
    ("interval", "loopback", "expected"),
    [(60, False, 30), (300, False, 30), (30, False, 30), (2, True, 2), (120, True, 30)],
)
def test_urgent_polls_every_30_s_at_most_never_below_the_floor(
    interval: float, loopback: bool, expected: float
) -> None:
    assert next_delay(interval, loopback=loopback, urgent=True) == expected


def test_failures_win_over_urgency() -> None:
    assert next_delay(60, loopback=False, failures=2, urgent=True) == 240


@pytest.mark.parametrize(
    ("retry_after", "failures", "expected"),
    [(120, 0, 120), (10, 0, 60), (300, 1, 300), (60, 3, 480), (10**9, 0, MAX_RETRY_AFTER),
     (float("inf"), 0, MAX_RETRY_AFTER), (0, 0, 60), (-5, 0, 60), (float("nan"), 0, 60),
     (None, 0, 60)],
)
def test_retry_after_is_honoured_and_capped(
    retry_after: float | None, failures: int, expected: float
) -> None:
    got = next_delay(60, loopback=False, failures=failures, retry_after=retry_after)
    assert got == expected


def test_retry_after_cannot_push_below_the_floor() -> None:
    assert next_delay(30, loopback=False, retry_after=1) == 30
    assert next_delay(1, loopback=True, retry_after=5) == 5
