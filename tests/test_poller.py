"""The poll loop and adaptive polling, driven by an injected FakeClock and ``tick()``.

The source is a scripted stand-in (the only fake): monitors, policy, schedule and poller are the
real ones. One test runs the real loop in its thread to see that "check now" and stop act at
once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Any

import pytest

from tray_app.clock import FakeClock
from tray_app.core.levels import Level
from tray_app.core.model import Failure, FailureKind, Fetched
from tray_app.core.statuspage import parse_summary
from tray_app.demo import summary
from tray_app.monitor import Monitor
from tray_app.poller import Poller, Report

BASE = "https://status.example.com"


def page(level: Level = Level.OPERATIONAL, **kw: Any) -> Fetched:
    return Fetched(BASE + "/api/v2/summary.json", summary=parse_summary(summary(level, **kw)))


def failed(kind: FailureKind = FailureKind.CONNECT, retry_after: float | None = None,
           status: int | None = None) -> Fetched:
    return Fetched(BASE + "/api/v2/summary.json",
                   failure=Failure(kind, f"{kind.value} failure", status, retry_after))


class ScriptedSource:
    """Answers each fetch with the next scripted result; the last one repeats."""

    using_mirror = False

    def __init__(self, *results: Fetched | Exception, base: str = BASE) -> None:
        self.base = base
        self.results = list(results) or [page()]
        self.calls = 0

    def set(self, *results: Fetched | Exception) -> None:
        self.results = list(results)

    def fetch(self) -> Fetched:
        self.calls += 1
        result = self.results.pop(0) if len(self.results) > 1 else self.results[0]
        if isinstance(result, Exception):
            raise result
        return result

    def hosts(self) -> frozenset[str]:
        return frozenset({"status.example.com"})


def monitor(key: str = "claude", *results: Fetched | Exception, interval: float = 60.0,
            base: str = BASE) -> Monitor:
    return Monitor(key=key, name=key.capitalize(), source=ScriptedSource(*results, base=base),
                   interval=interval)


def calls(monitors: Iterable[Monitor]) -> list[int]:
    return [m.source.calls for m in monitors]  # type: ignore[attr-defined]


class Reports(list[Report]):
    def __call__(self, report: Report) -> None:
        self.append(report)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


# -- tick -------------------------------------------------------------------------------------


def test_tick_polls_what_is_due_and_returns_the_wait(clock: FakeClock) -> None:
    a, b = monitor("a"), monitor("b", interval=120)
    reports = Reports()
    poller = Poller([a, b], reports, clock=clock)
    assert poller.tick() == 60  # everything is due at the start
    assert calls([a, b]) == [1, 1]
    clock.advance(59)
    assert poller.tick() == pytest.approx(1)
    assert calls([a, b]) == [1, 1]
    clock.advance(1)
    assert poller.tick() == 60  # a polled; b is due in 60 s as well
    assert calls([a, b]) == [2, 1]
    clock.advance(60)
    assert poller.tick() == 60
    assert calls([a, b]) == [3, 2]
    assert [r.service.key for r in reports] == ["a", "b", "a", "a", "b"]
    assert all(r.ok for r in reports)
    assert reports[-1].level is Level.OPERATIONAL
    assert poller.iterations == 4


def test_check_now_polls_everything_once(clock: FakeClock) -> None:
    a, b = monitor("a"), monitor("b", interval=600)
    poller = Poller([a, b], Reports(), clock=clock)
    poller.tick()
    clock.advance(10)
    poller.check_now()
    poller.tick()
    assert calls([a, b]) == [2, 2]
    clock.advance(10)
    assert poller.tick() == pytest.approx(50)  # the request was used up
    assert calls([a, b]) == [2, 2]


@pytest.mark.parametrize("jump", [3600.0, -3600.0, 121.0], ids=["suspend", "clock-set-back",
                                                                  "just-over-2x"])
def test_a_clock_jump_is_a_wake_every_monitor_polled_with_grace(clock: FakeClock,
                                                                 jump: float) -> None:
    # After the wake the network isn't back yet: both polls fail, and neither failure counts.
    a, b = monitor("a", page(), failed()), monitor("b", page(), failed(), interval=300)
    reports = Reports()
    poller = Poller([a, b], reports, clock=clock)
    poller.tick()
    clock.advance(5)
    clock.sleep(jump)  # the wall clock moves, the monotonic one doesn't
    poller.tick()
    assert calls([a, b]) == [2, 2]
    now = clock.time()
    assert a.state.grace_until == now + a.policy.timing.wake_grace
    assert b.state.grace_until == now + b.policy.timing.wake_grace
    assert (a.state.failures, b.state.failures) == (0, 0)
    # The wake itself changed nothing anyone sees: only the polls are reported.
    assert [(r.service.key, r.ok) for r in reports[2:]] == [("a", False), ("b", False)]


@pytest.mark.parametrize("jump", [100.0, 119.0, -119.0])
def test_a_small_clock_change_is_not_a_wake(clock: FakeClock, jump: float) -> None:
    a = monitor("a")
    poller = Poller([a], Reports(), clock=clock)
    poller.tick()
    clock.advance(5)
    clock.sleep(jump)
    poller.tick()
    assert calls([a]) == [1]
    assert a.state.grace_until is None


def test_failures_right_after_a_wake_are_forgiven(clock: FakeClock) -> None:
    m = monitor("claude", page(), failed())
    poller = Poller([m], Reports(), clock=clock)
    poller.tick()
    assert m.state.level is Level.OPERATIONAL
    clock.sleep(8 * 3600)
    poller.tick()  # the network isn't back yet after the wake
    assert m.state.failures == 0
    clock.advance(30)
    poller.check_now()
    poller.tick()
    assert m.state.failures == 0  # still in the grace period
    clock.advance(m.policy.timing.wake_grace)
    poller.check_now()
    poller.tick()
    assert m.state.failures == 1 and m.state.level is Level.OPERATIONAL


def test_a_presenter_that_raises_does_not_stop_polling(clock: FakeClock) -> None:
    m = monitor()
    seen = []

    def broken(report: Report) -> None:
        seen.append(report)
        raise RuntimeError("tray went away")

    poller = Poller([m], broken, clock=clock)
    for _ in range(3):
        clock.advance(poller.tick())
    assert calls([m]) == [3] and len(seen) == 3


def test_a_poll_that_raises_is_a_failed_report_and_the_loop_goes_on(clock: FakeClock) -> None:
    m = monitor("claude", page(), RuntimeError("bug in a parser"), page(Level.DEGRADED))
    reports = Reports()
    poller = Poller([m], reports, clock=clock)
    for _ in range(3):
        clock.advance(poller.tick())
    assert [r.ok for r in reports] == [True, False, True]
    assert m.state.level is Level.DEGRADED


# -- the real loop in its thread ---------------------------------------------------------------


def test_the_loop_reacts_at_once_to_check_now_and_stop(clock: FakeClock) -> None:
    m = monitor(interval=3600)  # nothing is due again for an hour of real time
    polled = threading.Semaphore(0)

    def present(report: Report) -> None:
        polled.release()
        raise RuntimeError("a presenter bug must not stop the loop")

    poller = Poller([m], present, clock=clock)
    poller.start()
    try:
        assert polled.acquire(timeout=5)
        for _ in range(3):
            poller.check_now()
            assert polled.acquire(timeout=5), "check now didn't poll"
        assert calls([m]) == [4]
        assert poller.iterations >= 4
        assert poller._thread is not None and poller._thread.name == "poller"
    finally:
        started = time.monotonic()
        poller.stop(timeout=5)
    assert poller._thread is not None and not poller._thread.is_alive()
    assert time.monotonic() - started < 2
    assert poller.stopped


def test_stop_from_another_thread_while_the_loop_waits() -> None:
    m = monitor(interval=3600)
    poller = Poller([m], Reports())  # the real clock this time
    thread = threading.Thread(target=poller.run, name="test-poller")
    thread.start()
    deadline = time.monotonic() + 5
    while calls([m]) == [0] and time.monotonic() < deadline:
        time.sleep(0.01)
    poller.stop()
    thread.join(2)
    assert not thread.is_alive()
    assert calls([m]) == [1]


# -- adaptive polling (Monitor.next_delay through the poller) ----------------------------------


def incident_only() -> Fetched:
    """Every component operational, but an incident is open (it may not have an impact yet)."""
    doc = summary(Level.OPERATIONAL)
    doc["incidents"] = [{
        "id": "inc1", "name": "Investigating reports of errors", "status": "investigating",
        # Posted just now by the test clock: older, with nothing new and every component
        # green, it would be stale and poll at the usual pace.
        "impact": "none", "created_at": "2027-01-15T08:00:00.000Z",
        "updated_at": "2027-01-15T08:00:00.000Z", "started_at": "2027-01-15T08:00:00.000Z",
        "shortlink": "https://stspg.io/inc1", "incident_updates": [], "components": [],
    }]
    return Fetched(BASE + "/api/v2/summary.json", summary=parse_summary(doc))


@pytest.mark.parametrize(
    ("fetched", "delay"),
    [
        (page(), 60),
        (page(Level.DEGRADED), 30),
        (page(Level.MAJOR_OUTAGE), 30),
        (page(Level.MAINTENANCE), 30),
        (incident_only(), 30),
    ],
    ids=["operational", "degraded", "major", "maintenance", "open-incident"],
)
def test_trouble_polls_faster(clock: FakeClock, fetched: Fetched, delay: float) -> None:
    m = monitor("claude", fetched)
    poller = Poller([m], Reports(), clock=clock)
    assert poller.tick() == delay
    assert m.next_delay() == delay


def test_polling_slows_down_again_once_operational(clock: FakeClock) -> None:
    m = monitor("claude", page(), page(Level.MAJOR_OUTAGE), page(Level.MAJOR_OUTAGE), page())
    poller = Poller([m], Reports(), clock=clock)
    waits = []
    for _ in range(5):
        wait = poller.tick()
        waits.append(wait)
        clock.advance(wait)
    assert waits == [60, 30, 30, 60, 60]


def test_failures_back_off_to_ten_minutes_and_a_success_resets(clock: FakeClock) -> None:
    m = monitor("claude", page(), *[failed()] * 6, page())
    poller = Poller([m], Reports(), clock=clock)
    waits = []
    for _ in range(8):
        wait = poller.tick()
        waits.append(wait)
        clock.advance(wait)
    assert waits == [60, 120, 240, 480, 600, 600, 600, 60]


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [(900.0, 900), (10.0, 120), (86400.0 * 30, 3600)],
    ids=["longer-than-backoff", "shorter-than-backoff", "hostile-capped"],
)
def test_retry_after_is_honoured(clock: FakeClock, retry_after: float, expected: float) -> None:
    m = monitor("claude", page(), failed(FailureKind.RATE_LIMITED, retry_after, 429), page())
    poller = Poller([m], Reports(), clock=clock)
    clock.advance(poller.tick())
    assert poller.tick() == expected
    clock.advance(expected)
    assert poller.tick() == 60  # the next good answer forgets it


def test_loopback_pages_may_poll_faster_but_not_below_a_second(clock: FakeClock) -> None:
    fast = monitor("demo", page(), interval=0.1, base="http://127.0.0.1:8080")
    assert Poller([fast], Reports(), clock=clock).tick() == 1.0
    remote = monitor("claude", page(), interval=5)
    assert Poller([remote], Reports(), clock=clock).tick() == 30.0


def test_a_posted_change_runs_before_the_next_poll_which_follows_at_once(
    clock: FakeClock,
) -> None:
    m = monitor("claude", interval=600)
    order: list[str] = []
    poller = Poller([m], lambda r: order.append("poll"), clock=clock)
    poller.tick()
    clock.advance(10)
    poller.post(lambda: order.append("change"))
    poller.post(lambda: 1 / 0)  # type: ignore[func-returns-value]  # logged, never fatal
    poller.post(lambda: order.append("another"))
    assert order == ["poll"]  # nothing runs on the caller's thread
    poller.tick()
    assert order == ["poll", "change", "another", "poll"]
