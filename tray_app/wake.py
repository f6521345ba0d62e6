"""Noticing that the machine has just woken from sleep, so the poller can check at once.

The poller waits on an ``Event`` with a timeout, and on every platform that wait can outlive a
suspend: on Linux it is measured on ``CLOCK_MONOTONIC``, which stops while the machine sleeps,
so it goes on for its remaining time after the resume (up to 10 min while backing off); since
Windows 8 wait timeouts leave out time spent asleep as well. So a wake is noticed in four ways,
each for a platform that needs it (the poller applies them, see :mod:`tray_app.poller`):

- **a resume signal**: logind's ``PrepareForSleep(false)`` on the system bus (Linux with
  systemd-logind or elogind). It arrives the moment the machine resumes and costs no wake-up
  while idle. While it is being listened for, the poller's waits are not cut short.
- **a sleep counter**: the time the machine has spent suspended, read from a clock that counts
  sleep minus one that doesn't (Linux ``CLOCK_BOOTTIME`` - ``CLOCK_MONOTONIC``, macOS
  ``CLOCK_MONOTONIC_RAW`` - ``CLOCK_UPTIME_RAW``). Setting the wall clock never moves it.
- **a wait that ended far later than it asked** (Windows, whose monotonic clock counts a
  suspend).
- **the wall clock jumping** against the monotonic one (any platform; also how a FakeClock
  simulates a suspend).

Without a live resume signal the poller checks these every :data:`CHECK_EVERY` seconds, a few
wake-ups a minute that cost microseconds each.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import Protocol

from . import dbus_wire

log = logging.getLogger(__name__)

CHECK_EVERY = 20.0  # the longest wait without a live resume signal: 3 wake-ups a minute
SLEPT_MIN = 2.0  # the sleep counter moved more than this: the machine was suspended
OVERSLEEP = 10.0  # a wait that ended this much later than it asked for spanned a suspend

LOGIND = "org.freedesktop.login1"
LOGIND_PATH = "/org/freedesktop/login1"
LOGIND_MANAGER = "org.freedesktop.login1.Manager"
SLEEP_MATCH = (f"type='signal',sender='{LOGIND}',path='{LOGIND_PATH}',"
               f"interface='{LOGIND_MANAGER}',member='PrepareForSleep'")
OWNER_MATCH = (f"type='signal',sender='{dbus_wire.BUS_NAME}',interface='{dbus_wire.BUS_NAME}',"
               f"member='NameOwnerChanged',arg0='{LOGIND}'")


class WakeSource(Protocol):
    """Tells the poller about resumes: by calling ``on_wake`` at once, or by a sleep counter."""

    def start(self, on_wake: Callable[[], None]) -> None: ...

    def stop(self) -> None: ...

    @property
    def live(self) -> bool:
        """True while a resume is reported the moment it happens (waits need no cutting)."""
        ...

    def slept(self) -> float:
        """Seconds the machine has spent suspended so far; 0.0 where it can't tell."""
        ...


def sleep_counter() -> Callable[[], float] | None:
    """Seconds spent suspended since boot, from two clocks; None where there is no such pair."""
    if sys.platform.startswith("linux"):
        pair = (getattr(time, "CLOCK_BOOTTIME", None), getattr(time, "CLOCK_MONOTONIC", None))
    elif sys.platform == "darwin":
        pair = (getattr(time, "CLOCK_MONOTONIC_RAW", None),
                getattr(time, "CLOCK_UPTIME_RAW", None))
    else:
        return None
    with_sleep, without_sleep = pair
    if with_sleep is None or without_sleep is None:
        return None
    try:
        time.clock_gettime(with_sleep)
        time.clock_gettime(without_sleep)
    except OSError:
        return None

    def slept() -> float:
        without = time.clock_gettime(without_sleep)  # first, so the difference is never < 0
        return time.clock_gettime(with_sleep) - without

    return slept


