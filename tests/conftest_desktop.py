"""The ``desktop`` fixture: one virtual desktop (Xvfb, private bus, dunst, a tray host) per
module.

Import it into tests/conftest.py::

    from tests.conftest_desktop import desktop  # noqa: F401

(the fixture carries ``name="desktop"``, so it may also be imported under another name,
``from tests.conftest_desktop import desktop as desktop_fixture``, without shadowing).
``desktop`` has trayer, an XEMBED tray. A module that must pass under every kind of tray
host imports ``desktop_by_host`` instead: also named ``desktop``, it overrides the plain one
there and runs the module once per host in `TRAY_HOSTS` (trayer, then
gtk-sni-tray-standalone, a StatusNotifier host), the module's tests in file order each time.

Mark the tests that use it (register the marker in pyproject.toml)::

    [tool.pytest.ini_options]
    markers = ["desktop: end-to-end test on a virtual desktop (Xvfb, dunst, trayer)"]

    pytestmark = pytest.mark.desktop

When a program or module is missing the fixture skips the test, naming what is missing and
the install script; with ``CI`` set (CI=true) it fails instead, so CI cannot pass by
skipping.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence

import pytest

from tests.desktop import INSTALL_HINT, TRAY_HOSTS, Desktop, TrayHost, missing_requirements


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require(missing: Sequence[str], what: str = "desktop tests") -> None:
    """Skip the test when something it needs is missing; in CI on Linux, where
    .ci/install-desktop.sh installs all of it, fail instead. Off Linux these are programs the
    system doesn't have (D-Bus, Xvfb, a tray host): skip, and say so, in CI too."""
    if not missing:
        return
    if not sys.platform.startswith("linux"):
        pytest.skip(f"{what} need {', '.join(missing)}: Linux only")
    message = f"{what} need: {', '.join(missing)}; {INSTALL_HINT}"
    if _in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def desktop_on(host: TrayHost) -> Iterator[Desktop]:
    """A started desktop with that tray host, for a fixture to ``yield from``."""
    require(missing_requirements(host), f"desktop tests on the {host} tray host")
    with Desktop(host=host) as virtual_desktop:
        yield virtual_desktop


@pytest.fixture(scope="module", name="desktop")
def desktop() -> Iterator[Desktop]:
    yield from desktop_on("xembed")


@pytest.fixture(scope="module", name="desktop", params=TRAY_HOSTS)
def desktop_by_host(request: pytest.FixtureRequest) -> Iterator[Desktop]:
    yield from desktop_on(request.param)
