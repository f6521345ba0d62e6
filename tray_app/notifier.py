"""Native notifications, sent from one worker thread through a chain of backends.

`Notifier.send` cleans the text (`plaintext.clean`), queues it and returns at once; a single
thread named ``notifier`` hands each notification to the backends in order until one
succeeds. Nothing ever propagates to the caller. A backend says how it failed:

- `NotDelivered` (or any other exception): the platform certainly does not have it; the
  next backend is tried.
- `MaybeDelivered`: the request reached the platform but its answer never came (a D-Bus
  call that timed out, an ``osascript`` that hung). The daemon may still show it, so the
  chain stops there: a second backend could show it twice (issue 11).

The chain per system (`default_backends`), and why:

- **Linux**: desktop-notifier, then plyer. plyer (the library we name to users) talks to
  the daemon through dbus-python when that compiled package is importable, else through
  ``notify-send``, else silently does nothing; with no daemon its dbus-python path raises
  while notify-send returns normally, so delivery can't be told from a return value.
  desktop-notifier speaks D-Bus in pure Python (dbus-fast) and reports the daemon's answer.
- **Windows**: the app's own tray icon (`TrayBalloonBackend`, pystray's ``Icon.notify``)
  while the tray runs, so no second icon appears; plyer otherwise (``watch``), which shows
  its balloon from a temporary icon of its own. Both get text cut to the balloon's fields
  (title 63, body 255 UTF-16 code units).
- **macOS**: plyer's notifier (NSUserNotificationCenter) attributes a notification to the
  process's main bundle: its name, icon and the switch in System Settings come from that
  bundle's id. Frozen as the ``.app`` (CFBundleIdentifier ``com.claude-status-tray``) that
  is us, so plyer goes first. From a plain ``pip install`` there is no bundle of ours (no
  main bundle at all, or python.org's Python.app, which was never allowed to notify), so
  ``osascript -e 'display notification …'`` goes first (shown as from Script Editor).

``CST_NOTIFIER=desktop-notifier|plyer|osascript|none`` overrides the choice (tests,
troubleshooting). Backends import their library lazily, so a headless ``check`` command never
loads them. `FakeBackend` records calls for tests.
"""

from __future__ import annotations

import logging
import os
import platform
import queue
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from tray_app.core.plaintext import BODY_LIMIT, TITLE_LIMIT, clean, cut_utf16

if TYPE_CHECKING:  # imported where used: asyncio alone is 1.7 MB the tray rarely needs
    import asyncio
    import subprocess

    from desktop_notifier import DesktopNotifier

__all__ = [
    "ENV_VAR",
    "Backend",
    "DesktopNotifierBackend",
    "FakeBackend",
    "MaybeDelivered",
    "NotDelivered",
    "Notifier",
    "OsascriptBackend",
    "PlyerBackend",
    "TrayBalloonBackend",
    "default_backends",
    "macos_bundle_id",
    "osascript_argv",
]

logger = logging.getLogger(__name__)

ENV_VAR = "CST_NOTIFIER"
THREAD_NAME = "notifier"
MAX_PENDING = 32  # beyond this, new notifications are dropped (and logged)
PLYER_TIMEOUT_S = 10  # how long plyer asks the notification to stay up
OSASCRIPT_TIMEOUT_S = 10.0
# NOTIFYICONDATAW's szInfoTitle[64] and szInfo[256], less the terminating NUL, in UTF-16
# code units (pystray and plyer both fill that struct through ctypes, which raises on more).
WINDOWS_TITLE_UNITS = 63
WINDOWS_BODY_UNITS = 255
# The title and body reach the script as its arguments, never as script text.
OSASCRIPT_NOTIFY = (
    "on run argv",
    "display notification (item 2 of argv) with title (item 1 of argv)",
    "end run",
)


class Backend(Protocol):
    """One way of showing a notification. `send` raises when it could not deliver.

    A backend may also have a ``close()`` method; the worker calls it when it stops.
    """

    name: str

    def send(self, title: str, body: str, app_name: str, icon_path: str | None) -> None: ...


class NotDelivered(Exception):
    """A backend ran but the notification was certainly not handed to the platform."""


class MaybeDelivered(Exception):
    """The platform got the request but never answered: it may show the notification.

    The worker does not try another backend after this (that could show it twice).
    """