class LogindWake:
    """Listens for logind's ``PrepareForSleep`` on the system bus, in a thread of its own.

    The thread blocks on the bus socket, so it costs nothing while nothing happens. Only the
    signal from the name's current owner counts (any program on the bus may send a signal
    with logind's path and member to us). When there is no bus or no logind, or the bus goes
    away, :attr:`live` is false and the poller falls back to checking the clocks.
    """

    def __init__(self, address: str | None = None, timeout: float = 5.0) -> None:
        self.address = address or dbus_wire.system_bus_address()
        self.timeout = timeout
        self._live = threading.Event()
        self._stopped = threading.Event()
        self._conn: dbus_wire.Connection | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.signals = 0  # resumes reported
        self.sleeps = 0  # "going to sleep" heard

    @property
    def live(self) -> bool:
        return self._live.is_set()

    def slept(self) -> float:
        return 0.0

    def wait_live(self, timeout: float) -> bool:
        return self._live.wait(timeout)

    def start(self, on_wake: Callable[[], None]) -> None:
        self._thread = threading.Thread(target=self._run, args=(on_wake,),
                                        name="wake-listener", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stopped.set()
        with self._lock:
            conn = self._conn
        if conn is not None:
            conn.shutdown()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self, on_wake: Callable[[], None]) -> None:
        try:
            conn = dbus_wire.Connection(self.address, self.timeout)
        except (OSError, dbus_wire.DBusError) as exc:
            log.info("no resume signal from logind (%s: %s); checking the clocks every %g s",
                     self.address, exc, CHECK_EVERY)
            return
        with self._lock:
            if self._stopped.is_set():
                conn.close()
                return
            self._conn = conn
        try:
            self._listen(conn, on_wake)
        except (OSError, dbus_wire.DBusError) as exc:
            if not self._stopped.is_set():
                log.warning("stopped hearing logind (%s); checking the clocks every %g s",
                            exc, CHECK_EVERY)
        finally:
            self._live.clear()
            with self._lock:
                self._conn = None
            conn.close()

    def _listen(self, conn: dbus_wire.Connection, on_wake: Callable[[], None]) -> None:
        bus = (dbus_wire.BUS_NAME, dbus_wire.BUS_PATH, dbus_wire.BUS_NAME)
        conn.call(*bus, "AddMatch", OWNER_MATCH)  # before asking, so no change is missed
        conn.call(*bus, "AddMatch", SLEEP_MATCH)
        try:
            owner = str(conn.call(*bus, "GetNameOwner", LOGIND)[0])
        except dbus_wire.DBusError as exc:
            log.info("logind isn't on the system bus (%s); checking the clocks every %g s",
                     exc, CHECK_EVERY)
            return
        self._live.set()
        log.info("listening for logind's resume signal")
        while True:
            msg = conn.receive()
            if msg.type != dbus_wire.SIGNAL or not msg.body:
                continue
            if (msg.member == "NameOwnerChanged" and msg.sender == dbus_wire.BUS_NAME
                    and len(msg.body) == 3 and msg.body[0] == LOGIND):
                owner = str(msg.body[2])  # "" while logind is gone
                log.info("logind is now %s", owner or "gone")
            elif (msg.member == "PrepareForSleep" and msg.interface == LOGIND_MANAGER
                  and msg.path == LOGIND_PATH and owner and msg.sender == owner):
                if msg.body == (True,):
                    self.sleeps += 1
                    log.info("the machine is going to sleep")
                elif msg.body == (False,):
                    self.signals += 1
                    log.info("the machine has woken up")
                    on_wake()


class SystemWake:
    """The platform's wake sources together: a resume signal and/or a sleep counter."""

    def __init__(self, listener: LogindWake | None = None,
                 counter: Callable[[], float] | None = None) -> None:
        self.listener = listener
        self.counter = counter

    @property
    def live(self) -> bool:
        return self.listener is not None and self.listener.live

    def slept(self) -> float:
        return self.counter() if self.counter is not None else 0.0

    def start(self, on_wake: Callable[[], None]) -> None:
        if self.listener is not None:
            self.listener.start(on_wake)

    def stop(self) -> None:
        if self.listener is not None:
            self.listener.stop()


def system_wake() -> SystemWake:
    listener = LogindWake() if sys.platform.startswith("linux") else None
    return SystemWake(listener, sleep_counter())


class FakeWake:
    """A wake source tests (and ``replay``) drive by hand."""

    def __init__(self, live: bool = False) -> None:
        self._live = live
        self.asleep = 0.0
        self.on_wake: Callable[[], None] | None = None
        self.started = self.stopped = 0

    @property
    def live(self) -> bool:
        return self._live

    @live.setter
    def live(self, value: bool) -> None:
        self._live = value

    def slept(self) -> float:
        return self.asleep

    def start(self, on_wake: Callable[[], None]) -> None:
        self.on_wake = on_wake
        self.started += 1

    def stop(self) -> None:
        self.stopped += 1

    def suspend(self, seconds: float) -> None:
        """The machine slept this long (the sleep counter moves; nothing is signalled)."""
        self.asleep += seconds

    def resume(self) -> None:
        """logind says the machine just woke up."""
        if self.on_wake is not None:
            self.on_wake()
