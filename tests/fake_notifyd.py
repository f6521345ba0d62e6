"""A notification daemon that answers late, on a private D-Bus session bus (dbus-fast).

It owns ``org.freedesktop.Notifications`` like dunst does, records every call it receives
(that is what "the daemon showed it" means here) and waits ``delays[method]`` seconds before
it replies. It runs its own asyncio loop in a thread named ``fake-notifyd``; `stop` (or the
``with`` block's end) disconnects and joins it.

Usage::

    with private_bus(tmp_path) as address, FakeNotifyd(address, {"Notify": 2.0}) as daemon:
        ...  # a client on `address` calls Notify; its reply comes 2 s later
        assert daemon.wait_for("Notify", 1)
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Mapping
from typing import Annotated, Any

from dbus_fast import BusType, NameFlag, RequestNameReply
from dbus_fast.aio import MessageBus
from dbus_fast.annotations import DBusDict, DBusInt32, DBusSignature, DBusStr, DBusUInt32
from dbus_fast.service import ServiceInterface, dbus_method, dbus_signal

NAME = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"
DBusStrings = Annotated[list[str], DBusSignature("as")]
ServerInfo = Annotated[list[str], DBusSignature("ssss")]


class _Notifications(ServiceInterface):
    def __init__(self, daemon: FakeNotifyd) -> None:
        super().__init__(NAME)
        self._daemon = daemon

    @dbus_method()
    async def GetCapabilities(self) -> DBusStrings:  # noqa: N802 - D-Bus member names
        await self._daemon._called("GetCapabilities", ())
        return ["body"]

    @dbus_method()
    async def GetServerInformation(self) -> ServerInfo:  # noqa: N802
        await self._daemon._called("GetServerInformation", ())
        return ["fake-notifyd", "tests", "1.0", "1.2"]

    @dbus_method()
    async def Notify(  # noqa: N802
        self, app_name: DBusStr, replaces_id: DBusUInt32, app_icon: DBusStr, summary: DBusStr,
        body: DBusStr, actions: DBusStrings, hints: DBusDict, expire_timeout: DBusInt32,
    ) -> DBusUInt32:
        number = await self._daemon._called("Notify", (app_name, summary, body))
        return number

    @dbus_method()
    async def CloseNotification(self, notification_id: DBusUInt32):  # type: ignore[no-untyped-def]  # noqa: N802 - dbus-fast reads "-> None" as a signature
        await self._daemon._called("CloseNotification", (notification_id,))

    @dbus_signal()
    def NotificationClosed(self) -> Annotated[list[int], DBusSignature("uu")]:  # noqa: N802
        return [0, 0]

    @dbus_signal()
    def ActionInvoked(self) -> Annotated[list[Any], DBusSignature("us")]:  # noqa: N802
        return [0, ""]


class FakeNotifyd:
    """A slow org.freedesktop.Notifications server; ``calls`` lists (method, args, time)."""

    def __init__(self, address: str, delays: Mapping[str, float] | None = None) -> None:
        self.address = address
        self.delays = dict(delays or {})
        self.calls: list[tuple[str, tuple[Any, ...], float]] = []
        self._changed = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._bus: MessageBus | None = None
        self._thread = threading.Thread(target=self._run, name="fake-notifyd", daemon=True)

    def __enter__(self) -> FakeNotifyd:
        self._thread.start()
        if not self._ready.wait(5) or self._error is not None:
            self.stop()
            raise RuntimeError(f"fake notification daemon did not start: {self._error!r}")
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def notifies(self) -> list[tuple[Any, ...]]:
        with self._changed:
            return [args for method, args, _ in self.calls if method == "Notify"]

    def wait_for(self, method: str, count: int, timeout: float = 5.0) -> bool:
        """Block until ``method`` was called at least ``count`` times; False on timeout."""
        with self._changed:
            return self._changed.wait_for(
                lambda: sum(m == method for m, _, _ in self.calls) >= count, timeout
            )

    async def _called(self, method: str, args: tuple[Any, ...]) -> int:
        with self._changed:
            self.calls.append((method, args, time.monotonic()))
            number = len(self.calls)
            self._changed.notify_all()
        delay = self.delays.get(method, 0.0)
        if delay:
            await asyncio.sleep(delay)
        return number

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported by __enter__
            self._error = exc
            self._ready.set()
        finally:
            # Replies still sleeping when the bus went away: cancel them, then close.
            tasks = asyncio.all_tasks(self._loop)
            for task in tasks:
                task.cancel()
            if tasks:
                self._loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            self._loop.close()

    async def _serve(self) -> None:
        bus = await MessageBus(bus_address=self.address, bus_type=BusType.SESSION).connect()
        self._bus = bus
        bus.export(PATH, _Notifications(self))
        reply = await bus.request_name(NAME, NameFlag.DO_NOT_QUEUE)
        if reply is not RequestNameReply.PRIMARY_OWNER:
            raise RuntimeError(f"could not own {NAME}: {reply}")
        self._ready.set()
        await bus.wait_for_disconnect()

    def stop(self) -> None:
        bus = self._bus
        if bus is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(bus.disconnect)
        self._thread.join(5)
