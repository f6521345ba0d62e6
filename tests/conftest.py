"""Shared fixtures. Tests never reach beyond this machine: the connectivity check is pointed
at a loopback stand-in (inherited by every app process a test starts), and any in-process
connection to a non-loopback address fails loudly."""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest_desktop import desktop  # noqa: F401 - the virtual desktop fixture

_real_connect = socket.socket.connect

# The virtual desktop is Xvfb, trayer and dunst on a private D-Bus session: Linux programs.
LINUX_ONLY_DESKTOP = "needs Xvfb and a tray host: Linux only"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Off Linux, every ``desktop`` test skips and says why (in CI too, where the fixture
    would otherwise fail for the missing programs)."""
    if sys.platform.startswith("linux"):
        return
    for item in items:
        if item.get_closest_marker("desktop") is not None:
            item.add_marker(pytest.mark.skip(reason=LINUX_ONLY_DESKTOP))


def _loopback_only(self: socket.socket, address: Any) -> None:
    if self.family in (socket.AF_INET, socket.AF_INET6):
        host = str(address[0])
        try:
            ok = ipaddress.ip_address(host.split("%")[0]).is_loopback
        except ValueError:
            ok = host == "localhost"
        if not ok:
            raise ConnectionRefusedError(f"tests may not connect to {host} (loopback only)")
    _real_connect(self, address)


@pytest.fixture(scope="session", autouse=True)
def loopback_only() -> Iterator[None]:
    # A listening socket that is never accepted from: connects to it succeed (the backlog),
    # so "is my connection up?" answers yes without leaving the machine.
    stand_in = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    stand_in.bind(("127.0.0.1", 0))
    stand_in.listen(64)
    old = os.environ.get("CST_ONLINE_CHECK")
    os.environ["CST_ONLINE_CHECK"] = f"127.0.0.1:{stand_in.getsockname()[1]}"
    socket.socket.connect = _loopback_only  # type: ignore[method-assign]
    try:
        yield
    finally:
        socket.socket.connect = _real_connect  # type: ignore[method-assign]
        if old is None:
            os.environ.pop("CST_ONLINE_CHECK", None)
        else:
            os.environ["CST_ONLINE_CHECK"] = old
        stand_in.close()
