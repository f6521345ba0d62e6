"""Several processes on one database, as real processes: two writers at once, a writer killed
in the middle of its writes, and `watch` processes (standing in for the tray; the tray itself
is in test_store_tray_e2e.py) recording outages of a loopback page into one history that
`history --json` reads.

Every child is bounded (a fixed count, or stopped by the test) and stopped in a finally.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

from tests import faultserver as fs
from tests.test_cli_watch import JsonLines, is_note, is_poll, stop, watch
from tray_app.core.levels import Level
from tray_app.demo import StatusServer
from tray_app.history import HistoryStore
from tray_app.state import StateStore
from tray_app.store import Database
from tray_app.userdata import DATABASE

ROOT = Path(__file__).resolve().parent.parent
BASE = time.time() - 200_000  # episode times: recent enough to be kept, apart per loop turn

WRITER = r"""
import sys
from pathlib import Path
from tray_app.core.levels import Level
from tray_app.core.policy import PolicyState
from tray_app.history import Episode, HistoryStore
from tray_app.state import Saved, StateStore
from tray_app.store import Database

path, tag, count, base = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
db = Database(path)
history, state = HistoryStore(db), StateStore(db)
state.load()
print("ready", flush=True)
sys.stdin.readline()  # both start writing together
shift = 0.0 if tag == "a" else 1.0
alerts = []
for i in range(count):
    t = base + i * 10
    history.open(Episode("own-" + tag, t, None, "partial_outage"))
    history.close("own-" + tag, t, t + 5, "major_outage", False)
    # The same outage seen by both processes, a second apart: one episode in the end.
    history.close("shared", t + shift, t + 5 + shift, "major_outage", False)
    alerts.append({"at": t, "kind": "down", "title": tag + " " + str(i), "sent": True})
    state.save(Saved(services={tag: PolicyState(level=Level.MAJOR_OUTAGE, started=True,
                                                failures=i % 3)},
                     alerts=tuple(alerts[-50:]), saved_at=t))
    assert not db.pending(), "a write had to wait"
db.close()
print("done", flush=True)
"""

CRASHER = r"""
import sys
from pathlib import Path
from tray_app.core.levels import Level
from tray_app.core.policy import PolicyState
from tray_app.history import HistoryStore
from tray_app.state import Saved, StateStore
from tray_app.store import Database

path, base = Path(sys.argv[1]), float(sys.argv[2])
db = Database(path)
history, state = HistoryStore(db), StateStore(db)
print("ready", flush=True)
for i in range(100_000):  # bounded; the test kills it long before
    t = base + i * 10
    history.close("crash", t, t + 5, "major_outage", False)
    state.save(Saved(services={"crash": PolicyState(level=Level.MAJOR_OUTAGE, started=True,
                                                    failures=i)}, saved_at=t))
    assert not db.pending()
    print(i, flush=True)  # after both commits returned
