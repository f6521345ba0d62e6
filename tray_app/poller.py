"""The poll loop: a named thread that waits on an Event, so "check now" and quit act at once."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .clock import Clock, SystemClock
from .core.levels import Level
from .core.policy import Effect
from .monitor import Monitor, ServiceView, worst_view

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
    ) -> None:
        self.monitors = list(monitors)
        self.on_report = on_report
        self.clock = clock or SystemClock()
        self._wait = wait or (lambda event, timeout: event.wait(timeout))
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._check_now = threading.Event()
        self._due = {m.key: self.clock.monotonic() for m in self.monitors}
        self._offset = self.clock.time() - self.clock.monotonic()
        self._thread: threading.Thread | None = None
        self.iterations = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="poller", daemon=True)
        self._thread.start()

    def check_now(self) -> None:
        self._check_now.set()
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
        while not self._stop.is_set():
            delay = self.tick()
            if self._stop.is_set():
                break
            self._wait(self._wake, delay)
            self._wake.clear()

    def tick(self) -> float:
        """Poll whatever is due (everything after "check now" or a wake); return the wait."""
        self.iterations += 1
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

    def _woke(self, now: float, mono: float) -> bool:
        # The wall clock runs on through a suspend; the monotonic one doesn't.
        offset = now - mono
        jumped = abs(offset - self._offset) > 2 * min(m.interval for m in self.monitors)
        self._offset = offset
        if jumped:
            log.info("clock jump or wake from sleep detected; checking now")
        return jumped

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
