"""The Debian package, installed for real: ``apt-get install ./claude-status-tray_….deb``.

Run only when ``CST_DEB`` names the package (``.ci/test-deb.sh`` builds it with
``python build/build.py --deb`` and sets it; it needs root, as CI has). The module installs
the package once, checks what landed where, runs the installed command (``--version``,
``--selftest``, ``check --json`` against a status page on 127.0.0.1), and the last test
removes it and checks that nothing of it is left. Without ``CST_DEB`` every test here skips.
"""

from __future__ import annotations

import configparser
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import faultserver as fs
from tray_app import APP_ID, APP_NAME, __version__
from tray_app.core.levels import Level
from tray_app.demo import StatusServer

ENV_VAR = "CST_DEB"
ROOT = Path(__file__).resolve().parent.parent
OPT = Path("/opt") / APP_ID
LAUNCHER = Path("/usr/bin") / APP_ID
DESKTOP = Path("/usr/share/applications") / f"{APP_ID}.desktop"
ICON_256 = Path("/usr/share/icons/hicolor/256x256/apps") / f"{APP_ID}.png"
APT = ["apt-get", "-y", "-q", "-o", "DPkg::Lock::Timeout=120"]
TIMEOUT = 300.0  # apt-get (waits for the dpkg lock if another install holds it)

pytestmark = pytest.mark.skipif(
    not os.environ.get(ENV_VAR),
    reason=f"{ENV_VAR} is not set (.ci/test-deb.sh builds the .deb and sets it)",
)


def _run(argv: list[str], timeout: float = 60.0,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False,
                          stdin=subprocess.DEVNULL, env=env)


def _apt_env() -> dict[str, str]:
    return {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}


def _installed() -> bool:
    return _status().startswith("ii")


@pytest.fixture(scope="module")
def package() -> Path:
    path = Path(os.environ[ENV_VAR])
    if not path.is_absolute():
        path = ROOT / path
    if not path.is_file():
        pytest.fail(f"{ENV_VAR}={os.environ[ENV_VAR]}: no such file; build it with "
                    "`python build/build.py --onefolder-only --deb`", pytrace=False)
    if os.geteuid() != 0:
        pytest.fail("installing the .deb needs root (CI runs as root)", pytrace=False)
    return path


@pytest.fixture(scope="module")
def installed(package: Path) -> Iterator[Path]:
    if _installed():  # left over from an interrupted run: start clean
        _run([*APT, "purge", APP_ID], TIMEOUT, _apt_env())
    result = _run([*APT, "install", str(package)], TIMEOUT, _apt_env())
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert _installed()
    yield package
    if _installed():
        _run([*APT, "purge", APP_ID], TIMEOUT, _apt_env())


def _fields(package: Path) -> dict[str, str]:
    result = _run(["dpkg-deb", "--field", str(package)])
    assert result.returncode == 0, result.stderr
    fields: dict[str, str] = {}
    for line in result.stdout.splitlines():
        if line and not line[0].isspace():
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def test_the_control_file(package: Path) -> None:
    fields = _fields(package)
    assert fields["Package"] == APP_ID
    assert fields["Version"] == __version__
    arch = _run(["dpkg", "--print-architecture"]).stdout.strip()
    assert fields["Architecture"] == arch
    assert package.name == f"{APP_ID}_{__version__}_{arch}.deb"
    depends = [d.strip() for d in fields["Depends"].split(",")]
    assert depends[0].startswith("libc6 (>= 2.")
    assert "libxcb1" in depends  # what PyInstaller leaves to the system
    assert "<" in fields["Maintainer"] and fields["Maintainer"].endswith(">")
    assert "Claude" in fields["Description"]
    assert int(fields["Installed-Size"]) > 10_000  # KiB: the whole one-folder build


def test_files_land_in_opt_with_a_launcher_menu_entry_and_icons(installed: Path) -> None:
    assert (OPT / APP_ID).is_file() and os.access(OPT / APP_ID, os.X_OK)
    assert LAUNCHER.is_symlink() and LAUNCHER.resolve() == OPT / APP_ID
    entry = configparser.ConfigParser(interpolation=None)
    entry.read(DESKTOP, encoding="utf-8")
    section = entry["Desktop Entry"]
    assert section["Type"] == "Application" and section["Name"] == APP_NAME
    assert section["Exec"] == APP_ID and section["Icon"] == APP_ID  # found on PATH / theme
    assert ICON_256.is_file()
    listed = _run(["dpkg", "-L", APP_ID]).stdout.splitlines()
    assert str(LAUNCHER) in listed and str(DESKTOP) in listed and str(ICON_256) in listed


@pytest.fixture
def headless_env(tmp_path: Path) -> dict[str, str]:
    """A private home and no display or session bus: what the command line needs."""
    env = fs.isolated_env(tmp_path)
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "PYSTRAY_BACKEND", "CST_NOTIFIER"):
        env.pop(name, None)
    return env


def test_the_installed_command_runs_its_self_test(installed: Path,
                                                  headless_env: dict[str, str]) -> None:
    version = _run([APP_ID, "--version"], env=headless_env)
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"{APP_ID} {__version__}"
    selftest = _run([APP_ID, "--selftest"], env=headless_env)
    assert selftest.returncode == 0, selftest.stdout + selftest.stderr
    assert selftest.stdout.splitlines()[-1].endswith("checks ok")


@pytest.mark.parametrize(("level", "exit_code"),
                         [(Level.OPERATIONAL, 0), (Level.MAJOR_OUTAGE, 2)],
                         ids=["operational", "major_outage"])
def test_the_installed_command_checks_a_local_page(
    installed: Path, headless_env: dict[str, str], level: Level, exit_code: int
) -> None:
    with StatusServer() as server:
        server.set_level(level)
        result = _run([APP_ID, "check", "--url", server.url, "--json"], env=headless_env)
    assert result.returncode == exit_code, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["level"] == level.value and report["error"] is None
    assert report["url"].startswith(server.url)


def _status() -> str:
    """dpkg's two-letter state ("ii" installed, "rc" config files left), "" when unknown."""
    result = _run(["dpkg-query", "-W", "-f=${db:Status-Abbrev}", APP_ID])
    return result.stdout.strip() if result.returncode == 0 else ""


def test_remove_leaves_nothing_behind(installed: Path) -> None:
    """Last in this module: ``apt-get remove`` takes every file, and with no conffiles
    nothing is left for a purge (which runs too if dpkg still knows the package)."""
    result = _run([*APT, "remove", APP_ID], TIMEOUT, _apt_env())
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for path in (OPT, LAUNCHER, DESKTOP, ICON_256):
        assert not path.exists() and not path.is_symlink(), f"{path} is still there"
    if _status().startswith("rc"):
        result = _run([*APT, "purge", APP_ID], TIMEOUT, _apt_env())
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert _status() in ("", "un", "pn"), _status()
