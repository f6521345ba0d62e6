"""The notifier's contract without a desktop: never blocks or raises, falls back in order,
cleans text, bounds its queue; and each platform's backend checked at its seam with a fake
(osascript's argv, the Windows tray icon's notify, plyer's call). Delivery to a real daemon is
in test_desktop_stack.py, the D-Bus timeout against a real bus in test_notify_dbus_timeout.py.
"""

from __future__ import annotations

import plistlib
import subprocess
import sys
import threading
import types
from pathlib import Path
from typing import Any

import pytest

from tray_app.core.plaintext import utf16_len
from tray_app.notifier import (
    MAX_PENDING,
    FakeBackend,
    MaybeDelivered,
    NotDelivered,
    Notifier,
    OsascriptBackend,
    PlyerBackend,
    TrayBalloonBackend,
    default_backends,
    macos_bundle_id,
    osascript_argv,
)


class Failing:
    name = "failing"

    def __init__(self) -> None:
        self.calls = 0

    def send(self, title: str, body: str, app_name: str, icon_path: str | None) -> None:
        self.calls += 1
        raise RuntimeError("no daemon")


class Blocking:
    name = "blocking"

    def __init__(self) -> None:
        self.release = threading.Event()

    def send(self, title: str, body: str, app_name: str, icon_path: str | None) -> None:
        self.release.wait(5)


def test_falls_back_to_the_next_backend_and_sets_name_and_icon() -> None:
    failing, fake = Failing(), FakeBackend()
    notifier = Notifier("Claude Status Tray", "/tmp/icon.png", [failing, fake])
    try:
        notifier.send("Claude is down", "Major outage")
        assert notifier.flush(5)
    finally:
        notifier.close()
    assert failing.calls == 1
    assert len(fake.calls) == 1
    call = fake.calls[0]
    assert "Claude is down" in str(call) and "Claude Status Tray" in str(call)
    assert "/tmp/icon.png" in str(call)


def test_every_backend_failing_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    notifier = Notifier("app", None, [Failing(), Failing()])
    try:
        notifier.send("t", "b")
        assert notifier.flush(5)
        notifier.send("still", "alive")
        assert notifier.flush(5)
    finally:
        notifier.close()
    assert any("No notification backend delivered" in r.message for r in caplog.records)


def test_text_is_cleaned_and_capped_before_any_backend() -> None:
    fake = FakeBackend()
    notifier = Notifier("app", None, [fake])
    try:
        notifier.send("<b>Down</b>\u202e" + "x" * 100, "line\x1bone<script>x</script>" * 40)
        assert notifier.flush(5)
    finally:
        notifier.close()
    title, body, _, _ = fake.calls[0]
    for text in (title, body):
        assert "<" not in text and "\u202e" not in text and "\x1b" not in text
    assert title.startswith("Down") and len(title) == 64 and title.endswith("…")
    assert len(body) == 256 and "script" not in body


def test_send_never_blocks_and_the_queue_is_bounded(caplog: pytest.LogCaptureFixture) -> None:
    blocking = Blocking()
    notifier = Notifier("app", None, [blocking])
    try:
        for i in range(MAX_PENDING + 10):
            notifier.send(f"n{i}", "b")  # returns at once although the backend is stuck
        assert any("dropped" in r.message for r in caplog.records)
    finally:
        blocking.release.set()
        notifier.close(5)


def names(backends: list[Any]) -> list[str]:
    return [b.name for b in backends]


def test_backend_choice_by_platform_and_env() -> None:
    tray = TrayBalloonBackend()
    assert names(default_backends({}, "Linux")) == ["desktop-notifier", "plyer"]
    assert names(default_backends({}, "Linux", tray=tray)) == ["desktop-notifier", "plyer"]
    # Windows: the tray's own icon while the tray runs; plyer alone for `watch`.
    assert names(default_backends({}, "Windows", tray=tray)) == ["tray-balloon", "plyer"]
    assert default_backends({}, "Windows", tray=tray)[0] is tray
    assert names(default_backends({}, "Windows")) == ["plyer"]
    # macOS: native first only from our own .app; this test process is not frozen.
    assert names(default_backends({}, "Darwin")) == ["osascript", "plyer"]
    assert names(default_backends({}, "Darwin", bundle_id="com.claude-status-tray")) == [
        "plyer", "osascript"
    ]
    assert default_backends({"CST_NOTIFIER": "none"}, "Linux") == []
    assert names(default_backends({"CST_NOTIFIER": "plyer"}, "Linux")) == ["plyer"]
    assert names(default_backends({"CST_NOTIFIER": "osascript"}, "Darwin")) == ["osascript"]


