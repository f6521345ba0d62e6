"""The ``desktop`` fixture: one virtual desktop (Xvfb, private bus, dunst, trayer) per module.

Import it into tests/conftest.py::

    from tests.conftest_desktop import desktop  # noqa: F401

(the fixture carries ``name="desktop"``, so it may also be imported under another name,
``from tests.conftest_desktop import desktop as desktop_fixture``, without shadowing).

and mark the tests that use it (register the marker in pyproject.toml)::

    [tool.pytest.ini_options]
    markers = ["desktop: end-to-end test on a virtual desktop (Xvfb, dunst, trayer)"]

    pytestmark = pytest.mark.desktop

When a program or module is missing the fixture skips the test, naming what is missing and
the install script; with ``CI`` set (CI=true) it fails instead, so CI cannot pass by
skipping.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

import pytest

from tests.desktop import INSTALL_HINT, Desktop, missing_requirements


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require(missing: Sequence[str], what: str = "desktop tests") -> None:
    """Skip the test when something it needs is missing; in CI, fail instead."""
    if not missing:
        return
    message = f"{what} need: {', '.join(missing)}; {INSTALL_HINT}"
    if _in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="module", name="desktop")
def desktop() -> Iterator[Desktop]:
    require(missing_requirements())
    with Desktop() as virtual_desktop:
        yield virtual_desktop
