"""Smoke tests of the frozen (PyInstaller) build: the binary itself, not the source.

Run only when ``CST_FROZEN`` names the binary (``.ci/build-frozen.sh`` builds the one-folder
app and sets ``CST_FROZEN=dist/claude-status-tray/claude-status-tray``); without it every
test here is skipped, with it a missing binary fails. The frozen app runs with a private
home and XDG folders under ``tmp_path``; the headless tests also unset DISPLAY and the
session bus. The last tests run the frozen tray on the virtual desktop (Xvfb, trayer, a
private D-Bus session, dunst) of tests/desktop.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest_desktop import desktop as desktop_fixture  # noqa: F401 (the fixture)
from tests.desktop import Desktop, wait_until
from tray_app import APP_ID, __version__
from tray_app.core.levels import Level
from tray_app.demo import StatusServer
from tray_app.icons import level_colour

ROOT = Path(__file__).resolve().parent.parent
ENV_VAR = "CST_FROZEN"
TIMEOUT = 60.0  # one run of the frozen binary (a one-file build unpacks itself first)
ICON_PIXELS = 100  # a docked 64 px icon scaled into a 32 px tray shows a few hundred

pytestmark = pytest.mark.skipif(
    not os.environ.get(ENV_VAR),
    reason=f"{ENV_VAR} is not set (.ci/build-frozen.sh builds the app and sets it)",
)


@pytest.fixture(scope="module")
def frozen() -> Path:
    path = Path(os.environ[ENV_VAR])
    if not path.is_absolute():
        path = ROOT / path
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(f"{ENV_VAR}={os.environ[ENV_VAR]}: no executable at {path}; build it with "
                    "`python build/build.py --onefolder-only`", pytrace=False)
    return path


def _private_dirs(tmp_path: Path) -> dict[str, str]:
    dirs = {
        "HOME": tmp_path / "home",
        "XDG_CONFIG_HOME": tmp_path / "config",
        "XDG_DATA_HOME": tmp_path / "data",
        "XDG_STATE_HOME": tmp_path / "state",
        "XDG_CACHE_HOME": tmp_path / "cache",
    }
    for path in dirs.values():
        path.mkdir(exist_ok=True)
    return {key: str(path) for key, path in dirs.items()}


@pytest.fixture
def headless_env(tmp_path: Path) -> dict[str, str]:
    """No display, no session bus, a private home: what `--selftest` promises to need."""
    drop = ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS", "PYSTRAY_BACKEND",
            "CST_NOTIFIER", "XDG_RUNTIME_DIR")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(_private_dirs(tmp_path))
    return env


def _run(frozen: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(frozen), *args], env=env, capture_output=True, text=True,
                          timeout=TIMEOUT, check=False, stdin=subprocess.DEVNULL)


@pytest.fixture
def server() -> Iterator[StatusServer]:
    with StatusServer() as status_server:
        yield status_server


# -- headless ------------------------------------------------------------------------------


def test_version(frozen: Path, headless_env: dict[str, str]) -> None:
    result = _run(frozen, "--version", env=headless_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{APP_ID} {__version__}"


def test_selftest_passes_without_display_or_network(
    frozen: Path, headless_env: dict[str, str]
) -> None:
    result = _run(frozen, "--selftest", env=headless_env)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    checks = [line for line in lines if not line.startswith("selftest:")]
    assert checks and all(line.startswith("ok ") for line in checks), result.stdout
    assert lines[-1] == f"selftest: {len(checks)} of {len(checks)} checks ok"
    # What PyInstaller can't see by itself made it into the bundle.
    assert "plyer.platforms.linux.notification" in result.stdout
    assert "desktop-notifier" in result.stdout
    assert "xorg" in result.stdout


@pytest.mark.parametrize(
    ("level", "exit_code"),
    [(Level.OPERATIONAL, 0), (Level.MAJOR_OUTAGE, 2)],
    ids=["operational", "major_outage"],
)
def test_check_json_against_a_local_page(
    frozen: Path, headless_env: dict[str, str], server: StatusServer, level: Level, exit_code: int
) -> None:
    server.set_level(level)
    result = _run(frozen, "check", "--url", server.url, "--json", env=headless_env)
    assert result.returncode == exit_code, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["level"] == level.value
    assert report["error"] is None
    assert report["url"].startswith(server.url)
    assert server.requests >= 1


def test_linux_tarball_holds_the_build_and_its_desktop_files(frozen: Path) -> None:
    """build.py packs the one-folder build it just made with the launcher and the note."""
    # dist/claude-status-tray/claude-status-tray, or the one-file dist/claude-status-tray-onefile
    dists = (frozen.parent.parent, frozen.parent)
    tarballs = sorted(p for d in dists for p in d.glob(f"{APP_ID}-linux-*.tar.gz"))
    assert tarballs, f"no {APP_ID}-linux-<arch>.tar.gz in {dists[0]} or {dists[1]}"
    with tarfile.open(tarballs[-1]) as tar:
        members = {m.name: m for m in tar.getmembers()}
    for name in (APP_ID, "INSTALL.txt", f"{APP_ID}.desktop", f"{APP_ID}.png"):
        assert f"{APP_ID}/{name}" in members, sorted(members)[:20]
    assert members[f"{APP_ID}/{APP_ID}"].mode & 0o111, "the binary lost its exec bits"


# -- on the virtual desktop ----------------------------------------------------------------

GREEN = level_colour(Level.OPERATIONAL)
RED = level_colour(Level.MAJOR_OUTAGE)


def _start_tray(
    desktop: Desktop, frozen: Path, server: StatusServer, tmp_path: Path
) -> subprocess.Popen[Any]:
    env = {**_private_dirs(tmp_path), "CST_TRAY_WAIT": "10"}
    with open(tmp_path / "frozen-tray.log", "wb") as log:  # the child keeps its own copy
        return desktop.spawn(
            [str(frozen), "--url", server.url, "--interval", "1", "-v"],
            env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )


def _log(tmp_path: Path) -> str:
    path = tmp_path / "frozen-tray.log"
    return path.read_text(errors="replace")[-4000:] if path.exists() else ""


def _stop(desktop: Desktop, proc: subprocess.Popen[Any], tmp_path: Path) -> int | None:
    """SIGTERM, then wait; desktop.stop_app kills it if it hangs. Leaves the tray empty."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
    code = desktop.stop_app(proc)
    wait_until(lambda: not desktop.tray_icons(), 5.0)
    return code


