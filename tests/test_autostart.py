"""Start at login. Linux for real: the .desktop file is written, its Exec line is parsed back the
way a desktop session does and run; macOS and Windows at the level of what they would write."""

from __future__ import annotations

import configparser
import os
import plistlib
import subprocess
import sys
from pathlib import Path
from types import TracebackType

import pytest

from tray_app import APP_NAME, __version__
from tray_app.autostart import (
    LABEL,
    LaunchAgent,
    RunKey,
    XdgAutostart,
    command,
    for_platform,
)

APP = [sys.executable, "-m", "tray_app"]

# -- the Desktop Entry rules, read strictly (as GLib does: an invalid escape is an error) -------

_STRING_ESCAPES = {"s": " ", "n": "\n", "t": "\t", "r": "\r", "\\": "\\"}
_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


def unescape_string(value: str) -> str:
    """The escapes every string value may hold: \\s \\n \\t \\r \\\\ and nothing else."""
    out, chars = [], iter(value)
    for c in chars:
        if c == "\\":
            nxt = next(chars, "")
            if nxt not in _STRING_ESCAPES:
                raise ValueError(f"invalid escape \\{nxt} in a string value")
            out.append(_STRING_ESCAPES[nxt])
        else:
            out.append(c)
    return "".join(out)


def split_exec(value: str) -> list[str]:
    """The Exec key's value as an argument list (spec: "The Exec key")."""
    text = unescape_string(value)
    args: list[str] = []
    current: str | None = None
    i = 0
    while i < len(text):
        c = text[i]
        if c == " ":
            if current is not None:
                args.append(current)
                current = None
            i += 1
        elif c == '"':
            current = current or ""
            i += 1
            while True:
                if i >= len(text):
                    raise ValueError("unterminated quote")
                c = text[i]
                if c == '"':
                    i += 1
                    break
                if c == "\\":
                    nxt = text[i + 1] if i + 1 < len(text) else ""
                    if nxt not in '"`$\\':
                        raise ValueError(f"invalid escape \\{nxt} in a quoted argument")
                    current += nxt
                    i += 2
                else:
                    current += c
                    i += 1
        else:
            if c in _RESERVED:
                raise ValueError(f"reserved character {c!r} outside quotes")
            current = (current or "") + c
            i += 1
    if current is not None:
        args.append(current)
    for a in args:
        if "%" in a.replace("%%", ""):
            raise ValueError(f"field code in {a!r}")
    return [a.replace("%%", "%") for a in args]


def read_entry(path: Path) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(path.read_text(encoding="utf-8"))
    return dict(parser["Desktop Entry"])


@pytest.mark.parametrize(
    ("value", "argv"),
    [
        ("a b", ["a", "b"]),
        ('"a b" c', ["a b", "c"]),
        ('"x\\\\$y"', ["x$y"]),
        ('"x\\\\\\\\y"', ["x\\y"]),
        ("100%%", ["100%"]),
    ],
)
def test_the_reference_parser(value: str, argv: list[str]) -> None:
    assert split_exec(value) == argv


@pytest.mark.parametrize("value", ['"x\\$y"', "a$b", '"open', "%f", "a\\qb"])
def test_the_reference_parser_is_strict(value: str) -> None:
    with pytest.raises(ValueError):
        split_exec(value)


# -- XDG autostart ------------------------------------------------------------------------------


@pytest.fixture
def xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    return config


def child_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        env[name] = str(tmp / name.lower())
    return env


