"""The notifier's contract without a desktop: never blocks or raises, falls back in order,
cleans text, bounds its queue. Delivery to a real daemon is in test_desktop_stack.py."""

from __future__ import annotations

import threading

import pytest

from tray_app.notifier import MAX_PENDING, FakeBackend, Notifier, default_backends


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


def test_backend_choice_by_platform_and_env() -> None:
    assert [b.name for b in default_backends({}, "Linux")] == ["desktop-notifier", "plyer"]
    assert [b.name for b in default_backends({}, "Windows")] == ["plyer"]
    assert [b.name for b in default_backends({}, "Darwin")] == ["plyer"]
    assert default_backends({"CST_NOTIFIER": "none"}, "Linux") == []
    assert [b.name for b in default_backends({"CST_NOTIFIER": "plyer"}, "Linux")] == ["plyer"]


def test_close_stops_the_worker() -> None:
    notifier = Notifier("app", None, [FakeBackend()])
    notifier.close(2)
    assert not notifier._thread.is_alive()
    notifier.send("after close", "ignored")  # no error
