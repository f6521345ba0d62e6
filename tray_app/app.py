"""Composition root: wires config, logging, sources, the poller, the core and the presenters.

Nothing else constructs collaborators; everything below receives what it needs.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from . import APP_ID
from . import config as config_mod
from .clock import Clock, SystemClock
from .config import Config, ServiceConfig
from .console import EXIT_CODES, ConsolePresenter, check_json, iso, one_line, waybar
from .core.assess import Selector
from .core.levels import Level
from .core.model import Failure
from .core.models import FAMILIES, parse_filter
from .core.policy import PolicyConfig
from .core.prefs import Prefs
from .core.urls import INCIDENTS_PATH, BadURL, host_of, is_loopback, page_base
from .http import HttpClient, json_get_headers
from .monitor import Monitor, Source
from .source import StatuspageSource

if TYPE_CHECKING:  # the long-running modes' parts load with them: `check` stays light
    from .autostart import Autostart
    from .core.policy import Notify
    from .demo import DemoCycle, StatusServer
    from .monitor import ServiceView
    from .notifier import Notifier, TrayBalloonBackend
    from .poller import Poller, Report
    from .replay import Line, ReplaySource
    from .session import Session
    from .store import Database

log = logging.getLogger(__name__)

EX_USAGE = 64
EX_TIMEOUT = 124


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit 64."""


@dataclass(frozen=True)
class Options:
    url: str | None = None
    interval: float | None = None
    components: str | None = None
    demo: bool = False
    config_path: Path | None = None
    verbose: bool = False
    models: str | None = None


@dataclass(frozen=True)
class AppPaths:
    config: Path
    data: Path
    logs: Path

    @classmethod
    def default(cls) -> AppPaths:
        import platformdirs

        name = "claude-status-tray"
        return cls(
            config=Path(platformdirs.user_config_dir(name, appauthor=False)) / "config.toml",
            data=Path(platformdirs.user_data_dir(name, appauthor=False)),
            logs=Path(platformdirs.user_log_dir(name, appauthor=False)),
        )


def split_names(text: str) -> tuple[Selector, ...]:
    return tuple(Selector.parse(n) for n in text.split(",") if n.strip())


def resolve_config(opts: Options, paths: AppPaths, err: TextIO) -> Config:
    """The config file (problems reported, never fatal) with the command line on top."""
    cfg, problems = config_mod.load(opts.config_path or paths.config)
    for line in problems:
        print(f"warning: {line}", file=err)
        log.warning("%s", line)
    for line in cfg.notes:
        print(f"note: {line}", file=err)
        log.info("%s", line)
    changes: dict[str, object] = {}
    if opts.url is not None:
        try:
            changes["url"] = page_base(opts.url)
        except BadURL as exc:
            raise UsageError(str(exc)) from exc
        changes["extra_services"] = ()  # a page named on the command line is the one to watch
    if opts.components is not None:
        names = split_names(opts.components)
        if not names:
            raise UsageError("--components needs at least one component name")
        changes["components"] = names
    if opts.interval is not None:
        if opts.interval <= 0:
            raise UsageError("--interval must be a positive number of seconds")
        changes["interval"] = opts.interval
    if opts.models is not None:
        try:
            chosen = parse_filter(opts.models)
        except ValueError as exc:
            raise UsageError(f"--models: {exc}") from exc
        changes["models"] = tuple(m.key for m in chosen.entries)
    return replace(cfg, **changes)  # type: ignore[arg-type]


def effective_interval(interval: float, url: str, err: TextIO | None = None) -> float:
    loopback = is_loopback(host_of(url))
    floor = 1.0 if loopback else 30.0
    if interval < floor:
        if err is not None:
            print(f"note: interval raised to the {floor:g} s floor for {host_of(url)}", file=err)
        return floor
    return interval