@dataclass(frozen=True)
class _Message:
    title: str
    body: str


_STOP = object()


class Notifier:
    """Sends notifications without blocking or raising; one instance per app."""

    def __init__(
        self,
        app_name: str,
        icon_path: str | None,
        backends: Sequence[Backend] | None = None,
    ) -> None:
        self._app_name = app_name
        self._icon_path = icon_path
        self._backends = list(default_backends() if backends is None else backends)
        self._queue: queue.SimpleQueue[_Message | object] = queue.SimpleQueue()
        self._closed = False
        self._pending = 0  # queued or being delivered
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
        self._thread.start()
        logger.debug("Notification backends: %s", [b.name for b in self._backends] or "none")

    @property
    def backend_names(self) -> list[str]:
        return [backend.name for backend in self._backends]

    def send(self, title: str, body: str) -> None:
        """Queue a notification; returns at once and never raises."""
        try:
            self._enqueue(_Message(clean(title, TITLE_LIMIT), clean(body, BODY_LIMIT)))
        except Exception:
            logger.exception("Could not queue a notification")

    def _enqueue(self, message: _Message) -> None:
        with self._lock:
            if self._closed:
                logger.debug("Notifier closed; dropped %r", message.title)
                return
            if self._pending >= MAX_PENDING:  # the worker is stuck in a backend
                logger.warning("%d notifications pending; dropped %r", self._pending, message.title)
                return
            self._pending += 1
            self._queue.put(message)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything queued so far was handled; False if still busy."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self, timeout: float = 2.0) -> None:
        """Stop the worker after what is queued; give up waiting after ``timeout`` seconds."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._queue.put(_STOP)
        self._thread.join(timeout)
        if self._thread.is_alive():
            logger.warning("Notifier thread still busy after %.1f s; left behind", timeout)

    def _run(self) -> None:
        try:
            while (item := self._queue.get()) is not _STOP:
                if isinstance(item, _Message):
                    self._deliver_safely(item)
                    with self._idle:
                        self._pending -= 1
                        self._idle.notify_all()
        finally:
            for backend in self._backends:
                _close_backend(backend)

    def _deliver_safely(self, message: _Message) -> None:
        try:
            self._deliver(message)
        except Exception:  # the worker must outlive anything a backend or logging does
            logger.exception("Notification %r failed", message.title)

    def _deliver(self, message: _Message) -> None:
        for backend in self._backends:
            try:
                backend.send(message.title, message.body, self._app_name, self._icon_path)
            except MaybeDelivered as exc:
                logger.warning("Notification %r may have been shown by %s (%s); not sending "
                               "it again", message.title, backend.name, exc)
                return
            except Exception as exc:
                logger.warning("Notification backend %s failed: %r", backend.name, exc)
                continue
            logger.debug("Notification %r sent with %s", message.title, backend.name)
            return
        if self._backends:
            logger.error("No notification backend delivered %r", message.title)


def _close_backend(backend: Backend) -> None:
    close = getattr(backend, "close", None)
    if not callable(close):
        return
    try:
        close()
    except Exception:
        logger.warning("Closing notification backend %s failed", backend.name, exc_info=True)


def default_backends(
    environ: Mapping[str, str] | None = None,
    system: str | None = None,
    *,
    tray: TrayBalloonBackend | None = None,
    bundle_id: str | None = None,
) -> list[Backend]:
    """The backends for this platform, in order, or those named by ``CST_NOTIFIER``.

    ``tray`` is the tray icon's balloon (Windows uses it first while the tray runs);
    ``bundle_id`` stands for `macos_bundle_id` (macOS: whether we run from our ``.app``).
    """
    env = os.environ if environ is None else environ
    system = platform.system() if system is None else system
    plyer = PlyerBackend(windows_limits=system == "Windows")
    choice = env.get(ENV_VAR, "").strip().lower()
    if choice == "none":
        return []
    if choice == "desktop-notifier":
        return [DesktopNotifierBackend()]
    if choice == "plyer":
        return [plyer]
    if choice == "osascript":
        return [OsascriptBackend()]
    if choice:
        logger.warning("Unknown %s=%r; using the platform default", ENV_VAR, choice)
    if system == "Linux":
        return [DesktopNotifierBackend(), plyer]
    if system == "Windows":
        return [tray, plyer] if tray is not None else [plyer]
    if system == "Darwin":
        if (bundle_id or macos_bundle_id()) is not None:
            return [plyer, OsascriptBackend()]
        return [OsascriptBackend(), plyer]
    return [plyer]


def macos_bundle_id(executable: str | None = None, frozen: bool | None = None) -> str | None:
    """The CFBundleIdentifier of the ``.app`` this frozen program runs from, else None.

    Only a frozen build counts: a venv's or Homebrew's Python has no bundle of ours, and
    python.org's runs inside Python.app, which is not us either.
    """
    if not (getattr(sys, "frozen", False) if frozen is None else frozen):
        return None
    path = Path(executable or sys.executable)
    app = next((p for p in path.parents if p.suffix == ".app"), None)
    if app is None:
        return None
    import plistlib
    from xml.parsers.expat import ExpatError

    try:
        with (app / "Contents" / "Info.plist").open("rb") as fh:
            info = plistlib.load(fh)
    except (OSError, ValueError, ExpatError):  # InvalidFileException is a ValueError
        return None
    ident = info.get("CFBundleIdentifier") if isinstance(info, dict) else None
    return ident if isinstance(ident, str) and ident else None


class PlyerBackend:
    """plyer: Windows balloon, macOS NSUserNotification, on Linux dbus-python or notify-send."""

    name = "plyer"

    def __init__(self, windows_limits: bool = False) -> None:
        self._windows_limits = windows_limits

    def send(self, title: str, body: str, app_name: str, icon_path: str | None) -> None:
        from plyer import notification  # type: ignore[import-untyped, unused-ignore]

        if self._windows_limits:
            title, body = windows_balloon_text(title, body)

        notification.notify(
            title=title,
            message=body,
            app_name=app_name,
            app_icon=icon_path or "",
            timeout=PLYER_TIMEOUT_S,
        )


def windows_balloon_text(title: str, body: str) -> tuple[str, str]:
    """Title and body cut to the Windows balloon's fields (UTF-16 units, ellipsis inside)."""
    return cut_utf16(title, WINDOWS_TITLE_UNITS), cut_utf16(body, WINDOWS_BODY_UNITS)


