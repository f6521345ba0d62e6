"""Soak: many polls, compressed in time, through the real engine, and what they cost.

The real Monitor (source, HTTP client, policy), Poller (``tick()``), Session and the database
of state and history read a real Statuspage server on 127.0.0.1. Time is a FakeClock moved by
the wait each ``tick()`` returns, so hours of polling take seconds. The server runs in a child
process (so the threads and file descriptors counted here are the app's only) and, per request,
flips the page's level now and then and answers with a fault some of the time: 500 JSON, 502 HTML,
a captive portal, garbage, truncated or wrong-typed JSON, 429/503 with Retry-After, or a
dropped connection. A wake from sleep is simulated now and then too.

Figures: polls, RSS after a warm-up and at the end, threads (``threading`` and
``/proc/self/task``) and file descriptors (``/proc/self/fd``) at both points.

    python bench/soak.py                  # 100,000 polls
    python bench/soak.py --polls 20000 --json /tmp/soak.json

Linux only (it reads /proc). tests/test_soak.py runs the same for 5,000 polls.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from tray_app.app import fan_out, make_monitor
from tray_app.clock import FakeClock
from tray_app.config import Config
from tray_app.core.levels import Level
from tray_app.demo import COMPONENTS, StatusServer, summary
from tray_app.history import HistoryStore
from tray_app.http import HttpClient
from tray_app.poller import Poller, Report
from tray_app.session import Session
from tray_app.state import StateStore
from tray_app.userdata import open_database

FAULT_RATE = 0.15  # of requests answered with a fault
FLIP_RATE = 0.04  # of requests after which the page's level changes
WAKE_EVERY = 700  # polls between simulated wakes from sleep
LEVELS = [Level.OPERATIONAL] * 4 + [Level.MAINTENANCE, Level.DEGRADED, Level.PARTIAL_OUTAGE,
                                     Level.MAJOR_OUTAGE]


# -- the server side (child process) ----------------------------------------------------------


def _send(h: BaseHTTPRequestHandler, status: int, body: bytes, ctype: str,
          extra: dict[str, str] | None = None) -> bool:
    h.send_response(status)
    h.send_header("Content-Type", ctype)
    h.send_header("Content-Length", str(len(body)))
    for key, value in (extra or {}).items():
        h.send_header(key, value)
    h.end_headers()
    h.wfile.write(body)
    return True


class Chaos:
    """A StatusServer fault hook: flips the level now and then, answers with a fault often."""

    def __init__(self, server: StatusServer, seed: int) -> None:
        self.server = server
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.good = json.dumps(summary()).encode()

    def __call__(self, h: BaseHTTPRequestHandler) -> bool:
        with self.lock:
            if self.rng.random() < FLIP_RATE:
                level = self.rng.choice(LEVELS)
                affected = tuple(cid for cid, _ in self.rng.sample(COMPONENTS, 2))
                self.server.set_level(level, affected=affected)
            if self.rng.random() >= FAULT_RATE:
                return False
            kind = self.rng.randrange(9)
            garbage = self.rng.randbytes(self.rng.randrange(1, 2000))
        if kind == 0:
            return _send(h, 500, b'{"error": "internal server error"}', "application/json")
        if kind == 1:
            return _send(h, 502, b"<html><body><h1>502 Bad Gateway</h1>nginx</body></html>",
                         "text/html")
        if kind == 2:
            return _send(h, 200, b"<!DOCTYPE html><form action=/login>Sign in to Wi-Fi</form>",
                         "text/html; charset=utf-8")
        if kind == 3:
            return _send(h, 200, garbage, "application/json")
        if kind == 4:
            return _send(h, 200, self.good[: len(self.good) // 2], "application/json")
        if kind == 5:
            return _send(h, 200, b'{"status": 5, "components": "none", "incidents": {}}',
                         "application/json")
        if kind == 6:
            return _send(h, 429, b'{"error": "slow down"}', "application/json",
                         {"Retry-After": "30"})
        if kind == 7:
            return _send(h, 503, b"<html>maintenance</html>", "text/html",
                         {"Retry-After": "10"})
        h.close_connection = True  # drop the connection without an answer
        return True


def serve(seed: int) -> None:
    """Run the chaotic page until stdin closes; print its URL first."""
    with StatusServer() as server:
        server.fault = Chaos(server, seed)
        print(server.url, flush=True)
        sys.stdin.read()


# -- the app side (this process) ----------------------------------------------------------------


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def count(folder: str) -> int:
    return len(os.listdir(folder))


@dataclass(frozen=True)
class Snapshot:
    polls: int
    rss_kib: int
    threads: int
    tasks: int
    fds: int


@dataclass(frozen=True)
class Figures:
    polls: int
    warmup: int
    seconds: float
    start: Snapshot
    end: Snapshot
    notifications: int
    failed_polls: int
    level_changes: int
    wakes: int
    history_episodes: int
    log_records: int

    @property
    def rss_growth_kib(self) -> int:
        return self.end.rss_kib - self.start.rss_kib

    def lines(self) -> list[str]:
        s, e = self.start, self.end
        return [
            f"polls: {self.polls} ({self.warmup} warm-up) in {self.seconds:.1f} s "
            f"({self.polls / self.seconds:.0f}/s)",
            f"RSS: {s.rss_kib} KiB after warm-up, {e.rss_kib} KiB at the end "
            f"({self.rss_growth_kib:+d} KiB)",
            f"threads: {s.threads} -> {e.threads} (tasks in /proc: {s.tasks} -> {e.tasks})",
            f"file descriptors: {s.fds} -> {e.fds}",
            f"notifications: {self.notifications}, failed polls: {self.failed_polls}, "
            f"level changes: {self.level_changes}, wakes: {self.wakes}, "
            f"history episodes: {self.history_episodes}, log records: {self.log_records}",
        ]

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rss_growth_kib": self.rss_growth_kib}


class _Counter(logging.Handler):
    """Formats every record the app logs (as the log file would) and keeps none."""

    def __init__(self) -> None:
        super().__init__()
        self.records = 0
        self.setFormatter(logging.Formatter(
            "%(asctime)s %(levelname)s [%(threadName)s] %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.format(record)
        self.records += 1


class _Tally:
    def __init__(self) -> None:
        self.reports = 0
        self.failed = 0
        self.changes = 0
        self.sent = 0
        self.last_ok = False

    def __call__(self, report: Report) -> None:
        self.reports += 1
        self.last_ok = report.ok
        self.failed += not report.ok
        self.changes += sum(type(e).__name__ == "LevelChanged" for e in report.effects)

    def send(self, title: str, body: str) -> None:
        self.sent += 1


def run(polls: int = 100_000, warmup: int = 500, seed: int = 1,
        data: Path | None = None, progress: bool = False) -> Figures:
    child = subprocess.Popen([sys.executable, __file__, "--serve", "--seed", str(seed)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    logger = logging.getLogger("tray_app")
    counter = _Counter()
    propagate, level = logger.propagate, logger.level
    logger.addHandler(counter)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    tmp = None if data is not None else tempfile.TemporaryDirectory(prefix="soak-")
    folder = data if data is not None else Path(tmp.name)  # type: ignore[union-attr]
    client = HttpClient(total_timeout=5.0)
    try:
        assert child.stdout is not None
        url = child.stdout.readline().strip()
        if not url.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"the soak server didn't start: {url!r}")
        port = url.rsplit(":", 1)[1]
        clock = FakeClock()
        cfg = Config(url=url, interval=60, mirror=url + "/mirror/{id}",
                     online_check=(f"127.0.0.1:{port}",))
        monitor = make_monitor(cfg.main_service(), cfg, client, clock=clock)
        tally = _Tally()
        database = open_database(folder)
        session = Session([monitor], send=tally.send, store=StateStore(database),
                          history=HistoryStore(database), clock=clock)
        session.restore()
        poller = Poller([monitor], fan_out(tally, session), clock=clock)
        wakes, next_wake = 0, WAKE_EVERY

        def polled() -> int:
            return tally.reports - wakes  # a wake adds one report of its own

        def step() -> None:
            nonlocal wakes, next_wake
            if polled() >= next_wake:
                next_wake += WAKE_EVERY
                clock.sleep(3600)
                wakes += 1
            clock.advance(poller.tick())

        def snapshot() -> Snapshot:
            while not tally.last_ok:  # measure with the connection pool in its usual state
                step()
            gc.collect()
            return Snapshot(polled(), rss_kib(), threading.active_count(),
                            count("/proc/self/task"), count("/proc/self/fd"))

        while polled() < warmup:
            step()
        start = snapshot()
        started = time.monotonic()
        while polled() < start.polls + polls:  # the start snapshot may have taken extra polls
            step()
            if progress and polled() % 10_000 == 0:
                print(f"  {polled()} polls, RSS {rss_kib()} KiB", file=sys.stderr, flush=True)
        end = snapshot()
        seconds = time.monotonic() - started
        session.save(force=True)
        episodes = len(session.history.episodes()) if session.history else 0
        database.close()
        return Figures(
            polls=end.polls - start.polls, warmup=warmup, seconds=seconds, start=start,
            end=end, notifications=tally.sent, failed_polls=tally.failed,
            level_changes=tally.changes, wakes=wakes, history_episodes=episodes,
            log_records=counter.records,
        )
    finally:
        client.close()
        logger.removeHandler(counter)
        logger.propagate, logger.level = propagate, level
        if child.stdin is not None:
            child.stdin.close()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(10)
        if child.stdout is not None:
            child.stdout.close()
        if tmp is not None:
            tmp.cleanup()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--polls", type=int, default=100_000, help="polls after the warm-up")
    p.add_argument("--warmup", type=int, default=500)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the figures here")
    p.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.serve:
        serve(args.seed)
        return 0
    figures = run(args.polls, args.warmup, args.seed, progress=True)
    for line in figures.lines():
        print(line)
    if args.json:
        args.json.write_text(json.dumps(figures.as_dict(), indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
