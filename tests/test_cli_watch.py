"""``claude-status-tray watch --jsonl`` end to end, as a process, while the page on 127.0.0.1
flips from operational to a major outage and back.

Output is read line by line on a thread with a deadline for every wait, and the process is
stopped with SIGINT (then SIGTERM, then SIGKILL) so nothing is left running. Windows can't send
a signal to another process (only TerminateProcess, or a console event that its
``time.sleep`` would not notice): there the process is terminated, and whether a signal stops
it cleanly is checked on Linux and macOS only.
"""

from __future__ import annotations

import contextlib
import json
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from tests import faultserver as fs
from tray_app.core.levels import Level
from tray_app.demo import StatusServer

WAIT = 20.0  # seconds for any one expected event; each normally comes within 1-2 s
POSIX_SIGNALS = sys.platform != "win32"
NO_SIGNALS = "sends SIGINT/SIGTERM to another process: Windows has no such signals"
Event = dict[str, Any]


class JsonLines:
    """Reads a process's stdout on a thread; ``until`` waits for an event with a deadline."""

    def __init__(self, stream: IO[str]) -> None:
        self.events: list[Event] = []
        self.raw: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._pump, args=(stream,), name="jsonl-reader",
                                        daemon=True)
        self._thread.start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self._queue.put(line)
        self._queue.put(None)

    def until(self, want: Callable[[Event], bool], what: str, timeout: float = WAIT) -> Event:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {what} within {timeout:g} s; got {self.raw}")
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"the process ended before {what}; got {self.raw}")
            self.raw.append(line)
            event = json.loads(line)  # every line is one JSON object
            assert isinstance(event, dict) and "event" in event, line
            self.events.append(event)
            if want(event):
                return event

    def join(self, timeout: float = 5.0) -> None:
        self._thread.join(timeout)


@contextlib.contextmanager
def watch(tmp_path: Path, *args: str, stderr_name: str = "stderr.txt"
          ) -> Iterator[tuple[subprocess.Popen[str], JsonLines]]:
    """``watch --jsonl`` with every user folder under ``tmp_path``; its stderr to a file."""
    stderr = (tmp_path / stderr_name).open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tray_app", "watch", "--jsonl", "--no-notify", *args],
        env=fs.isolated_env(tmp_path), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=stderr, text=True,
    )
    try:
        assert proc.stdout is not None
        yield proc, JsonLines(proc.stdout)
    finally:
        stop(proc)
        stderr.close()
        if proc.stdout is not None:
            proc.stdout.close()


def stop(proc: subprocess.Popen[str]) -> int | None:
    """SIGINT, then SIGTERM, then SIGKILL, each with a deadline; returns the exit code, or
    None on Windows, where the process can only be terminated (so its code says nothing)."""
    if not POSIX_SIGNALS:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(10)
        return None
    for sig, wait in ((signal.SIGINT, 10.0), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        if proc.poll() is not None:
            break
        proc.send_signal(sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(wait)
    assert proc.poll() is not None, "the watch process is still running"
    return proc.returncode


def is_poll(level: str) -> Callable[[Event], bool]:
    return lambda e: e["event"] == "poll" and e["level"] == level


def is_note(kind: str) -> Callable[[Event], bool]:
    return lambda e: e["event"] == "notification" and e["kind"] == kind


def test_watch_reports_an_outage_and_the_recovery(tmp_path: Path) -> None:
    with StatusServer() as server, watch(tmp_path, "--url", server.url, "--interval", "1") as (
        proc, lines
    ):
        lines.until(is_poll("operational"), "a first operational poll")
        server.set_level(Level.MAJOR_OUTAGE)
        changed = lines.until(lambda e: e["event"] == "level" and e["to"] == "major_outage",
                              "the change to major_outage")
        down = lines.until(is_note("down"), "the down notification")
        lines.until(is_poll("major_outage"), "a major_outage poll")
        server.set_level(Level.OPERATIONAL)
        back = lines.until(is_note("recovered"), "the recovered notification")
        code = stop(proc)
        stderr = (tmp_path / "stderr.txt").read_text()

    assert changed["from"] == "operational"
    assert down["title"] and "down" in down["title"]
    assert "Elevated errors across Claude.ai" in down["body"]
    assert "back" in back["title"]
    assert code == (0 if POSIX_SIGNALS else None), stderr
    assert "Traceback" not in stderr

    events = lines.events
    polls = [e for e in events if e["event"] == "poll"]
    assert all(e["ok"] is True for e in polls)
    assert all(e["level"] in ("operational", "major_outage") for e in polls)
    levels = [(e["from"], e["to"]) for e in events if e["event"] == "level"]
    assert levels == [("unknown", "operational"), ("operational", "major_outage"),
                      ("major_outage", "operational")]
    notes = [e["kind"] for e in events if e["event"] == "notification"]
    assert notes == ["down", "recovered"]  # nothing at start-up, one alert each way
    # The recovery was announced at the second operational poll after the outage, not before.
    after = events[max(i for i, e in enumerate(events) if is_poll("major_outage")(e)) + 1:]
    before_back = after[: next(i for i, e in enumerate(after) if is_note("recovered")(e))]
    assert sum(1 for e in before_back if is_poll("operational")(e)) == 2


def test_watch_of_an_unreachable_page_polls_without_alerting(tmp_path: Path) -> None:
    with fs.refused_port() as port, watch(tmp_path, "--url", f"http://127.0.0.1:{port}",
                                          "--interval", "1") as (proc, lines):
        first = lines.until(lambda e: e["event"] == "poll", "a poll")
        code = stop(proc)
    lines.join()
    assert (first["ok"], first["level"]) == (False, "unknown")
    assert not [e for e in lines.events if e["event"] == "notification"]
    assert code == (0 if POSIX_SIGNALS else None)


def test_watch_demo_prints_polls_within_seconds(tmp_path: Path) -> None:
    started = time.monotonic()
    with watch(tmp_path, "--demo") as (proc, lines):
        first = lines.until(lambda e: e["event"] == "poll", "a first poll", timeout=10)
        second = lines.until(lambda e: e["event"] == "poll", "a second poll", timeout=10)
        code = stop(proc)
    assert first["ok"] is True and second["ok"] is True
    assert first["level"] in {lv.value for lv in Level if lv.is_known}
    assert time.monotonic() - started < 20
    assert code == (0 if POSIX_SIGNALS else None)


@pytest.mark.skipif(not POSIX_SIGNALS, reason=NO_SIGNALS)
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
def test_watch_stops_at_once_on_a_signal(tmp_path: Path, sig: signal.Signals) -> None:
    with StatusServer() as server, watch(tmp_path, "--url", server.url, "--interval", "1") as (
        proc, lines
    ):
        lines.until(lambda e: e["event"] == "poll", "a poll")
        started = time.monotonic()
        proc.send_signal(sig)
        try:
            code = proc.wait(10)
        except subprocess.TimeoutExpired:
            pytest.fail(f"watch did not stop within 10 s of {sig.name}")
        took = time.monotonic() - started
    assert took < 6
    assert code in (0, -sig)
    stderr = (tmp_path / "stderr.txt").read_text()
    assert "Traceback" not in stderr