def make_monitor(
    svc: ServiceConfig,
    cfg: Config,
    client: HttpClient,
    *,
    policy: PolicyConfig | None = None,
    clock: Clock | None = None,
    err: TextIO | None = None,
) -> Monitor:
    from .config import DEFAULT_REACHABILITY
    from .probes import OnlineCheck, ReachabilityProbe

    clock = clock or SystemClock()
    source = StatuspageSource(
        svc.url, client, page_id=svc.page_id, aliases=svc.aliases,
        mirror_template=cfg.mirror, clock=clock.monotonic, wall=clock.time,
    )
    # The hint probes Claude itself, so it runs for Claude's page (or for the hosts the user
    # configured), never for some other service's page.
    main = svc.url == cfg.url
    custom = cfg.reachability_urls != DEFAULT_REACHABILITY
    reach = None
    if cfg.reachability and main and (svc.key == "claude" or custom):
        try:
            reach = ReachabilityProbe(client, cfg.reachability_urls)
        except BadURL as exc:
            print(f"warning: reachability hint off: {exc}", file=err or sys.stderr)
    try:
        # Through a proxy, the check asks the proxy rather than the open internet.
        online: OnlineCheck | None = OnlineCheck(
            cfg.online_check, proxy=lambda: client.proxy_for(svc.url))
    except ValueError as exc:
        print(f"warning: connectivity check off: {exc}", file=err or sys.stderr)
        online = None
    from .recent import RecentIncidents

    recent = RecentIncidents(lambda: source.mirror_base if source.using_mirror else source.base,
                             client, clock=clock.monotonic, wall=clock.time,
                             aliases=svc.aliases)
    return _monitor(
        svc, cfg, source, policy or cfg.policy(), err,
        recent=recent,
        # Claude's page: offer its model families in the menu before any incident names them.
        model_families=tuple(FAMILIES) if svc.key == "claude" else (),
        online_check=online,
        reach=reach,
    )


def _monitor(svc: ServiceConfig, cfg: Config, source: Source, policy: PolicyConfig,
             err: TextIO | None = None, **adapters: Any) -> Monitor:
    """A monitor of ``svc`` with the settings of ``cfg``: its interval in the policy's time
    rules, and the model filter on the main page only (it is about Claude's models, not the
    other services')."""
    interval = effective_interval(cfg.interval, svc.url, err)
    return Monitor(
        key=svc.key or host_of(svc.url),
        name=svc.name or host_of(svc.url),
        name_from_page=not svc.name,
        source=source,
        watch=svc.watch,
        policy=replace(policy, timing=replace(policy.timing, interval=interval)),
        interval=interval,
        models=parse_filter(cfg.models) if cfg.models and svc.url == cfg.url else None,
        **adapters,
    )


def run_check(opts: Options, paths: AppPaths, out: TextIO, err: TextIO, *, as_json: bool,
              as_waybar: bool = False) -> int:
    cfg = resolve_config(opts, paths, err)
    client = HttpClient(proxy=cfg.proxy)
    # One poll decides: a single failure is already "unknown" here, and nothing notifies.
    policy = cfg.policy()
    policy = replace(policy, timing=replace(policy.timing, failure_threshold=1))
    try:
        monitor = make_monitor(cfg.main_service(), cfg, client, policy=policy, err=None)
        monitor.reach = None  # the hint needs several polls; one check can't give it
        now = time.time()
        fetched, _ = monitor.poll(now)
    finally:
        client.close()
    failure = fetched.failure
    if failure is not None and _not_a_statuspage(failure):
        print(f"error: {monitor.source.base} is not a Statuspage: {failure.message}", file=err)
        return EX_USAGE
    view = monitor.view()
    a = view.assessment if fetched.ok else None
    error = view.reason if failure is not None else None
    if as_waybar:
        print(_dumps(waybar(view)), file=out)
    elif as_json:
        print(_dumps(check_json(monitor.source.base, view.level, a, now, error,
                                view.estimates)), file=out)
    else:
        print(one_line(view), file=out)
    return EXIT_CODES[view.level]


def _not_a_statuspage(failure: object) -> bool:
    from .core.model import Failure, FailureKind

    return isinstance(failure, Failure) and (
        failure.kind is FailureKind.NOT_STATUSPAGE or failure.status_code in (404, 410)
    )


