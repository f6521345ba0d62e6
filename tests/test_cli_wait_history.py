"""`wait` (exit 0 when operational, 124 on timeout) and `history` as processes."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests import faultserver as fs
from tray_app.core.levels import Level
from tray_app.demo import StatusServer
from tray_app.history import Episode, HistoryStore
from tray_app.store import Database
from tray_app.userdata import DATABASE, open_database


def _app(tmp_path: Path, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tray_app", *args],
        env=fs.isolated_env(tmp_path), capture_output=True, text=True, timeout=timeout,
    )


def test_wait_times_out_with_124_while_the_outage_lasts(tmp_path: Path) -> None:
    with StatusServer() as server:
        server.set_level(Level.MAJOR_OUTAGE)
        started = time.monotonic()
        result = _app(tmp_path, "wait", "--url", server.url, "--interval", "1",
                      "--timeout", "2.5")
        took = time.monotonic() - started
    assert result.returncode == 124, result.stderr
    assert 2.0 <= took < 15, took
    assert "major outage" in result.stderr
    assert "Traceback" not in result.stderr


def test_wait_returns_0_once_the_service_is_back(tmp_path: Path) -> None:
    with StatusServer() as server:
        server.set_level(Level.PARTIAL_OUTAGE)
        timer = threading.Timer(1.5, server.set_level, args=(Level.OPERATIONAL,))
        timer.start()
        try:
            result = _app(tmp_path, "wait", "--url", server.url, "--interval", "1",
                          "--timeout", "20")
        finally:
            timer.cancel()
        polls = server.requests
    assert result.returncode == 0, result.stderr
    assert "operational" in result.stdout
    assert polls >= 2, "it waited and polled again"


def test_wait_usage_errors_exit_64(tmp_path: Path) -> None:
    result = _app(tmp_path, "wait", "--timeout", "soon")
    assert result.returncode == 64
    result = _app(tmp_path, "wait", "--url", "http://example.com")
    assert result.returncode == 64 and "https" in result.stderr


def test_history_prints_the_recorded_outages(tmp_path: Path) -> None:
    now = time.time()
    database = open_database(fs.app_paths(fs.isolated_env(tmp_path)).data)
    store = HistoryStore(database)
    store.close("Claude", now - 7200, now - 5400, "major_outage", False,
                components=("claude.ai",), incidents=("Elevated errors",))
    store.close("Claude", now - 40 * 86400, now - 40 * 86400 + 60, "partial_outage", False)
    store.open(Episode("Claude", now - 600, None, "degraded"))
    database.close()
    result = _app(tmp_path, "history", "--json", "--days", "7")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["days"] == 7
    assert [e["worst"] for e in data["episodes"]] == ["major_outage", "degraded"]
    first = data["episodes"][0]
    assert first["seconds"] == 1800 and first["incidents"] == ["Elevated errors"]
    assert data["episodes"][1]["end"] is None, "the open episode is shown as ongoing"
    assert 95 < data["uptime"]["7d"] < 100
    text = _app(tmp_path, "history")
    assert text.returncode == 0
    assert text.stdout.startswith("Uptime: 24 h")
    assert "major outage, 30 min (Elevated errors)" in text.stdout
    assert "ongoing" in text.stdout


def test_history_with_nothing_recorded(tmp_path: Path) -> None:
    result = _app(tmp_path, "history")
    assert result.returncode == 0
    assert "No outages recorded yet" in result.stdout
    assert "100.00%" in result.stdout


def test_watch_keeps_the_history_too(tmp_path: Path) -> None:
    with StatusServer() as server:
        env = fs.isolated_env(tmp_path)
        proc = subprocess.Popen(
            [sys.executable, "-m", "tray_app", "watch", "--url", server.url, "--interval", "1",
             "--jsonl", "--no-notify"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        history = HistoryStore(Database(fs.app_paths(env).data / DATABASE))
        try:
            time.sleep(1.5)
            server.set_level(Level.MAJOR_OUTAGE)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not history.episodes():
                time.sleep(0.1)
        finally:
            proc.terminate()
            proc.wait(10)
    episodes = history.episodes()
    history.db.close()
    assert episodes, "watch records outage episodes like the tray"
    assert episodes[0].worst == "major_outage"


def test_history_prints_to_an_output_that_cannot_encode_it(tmp_path: Path) -> None:
    """A Windows pipe is cp1252 and a C locale ASCII: what they can't show becomes "?",
    never a UnicodeEncodeError (here "≥" and an incident named with an emoji)."""
    env = {**fs.isolated_env(tmp_path), "PYTHONIOENCODING": "ascii"}
    now = time.time()
    database = open_database(fs.app_paths(env).data)
    store = HistoryStore(database)
    store.close("Claude", now - 7200, now - 5400, "major_outage", True,
                incidents=("Elevated errors \N{POLICE CARS REVOLVING LIGHT}",))
    database.close()
    result = subprocess.run([sys.executable, "-m", "tray_app", "history"], env=env,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "major outage, ? 30 min (Elevated errors ?)" in result.stdout