@pytest.mark.desktop
def test_frozen_tray_shows_the_level_and_notifies_an_outage(
    desktop: Desktop, frozen: Path, server: StatusServer, tmp_path: Path
) -> None:
    server.set_level(Level.OPERATIONAL)
    desktop.clear_notifications()
    proc = _start_tray(desktop, frozen, server, tmp_path)
    try:
        assert desktop.wait_for_colour(GREEN, min_pixels=ICON_PIXELS, region="tray",
                                       timeout=20), (
            f"no operational icon in the tray; {_shot(desktop, tmp_path, 'green')}\n"
            f"{_log(tmp_path)}"
        )
        assert len(desktop.tray_icons()) == 1
        assert "gtk backend" in _log(tmp_path)  # real menus: PyGObject is in the bundle

        server.set_level(Level.MAJOR_OUTAGE)
        assert desktop.wait_for_colour(RED, min_pixels=ICON_PIXELS, region="tray",
                                       timeout=15), (
            f"the icon did not turn red; {_shot(desktop, tmp_path, 'red')}\n{_log(tmp_path)}"
        )
        assert desktop.wait_for_no_colour(GREEN, region="tray", timeout=5)
        note = desktop.wait_for_notification(lambda n: "down" in n["summary"].lower(),
                                             timeout=15)
        assert note is not None, (desktop.notifications(), _log(tmp_path))
        assert note["appname"] == "Claude Status Tray"
        assert proc.poll() is None, _log(tmp_path)
    finally:
        code = _stop(desktop, proc, tmp_path)
    # The tray dies by SIGTERM's default action or exits 0; never did it need a kill.
    assert code in (0, -signal.SIGTERM), f"exit {code}\n{_log(tmp_path)}"
    assert not desktop.tray_icons()


@pytest.mark.desktop
def test_frozen_tray_menu_opens_and_quit_exits_cleanly(
    desktop: Desktop, frozen: Path, server: StatusServer, tmp_path: Path
) -> None:
    server.set_level(Level.OPERATIONAL)
    proc = _start_tray(desktop, frozen, server, tmp_path)
    try:
        assert desktop.wait_for_colour(GREEN, min_pixels=ICON_PIXELS, region="tray",
                                       timeout=20), _log(tmp_path)
        icon = desktop.find_colour(GREEN, region="tray")
        assert icon is not None
        menu = desktop.open_menu(at=icon.center, timeout=5)
        items = desktop.menu_items(menu)
        assert len(items) >= 5, f"{len(items)} items; {_shot(desktop, tmp_path, 'menu')}"
        desktop.click(*items[-1])  # "Quit" is the last item
        assert proc.wait(10) == 0, _log(tmp_path)
    finally:
        _stop(desktop, proc, tmp_path)


def _shot(desktop: Desktop, tmp_path: Path, name: str) -> str:
    path = tmp_path / f"{name}.png"
    desktop.screenshot(path)
    return f"screenshot: {path}"
