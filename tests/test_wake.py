"""Waking from sleep: the poller notices a resume and polls at once, on every platform.

The real loop (``Poller.run``) runs on a FakeClock with an injected wait that plays a machine:
each wait passes simulated time, and a suspend can fall in the middle of one, with the
semantics of the platform (Linux: the monotonic clock and the wait stop while asleep, the wall
clock and CLOCK_BOOTTIME don't; Windows: the monotonic clock counts the sleep, the wait
doesn't). The logind path runs against a real dbus-daemon on a private bus, where a small
dbus-fast service owns ``org.freedesktop.login1`` and emits ``PrepareForSleep``.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest_desktop import require
from tests.test_poller import Reports, calls, failed, monitor, page
from tray_app import dbus_wire
from tray_app.clock import FakeClock
from tray_app.monitor import Monitor
from tray_app.poller import Poller, Report
from tray_app.wake import (
    CHECK_EVERY,
    LOGIND,
    LOGIND_MANAGER,
    LOGIND_PATH,
    FakeWake,
    LogindWake,
    SystemWake,
    sleep_counter,
    system_wake,
)

HOUR = 3600.0


class Machine:
    """The injected wait: passes simulated time, and sleeps once at a given monotonic moment."""

    def __init__(self, clock: FakeClock, wake: FakeWake | None, *, platform: str = "linux",
                 suspend_at: float | None = None, suspend_for: float = HOUR,
                 signal: bool = False, until: float = 2 * HOUR) -> None:
        self.clock, self.wake, self.platform = clock, wake, platform
        self.suspend_at, self.suspend_for, self.signal = suspend_at, suspend_for, signal
        self.until = clock.mono + until
        self.asked: list[float] = []
        self.resumed_at: float | None = None  # wall time of the resume
        self.poller: Poller | None = None

    def wait(self, event: threading.Event, timeout: float) -> bool:
        assert self.poller is not None
        if self.clock.mono >= self.until:
            self.poller.stop(timeout=0)
            return True
        if event.is_set():
            return True
        self.asked.append(timeout)
        at = self.suspend_at
        if at is not None and self.clock.mono + timeout >= at:
            self.suspend_at = None
            before = at - self.clock.mono
            self.clock.advance(before)
            self._suspend()
            if self.signal and self.wake is not None:
                self.wake.resume()  # logind's PrepareForSleep(false), from its own thread
                if event.is_set():
                    return True
            self.clock.advance(timeout - before)  # the wait runs the rest of its course
            return False
        self.clock.advance(timeout)
        return False

    def _suspend(self) -> None:
        if self.platform == "linux":  # CLOCK_MONOTONIC stops; the wall clock and BOOTTIME don't
            self.clock.sleep(self.suspend_for)
            if self.wake is not None:
                self.wake.suspend(self.suspend_for)
        else:  # Windows: time.monotonic counts the suspend, a wait's timeout doesn't
            self.clock.advance(self.suspend_for)
        self.resumed_at = self.clock.time()


def run(machine: Machine, m: Monitor, wake: FakeWake | None) -> list[tuple[float, Report]]:
    polls: list[tuple[float, Report]] = []

    def present(report: Report) -> None:
        polls.append((machine.clock.time(), report))

    poller = Poller([m], present, clock=machine.clock, wait=machine.wait, wake=wake)
    machine.poller = poller
    poller.run()  # in this thread: the machine's wait stops it
    return polls


def record_woke(m: Monitor) -> list[float]:
    """When Monitor.woke ran (it forgives the failures right after a wake)."""
    seen: list[float] = []
    real = m.woke

    def woke(now: float) -> list[Any]:
        seen.append(now)
        return real(now)

    m.woke = woke  # type: ignore[method-assign]
    return seen


def first_poll_after(polls: list[tuple[float, Report]], when: float) -> float:
    return min(at for at, _ in polls if at >= when) - when


@pytest.mark.parametrize("wake", [FakeWake(), None], ids=["boottime", "wall-clock-only"])
def test_linux_a_resume_in_the_middle_of_a_long_wait_polls_within_seconds(
    wake: FakeWake | None,
) -> None:
    # A 10-minute interval (the longest backoff): the old wait went on for up to 10 min.
    clock = FakeClock()
    m = monitor("claude", page(), interval=600)
    woke = record_woke(m)
    machine = Machine(clock, wake, suspend_at=clock.mono + 700, until=3 * HOUR)
    polls = run(machine, m, wake)
    assert machine.resumed_at is not None
    assert first_poll_after(polls, machine.resumed_at) <= CHECK_EVERY
    assert len(woke) == 1 and woke[0] - machine.resumed_at <= CHECK_EVERY
    assert max(machine.asked) <= CHECK_EVERY


def test_linux_with_logind_a_resume_polls_at_once_and_idle_waits_are_not_cut() -> None:
    clock = FakeClock()
    wake = FakeWake(live=True)
    m = monitor("claude", page(), interval=600)
    woke = record_woke(m)
    machine = Machine(clock, wake, suspend_at=clock.mono + 700, signal=True, until=3 * HOUR)
    polls = run(machine, m, wake)
    assert machine.resumed_at is not None
    assert first_poll_after(polls, machine.resumed_at) == 0
    assert woke == [machine.resumed_at]
    assert set(machine.asked) == {600}  # no extra wake-up: nothing cuts an idle wait short
    assert (wake.started, wake.stopped) == (1, 1)


def test_windows_a_wait_that_ends_an_hour_late_is_a_wake() -> None:
    # Windows: the monotonic clock ran on through the sleep, the wait's timeout didn't.
    clock = FakeClock()
    m = monitor("claude", page(), interval=600)
    woke = record_woke(m)
    machine = Machine(clock, None, platform="windows", suspend_at=clock.mono + 700)
    polls = run(machine, m, None)
    assert machine.resumed_at is not None
    assert first_poll_after(polls, machine.resumed_at) <= CHECK_EVERY
    assert len(woke) == 1


@pytest.mark.parametrize("late", [0.5, 9.0], ids=["scheduler-jitter", "under-ten-seconds"])
def test_a_wait_a_little_late_is_not_a_wake(late: float) -> None:
    clock = FakeClock()
    m = monitor("claude", page())
    done = threading.Event()
    poller: Poller

    def wait(event: threading.Event, timeout: float) -> bool:
        clock.advance(timeout + late)
        if calls([m]) >= [5]:
            poller.stop(timeout=0)
        return False

    poller = Poller([m], Reports(), clock=clock, wait=wait)
    poller.run()
    done.set()
    assert poller.wakes == 0 and m.state.grace_until is None


@pytest.mark.parametrize(
    ("live", "most"),
    [(True, 60), (False, 60 + 3600 / CHECK_EVERY)],
    ids=["logind", "no-resume-signal"],
)
def test_idle_wakeups_per_hour(live: bool, most: float) -> None:
    clock = FakeClock()
    wake = FakeWake(live=live)
    m = monitor("claude", page(), interval=60)
    machine = Machine(clock, wake, until=HOUR)
    run(machine, m, wake)
    assert len(machine.asked) <= most
    assert 3600 / len(machine.asked) >= (60 if live else 15)  # a few a minute at most


def test_the_sleep_counter_alone_is_a_wake_even_when_the_wall_clock_agrees() -> None:
    # An NTP step back during the sleep hides the wall clock's jump; BOOTTIME still saw it.
    clock = FakeClock()
    wake = FakeWake()
    a = monitor("a", page(), failed())
    poller = Poller([a], Reports(), clock=clock, wake=wake)
    poller.tick()
    clock.advance(5)
    wake.suspend(300)
    poller.tick()
    assert calls([a]) == [2] and a.state.failures == 0 and poller.wakes == 1
    clock.advance(5)
    wake.suspend(1.0)  # under the threshold: the two clocks' rates differ a hair
    poller.tick()
    assert calls([a]) == [2] and poller.wakes == 1


def test_a_resume_signal_from_another_thread_wakes_the_waiting_loop() -> None:
    # The real loop and the real Event wait: the resume must cut a one-hour wait short.
    clock = FakeClock()
    wake = FakeWake(live=True)
    m = monitor("claude", page(), interval=3600)
    woke = record_woke(m)
    polled = threading.Semaphore(0)
    poller = Poller([m], lambda r: polled.release(), clock=clock, wake=wake)
    poller.start()
    try:
        assert polled.acquire(timeout=5)
        started = time.monotonic()
        wake.resume()
        assert polled.acquire(timeout=5), "the resume didn't poll"
        assert time.monotonic() - started < 5
        assert poller.wakes == 1 and woke == [clock.time()]
    finally:
        poller.stop(timeout=5)
    assert wake.stopped == 1


# -- the platform's sources ----------------------------------------------------------------


def test_the_sleep_counter_reads_real_clocks() -> None:
    counter = sleep_counter()
    if counter is None:
        pytest.skip("this platform has no pair of clocks that tell sleep apart")
    first = counter()
    assert 0 <= first  # (the clock that skips sleep is read first)
    assert counter() - first < 1  # nobody suspended this machine in between


def test_the_system_wake_source_is_quiet_without_a_bus(monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path: Any) -> None:
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", f"unix:path={tmp_path}/no-such-socket")
    source = system_wake()
    woke: list[int] = []
    source.start(lambda: woke.append(1))
    try:
        if source.listener is not None:
            source.listener.stop()  # joins: the thread ends on its own at the refused connect
            assert not source.listener.running
        assert not source.live and woke == []
    finally:
        source.stop()


# -- a fake logind on a private bus ---------------------------------------------------------


@dataclass
class Bus:
    address: str
    proc: subprocess.Popen[str]


@pytest.fixture
def bus() -> Iterator[Bus]:
    require([] if shutil.which("dbus-daemon") else ["dbus-daemon (apt install dbus)"],
            "the logind tests")
    proc = subprocess.Popen(
        ["dbus-daemon", "--session", "--nofork", "--nopidfile", "--print-address=1"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    assert proc.stdout is not None
    address = proc.stdout.readline().strip()
    try:
        assert address.startswith("unix:"), address
        yield Bus(address, proc)
    finally:
        proc.terminate()
        proc.wait(5)
        proc.stdout.close()


class FakeLogind:
    """A dbus-fast connection that owns org.freedesktop.login1 and emits PrepareForSleep;
    ``impostor`` emits the same signal without owning the name."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fake-logind")
        self.thread.start()
        self.owner = self._run(self._connect(own=True))
        self.impostor = self._run(self._connect(own=False))

    def _run(self, coro: Any) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(10)

    async def _connect(self, own: bool) -> Any:
        from dbus_fast.aio import MessageBus

        bus = await MessageBus(bus_address=self.address).connect()
        if own:
            await bus.request_name(LOGIND)
        return bus

    def prepare_for_sleep(self, going: bool, *, impostor: bool = False) -> None:
        from dbus_fast import Message

        bus = self.impostor if impostor else self.owner
        msg = Message.new_signal(LOGIND_PATH, LOGIND_MANAGER, "PrepareForSleep", "b", [going])

        async def send() -> None:
            await bus.send(msg)

        self._run(send())

    def quit(self) -> None:
        """logind stops: its name goes away."""
        self._run(self._disconnect(self.owner))

    def restart(self) -> None:
        self.owner = self._run(self._connect(own=True))

    async def _disconnect(self, bus: Any) -> None:
        bus.disconnect()
        await bus.wait_for_disconnect()

    def close(self) -> None:
        for bus in (self.owner, self.impostor):
            if bus.connected:
                self._run(self._disconnect(bus))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture
