"""The tray's glue: turns the session's state into a :class:`TrayModel`, and menu actions into
changes of settings. Menu callbacks arrive here on the UI thread and only set flags, change
preferences or hand work to the poller.

Shared state has one owner each: the preferences are changed under the session's lock (the one
the poller's reports hold), and what a poll reads and writes (a monitor's watch) is changed on
the polling thread, between polls, through :meth:`Poller.post`. The settings file is written
under this controller's lock, from either thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

from . import config as config_mod
from .atomic import keep_aside
from .clock import Clock, SystemClock
from .config import Config
from .core.assess import Selector, Watch
from .core.models import parse_filter
from .core.prefs import Prefs, next_morning
from .core.urls import safe_link
from .menu import Extras, TrayModel, build
from .poller import Poller
from .session import Session

log = logging.getLogger(__name__)


class Tray(Protocol):
    def update(self, model: TrayModel) -> None: ...

    def stop(self) -> None: ...


class Autostart(Protocol):
    def enabled(self) -> bool: ...

    def set(self, on: bool) -> None: ...


class TrayController:
    def __init__(
        self,
        session: Session,
        poller: Poller,
        cfg: Config,
        file_cfg: Config | None = None,
        *,
        config_path: Path | None = None,
        config_broken: bool = False,
        autostart: Autostart | None = None,
        open_url: Callable[[str], object] | None = None,
        show_chart: Callable[[], None] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.session = session
        self.poller = poller
        self.cfg = cfg
        # What the file says: flags given for this run are never written back into it.
        self.file_cfg = file_cfg if file_cfg is not None else cfg
        self.config_path = config_path
        self.config_broken = config_broken
        self.autostart = autostart
        self.open_url = open_url or _open_in_browser
        self.show_chart = show_chart
        self.clock = clock or SystemClock()
        self.tray: Tray | None = None
        self._lock = threading.Lock()
        self.quitting = threading.Event()

    def model(self) -> TrayModel:
        auto = None
        if self.autostart is not None:
            try:
                auto = self.autostart.enabled()
            except OSError:
                auto = None
        history: tuple[str, ...] = ()
        if self.session.history is not None:
            from .history import summary_lines

            history = tuple(summary_lines(self.session.history.episodes(), self.clock.time()))
        return build(self.session.views, self.session.prefs, self.clock.time(),
                     Extras(autostart=auto, history=history, hint_enabled=self.cfg.reachability))

    def refresh(self) -> None:
        if self.tray is not None:
            self.tray.update(self.model())

    # Menu actions -------------------------------------------------------------------------

    def on_action(self, action: str, arg: str = "") -> None:
        log.info("menu: %s %s", action, arg)
        handler = getattr(self, f"_do_{action}", None)
        if handler is None:
            log.warning("unknown menu action %r", action)
            return
        handler(arg)
        if action != "quit":
            self.refresh()

    def _do_check_now(self, _arg: str) -> None:
        self.poller.check_now()

    def _do_quit(self, _arg: str) -> None:
        self.quitting.set()
        self.poller.stop(timeout=0)
        if self.tray is not None:
            self.tray.stop()

    def _do_open_page(self, key: str) -> None:
        view = next((v for v in self.session.views if v.key == key), None)
        view = view or (self.session.views[0] if self.session.views else None)
        if view is not None:
            self._open(view.url, view.links)

    def _do_open_url(self, url: str) -> None:
        hosts = frozenset().union(*(v.links for v in self.session.views))
        self._open(url, hosts)

    def _open(self, url: str, hosts: frozenset[str]) -> None:
        if not safe_link(url, hosts):
            log.warning("refused to open %r: only https links to the status page open", url)
            return
        self.open_url(url)

    def _prefs(self, change: Callable[[Prefs], Prefs]) -> Prefs:
        # Read and written under the session's lock: never over what a report just changed.
        return self.session.update_prefs(change)

    def _do_toggle_notifications(self, _arg: str) -> None:
        prefs = self._prefs(lambda p: replace(p, enabled=not p.enabled))
        self._save_config(notifications=prefs.enabled)

    def _do_pause_1h(self, _arg: str) -> None:
        self._pause_until(self.clock.time() + 3600)

    def _do_pause_tomorrow(self, _arg: str) -> None:  # "Pause until 08:00": the next 08:00
        self._pause_until(next_morning(self.clock.time()))

    def _do_resume(self, _arg: str) -> None:
        self._pause_until(0.0)

    def _pause_until(self, until: float) -> None:
        self._prefs(lambda p: replace(p, paused_until=until))
        # The pause lives in the state file. When the settings file carries one too
        # (paused_until), it is kept in agreement, so a restart can't bring back a pause the
        # menu ended.
        if self.file_cfg.paused_until:
            self._save_config(paused_until=until)

    def _do_arm(self, key: str) -> None:
        """Toggle "notify me when it's back" for one service (the one the menu entry is for)."""
        key = key or (self.session.views[0].key if self.session.views else "")
        self._prefs(lambda p: p.arm(key, not p.armed_for(key)))

    def _do_toggle_model(self, key: str) -> None:
        """A model chosen or dropped in the Models submenu ("" watches every model again); on
        the polling thread, like a component toggle, then a check at once."""
        self.poller.post(lambda: self._toggle_model(key))

    def _toggle_model(self, key: str) -> None:
        monitor = self.session.monitors[0] if self.session.monitors else None
        if monitor is None:
            return
        chosen = [m.key for m in monitor.models.entries] if monitor.models else []
        if not key:
            chosen = []
        elif key in chosen:
            chosen.remove(key)
        else:
            chosen.append(key)
        try:
            monitor.models = parse_filter(chosen) if chosen else None
        except ValueError as exc:  # a key the menu offered always parses; never trust it
            log.warning("model %r: %s", key, exc)
            return
        if self.cfg.url == self.file_cfg.url:  # not a page named only on the command line
            self._save_config(models=tuple(chosen))

    def _do_toggle_autostart(self, _arg: str) -> None:
        if self.autostart is None:
            return
        on = not self.autostart.enabled()
        try:
            self.autostart.set(on)
        except OSError as exc:
            log.warning("can't change start at login: %s", exc)
            return
        self._save_config(autostart=on)

    def _do_show_chart(self, _arg: str) -> None:
        if self.show_chart is not None:
            threading.Thread(target=self.show_chart, name="chart", daemon=True).start()

    def _do_toggle_component(self, arg: str) -> None:
        key, _, component_id = arg.partition("\t")
        if not component_id or not any(m.key == key for m in self.session.monitors):
            return
        # A poll reads the monitor's watch and writes back the ids it learned: change it on
        # the polling thread, between two polls (the next one follows at once).
        self.poller.post(lambda: self._toggle_component(key, component_id))

    def _toggle_component(self, key: str, component_id: str) -> None:
        """On the polling thread."""
        monitor = next((m for m in self.session.monitors if m.key == key), None)
        if monitor is None or monitor.assessment is None:
            return
        comps = monitor.assessment.components
        watched = {c.id for c in comps if c.watched}
        watched ^= {component_id}
        chosen = tuple(Selector(name=c.name, id=c.id) for c in comps if c.id in watched)
        if not chosen:  # an empty choice would mean "watch everything"
            log.info("the last watched component stays checked")
            return
        # Saved by id, so a renamed component stays watched.
        monitor.watch = Watch(include=chosen)
        if key == self.session.monitors[0].key:
            if self.cfg.url == self.file_cfg.url:  # not a page named only on the command line
                self._save_config(components=chosen)
        elif any(s.key == key for s in self.file_cfg.extra_services):
            extras = tuple(replace(s, components=chosen, exclude=()) if s.key == key else s
                           for s in self.file_cfg.extra_services)
            self._save_config(extra_services=extras)

    def _save_config(self, **changes: Any) -> None:
        with self._lock:  # from the UI thread, and from the polling thread (components)
            self.cfg = replace(self.cfg, **changes)
            self.file_cfg = cfg = replace(self.file_cfg, **changes)
            if self.config_path is None:
                return
            try:
                if self.config_broken:
                    moved = keep_aside(self.config_path)
                    log.warning("the broken config file was kept aside as %s", moved)
                    self.config_broken = False
                config_mod.save(cfg, self.config_path)
            except OSError as exc:
                log.warning("can't save settings to %s: %s", self.config_path, exc)


def _open_in_browser(url: str) -> object:
    import webbrowser  # only when the user clicks: it pulls in shlex, subprocess...

    return webbrowser.open(url)
