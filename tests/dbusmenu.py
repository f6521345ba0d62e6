"""A StatusNotifier item's menu, read and clicked over D-Bus (com.canonical.dbusmenu).

A StatusNotifier host draws an item's menu from the layout the item exports over dbusmenu,
and tells the item which entry was clicked with an ``Event(id, "clicked", …)`` call. This
module does the same without pixels: `SniMenu.layout` reads the layout (``GetLayout``) as
`MenuNode` trees, and `SniMenu.click` sends the click for an entry found by its labels.
Under load, clicking the host's drawn menu with the mouse loses clicks now and then (see
test_tray_menu_e2e.py); this path does not depend on timing.

Each call opens its own dbus-fast connection to the desktop's private bus and closes it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from dbus_fast import Message, MessageType, Variant
from dbus_fast.aio import MessageBus

SNI_INTERFACE = "org.kde.StatusNotifierItem"
MENU_INTERFACE = "com.canonical.dbusmenu"
T = TypeVar("T")


class DbusMenuError(RuntimeError):
    """The item or its menu could not be read, or an entry was not found."""


@dataclass(frozen=True)
class MenuNode:
    id: int
    label: str  # mnemonic underscores removed
    enabled: bool
    visible: bool
    separator: bool
    checked: bool | None  # None: not a check item
    children: tuple[MenuNode, ...]

    def shown(self) -> list[MenuNode]:
        """The visible children, separators left out (what a reader counts as items)."""
        return [c for c in self.children if c.visible and not c.separator]


def _label(raw: str) -> str:
    # dbusmenu marks a mnemonic with "_" and writes a literal underscore as "__".
    return raw.replace("__", "\0").replace("_", "").replace("\0", "_")


def _node(raw: Any) -> MenuNode:
    node_id, props, children = raw
    props = {k: v.value for k, v in props.items()}
    toggle = props.get("toggle-type", "")
    return MenuNode(
        id=int(node_id),
        label=_label(str(props.get("label", ""))),
        enabled=bool(props.get("enabled", True)),
        visible=bool(props.get("visible", True)),
        separator=props.get("type") == "separator",
        checked=bool(props.get("toggle-state", 0) == 1) if toggle == "checkmark" else None,
        children=tuple(_node(c.value) for c in children),
    )


class SniMenu:
    """The dbusmenu of the StatusNotifier item owned by ``service`` on ``bus_address``."""

    def __init__(self, bus_address: str, service: str, timeout: float = 5.0) -> None:
        self.bus_address = bus_address
        self.service = service
        self.timeout = timeout

    def _run(self, work: Callable[[MessageBus], Awaitable[T]]) -> T:
        async def session() -> T:
            bus = await MessageBus(bus_address=self.bus_address).connect()
            try:
                return await asyncio.wait_for(work(bus), self.timeout)
            finally:
                bus.disconnect()

        return asyncio.run(session())

    async def _call(self, bus: MessageBus, path: str, interface: str, member: str,
                    signature: str = "", body: list[Any] | None = None) -> list[Any]:
        reply = await bus.call(Message(
            destination=self.service, path=path, interface=interface, member=member,
            signature=signature, body=body or [],
        ))
        if reply.message_type is MessageType.ERROR:
            raise DbusMenuError(f"{interface}.{member} on {path}: {reply.error_name} "
                                f"{reply.body}")
        return list(reply.body)

    async def _item_path(self, bus: MessageBus, path: str = "/") -> str | None:
        """Depth-first through the service's objects to the one with the SNI interface."""
        node = await bus.introspect(self.service, path)
        if any(i.name == SNI_INTERFACE for i in node.interfaces):
            return path
        for child in node.nodes:
            found = await self._item_path(bus, f"{path.rstrip('/')}/{child.name}")
            if found is not None:
                return found
        return None

    async def _menu_path(self, bus: MessageBus) -> str:
        item = await self._item_path(bus)
        if item is None:
            raise DbusMenuError(f"{self.service} exports no {SNI_INTERFACE}")
        (menu,) = await self._call(bus, item, "org.freedesktop.DBus.Properties", "Get", "ss",
                                   [SNI_INTERFACE, "Menu"])
        return str(menu.value)

    def layout(self) -> MenuNode:
        """The whole menu tree as the item exports it now."""

        async def work(bus: MessageBus) -> MenuNode:
            path = await self._menu_path(bus)
            _revision, root = await self._call(bus, path, MENU_INTERFACE, "GetLayout", "iias",
                                               [0, -1, []])
            return _node(root)

        return self._run(work)

    def find(self, *labels: str) -> MenuNode:
        """The entry reached through ``labels`` (submenus first), among the visible ones."""
        node = self.layout()
        for label in labels:
            names = [c.label for c in node.shown()]
            node = next((c for c in node.shown() if c.label == label), None)  # type: ignore[assignment]
            if node is None:
                raise DbusMenuError(f"{label!r} not in {names}")
        return node

    def click(self, *labels: str) -> None:
        """Click the entry reached through ``labels``, as a host does when the user clicks it:
        "opened" for each submenu on the way, then "clicked" on the entry."""
        target = self.find(*labels)
        if not target.enabled:
            raise DbusMenuError(f"{labels[-1]!r} is disabled")
        # The root (id 0) and each submenu on the way are "opened" first, as a host does.
        path_ids = [0, *(self.find(*labels[:depth]).id for depth in range(1, len(labels)))]

        async def work(bus: MessageBus) -> None:
            menu = await self._menu_path(bus)
            stamp = int(time.time()) & 0xFFFFFFFF
            for node_id in path_ids:
                await self._call(bus, menu, MENU_INTERFACE, "AboutToShow", "i", [node_id])
                await self._call(bus, menu, MENU_INTERFACE, "Event", "isvu",
                                 [node_id, "opened", Variant("i", 0), stamp])
            await self._call(bus, menu, MENU_INTERFACE, "Event", "isvu",
                             [target.id, "clicked", Variant("i", 0), stamp])

        self._run(work)