def logind(bus: Bus) -> Iterator[FakeLogind]:
    fake = FakeLogind(bus.address)
    try:
        yield fake
    finally:
        fake.close()


def wait_until(predicate: Any, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return bool(predicate())


def test_logind_resume_polls_every_monitor_within_five_seconds(logind: FakeLogind) -> None:
    clock = FakeClock()
    a, b = monitor("a", interval=3600), monitor("b", interval=3600)
    woke_a, woke_b = record_woke(a), record_woke(b)
    listener = LogindWake(logind.address)
    poller = Poller([a, b], Reports(), clock=clock, wake=SystemWake(listener))
    poller.start()
    try:
        assert listener.wait_live(5), "the listener never got onto the bus"
        assert wait_until(lambda: calls([a, b]) == [1, 1])
        logind.prepare_for_sleep(True)  # going to sleep: nothing to do yet
        logind.prepare_for_sleep(False)  # woke up
        started = time.monotonic()
        assert wait_until(lambda: calls([a, b]) == [2, 2]), "no poll after the resume"
        assert time.monotonic() - started < 5
        assert poller.wakes == 1 and listener.signals == 1
        assert len(woke_a) == len(woke_b) == 1
    finally:
        poller.stop(timeout=5)
    assert not listener.running and not listener.live


def test_a_prepare_for_sleep_from_anyone_but_logind_is_ignored(logind: FakeLogind) -> None:
    woke = threading.Event()
    listener = LogindWake(logind.address)
    listener.start(woke.set)
    try:
        assert listener.wait_live(5)
        logind.prepare_for_sleep(False, impostor=True)
        logind.prepare_for_sleep(True)  # from the owner: once it is heard, so was the first
        assert wait_until(lambda: listener.sleeps == 1)
        assert not woke.is_set() and listener.signals == 0
        logind.prepare_for_sleep(False)
        assert woke.wait(5)
    finally:
        listener.stop()


def test_when_logind_restarts_the_listener_follows_its_new_name(logind: FakeLogind) -> None:
    woke = threading.Event()
    listener = LogindWake(logind.address)
    listener.start(woke.set)
    try:
        assert listener.wait_live(5)
        logind.quit()
        logind.restart()  # a new connection owns org.freedesktop.login1
        logind.prepare_for_sleep(False)
        assert woke.wait(5), "the signal of logind's new owner was ignored"
    finally:
        listener.stop()


def test_without_logind_on_the_bus_the_listener_is_not_live(bus: Bus) -> None:
    listener = LogindWake(bus.address)
    listener.start(lambda: None)
    assert wait_until(lambda: not listener.running)
    assert not listener.live


def test_when_the_bus_goes_away_the_listener_is_no_longer_live(bus: Bus,
                                                                logind: FakeLogind) -> None:
    listener = LogindWake(bus.address)
    listener.start(lambda: None)
    try:
        assert listener.wait_live(5)
        bus.proc.terminate()  # the system bus restarts, say
        assert wait_until(lambda: not listener.live and not listener.running)
    finally:
        listener.stop()


# -- the wire format -------------------------------------------------------------------------


def test_a_method_call_reads_back() -> None:
    data = dbus_wire.method_call(7, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                 "org.freedesktop.DBus", "AddMatch", ("type='signal'",))
    msg = dbus_wire.parse_message(data)
    assert (msg.type, msg.serial, msg.member, msg.path) == (
        dbus_wire.METHOD_CALL, 7, "AddMatch", "/org/freedesktop/DBus")
    assert msg.body == ("type='signal'",)


@pytest.mark.parametrize("cut", [0, 5, 16, 40, -1])
def test_a_truncated_or_garbled_message_is_a_dbus_error(cut: int) -> None:
    data = dbus_wire.method_call(1, "a.b", "/a", "a.b", "M", ("x",))
    with pytest.raises(dbus_wire.DBusError):
        dbus_wire.parse_message(data[:cut])
    garbled = bytearray(data)
    garbled[3] = 9  # protocol version
    with pytest.raises(dbus_wire.DBusError):
        dbus_wire.parse_message(bytes(garbled))


def test_an_oversized_message_is_refused_before_it_is_read() -> None:
    start = bytearray(dbus_wire.method_call(1, "a.b", "/a", "a.b", "M")[:16])
    start[4:8] = (dbus_wire.MAX_BODY + 1).to_bytes(4, "little")
    with pytest.raises(dbus_wire.DBusError, match="oversized"):
        dbus_wire.parse_header(bytes(start))


@given(st.binary(max_size=300))
def test_the_parser_never_raises_anything_but_a_dbus_error(data: bytes) -> None:
    try:
        dbus_wire.parse_message(data)
    except dbus_wire.DBusError:
        pass


@given(st.integers(0, 200), st.integers(0, 255))
def test_a_flipped_byte_in_a_real_message_is_read_or_refused(at: int, value: int) -> None:
    data = bytearray(dbus_wire.method_call(3, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                           "org.freedesktop.DBus", "GetNameOwner", ("a.b",)))
    data[at % len(data)] = value
    try:
        dbus_wire.parse_message(bytes(data))
    except dbus_wire.DBusError:
        pass
