"""Idle and dead connections (tray_app.streams, tray_app.transport) against real servers on
127.0.0.1: idle connections expire by the injected clock; a kept-alive connection that a NAT
dropped (the server reads the request and never answers) costs one short wait and a retry on a
fresh connection, never the whole poll; a request whose answer had begun is never sent again.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.netservers import DeadOnReuse, TestCA, TlsFront
from tray_app.app import make_monitor
from tray_app.config import Config
from tray_app.core.levels import Level
from tray_app.core.model import FailureKind
from tray_app.demo import StatusServer
from tray_app.http import CONNECT_TIMEOUT, TOTAL_TIMEOUT, HttpClient
from tray_app.monitor import Monitor
from tray_app.transport import KEEPALIVE, REUSE_WAIT

TOTAL = 3.0  # the whole-request budget in these tests (15 s in the app)
WAIT = 0.5  # how long a reused connection may stay silent (5 s in the app)
WALL = 1_800_000_000.0
ROOT = Path(__file__).resolve().parent.parent


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Connections:
    """A pass-through fault that notes which connection (handler) carried each request."""

    def __init__(self) -> None:
        self.ids: list[int] = []
        self._handlers: list[object] = []

    def __call__(self, h: object) -> bool:
        if not any(x is h for x in self._handlers):
            self._handlers.append(h)
        self.ids.append(next(i for i, x in enumerate(self._handlers) if x is h))
        return False


@pytest.fixture
def page() -> Iterator[StatusServer]:
    with StatusServer() as s:
        yield s


@pytest.fixture
def dead() -> Iterator[DeadOnReuse]:
    fault = DeadOnReuse()
    yield fault
    fault.release.set()


def monitor_for(url: str, client: HttpClient) -> Monitor:
    cfg = Config(url=url)
    monitor = make_monitor(cfg.main_service(), cfg, client)
    monitor.recent = None  # only the summary's requests here (no incidents.json read)
    return monitor


def test_the_defaults_leave_room_for_the_retry() -> None:
    # A dead connection costs REUSE_WAIT; the fresh one still has its whole connect timeout.
    assert REUSE_WAIT + CONNECT_TIMEOUT < TOTAL_TIMEOUT
    assert KEEPALIVE < 60  # under the shortest common idle timeouts (see transport.py)


def test_an_idle_connection_is_not_reused_after_the_keepalive(page: StatusServer) -> None:
    conns = Connections()
    page.fault = conns
    clock = FakeClock()
    client = HttpClient(clock=clock)
    try:
        monitor = monitor_for(page.url, client)
        for step in (0, 10, 40, KEEPALIVE + 1):
            clock.now += step
            assert monitor.poll(WALL)[0].ok
            assert monitor.view().level is Level.OPERATIONAL
    finally:
        client.close()
    # Reused after 10 s and 40 s idle; a new connection after an idle spell past the limit.
    assert conns.ids == [0, 0, 0, 1]


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
def test_a_black_holed_kept_alive_connection_is_retried_on_a_fresh_one(
    page: StatusServer, dead: DeadOnReuse, tls: bool, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    page.fault = dead
    url = page.url
    front = None
    if tls:
        ca = TestCA(tmp_path)
        monkeypatch.setenv("SSL_CERT_FILE", str(ca.pem))
        monkeypatch.delenv("SSL_CERT_DIR", raising=False)
        front = TlsFront(page.port, ca.server_context("127.0.0.1")).__enter__()
        url = front.url
    client = HttpClient(total_timeout=TOTAL, reuse_wait=WAIT)
    try:
        monitor = monitor_for(url, client)
        assert monitor.poll(WALL)[0].ok
        page.set_level(Level.PARTIAL_OUTAGE)
        started = time.monotonic()
        fetched, _ = monitor.poll(WALL + 60)
        took = time.monotonic() - started
        assert client.own_transport is not None and client.own_transport.retries == 1
    finally:
        client.close()
        if front is not None:
            front.__exit__()
    assert fetched.ok, fetched.failure
    assert monitor.view().level is Level.PARTIAL_OUTAGE  # the change got through
    assert monitor.state.failures == 0
    assert WAIT <= took < TOTAL, took
    assert (dead.served, dead.swallowed) == (2, 1)  # the dead one, then a fresh connection


def test_a_kept_alive_connection_the_server_closed_as_we_sent_is_retried(
    page: StatusServer
) -> None:
    """The server's keep-alive timeout fired as the request went out: it hangs up without an
    answer ("Server disconnected without sending a response")."""

    class HangUpOnReuse:
        served = closed = 0

        def __call__(self, h: object) -> bool:
            if not getattr(h, "_seen", False):
                h._seen = True  # type: ignore[attr-defined]
                self.served += 1
                return False
            self.closed += 1
            h.close_connection = True  # type: ignore[attr-defined]
            return True  # no answer at all

    fault = HangUpOnReuse()
    page.fault = fault
    client = HttpClient(total_timeout=TOTAL, reuse_wait=WAIT)
    try:
        monitor = monitor_for(page.url, client)
        assert monitor.poll(WALL)[0].ok
        started = time.monotonic()
        fetched, _ = monitor.poll(WALL + 60)
        took = time.monotonic() - started
    finally:
        client.close()
    assert fetched.ok, fetched.failure
    assert monitor.view().level is Level.OPERATIONAL and monitor.state.failures == 0
    assert took < WAIT  # no waiting: the hang-up says so at once
    assert (fault.served, fault.closed) == (2, 1)


def test_no_retry_once_the_answer_has_begun(page: StatusServer) -> None:
    """The status line came back, then nothing: the server did take the request, so it is not
    sent again (a retry could repeat whatever it did). The poll fails at the deadline."""
    dead = DeadOnReuse(answer_head=True)
    page.fault = dead
    client = HttpClient(total_timeout=TOTAL, reuse_wait=WAIT)
    try:
        monitor = monitor_for(page.url, client)
        assert monitor.poll(WALL)[0].ok
        started = time.monotonic()
        fetched, _ = monitor.poll(WALL + 60)
        took = time.monotonic() - started
    finally:
        dead.release.set()
        client.close()
    assert fetched.failure is not None and fetched.failure.kind is FailureKind.TIMEOUT
    assert TOTAL - 0.2 <= took < TOTAL + 1.5, took  # the first byte came: the whole budget
    assert (dead.served, dead.swallowed) == (1, 1)  # sent once, never again
    # One failed poll: the icon keeps the last reading and nothing is announced.
    assert monitor.view().level is Level.OPERATIONAL and monitor.state.failures == 1


def test_a_fresh_connection_that_gets_no_answer_is_not_retried(page: StatusServer) -> None:
    """Only a reused connection earns the retry: a new one that stays silent is the server's
    own silence, and the poll fails at the deadline with one request sent."""
    release = threading.Event()
    requests: list[str] = []

    def silent(h: object) -> bool:
        requests.append("x")
        release.wait(TOTAL + 2)
        return True

    page.fault = silent
    client = HttpClient(total_timeout=1.0, reuse_wait=0.2)
    try:
        monitor = monitor_for(page.url, client)
        fetched, _ = monitor.poll(WALL)
    finally:
        release.set()
        client.close()
    assert fetched.failure is not None and fetched.failure.kind is FailureKind.TIMEOUT
    assert requests == ["x"]
    assert monitor.view().level is Level.UNKNOWN  # no reading yet, and none invented


def test_only_public_httpx_and_httpcore_names_are_used() -> None:
    """The app plugs into httpx and httpcore through their public interfaces only; a private
    name (``transport._pool``, ``httpcore._backends``...) would break silently on an upgrade.
    The expiry test above guards the one behaviour we rely on: httpcore asks an idle
    connection's stream ``get_extra_info("is_readable")`` before reusing it."""
    private = re.compile(r"\b(?:httpx|httpcore)\.(?:\w+\.)*_\w+|\._pool\b|\._transport\b")
    offenders = []
    for path in sorted((ROOT / "tray_app").rglob("*.py")):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if private.search(line.split("#", 1)[0]):
                offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert offenders == []
