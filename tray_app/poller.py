"""The poll loop: a named thread that waits on an Event, so "check now" and quit act at once.

After a wake from sleep it polls at once. How a wake is noticed on each platform is told in
:mod:`tray_app.wake`; here the rules meet in :meth:`Poller.tick` (a resume signal, the sleep
counter, the wall clock jumping) and :meth:`Poller.run` (a wait that ended far too late).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .clock import Clock, SystemClock
from .core.levels import Level
from .core.policy import Effect
from .monitor import Monitor, ServiceView, worst_view
from .wake import CHECK_EVERY, OVERSLEEP, SLEPT_MIN, WakeSource

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Report:
    """One poll of one service, and how everything looks after it."""

    service: ServiceView
    ok: bool
    effects: tuple[Effect, ...]
    services: tuple[ServiceView, ...]

    @property
    def level(self) -> Level:
        return worst_view(list(self.services))


class Poller:
    def __init__(
        self,
        monitors: Sequence[Monitor],
        on_report: Callable[[Report], None],
        clock: Clock | None = None,
        wait: Callable[[threading.Event, float], bool] | None = None,
        wake: WakeSource | None = None,
        check_every: float = CHECK_EVERY,
    ) -> None:
        self.monitors = list(monitors)
        self.on_report = on_report
        self.clock = clock or SystemClock()
        self._wait = wait or (lambda event, timeout: event.wait(timeout))
        self.wake_source = wake
        self.check_every = check_every
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._check_now = threading.Event()
        self._resumed = threading.Event()
        self._inbox: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._due = {m.key: self.clock.monotonic() for m in self.monitors}
        self._offset = self.clock.time() - self.clock.monotonic()
        self._slept = wake.slept() if wake is not None else 0.0
        self._thread: threading.Thread | None = None
        self.iterations = 0
        self.wakes = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="poller", daemon=True)
        self._thread.start()

    def check_now(self) -> None:
        self._check_now.set()
        self._wake.set()

    def post(self, change: Callable[[], None]) -> None:
        """Run ``change`` on the polling thread before the next poll, then poll everything.

        This is how the menu changes what a poll reads and writes (a monitor's watch): the
        change waits for the poll in progress instead of racing it, and the UI never blocks.
        """
        self._inbox.put(change)
        self.check_now()

    def resumed(self) -> None:
        """The machine just woke up (a wake source says so, from any thread): poll at once."""
        self._resumed.set()
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def run(self) -> None:
        if self.wake_source is not None:
            self.wake_source.start(self.resumed)
        try:
            while not self._stop.is_set():
                delay = self.tick()
                if self._stop.is_set():
                    break
                self._sleep(delay)
        finally:
            if self.wake_source is not None:
                self.wake_source.stop()

    def _sleep(self, delay: float) -> None:
        # Without a live resume signal nothing would end a wait that outlives a suspend, so
        # it is cut into slices and the clocks compared at each (in tick).
        live = self.wake_source is not None and self.wake_source.live
        asked = delay if live else min(delay, self.check_every)
        started = self.clock.monotonic()
        self._wait(self._wake, asked)
        self._wake.clear()
        took = self.clock.monotonic() - started
        if took > asked + OVERSLEEP:  # Windows: its monotonic clock runs on through a suspend
            log.info("a %.0f s wait took %.0f s: the machine slept", asked, took)
            self._resumed.set()

    def tick(self) -> float:
        """Poll whatever is due (everything after "check now" or a wake); return the wait."""
        self.iterations += 1
        self._apply_posted()
        mono = self.clock.monotonic()
        now = self.clock.time()
        everything = self._check_now.is_set()
        self._check_now.clear()
        if self._woke(now, mono):
            everything = True
            for m in self.monitors:
                effects = m.woke(now)
                if effects:  # a wake is not a poll: report it only if it changed something
                    self._emit(m, True, effects)
        for m in self.monitors:
            if self._stop.is_set():
                break
            if everything or mono >= self._due[m.key]:
                self._poll(m)
        mono = self.clock.monotonic()
        return max(0.0, min(self._due[m.key] for m in self.monitors) - mono)

    def _apply_posted(self) -> None:
        while True:
            try:
                change = self._inbox.get_nowait()
            except queue.Empty:
                return
            try:
                change()
            except Exception:  # noqa: BLE001 - a bad change must not stop polling
                log.exception("applying a change from the menu failed")

    def _woke(self, now: float, mono: float) -> bool:
        signalled = self._resumed.is_set()
        self._resumed.clear()
        # The wall clock runs on through a suspend; the monotonic one doesn't.
        offset = now - mono
        jumped = abs(offset - self._offset) > 2 * min(m.interval for m in self.monitors)
        self._offset = offset
        slept = self.wake_source.slept() if self.wake_source is not None else 0.0
        asleep, self._slept = slept - self._slept, slept
        suspended = asleep > SLEPT_MIN
        if suspended:
            log.info("woke from sleep (%.0f s asleep); checking now", asleep)
        elif jumped:
            log.info("clock jump or wake from sleep detected; checking now")
        if signalled or jumped or suspended:
            self.wakes += 1
            return True
        return False

    def _poll(self, m: Monitor) -> None:
        try:
            fetched, effects = m.poll(self.clock.time())
            ok = fetched.ok
        except Exception as exc:  # noqa: BLE001 - a bug in one poll must not kill the loop
            log.exception("poll of %s failed", m.key)
            # Still a failed poll for the policy: it counts, backs off and turns grey.
            ok, effects = False, m.internal_error(self.clock.time(), exc)
        self._due[m.key] = self.clock.monotonic() + m.next_delay()
        self._emit(m, ok, effects)

    def _emit(self, m: Monitor, ok: bool, effects: list[Effect]) -> None:
        views = tuple(x.view() for x in self.monitors)
        report = Report(views[self.monitors.index(m)], ok, tuple(effects), views)
        try:
            self.on_report(report)
        except Exception:  # noqa: BLE001 - a presenter bug must not stop polling
            log.exception("presenting a report failed")