class TrayBalloonBackend:
    """Windows: a balloon from the app's own tray icon, through a callable the tray lends.

    The composition root attaches the tray's ``notify(title, body)`` once the icon shows and
    detaches it when the tray stops; without one (``watch``, start-up, shutdown) `send`
    raises `NotDelivered` and the next backend (plyer) takes over.
    """

    name = "tray-balloon"

    def __init__(self) -> None:
        self._show: Callable[[str, str], None] | None = None

    def attach(self, show: Callable[[str, str], None]) -> None:
        self._show = show

    def detach(self) -> None:
        self._show = None

    def send(self, title: str, body: str, app_name: str, icon_path: str | None) -> None:
        show = self._show
        if show is None:
            raise NotDelivered("the tray icon is not running")
        show(*windows_balloon_text(title, body))


def osascript_argv(
    title: str, body: str, script: Sequence[str] = OSASCRIPT_NOTIFY
) -> list[str]:
    """``osascript -e LINE … -- TITLE BODY``: the text goes in as arguments, never as code."""
    argv = ["osascript"]
    for line in script:
        argv += ["-e", line]
    return [*argv, "--", title, body]


class OsascriptBackend:
    """macOS without an app bundle of ours: AppleScript's ``display notification``.

    Run without a shell and with a timeout. A non-zero exit or a missing ``osascript`` is a
    definite failure; a timeout may still have shown it (`MaybeDelivered`).
    """

    name = "osascript"

    def __init__(
        self,
        run: Callable[..., subprocess.CompletedProcess[str]] | None = None,
        timeout: float = OSASCRIPT_TIMEOUT_S,
    ) -> None:
        self._run = run  # subprocess.run unless given; imported only to notify
        self._timeout = timeout

    def send(self, title: str, body: str, app_name: str, icon_path: str | None) -> None:
        import subprocess

        try:
            done = (self._run or subprocess.run)(
                osascript_argv(title, body), capture_output=True, text=True,
                timeout=self._timeout, check=False, stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as exc:
            raise MaybeDelivered(f"osascript still running after {self._timeout:g} s") from exc
        except OSError as exc:
            raise NotDelivered(f"can't run osascript: {exc}") from exc
        if done.returncode != 0:
            raise NotDelivered(f"osascript exited with {done.returncode}: "
                               f"{(done.stderr or '').strip()[:200]}")


class DesktopNotifierBackend:
    """desktop-notifier over D-Bus (dbus-fast), driven by a private event loop.

    Only the worker thread uses it. The event loop lives as long as the backend; each
    notification gets its own `DesktopNotifier` and D-Bus connection, closed right after,
    so nothing piles up per notification (desktop-notifier caches every sent notification
    until the daemon signals that it closed, which an idle loop would never read).
    """

    name = "desktop-notifier"

    def __init__(self, timeout: float = 5.0) -> None:
        self._timeout = timeout
        self._loop: asyncio.AbstractEventLoop | None = None

    def send(self, title: str, body: str, app_name: str, icon_path: str | None) -> None:
        import asyncio

        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        self._loop.run_until_complete(self._send(title, body, app_name, icon_path))

    async def _send(self, title: str, body: str, app_name: str, icon_path: str | None) -> None:
        import asyncio

        from desktop_notifier import DesktopNotifier, Icon

        icon = Icon(path=Path(icon_path).absolute()) if icon_path else None
        notifier = DesktopNotifier(app_name=app_name, app_icon=icon)
        dispatched = threading.Event()
        try:
            # First connect and ask the daemon what it supports (desktop-notifier caches the
            # answer for the send below). No notification has gone out yet, so a timeout
            # here is a definite failure.
            try:
                await asyncio.wait_for(notifier.get_capabilities(), self._timeout)
            except TimeoutError as exc:
                raise NotDelivered(
                    f"no answer from the notification daemon in {self._timeout:g} s"
                ) from exc
            # Then Notify. desktop-notifier logs and swallows delivery errors; on_dispatched
            # only runs once the daemon accepted the notification, so it is our proof. A
            # timeout now means the daemon has the call and may show it.
            try:
                await asyncio.wait_for(
                    notifier.send(title, body, icon=icon, on_dispatched=dispatched.set),
                    self._timeout,
                )
            except TimeoutError as exc:
                raise MaybeDelivered(
                    f"the daemon did not answer Notify in {self._timeout:g} s"
                ) from exc
        finally:
            await _disconnect(notifier)
        if not dispatched.is_set():
            raise NotDelivered("the notification daemon did not accept the notification")

    def close(self) -> None:
        loop, self._loop = self._loop, None
        if loop is None or loop.is_closed():
            return
        try:
            _cancel_leftovers(loop)
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()


async def _disconnect(notifier: DesktopNotifier) -> None:
    """Close the D-Bus connection of one `DesktopNotifier`.

    desktop-notifier 6.x has no public close(): its Linux backend keeps its dbus-fast
    ``MessageBus`` at ``_backend.bus`` (absent until the first send connected).
    """
    import asyncio

    bus: Any = getattr(getattr(notifier, "_backend", None), "bus", None)
    if bus is None:
        return
    bus.disconnect()
    try:
        await asyncio.wait_for(bus.wait_for_disconnect(), 1.0)
    except Exception as exc:  # already broken, or slow: the socket is shut down anyway
        logger.debug("D-Bus disconnect: %r", exc)


def _cancel_leftovers(loop: asyncio.AbstractEventLoop) -> None:
    import asyncio

    tasks = asyncio.all_tasks(loop)
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))


@dataclass
class FakeBackend:
    """Records every call; raises `NotDelivered` when ``fail`` is set. Thread-safe."""

    name: str = "fake"
    fail: bool = False
    calls: list[tuple[str, str, str, str | None]] = field(default_factory=list)
    closed: bool = False
    _changed: threading.Condition = field(
        default_factory=threading.Condition, init=False, repr=False, compare=False
    )

    def send(self, title: str, body: str, app_name: str, icon_path: str | None) -> None:
        with self._changed:
            self.calls.append((title, body, app_name, icon_path))
            self._changed.notify_all()
        if self.fail:
            raise NotDelivered(f"{self.name} set to fail")

    def close(self) -> None:
        self.closed = True

    def wait_for_calls(self, count: int = 1, timeout: float = 2.0) -> bool:
        """Block until at least ``count`` calls were recorded; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self.calls) >= count, timeout)