"""


def child(script: str, *args: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-c", script, *args], env=env, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def line(stream: IO[str] | None) -> str:
    assert stream is not None
    return stream.readline().strip()


def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    path, count = tmp_path / DATABASE, 150
    Database(path).close()  # created (as the first of them would)
    kids = [child(WRITER, str(path), tag, str(count), str(BASE)) for tag in ("a", "b")]
    try:
        for kid in kids:
            assert line(kid.stdout) == "ready", kid.stderr.read() if kid.stderr else ""
        for kid in kids:
            assert kid.stdin is not None
            kid.stdin.write("go\n")
            kid.stdin.flush()
        results = [kid.communicate(timeout=120) for kid in kids]
    finally:
        for kid in kids:
            if kid.poll() is None:
                kid.kill()
                kid.wait(10)
    for kid, (out, err) in zip(kids, results, strict=True):
        assert kid.returncode == 0 and out.strip() == "done", err
        assert "can't write" not in err, err

    db = Database(path)
    episodes = HistoryStore(db).episodes()
    saved = StateStore(db).load()
    db.close()
    by_service: dict[str, list[tuple[float, float | None]]] = {}
    for e in episodes:
        by_service.setdefault(e.service, []).append((e.start, e.end))
    for tag in ("a", "b"):
        assert by_service[f"own-{tag}"] == [(BASE + i * 10, BASE + i * 10 + 5)
                                            for i in range(count)]
    # Each shared outage once, spanning what both saw.
    assert by_service["shared"] == [(BASE + i * 10, BASE + i * 10 + 6) for i in range(count)]
    assert set(saved.services) == {"a", "b"}
    assert len(saved.alerts) == 50


def test_a_crash_mid_write_loses_at_most_the_write_in_flight(tmp_path: Path) -> None:
    """Killed (SIGKILL) at three different moments of a run of writes: each time the file
    opens cleanly, holds every write the child had seen committed, in order, and at most one
    more (committed, not yet reported)."""
    path = tmp_path / DATABASE
    acknowledged = -1
    for after in (40, 95, 160):
        kid = child(CRASHER, str(path), str(BASE))
        try:
            assert line(kid.stdout) == "ready", kid.stderr.read() if kid.stderr else ""
            while acknowledged < after:
                text = line(kid.stdout)
                assert text, kid.stderr.read() if kid.stderr else "the writer stopped"
                acknowledged = max(acknowledged, int(text))
        finally:
            kid.send_signal(signal.SIGKILL)
            out, _ = kid.communicate(timeout=10)
        acknowledged = max([acknowledged, *(int(n) for n in out.split())])

        db = Database(path)
        episodes = HistoryStore(db).episodes()
        saved = StateStore(db).load()
        db.close()
        assert not [p for p in tmp_path.iterdir() if ".broken" in p.name]
        starts = [e.start for e in episodes]
        assert starts == [BASE + i * 10 for i in range(len(starts))]  # no gap, no duplicate
        assert acknowledged + 1 <= len(starts) <= acknowledged + 2
        assert saved.services["crash"].failures in (acknowledged, acknowledged + 1)
        # The next run starts again from 0: its first writes merge into the rows already there.


# -- `watch` processes and `history --json` -----------------------------------------------------


def watching(home: Path, name: str, *args: str
             ) -> contextlib.AbstractContextManager[tuple[subprocess.Popen[str], JsonLines]]:
    """``watch --jsonl`` with every user folder under ``home`` (shared by the processes of one
    test: one data folder, one database)."""
    return watch(home, *args, stderr_name=f"{name}.stderr")


def history_json(home: Path) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-m", "tray_app", "history", "--json", "--days", "1"],
        env=fs.isolated_env(home), capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


def outage(server: StatusServer, service: str, *watchers: JsonLines) -> None:
    """A major outage and its recovery, seen through by every watcher of the page."""
    server.set_level(Level.MAJOR_OUTAGE, name=service)
    for lines in watchers:
        lines.until(is_note("down"), f"{service} down")
    server.set_level(Level.OPERATIONAL, name=service)
    for lines in watchers:
        lines.until(is_note("recovered"), f"{service} back")


def test_two_processes_watching_two_pages_keep_both_outages(tmp_path: Path) -> None:
    """The reproduction: each process used to rewrite history.json from its own memory, so
    the one that wrote last removed the other's outage."""
    with StatusServer() as claude, StatusServer() as other:
        other.set_level(Level.OPERATIONAL, name="Other")
        with watching(tmp_path, "tray", "--url", claude.url, "--interval", "1") as (t, tray), \
                watching(tmp_path, "watch", "--url", other.url, "--interval", "1") as (w, watch):
            tray.until(is_poll("operational"), "the tray's first poll")
            watch.until(is_poll("operational"), "the watch's first poll")
            outage(other, "Other", watch)
            outage(claude, "Claude", tray)  # the tray writes last
            assert stop(t) == 0 and stop(w) == 0
    data = history_json(tmp_path)
    episodes = data["episodes"]
    assert isinstance(episodes, list)
    assert sorted((e["service"], e["worst"], e["end"] is not None) for e in episodes) == [
        ("Claude", "major_outage", True), ("Other", "major_outage", True)
    ]
    for name in ("tray", "watch"):
        assert "Traceback" not in (tmp_path / f"{name}.stderr").read_text()


def test_two_processes_watching_one_page_record_its_outage_once(tmp_path: Path) -> None:
    with StatusServer() as claude:
        with watching(tmp_path, "tray", "--url", claude.url, "--interval", "1") as (t, tray), \
                watching(tmp_path, "watch", "--url", claude.url, "--interval", "1") as (w, watch):
            tray.until(is_poll("operational"), "the tray's first poll")
            watch.until(is_poll("operational"), "the watch's first poll")
            outage(claude, "Claude", tray, watch)
            assert stop(t) == 0 and stop(w) == 0
    (episode,) = history_json(tmp_path)["episodes"]  # type: ignore[misc]
    assert episode["service"] == "Claude" and episode["worst"] == "major_outage"
    assert episode["end"] is not None and not episode["lower_bound"]