def _dumps(obj: object) -> str:
    import json

    return json.dumps(obj, ensure_ascii=False)


def build_monitors(
    cfg: Config, client: HttpClient, *, policy: PolicyConfig | None = None,
    clock: Clock | None = None, err: TextIO | None = None,
) -> list[Monitor]:
    return [
        make_monitor(svc, cfg, client, policy=policy, clock=clock, err=err)
        for svc in cfg.services()
    ]


def fan_out(*presenters: Callable[[Report], None]) -> Callable[[Report], None]:
    def present(report: Report) -> None:
        for presenter in presenters:
            presenter(report)

    return present


@dataclass
class Running:
    """What a long-running mode owns and must close."""

    client: HttpClient
    poller: Poller
    session: Session
    notifier: Notifier | None = None
    demo: tuple[StatusServer, DemoCycle] | None = None
    database: Database | None = None

    def close(self) -> None:
        self.poller.stop()
        self.session.save(force=True)
        if self.database is not None:
            self.database.close()
        self.client.close()
        if self.notifier is not None:
            self.notifier.close()
        if self.demo is not None:
            self.demo[1].stop()
            self.demo[0].stop()


def start_session(
    opts: Options, paths: AppPaths, err: TextIO, *, notify: bool,
    presenters: Sequence[Callable[[Report], None]] = (),
    on_change: Callable[[], None] | None = None,
    on_sent: Callable[[Notify, ServiceView], None] | None = None,
    autostart: Autostart | None = None,
    balloon: TrayBalloonBackend | None = None,
) -> tuple[Running, Config, list[str]]:
    """Build everything a long-running mode needs (not yet started). The tray passes its
    login item, which is made to match the file's ``autostart`` (never for ``--demo``)."""
    demo = None
    if opts.demo:
        from .demo import start_demo

        demo = start_demo()
        opts = replace(opts, url=demo[0].url, interval=opts.interval or 2.0)
    cfg = resolve_config(opts, paths, err)
    if demo is None and autostart is not None:
        from .autostart import apply

        apply(autostart, cfg.autostart)
    policy = _demo_policy(cfg) if demo else None
    notifier = _make_notifier(balloon) if notify else None
    client = HttpClient(proxy=cfg.proxy)
    monitors = build_monitors(cfg, client, policy=policy, err=err)
    # One file shared with any other process of the app; the demo's outages go to their own.
    from .history import HistoryStore
    from .poller import Poller
    from .session import Session
    from .state import StateStore
    from .userdata import open_database
    from .wake import system_wake

    database = open_database(paths.data, demo=demo is not None)
    store = None if demo else StateStore(database)
    history = HistoryStore(database)
    session = Session(
        monitors, send=notifier.send if notifier else None,
        prefs=Prefs(enabled=cfg.notifications, kinds=cfg.notify_on),
        store=store, history=history, on_change=on_change, on_sent=on_sent,
    )
    session.restore()
    if cfg.paused_until > session.prefs.paused_until:  # the file's pause, unless a later one
        session.update_prefs(lambda p: replace(p, paused_until=cfg.paused_until))
    poller = Poller(monitors, fan_out(*presenters, session), wake=system_wake())
    return Running(client, poller, session, notifier, demo, database), cfg, list(cfg.problems)


def run_watch(
    opts: Options, paths: AppPaths, out: TextIO, err: TextIO, *, jsonl: bool, notify: bool,
    stop: threading.Event | None = None,
) -> int:
    presenter = ConsolePresenter(out, jsonl=jsonl)
    running, cfg, _ = start_session(opts, paths, err, notify=notify, presenters=[presenter],
                                    on_sent=presenter.notification)
    if not jsonl:
        urls = ", ".join(m.source.base for m in running.poller.monitors)
        print(f"watching {urls} every {running.poller.monitors[0].interval:g} s "
              "(Ctrl-C to stop)", file=err)
    running.poller.start()
    try:
        (stop or threading.Event()).wait() if stop else _wait_forever(running.poller)
    except KeyboardInterrupt:
        pass
    finally:
        running.close()
    return 0


