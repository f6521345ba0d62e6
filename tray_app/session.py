"""What every long-running mode (tray and ``watch``) does with the poller's reports:
gate and send notifications, keep the outage history, and save the state that survives a
restart. It applies effects; the decisions were made by the core."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace

from .clock import Clock, SystemClock
from .core.persist import restored, signature
from .core.policy import EpisodeEnded, Notify, QuietRecovery
from .core.prefs import Prefs, gate
from .history import Episode, HistoryStore
from .monitor import Monitor, ServiceView
from .poller import Report
from .state import Saved, StateStore

log = logging.getLogger(__name__)

Send = Callable[[str, str], None]
Sent = Callable[[Notify, ServiceView], None]


class Session:
    def __init__(
        self,
        monitors: Sequence[Monitor],
        *,
        send: Send | None = None,
        prefs: Prefs | None = None,
        store: StateStore | None = None,
        history: HistoryStore | None = None,
        clock: Clock | None = None,
        on_change: Callable[[], None] | None = None,
        on_sent: Sent | None = None,
    ) -> None:
        self.monitors = list(monitors)
        self.send = send
        self.on_sent = on_sent  # told of every notification that passed the gate (--jsonl)
        self.prefs = prefs or Prefs()
        self.store = store
        self.history = history
        self.clock = clock or SystemClock()
        self.on_change = on_change
        self.views: tuple[ServiceView, ...] = tuple(m.view() for m in self.monitors)
        self._lock = threading.RLock()
        self._alerts: list[dict[str, object]] = []
        self._alert_count = 0  # the list is capped, so its length can't tell a new alert
        self._saved_sig: object = None
        self._open: dict[str, tuple[object, ...]] = {}
        self._last_seen: dict[str, float] = {}  # per service: when the last run saw trouble
        self._reconciled: set[str] = set()

    def restore(self) -> None:
        """Apply what the last run saved: alert state, page and component ids, pause, armed
        alert."""
        if self.store is None:
            return
        saved = self.store.load()
        now = self.clock.time()
        for m in self.monitors:
            before = saved.services.get(m.key)
            if before is not None:
                m.state = restored(before, saved.saved_at, now)
            last = before.last_bad_at if before is not None else None
            self._last_seen[m.key] = last or saved.saved_at
            page_id = saved.page_ids.get(m.key)
            if page_id and hasattr(m.source, "page_id") and not m.source.page_id:
                m.source.page_id = page_id
            m.apply_learned_ids(saved.component_ids.get(m.key, {}))
        self.prefs = replace(self.prefs, paused_until=saved.paused_until, armed=saved.armed)
        self._alerts = list(saved.alerts)
        self.views = tuple(m.view() for m in self.monitors)

    def set_prefs(self, prefs: Prefs) -> None:
        self.update_prefs(lambda _old: prefs)

    def update_prefs(self, change: Callable[[Prefs], Prefs]) -> Prefs:
        """Change the preferences from another thread (the menu): read and written under the
        lock the poller's reports hold, so what a report changed in between (an armed alert
        that fired and disarmed) is never written back over."""
        with self._lock:
            self.prefs = prefs = change(self.prefs)
            self.save(force=True)
        self._changed()
        return prefs

    def __call__(self, report: Report) -> None:
        with self._lock:
            now = self.clock.time()
            monitor = next((m for m in self.monitors if m.key == report.service.key), None)
            for effect in report.effects:
                if isinstance(effect, QuietRecovery) and self.prefs.armed_for(report.service.key):
                    self._notify(effect.note, now, report.service)
                elif isinstance(effect, Notify):
                    self._notify(effect, now, report.service)
                elif isinstance(effect, EpisodeEnded) and self.history is not None:
                    self._close_episode(report.service, effect)
            if monitor is not None and self.history is not None:
                self._track_episode(monitor, report.service)
            self.views = report.services
            self.save()
        self._changed()

    def _notify(self, note: Notify, now: float, view: ServiceView) -> None:
        allowed, self.prefs = gate(self.prefs, note, now, view.key)
        self._alerts.append({"at": now, "kind": note.kind.value, "title": note.title,
                             "sent": allowed})
        del self._alerts[:-50]
        self._alert_count += 1
        if allowed and self.on_sent is not None:
            try:
                self.on_sent(note, view)
            except Exception:  # noqa: BLE001 - a presenter failing must not stop the alert
                log.exception("presenting a notification failed")
        if allowed and self.send is not None:
            try:
                self.send(note.title, note.body)
            except Exception:  # noqa: BLE001 - a failure to notify is logged, never fatal
                log.exception("sending a notification failed")
        elif not allowed:
            log.info("notification held back by the user's settings: %s", note.title)

    def _track_episode(self, m: Monitor, view: ServiceView) -> None:
        start = m.state.episode_start
        if start is None:
            self._open.pop(m.key, None)
            if m.key not in self._reconciled and m.assessment is not None:
                self._reconciled.add(m.key)  # once the page has told us the service's name
                self._close_stale(view.name, self._last_seen.get(m.key, 0.0))
            return
        a = view.assessment
        components = tuple(c.name for c in a.watched if c.level.is_problem) if a else ()
        incidents = tuple(i.name for i in a.incidents) if a else ()
        sig = (start, m.state.episode_worst, components, incidents)
        if self._open.get(m.key) == sig:
            return
        self._open[m.key] = sig
        assert self.history is not None
        self.history.open(Episode(view.name, start, None, m.state.episode_worst.value,
                                  components, incidents))

    def _close_stale(self, service: str, last_seen: float) -> None:
        """End an episode the history still shows as ongoing while the restored state has none
        (too old to restore, or the state file was lost) where it was last seen: otherwise it
        would count as downtime, "ongoing", for ever."""
        assert self.history is not None
        for e in self.history.episodes():
            if e.service == service and e.end is None:
                log.info("closing the %s outage left open by the last run", service)
                self.history.close(service, e.start, max(e.start, last_seen), e.worst, True)

    def _close_episode(self, view: ServiceView, ended: EpisodeEnded) -> None:
        assert self.history is not None
        a = view.assessment
        incidents = tuple(i.name for i in a.incidents) if a else ()
        self.history.close(view.name, ended.start, ended.end, ended.worst.value,
                           ended.lower_bound, incidents=incidents)
        self._open.pop(view.key, None)

    def save(self, force: bool = False) -> None:
        if self.store is None:
            return
        services = {m.key: m.state for m in self.monitors}
        page_ids = {m.key: str(getattr(m.source, "page_id", "") or "") for m in self.monitors}
        component_ids = {m.key: m.learned_ids() for m in self.monitors}
        # Only what matters after a restart decides whether to write: not every poll. The last
        # bad reading moves at every poll of an outage; it is saved to the nearest few minutes
        # (and exactly on quit).
        sig = (
            tuple((k, signature(s)) for k, s in services.items()),
            tuple(page_ids.items()), self.prefs.paused_until, self.prefs.armed,
            self._alert_count, tuple((k, tuple(v.items())) for k, v in component_ids.items()),
        )
        if sig == self._saved_sig and not force:
            return
        self._saved_sig = sig
        self.store.save(Saved(services, page_ids, self.prefs.paused_until, self.prefs.armed,
                              tuple(self._alerts), self.clock.time(), component_ids))

    def _changed(self) -> None:
        if self.on_change is not None:
            try:
                self.on_change()
            except Exception:  # noqa: BLE001
                log.exception("updating the presenters failed")
