"""Native notifications, sent from one worker thread through a chain of backends.

`Notifier.send` cleans the text (`plaintext.clean`), queues it and returns at once; a single
thread named ``notifier`` hands each notification to the backends in order until one
succeeds. A failing backend is logged and the next one tried; nothing ever propagates to
the caller. The worker exists because plyer's Windows backend ends in
``time.sleep(timeout)``, which would freeze the tray's callbacks.

Why desktop-notifier sits beside plyer on Linux: plyer (the library we name to users) talks
to the notification daemon through dbus-python when that compiled package is importable,
otherwise it shells out to ``notify-send`` and, failing that, silently does nothing; with
no daemon, its dbus-python path raises while notify-send returns normally, so delivery
cannot be told from a return value. desktop-notifier speaks D-Bus itself in pure Python
(dbus-fast), needs no compiled dependency, and reports the server's capabilities. So on
Linux it goes first and plyer is the fallback; on Windows and macOS plyer alone is used.

``CST_NOTIFIER=desktop-notifier|plyer|none`` overrides the choice (tests, troubleshooting).
Backends import their library lazily, so a headless ``check`` command never loads them.
`FakeBackend` records calls for tests.
"""

from __future__ import annotations

import asyncio
import logging
import os
import platform
import queue
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from tray_app.core.plaintext import BODY_LIMIT, TITLE_LIMIT, clean

if TYPE_CHECKING:
    from desktop_notifier import DesktopNotifier

__all__ = [
    "ENV_VAR",
    "Backend",
    "DesktopNotifierBackend",
    "FakeBackend",
    "NotDelivered",
    "Notifier",
    "PlyerBackend",
    "default_backends",
]

logger = logging.getLogger(__name__)

ENV_VAR = "CST_NOTIFIER"
THREAD_NAME = "notifier"
MAX_PENDING = 32  # beyond this, new notifications are dropped (and logged)
PLYER_TIMEOUT_S = 10  # how long plyer asks the notification to stay up


class Backend(Protocol):
    """One way of showing a notification. `send` raises when it could not deliver.

    A backend may also have a ``close()`` method; the worker calls it when it stops.
    """

    name: str

    def send(self, title: str, body: str, app_name: str, icon_path: str | None) -> None: ...


class NotDelivered(Exception):
    """A backend ran but the notification was not handed to the platform."""


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
    environ: Mapping[str, str] | None = None, system: str | None = None
) -> list[Backend]:
    """The backends for this platform, or those named by ``CST_NOTIFIER``."""
    env = os.environ if environ is None else environ
    system = platform.system() if system is None else system
    choice = env.get(ENV_VAR, "").strip().lower()
    if choice == "none":
        return []
    if choice == "desktop-notifier":
        return [DesktopNotifierBackend()]
    if choice == "plyer":
        return [PlyerBackend()]
    if choice:
        logger.warning("Unknown %s=%r; using the platform default", ENV_VAR, choice)
    if system == "Linux":
        return [DesktopNotifierBackend(), PlyerBackend()]
    return [PlyerBackend()]


class PlyerBackend:
    """plyer: Windows balloon/toast, macOS, and on Linux dbus-python or notify-send."""

    name = "plyer"

    def send(self, title: str, body: str, app_name: str, icon_path: str | None) -> None:
        from plyer import notification  # type: ignore[import-untyped, unused-ignore]

        notification.notify(
            title=title,
            message=body,
            app_name=app_name,
            app_icon=icon_path or "",
            timeout=PLYER_TIMEOUT_S,
        )


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
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        self._loop.run_until_complete(self._send(title, body, app_name, icon_path))

    async def _send(self, title: str, body: str, app_name: str, icon_path: str | None) -> None:
        from desktop_notifier import DesktopNotifier, Icon

        icon = Icon(path=Path(icon_path).absolute()) if icon_path else None
        notifier = DesktopNotifier(app_name=app_name, app_icon=icon)
        dispatched = threading.Event()
        try:
            # desktop-notifier logs and swallows delivery errors; on_dispatched only runs
            # once the daemon accepted the notification, so it is our proof of delivery.
            await asyncio.wait_for(
                notifier.send(title, body, icon=icon, on_dispatched=dispatched.set),
                self._timeout,
            )
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
    bus: Any = getattr(getattr(notifier, "_backend", None), "bus", None)
    if bus is None:
        return
    bus.disconnect()
    try:
        await asyncio.wait_for(bus.wait_for_disconnect(), 1.0)
    except Exception as exc:  # already broken, or slow: the socket is shut down anyway
        logger.debug("D-Bus disconnect: %r", exc)


def _cancel_leftovers(loop: asyncio.AbstractEventLoop) -> None:
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