def _wait_forever(poller: Poller) -> None:
    while not poller.stopped:
        time.sleep(3600)


def _demo_policy(cfg: Config) -> PolicyConfig:
    # Short windows so a new user sees every kind of notification within a minute (the
    # demo's own 2 s interval comes from its config).
    policy = cfg.policy()
    return replace(policy, timing=replace(policy.timing, flap_window=15.0))


def _make_notifier(balloon: TrayBalloonBackend | None = None) -> Notifier:
    """The notifier; ``balloon`` (tray mode) lets Windows notify from the tray's own icon."""
    from . import APP_NAME
    from .notifier import Notifier, default_backends

    return Notifier(APP_NAME, _icon_file(), default_backends(tray=balloon))


def _icon_file() -> str | None:
    """A PNG of the app icon for notifications (written once to the cache dir)."""
    try:
        import platformdirs

        from .icons import app_icon

        # plyer's Windows balloon wants an .ico; D-Bus daemons and macOS take a PNG.
        suffix = ".ico" if sys.platform == "win32" else ".png"
        path = Path(platformdirs.user_cache_dir("claude-status-tray", appauthor=False))
        path = path / f"claude-status-tray{suffix}"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            app_icon(128).save(path)
        return str(path)
    except Exception:  # noqa: BLE001 - a notification without an icon is still a notification
        log.exception("can't prepare the notification icon")
        return None


def run_tray(opts: Options, paths: AppPaths, out: TextIO, err: TextIO) -> int:
    from .instance import AlreadyRunning, InstanceLock
    from .tray import tray_problem

    lock = InstanceLock(paths.data / "instance.lock")
    try:
        lock.acquire()
    except AlreadyRunning as exc:
        print(f"Claude Status Tray is {exc}; not starting a second icon.", file=err)
        return 0
    except OSError as exc:  # an unwritable data folder must not stop the tray
        print(f"warning: can't take the single-instance lock ({exc}); running anyway",
              file=err)
    try:
        wait = float(os.environ.get("CST_TRAY_WAIT", "5"))
        problem = tray_problem(wait)
        if problem:
            print(f"{problem}: falling back to watching in the terminal", file=err)
            log.warning("%s: falling back to watch", problem)
            return run_watch(opts, paths, out, err, jsonl=False, notify=True)
        return _run_tray(opts, paths, err)
    finally:
        lock.release()


def _run_tray(opts: Options, paths: AppPaths, err: TextIO) -> int:
    from .autostart import for_platform
    from .controller import TrayController
    from .notifier import TrayBalloonBackend
    from .tray import TrayIcon

    holder: list[TrayController] = []
    autostart = for_platform()
    balloon = TrayBalloonBackend()  # lent the tray's notify() while the icon shows
    running, cfg, problems = start_session(
        opts, paths, err, notify=True,
        on_change=lambda: holder[0].refresh() if holder else None, autostart=autostart,
        balloon=balloon,
    )
    controller = TrayController(
        running.session, running.poller, cfg,
        file_cfg=config_mod.load(opts.config_path or paths.config)[0],
        config_path=None if opts.demo else (opts.config_path or paths.config),
        config_broken=bool(problems), autostart=autostart,
        show_chart=lambda: _show_chart(running.session, paths),
    )
    holder.append(controller)
    try:
        tray = TrayIcon(controller.on_action, controller.model())
    except Exception as exc:  # noqa: BLE001 - a backend that can't start: keep watching
        running.close()
        print(f"can't show a tray icon ({type(exc).__name__}: {exc}): falling back to "
              "watching in the terminal", file=err)
        log.exception("tray backend failed to start")
        return run_watch(opts, paths, sys.stdout, err, jsonl=False, notify=True)
    controller.tray = tray
    # A logout or `kill` quits like the menu does: state saved, icon removed.
    signal.signal(signal.SIGTERM, lambda *_: controller.on_action("quit"))

    def setup() -> None:
        balloon.attach(tray.notify)
        running.poller.start()

    try:
        tray.run(setup)
    except KeyboardInterrupt:
        pass
    finally:
        balloon.detach()
        running.close()
    return 0


