"""The cost of a poll over TLS (issue 11): bytes on the wire per unchanged poll.

A ``watch --no-notify`` at the default interval (60 s) reads a ~20 KB page through
tests.netservers.TlsFront: TLS on 127.0.0.1 in front of a StatusServer, with a certificate from
the bench's own CA (RSA 2048 root and intermediate, the intermediate sent along, as public CAs
issue), trusted by the app through SSL_CERT_FILE. The front closes connections idle for 30 s,
as many servers do, so every poll at the default interval needs a new connection. It counts
the TLS records each way per connection, split at the end of the handshake, and notes whether
the session was resumed. The first poll (a new client: full handshake, the whole page) is left
out; every later one is a 304 on a new connection. TCP/IP headers are not counted (nor are
they in the other net_* figures).

In a full run the poller runs in the background during the 120 s window, which gives 2
unchanged polls at the real interval. ``--quick`` compresses time instead: a poll every second
and a front that closes connections idle for 0.5 s, so each poll still needs a new connection.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from common import Report, median, stop, wait_until

from tests.netservers import Conn, TestCA, TlsFront
from tray_app.demo import StatusServer, summary

FIGURES = ["net_tls_per_poll_bytes", "net_tls_per_hour_kb", "net_tls_handshake_bytes",
           "net_tls_request_bytes", "net_tls_response_bytes", "net_tls_resumed_pct",
           "net_tls_full_handshake_bytes", "net_tls_per_poll_without_resumption_bytes"]
BUDGET_BYTES = 2048
IDLE_CLOSE = 30.0
POLLS = 3  # the first (full handshake, 200) and two unchanged ones


class TlsPolls:
    """The poller and its TLS front, started in the background; ``report`` waits for the
    polls it needs, then prints the figures."""

    def __init__(self, tmp: Path, env: Mapping[str, str], padding: int, quick: bool,
                 python: str = sys.executable) -> None:
        self.tmp = tmp / "tls"
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.quick = quick
        self.padding = padding
        self.ca = TestCA(self.tmp, realistic=True)
        self.env = self.ca.env(env)
        for name in ("data", "state", "config", "cache"):
            (self.tmp / name).mkdir(exist_ok=True)
            self.env[f"XDG_{name.upper()}_HOME"] = str(self.tmp / name)
        self.python = python
        self.front: TlsFront | None = None
        self.proc: subprocess.Popen[Any] | None = None

    @contextlib.contextmanager
    def running(self) -> Iterator[TlsPolls]:
        with contextlib.ExitStack() as stack:
            page = stack.enter_context(StatusServer(summary(padding=self.padding)))
            idle = 0.5 if self.quick else IDLE_CLOSE
            self.front = stack.enter_context(
                TlsFront(page.port, self.ca.server_context("127.0.0.1"), idle_close=idle))
            argv = [self.python, "-m", "tray_app", "watch", "--no-notify", "--url",
                    self.front.url, *(["--interval", "1"] if self.quick else [])]
            log = stack.enter_context(open(self.tmp / "watch.log", "ab"))
            self.proc = subprocess.Popen(argv, env=self.env, stdout=log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         cwd=self.tmp)
            stack.callback(stop, self.proc)
            yield self

    def polls(self) -> list[Conn]:
        assert self.front is not None
        return [c for c in list(self.front.conns) if c.requests]

    def report(self, r: Report, timeout: float) -> None:
        assert self.front is not None and self.proc is not None
        if not wait_until(lambda: len(self.polls()) >= POLLS or self.proc.poll() is not None,
                          timeout, 0.1):
            raise RuntimeError(f"only {len(self.polls())} polls over TLS in {timeout:.0f} s")
        if self.proc.poll() is not None:
            tail = (self.tmp / "watch.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"watch over TLS exited with {self.proc.returncode}:\n{tail}")
        # Let the last poll's connection reach the idle close (its close_notify is counted).
        last = self.polls()[POLLS - 1]
        last.done.wait(1.0 if self.quick else IDLE_CLOSE + 2)
        conns = self.polls()[:POLLS]
        first, rest = conns[0], conns[1:]
        mode = ("--quick: a poll every 1 s, the server closes idle connections after 0.5 s"
                if self.quick else
                f"default interval, the server closes idle connections after {IDLE_CLOSE:g} s")
        per = median(float(c.total) for c in rest)
        r.figure("net_tls_per_poll_bytes", per, "B", 0,
                 f"median of {len(rest)} unchanged polls, each on a new connection; {mode}")
        r.figure("net_tls_per_hour_kb", per * 60 / 1024, "KB", 1, "60 polls")
        r.figure("net_tls_handshake_bytes",
                 median(float(c.handshake_in + c.handshake_out) for c in rest), "B", 0,
                 "client + server, session tickets included")
        r.figure("net_tls_request_bytes", median(float(c.data_in) for c in rest), "B", 0,
                 "the GET with If-None-Match, in TLS records")
        r.figure("net_tls_response_bytes", median(float(c.data_out) for c in rest), "B", 0,
                 "the 304 and the server's close_notify, in TLS records")
        resumed = sum(c.resumed for c in rest)
        r.figure("net_tls_resumed_pct", 100 * resumed / len(rest), "%", 0,
                 f"{resumed} of {len(rest)} new connections resumed the last session")
        full = first.handshake_in + first.handshake_out
        r.figure("net_tls_full_handshake_bytes", full, "B", 0,
                 "the first connection: certificate chain (leaf + intermediate, RSA 2048)")
        data = median(float(c.data_in + c.data_out) for c in rest)
        r.figure("net_tls_per_poll_without_resumption_bytes", full + data, "B", 0,
                 "a full handshake + the same request and 304 (computed)")
        r.budget("tls", per < BUDGET_BYTES,
                 f"{per:.0f} B per unchanged poll over TLS, a new connection each "
                 f"(limit < {BUDGET_BYTES} B)")


def main(quick: bool, tmp: Path, report: Report, padding: int, source: Path) -> None:
    """``bench/run.py --only tls``: this phase alone, no desktop needed, measuring the
    checkout at ``source`` (as the full run does)."""
    env = dict(os.environ)
    env.update(PYTHONPATH=str(source), PYTHONPYCACHEPREFIX=str(tmp / "pycache"),
               PYTHONDONTWRITEBYTECODE="")
    tls = TlsPolls(tmp, env, padding, quick)
    started = time.monotonic()
    try:
        with tls.running():
            tls.report(report, 30.0 if quick else 60.0 * POLLS + 20)
    finally:
        shutil.rmtree(tls.tmp / "pycache", ignore_errors=True)
    report.note(f"TLS phase took {time.monotonic() - started:.0f} s")