def test_xdg_entry_is_written_and_its_exec_line_runs_the_app(xdg: Path, tmp_path: Path) -> None:
    auto = XdgAutostart(argv=APP)
    assert not auto.enabled()
    auto.set(True)
    path = xdg / "autostart" / "claude-status-tray.desktop"
    assert auto.enabled() and path.exists()
    entry = read_entry(path)
    assert entry["Type"] == "Application" and entry["Name"] == APP_NAME
    assert entry["Terminal"] == "false"
    argv = split_exec(entry["Exec"])
    assert argv == APP
    done = subprocess.run([*argv, "--version"], capture_output=True, text=True, timeout=60,
                          env=child_env(tmp_path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"claude-status-tray {__version__}"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left


@pytest.mark.skipif(sys.platform == "win32",
                    reason='a folder named with " and \\ in it: Windows forbids those characters')
def test_an_awkward_argument_survives_the_exec_line_for_real(xdg: Path, tmp_path: Path) -> None:
    odd = tmp_path / 'cache $HOME "quoted" `tick` back\\slash 100% it\'s'
    argv = [sys.executable, "-X", f"pycache_prefix={odd}", "-m", "tray_app"]
    auto = XdgAutostart(argv=argv)
    auto.set(True)
    parsed = split_exec(read_entry(auto.path)["Exec"])
    assert parsed == argv
    done = subprocess.run([*parsed, "--version"], capture_output=True, text=True, timeout=60,
                          env=child_env(tmp_path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert odd.is_dir()  # Python wrote its bytecode under exactly that name


@pytest.mark.parametrize(
    "argv",
    [
        ["/opt/Claude Status Tray/claude-status-tray"],
        ["/home/me/bin/python3", "-m", "tray_app", "--url", "https://status.claude.com"],
        ["/tmp/a\tb/py"],
        ["/x/y", "--components", "Claude Code,claude.ai", "--interval", "90"],
        ["/x/y", "a\nb", "", "é ü 中文"],
    ],
    ids=["spaces", "plain", "tab", "commas", "newline-empty-unicode"],
)
def test_exec_round_trip(xdg: Path, argv: list[str]) -> None:
    auto = XdgAutostart(argv=argv)
    auto.set(True)
    assert split_exec(read_entry(auto.path)["Exec"]) == argv


def test_xdg_entry_is_removed_when_turned_off(xdg: Path) -> None:
    auto = XdgAutostart(argv=APP)
    auto.set(True)
    auto.set(False)
    assert not auto.enabled()
    assert list((xdg / "autostart").iterdir()) == []
    auto.set(False)  # already off: nothing to do, no error


def test_xdg_follows_the_config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("USERPROFILE", str(tmp_path))  # Path.home() on Windows
    assert XdgAutostart(argv=APP).path == tmp_path / ".config" / "autostart" / (
        "claude-status-tray.desktop"
    )
    assert XdgAutostart(tmp_path / "x", argv=APP).path.parent == tmp_path / "x" / "autostart"


def test_each_system_gets_its_own_kind(xdg: Path) -> None:
    """Linux an XDG entry (under XDG_CONFIG_HOME), macOS a LaunchAgent, Windows a Run value."""
    auto = for_platform()
    if sys.platform.startswith("linux"):
        assert isinstance(auto, XdgAutostart) and auto.path.is_relative_to(xdg)
    elif sys.platform == "darwin":
        assert isinstance(auto, LaunchAgent)
        assert auto.path == Path.home() / "Library" / "LaunchAgents" / f"{LABEL}.plist"
    else:
        assert sys.platform == "win32" and isinstance(auto, RunKey)


# -- macOS: a LaunchAgent ----------------------------------------------------------------------


def test_launch_agent_plist(tmp_path: Path) -> None:
    argv = ["/Applications/Claude Status Tray.app/Contents/MacOS/claude-status-tray"]
    agent = LaunchAgent(home=tmp_path, argv=argv)
    agent.set(True)
    path = tmp_path / "Library" / "LaunchAgents" / f"{LABEL}.plist"
    assert agent.enabled() and path.exists()
    with path.open("rb") as fh:
        plist = plistlib.load(fh)
    assert plist["Label"] == LABEL == "com.claude-status-tray"
    assert plist["ProgramArguments"] == argv
    assert plist["RunAtLoad"] is True and plist["KeepAlive"] is False
    agent.set(False)
    assert not agent.enabled() and not path.exists()


# -- Windows: an HKCU Run value, against a stand-in for winreg ----------------------------------


class FakeKey:
    def __init__(self, values: dict[str, tuple[str, int]]) -> None:
        self.values = values

    def __enter__(self) -> FakeKey:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        pass


class FakeWinreg:
    HKEY_CURRENT_USER = "HKCU"
    REG_SZ = 1

    def __init__(self) -> None:
        self.keys: dict[tuple[str, str], dict[str, tuple[str, int]]] = {}

    def OpenKey(self, root: str, sub: str) -> FakeKey:  # noqa: N802 - winreg's names
        if (root, sub) not in self.keys:
            raise FileNotFoundError(2, "The system cannot find the file specified")
        return FakeKey(self.keys[(root, sub)])

    def CreateKey(self, root: str, sub: str) -> FakeKey:  # noqa: N802
        return FakeKey(self.keys.setdefault((root, sub), {}))

    def QueryValueEx(self, key: FakeKey, name: str) -> tuple[str, int]:  # noqa: N802
        if name not in key.values:
            raise FileNotFoundError(2, "The system cannot find the file specified")
        return key.values[name]

    def SetValueEx(self, key: FakeKey, name: str, reserved: int, kind: int,  # noqa: N802
                   value: str) -> None:
        assert reserved == 0
        key.values[name] = (value, kind)

    def DeleteValue(self, key: FakeKey, name: str) -> None:  # noqa: N802
        if name not in key.values:
            raise FileNotFoundError(2, "The system cannot find the file specified")
        del key.values[name]


RUN = ("HKCU", r"Software\Microsoft\Windows\CurrentVersion\Run")


@pytest.mark.parametrize(
    "argv",
    [
        [r"C:\Program Files\Claude Status Tray\claude-status-tray.exe"],
        [r"C:\Users\me\AppData\Local\Programs\Python\Python311\pythonw.exe", "-m", "tray_app"],
    ],
    ids=["installed", "pythonw"],
)
def test_run_key(argv: list[str]) -> None:
    reg = FakeWinreg()
    run = RunKey(registry=reg, argv=argv)
    assert not run.enabled()
    run.set(True)
    assert run.enabled()
    value, kind = reg.keys[RUN][APP_NAME]
    assert kind == reg.REG_SZ
    assert value == subprocess.list2cmdline(argv)  # how Windows splits it back
    run.set(False)
    assert not run.enabled() and APP_NAME not in reg.keys[RUN]
    run.set(False)  # already off


# -- what is started ------------------------------------------------------------------------------


def test_the_command_is_this_python_with_the_module() -> None:
    exe = Path(sys.executable)
    if sys.platform == "win32" and exe.with_name("pythonw.exe").exists():
        exe = exe.with_name("pythonw.exe")  # no console window at every login
    assert command() == [str(exe), "-m", "tray_app"]


def test_a_frozen_build_starts_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", "/opt/cst/claude-status-tray")
    assert command() == ["/opt/cst/claude-status-tray"]


@pytest.mark.parametrize("has_pythonw", [True, False])
def test_windows_starts_without_a_console_window(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, has_pythonw: bool
) -> None:
    (tmp_path / "python.exe").write_bytes(b"")
    if has_pythonw:
        (tmp_path / "pythonw.exe").write_bytes(b"")
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python.exe"))
    exe = "pythonw.exe" if has_pythonw else "python.exe"
    assert command() == [str(tmp_path / exe), "-m", "tray_app"]