def _show_chart(session: Session, paths: AppPaths) -> None:
    import webbrowser

    from .chart import draw_history

    if session.history is None:
        return
    target = paths.data / "history.png"
    draw_history(session.history.episodes(), time.time(), 30).save(target)
    webbrowser.open(target.as_uri())


def run_wait(opts: Options, paths: AppPaths, out: TextIO, err: TextIO, *,
             timeout: float | None) -> int:
    cfg = resolve_config(opts, paths, err)
    client = HttpClient(proxy=cfg.proxy)
    monitor = make_monitor(cfg.main_service(), cfg, client, err=err)
    deadline = None if timeout is None else time.monotonic() + timeout
    told_estimate = False
    try:
        while True:
            fetched, _ = monitor.poll(time.time())
            a = monitor.assessment
            if fetched.ok and a is not None and a.level is Level.OPERATIONAL:
                print(one_line(monitor.view()), file=out)
                return 0
            delay = monitor.next_delay()
            view = monitor.view()
            print(f"{one_line(view)}; checking again in {delay:g} s", file=err)
            if view.estimates and not told_estimate:  # once: it is typical, not a promise
                from .core.estimate import long_text

                told_estimate = True
                for inc in (a.incidents if a else ()):
                    if inc.id in view.estimates:
                        print(f"{inc.name}: {long_text(view.estimates[inc.id])} "
                              f"({view.estimates[inc.id].basis})", file=err)
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    print("timed out waiting for the service to be operational", file=err)
                    return EX_TIMEOUT
                delay = min(delay, left)
            time.sleep(delay)
    except KeyboardInterrupt:
        return 130
    finally:
        client.close()


def run_history(opts: Options, paths: AppPaths, out: TextIO, err: TextIO, *, as_json: bool,
                days: int) -> int:
    from .history import summary_lines, uptime

    now = time.time()
    from .history import HistoryStore
    from .userdata import open_database

    database = open_database(paths.data)
    try:
        everything = HistoryStore(database).episodes()
    finally:
        database.close()
    episodes = [e for e in everything if (e.end or now) >= now - days * 86400]
    if as_json:
        print(_dumps({
            "days": days,
            "uptime": {"24h": uptime(everything, 1, now), "7d": uptime(everything, 7, now),
                       "30d": uptime(everything, 30, now),
                       f"{days}d": uptime(everything, days, now)},
            "episodes": [
                {"service": e.service, "start": iso(e.start),
                 "end": iso(e.end) if e.end is not None else None,
                 "seconds": round(e.length(now)), "worst": e.worst,
                 "components": list(e.components), "incidents": list(e.incidents),
                 "lower_bound": e.lower_bound}
                for e in sorted(episodes, key=lambda e: e.start)
            ],
        }), file=out)
    else:
        for line in summary_lines(episodes, now, last=50):
            print(line, file=out)
    return 0


def replay_setup(
    *, config: Path | None = None, url: str | None = None, components: str | None = None,
    interval: float | None = None, models: str | None = None, err: TextIO | None = None,
) -> tuple[Monitor, ReplaySource, Prefs]:
    """A monitor over a :class:`ReplaySource` with the user's settings (or the defaults), and
    the notification preferences the replay's session gates with. Reads the config file only:
    never the user's history or state."""
    return _replay_parts(_replay_config(config=config, url=url, components=components,
                                        interval=interval, models=models, err=err))


def _replay_config(
    *, config: Path | None, url: str | None, components: str | None, interval: float | None,
    models: str | None, err: TextIO | None,
) -> Config:
    import io

    opts = Options(url=url, components=components, interval=interval, models=models,
                   config_path=config or Path(os.devnull))
    devnull = Path(os.devnull)
    return resolve_config(opts, AppPaths(devnull, devnull, devnull), err or io.StringIO())