def test_a_maybe_delivered_notification_is_not_sent_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class TimedOut:
        name = "slow-daemon"

        def send(self, title: str, body: str, app_name: str, icon_path: str | None) -> None:
            raise MaybeDelivered("the daemon did not answer Notify in 5 s")

    fallback = FakeBackend("plyer")
    notifier = Notifier("app", None, [TimedOut(), fallback])
    try:
        notifier.send("Claude is down", "b")
        assert notifier.flush(5)
    finally:
        notifier.close()
    assert fallback.calls == []
    assert any("may have been shown by slow-daemon" in r.message for r in caplog.records)
    assert not any("No notification backend delivered" in r.message for r in caplog.records)


# -- macOS: osascript with the text as arguments, and the order by app bundle ----------------


class FakeRun:
    """Stands in for subprocess.run: records argv and keyword arguments."""

    def __init__(self, returncode: int = 0, stderr: str = "",
                 raises: BaseException | None = None) -> None:
        self.returncode, self.stderr, self.raises = returncode, stderr, raises
        self.calls: list[tuple[Any, dict[str, Any]]] = []

    def __call__(self, argv: Any, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append((argv, kwargs))
        if self.raises is not None:
            raise self.raises
        return subprocess.CompletedProcess(argv, self.returncode, "", self.stderr)


HOSTILE_TITLE = '-e "; do shell script "touch /tmp/pwned" --'
HOSTILE_BODY = "end run\\" + '" & (do shell script "id") & "'


def test_osascript_gets_the_text_as_arguments_never_as_script() -> None:
    run = FakeRun()
    OsascriptBackend(run=run, timeout=7).send(HOSTILE_TITLE, HOSTILE_BODY, "app", None)
    (argv, kwargs), = run.calls
    assert argv == [
        "osascript",
        "-e", "on run argv",
        "-e", "display notification (item 2 of argv) with title (item 1 of argv)",
        "-e", "end run",
        "--", HOSTILE_TITLE, HOSTILE_BODY,
    ]
    assert isinstance(argv, list) and not kwargs.get("shell")
    assert kwargs["timeout"] == 7 and kwargs["check"] is False


@pytest.mark.parametrize(
    ("run", "outcome"),
    [
        (FakeRun(returncode=1, stderr="execution error: -1743"), NotDelivered),
        (FakeRun(raises=FileNotFoundError(2, "No such file", "osascript")), NotDelivered),
        (FakeRun(raises=subprocess.TimeoutExpired("osascript", 10)), MaybeDelivered),
    ],
    ids=["exit-1", "no-osascript", "timeout"],
)
def test_osascript_failures_say_whether_it_may_have_shown(
    run: FakeRun, outcome: type[Exception]
) -> None:
    with pytest.raises(outcome):
        OsascriptBackend(run=run).send("t", "b", "app", None)


def test_unbundled_macos_falls_back_from_osascript_to_plyer() -> None:
    backends = default_backends({}, "Darwin")
    failing_run = FakeRun(returncode=1, stderr="osascript: no")
    backends[0] = OsascriptBackend(run=failing_run)
    plyer = FakeBackend("plyer")
    notifier = Notifier("app", None, [backends[0], plyer])
    try:
        notifier.send("Claude is down", "Major outage")
        assert notifier.flush(5)
    finally:
        notifier.close()
    assert len(failing_run.calls) == 1 and [c[0] for c in plyer.calls] == ["Claude is down"]


@pytest.mark.skipif(sys.platform != "darwin", reason="runs the real osascript: macOS only")
def test_osascript_passes_hostile_text_through_verbatim() -> None:
    echo = ("on run argv", 'return (item 1 of argv) & "|" & (item 2 of argv)', "end run")
    done = subprocess.run(osascript_argv(HOSTILE_TITLE, HOSTILE_BODY, echo),
                          capture_output=True, text=True, timeout=30, check=True)
    assert done.stdout.rstrip("\n") == f"{HOSTILE_TITLE}|{HOSTILE_BODY}"


def _app(tmp_path: Path, info: object) -> Path:
    contents = tmp_path / "Claude Status Tray.app" / "Contents"
    (contents / "MacOS").mkdir(parents=True)
    (contents / "Info.plist").write_bytes(plistlib.dumps(info))
    return contents / "MacOS" / "claude-status-tray"


def test_the_bundle_id_comes_from_the_frozen_apps_info_plist(tmp_path: Path) -> None:
    exe = _app(tmp_path, {"CFBundleIdentifier": "com.claude-status-tray"})
    assert macos_bundle_id(str(exe), frozen=True) == "com.claude-status-tray"
    assert macos_bundle_id(str(exe), frozen=False) is None, "only a frozen build is our bundle"
    assert macos_bundle_id(str(tmp_path / "venv" / "bin" / "python"), frozen=True) is None
    assert macos_bundle_id(None, frozen=None) is None  # this test process is not frozen


@pytest.mark.parametrize("info", [{}, {"CFBundleIdentifier": ""}, ["not", "a", "dict"]])
def test_a_bundle_without_an_id_is_no_bundle(tmp_path: Path, info: object) -> None:
    assert macos_bundle_id(str(_app(tmp_path, info)), frozen=True) is None


def test_a_broken_info_plist_is_no_bundle(tmp_path: Path) -> None:
    exe = _app(tmp_path, {})
    (exe.parent.parent / "Info.plist").write_bytes(b"<plist><dict><key>oops")
    assert macos_bundle_id(str(exe), frozen=True) is None


# -- Windows: the tray icon's own balloon, cut in UTF-16 units; plyer when no tray --------


def _no_lone_surrogates(text: str) -> bool:
    text.encode("utf-16-le")  # raises UnicodeEncodeError on half a pair
    return True


def test_the_tray_balloon_gets_text_cut_in_utf16_units() -> None:
    shown: list[tuple[str, str]] = []
    balloon = TrayBalloonBackend()
    balloon.attach(lambda title, body: shown.append((title, body)))
    title = "x" * 61 + "\U0001F525" + "tail"  # the emoji straddles unit 63
    body = "\U0001F600" * 200  # 400 units
    balloon.send(title, body, "app", None)
    (got_title, got_body), = shown
    assert got_title == "x" * 61 + "…" and utf16_len(got_title) == 62
    assert got_body == "\U0001F600" * 127 + "…" and utf16_len(got_body) == 255
    assert _no_lone_surrogates(got_title) and _no_lone_surrogates(got_body)
    balloon.send("short", "fits", "app", None)
    assert shown[-1] == ("short", "fits"), "text that fits is left whole"


def test_without_a_running_tray_the_balloon_falls_back_to_plyer() -> None:
    shown: list[tuple[str, str]] = []
    balloon, plyer = TrayBalloonBackend(), FakeBackend("plyer")
    notifier = Notifier("app", None, [balloon, plyer])
    try:
        notifier.send("before the tray", "b")  # start-up: not attached yet
        assert notifier.flush(5)
        balloon.attach(lambda title, body: shown.append((title, body)))
        notifier.send("while it runs", "b")
        assert notifier.flush(5)
        balloon.detach()  # the tray stopped
        notifier.send("after the tray", "b")
        assert notifier.flush(5)
    finally:
        notifier.close()
    assert shown == [("while it runs", "b")]
    assert [c[0] for c in plyer.calls] == ["before the tray", "after the tray"]


def test_a_tray_that_cannot_notify_falls_back_to_plyer() -> None:
    def broken(title: str, body: str) -> None:
        raise RuntimeError("the tray icon is not shown")

    balloon, plyer = TrayBalloonBackend(), FakeBackend("plyer")
    balloon.attach(broken)
    notifier = Notifier("app", None, [balloon, plyer])
    try:
        notifier.send("t", "b")
        assert notifier.flush(5)
    finally:
        notifier.close()
    assert len(plyer.calls) == 1


class FakePlyer:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def notify(self, **kwargs: Any) -> None:
        self.calls.append(kwargs)


@pytest.mark.parametrize("windows", [True, False])
def test_plyer_gets_windows_cuts_only_on_windows(
    monkeypatch: pytest.MonkeyPatch, windows: bool
) -> None:
    fake = FakePlyer()
    monkeypatch.setitem(sys.modules, "plyer", types.SimpleNamespace(notification=fake))
    title = "t" * 62 + "\U0001F525"  # 64 units: one too many for the balloon's title
    body = "b" * 254 + "\U0001F525"  # 256 units
    backend = default_backends({"CST_NOTIFIER": "plyer"}, "Windows" if windows else "Linux")[0]
    assert isinstance(backend, PlyerBackend)
    backend.send(title, body, "Claude Status Tray", "/tmp/icon.ico")
    (call,) = fake.calls
    if windows:
        assert call["title"] == "t" * 62 + "…" and call["message"] == "b" * 254 + "…"
    else:
        assert (call["title"], call["message"]) == (title, body)
    assert call["app_name"] == "Claude Status Tray" and call["app_icon"] == "/tmp/icon.ico"


class FakeIcon:
    """pystray.Icon's surface that TrayIcon uses."""

    HAS_NOTIFICATION = True

    def __init__(self, name: str, icon: Any, title: str, menu: Any) -> None:
        self.title, self.visible = title, False
        self.notified: list[tuple[str, str | None]] = []

    def notify(self, message: str, title: str | None = None) -> None:
        self.notified.append((message, title))


def _fake_pystray() -> types.ModuleType:
    module = types.ModuleType("pystray")
    FakeIcon.__module__ = "pystray._win32"
    module.Icon = FakeIcon  # type: ignore[attr-defined]
    module.Menu = lambda *items: items  # type: ignore[attr-defined]
    module.Menu.SEPARATOR = "---"  # type: ignore[attr-defined]
    module.MenuItem = lambda *a, **k: (a, k)  # type: ignore[attr-defined]
    return module


def test_windows_notifies_through_the_tray_icons_own_notify(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tray_app.core.levels import Level
    from tray_app.menu import TrayModel
    from tray_app.tray import TrayIcon

    monkeypatch.setitem(sys.modules, "pystray", _fake_pystray())
    monkeypatch.setenv("PYSTRAY_BACKEND", "win32")
    monkeypatch.delenv("CST_MENU_DUMP", raising=False)
    tray = TrayIcon(lambda action, arg: None, TrayModel(Level.OPERATIONAL, False, "", "tip"))
    icon = tray._icon
    balloon, plyer = TrayBalloonBackend(), FakeBackend("plyer")
    balloon.attach(tray.notify)
    notifier = Notifier("app", None, [balloon, plyer])
    try:
        notifier.send("Claude is down \U0001F525", "x" * 300)  # hidden icon: plyer
        assert notifier.flush(5)
        icon.visible = True
        notifier.send("Claude is down \U0001F525", "x" * 300)
        assert notifier.flush(5)
    finally:
        notifier.close()
    assert len(plyer.calls) == 1
    (message, title), = icon.notified
    assert title == "Claude is down \U0001F525"
    assert message == "x" * 254 + "…" and utf16_len(message) == 255


def test_close_stops_the_worker() -> None:
    notifier = Notifier("app", None, [FakeBackend()])
    notifier.close(2)
    assert not notifier._thread.is_alive()
    notifier.send("after close", "ignored")  # no error


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="lists Linux's chain")
def test_selftest_lists_the_backends_in_the_order_they_are_tried() -> None:
    from tray_app.selftest import _notifier

    assert _notifier() == (
        "desktop-notifier then plyer (plyer.platforms.linux.notification)"
    )