def _replay_parts(cfg: Config) -> tuple[Monitor, ReplaySource, Prefs]:
    from .replay import ReplaySource

    svc = cfg.main_service()
    source = ReplaySource(svc.url)
    monitor = _monitor(svc, cfg, source, cfg.policy())
    prefs = Prefs(enabled=cfg.notifications, kinds=cfg.notify_on, paused_until=cfg.paused_until)
    return monitor, source, prefs


def run_replay(opts: Options, paths: AppPaths, out: TextIO, err: TextIO, *, file: str | None,
               incidents: str | None, jsonl: bool) -> int:
    """``replay``: the rules over a recorded history. Reads the config file; never the user's
    history, state or preferences, and sends nothing."""
    from .clock import FakeClock
    from .replay import ReplayInputError, from_rebuilt, report_text, run

    if (file is None) == (incidents is None):
        raise UsageError("replay needs a JSONL file (- for standard input) or --incidents "
                         "(a file, a URL, or nothing for the watched page's own)")
    cfg = _replay_config(config=opts.config_path or paths.config, url=opts.url,
                         components=opts.components, interval=opts.interval, models=opts.models,
                         err=err)
    monitor, source, prefs = _replay_parts(cfg)
    try:
        if file is not None:
            lines = _replay_lines(file)
        else:
            from .core.timeline import rebuild

            doc, where = _incidents_document(incidents or "", source.base, cfg.proxy)
            rebuilt = rebuild(doc, page={"id": "", "name": monitor.name, "url": source.base})
            for problem in rebuilt.problems:
                print(f"warning: {where}: {problem}", file=err)
            lines = from_rebuilt(rebuilt)
    except ReplayInputError as exc:
        print(f"{APP_ID}: error: {exc}", file=err)
        return EX_USAGE
    clock = FakeClock(lines[0].at)
    presenter = ConsolePresenter(out, jsonl=True, clock=clock.time) if jsonl else None
    result = run(lines, monitor, source, prefs=prefs, clock=clock,
                 presenters=[presenter] if presenter else [],
                 on_sent=presenter.notification if presenter else None)
    if not jsonl:
        report_text(result, out)
    return 0


def _replay_lines(file: str) -> list[Line]:
    from .replay import ReplayInputError, parse_lines

    if file == "-":
        return parse_lines(sys.stdin, "stdin")
    try:
        with open(file, encoding="utf-8") as fh:
            return parse_lines(fh, file)
    except OSError as exc:
        raise ReplayInputError(f"{file}: can't read it ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ReplayInputError(f"{file}: not UTF-8 text") from None


def _incidents_document(where: str, base: str, proxy: str = "") -> tuple[object, str]:
    """A decoded incidents.json from a file, a URL, or (``""``) the watched page's own."""
    from .core.statuspage import NotAStatuspage, decode
    from .replay import ReplayInputError

    if not where or "://" in where:
        url = where or base + INCIDENTS_PATH
        try:
            if not url.rstrip("/").endswith(".json"):
                url = page_base(url) + INCIDENTS_PATH
            else:
                page_base(url)  # https only (loopback excepted), no credentials
        except BadURL as exc:
            raise ReplayInputError(str(exc)) from None
        client = HttpClient(proxy=proxy)
        try:
            result = client.request(url, headers=json_get_headers())
        finally:
            client.close()
        if isinstance(result, Failure):
            raise ReplayInputError(f"{url}: {result.message}")
        if result.status != 200:
            raise ReplayInputError(f"{url}: the page answered HTTP {result.status}")
        body, where = result.body, url
    else:
        try:
            body = Path(where).read_bytes()
        except OSError as exc:
            raise ReplayInputError(f"{where}: can't read it ({exc.strerror or exc})") from None
    try:
        return decode(body), where
    except NotAStatuspage as exc:
        raise ReplayInputError(f"{where}: {exc}".replace("summary.json", "incidents.json")
                               ) from None
