"""The fault matrix (issue 4, item 1): every way a status page can fail or lie, against real
servers on 127.0.0.1, driving the real monitor (source, parser, assessment and alert policy).

In every case: a good poll first; then the fault for at least the failure threshold, during
which nothing is notified, the level holds until the threshold and is then ``unknown`` with
the reason in the view; then one good poll restores the page's true level. Memory stays
bounded (the 200 MB bodies are never read past the cap), and nothing is left running.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests import faultserver as fs
from tray_app.app import make_monitor
from tray_app.config import Config
from tray_app.core.levels import Level
from tray_app.core.model import FailureKind, Fetched
from tray_app.core.policy import Effect, Notify
from tray_app.demo import Fault, StatusServer
from tray_app.http import BODY_CAP, HttpClient
from tray_app.icons import level_colour
from tray_app.monitor import Monitor

TOTAL = 0.5  # the client's whole-request timeout: keeps the slow cases fast
THRESHOLD = 3  # failures before the level turns unknown (the policy's default)
RSS_SLACK_KIB = 20 * 1024


@dataclass
class Env:
    server: StatusServer
    release: threading.Event
    tmp: Path
    stack: contextlib.ExitStack
    huge: fs.HugeBody | None = None

    def refused_url(self) -> str:
        return f"http://127.0.0.1:{self.stack.enter_context(fs.refused_port())}"

    def silent_https_url(self) -> str:
        return f"https://127.0.0.1:{self.stack.enter_context(fs.silent_port())}"

    def tls_url(self) -> str:
        cert, key = fs.self_signed_cert(self.tmp)
        return self.stack.enter_context(fs.TlsServer(cert, key)).url

    def fault(self, fault: Fault) -> None:
        self.server.fault = fault


@dataclass(frozen=True)
class Case:
    """``arm`` installs the fault, and returns the base URL to read while it lasts when the
    fault is a place rather than an answer (a closed port, a bad name, a bad certificate)."""

    arm: Callable[[Env], str | None]
    kinds: frozenset[FailureKind] | None  # None: the page is read but can't be understood
    reason: str  # a pattern the view's reason must match (case-insensitive)
    retry_after: float | None = None
    marks: tuple[pytest.MarkDecorator, ...] = field(default=())


def _set(make: Callable[[Env], Fault]) -> Callable[[Env], None]:
    def arm(env: Env) -> None:
        env.fault(make(env))

    return arm


def _huge(chunked: bool) -> Callable[[Env], None]:
    def arm(env: Env) -> None:
        env.huge = fs.HugeBody(size=200 * fs.MIB, chunked=chunked, release=env.release)
        env.fault(env.huge)

    return arm


def _body(name: str) -> Callable[[Env], None]:
    body, ctype = fs.BAD_BODIES[name]
    return _set(lambda env: fs.ok(body, ctype))


def _one(kind: FailureKind) -> frozenset[FailureKind]:
    return frozenset({kind})


K = FailureKind
CASES: dict[str, Case] = {
    "connection-refused": Case(lambda env: env.refused_url(), _one(K.CONNECT), "refused"),
    "dns-failure": Case(lambda env: fs.DNS_FAIL_URL, _one(K.DNS), "DNS"),
    "tls-self-signed": Case(lambda env: env.tls_url(), _one(K.TLS), "TLS.*certificate"),
    "tls-handshake-stalls": Case(lambda env: env.silent_https_url(), _one(K.TIMEOUT), "timeout"),
    "no-answer": Case(_set(lambda env: fs.no_answer(env.release)), _one(K.TIMEOUT), "timeout"),
    "slow-drip-body": Case(_set(lambda env: fs.drip_body(env.release, every=1.0)),
                           _one(K.TIMEOUT), "timeout|took longer"),
    "slow-drip-headers": Case(_set(lambda env: fs.drip_head(env.release, every=1.0)),
                              _one(K.TIMEOUT), "timeout|took longer"),
    "connection-reset": Case(_set(lambda env: fs.reset()), _one(K.CONNECT), "broke|reset"),
    "500-json": Case(_set(lambda env: fs.json_500()), _one(K.HTTP), "HTTP 500"),
    "502-html-proxy": Case(_set(lambda env: fs.proxy_502()), _one(K.HTTP), "HTTP 502"),
    "429-retry-after": Case(_set(lambda env: fs.retry_later(429, 1200)), _one(K.RATE_LIMITED),
                            "rate limited.*429", retry_after=1200),
    "503-retry-after": Case(_set(lambda env: fs.retry_later(503, 1200)), _one(K.UNAVAILABLE),
                            "unavailable.*503", retry_after=1200),
    "200-garbage": Case(_body("garbage"), _one(K.BAD_BODY), "not UTF-8"),
    "200-truncated-json": Case(_body("truncated"), _one(K.BAD_BODY), "not valid JSON"),
    "200-empty": Case(_body("empty"), _one(K.BAD_BODY), "empty"),
    "200-json-array": Case(_body("array"), _one(K.NOT_STATUSPAGE), "JSON array"),
    # The Statuspage keys with values of the wrong types: read, and unknown, naming them.
    "200-wrong-types": Case(_body("wrong_types"), None,
                            "'status' is a number, not an object; 'components' is a string"),
    "200-deeply-nested": Case(_body("nested"), _one(K.BAD_BODY), "nests"),
    "200-captive-portal": Case(_body("captive_portal"), _one(K.NOT_JSON), "HTML"),
    "200-200MB-declared": Case(_huge(chunked=False), _one(K.TOO_LARGE), "larger than"),
    "200-200MB-chunked": Case(_huge(chunked=True), _one(K.TOO_LARGE), "larger than"),
    "200-gzip-bomb": Case(_set(lambda env: fs.gzipped(fs.gzip_bomb(64 * fs.MIB))),
                          _one(K.TOO_LARGE), "larger than"),
    "redirect-loop": Case(_set(lambda env: fs.redirect_loop()), _one(K.REDIRECT), "loop"),
    "redirect-to-plain-http": Case(
        _set(lambda env: fs.redirect(f"http://localhost:{env.server.port}/x/api/v2/summary.json")),
        _one(K.REDIRECT), "plain http"),
    "redirect-to-another-host": Case(
        _set(lambda env: fs.redirect("https://elsewhere.invalid/api/v2/summary.json")),
        _one(K.REDIRECT), "another host"),
    # Pages that parse but can't be trusted: unknown at once, never green, never an alert.
    "200-components-not-a-list": Case(
        _set(lambda env: fs.ok(b'{"status": {"indicator": "none"}, '
                                             b'"components": "x"}')),
        None, "components"),
    "200-unheard-of-indicator": Case(
        _set(lambda env: fs.ok(b'{"status": {"indicator": "purple"}, "components": []}')),
        None, "purple"),
}


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    before = set(threading.enumerate())
    release = threading.Event()
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(StatusServer())
        yield Env(server, release, tmp_path, stack)
        release.set()  # frees every fault still waiting or dripping
    # Nothing left running: every thread this test started is gone within a few seconds.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        left = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not left:
            break
        time.sleep(0.05)
    assert not left, f"threads left running: {[t.name for t in left]}"


@pytest.fixture
def client() -> Iterator[HttpClient]:
    c = HttpClient(total_timeout=TOTAL)
    yield c
    c.close()


def monitor_for(env: Env, client: HttpClient) -> Monitor:
    # The mirror points at the same hostile server, so challenge-like failures try it too and
    # no request ever leaves the machine.
    cfg = Config(url=env.server.url, mirror=env.server.url + "/mirror/{id}")
    return make_monitor(cfg.main_service(), cfg, client)


def notifications(effects: list[Effect]) -> list[Notify]:
    return [e for e in effects if isinstance(e, Notify)]


@pytest.mark.parametrize("name", list(CASES))
def test_fault(name: str, env: Env, client: HttpClient) -> None:
    case = CASES[name]
    if name == "dns-failure" and not fs.dns_fails_fast():
        pytest.skip("the local resolver does not answer for .invalid quickly")
    total = TOTAL
    if name == "connection-refused" and fs.REFUSAL_S > TOTAL:
        total = fs.REFUSAL_S  # Windows: a refusal comes after its SYN retries
        client = HttpClient(total_timeout=total)
        env.stack.callback(client.close)
    monitor = monitor_for(env, client)
    primary = monitor.source.base
    clock = iter(range(1_800_000_000, 1_800_100_000, 60))

    def poll() -> tuple[Fetched, list[Effect]]:
        return monitor.poll(float(next(clock)))

    fetched, effects = poll()
    assert fetched.ok and monitor.state.level is Level.OPERATIONAL
    assert notifications(effects) == []

    rss_before = fs.vm_rss_kib()
    elsewhere = case.arm(env)
    if elsewhere is not None:
        monitor.source.base = elsewhere
    for i in range(THRESHOLD):
        started = time.monotonic()
        fetched, effects = poll()
        took = time.monotonic() - started
        assert notifications(effects) == [], f"poll {i + 1} of the fault notified"
        assert took < total * 3 + 1, f"poll {i + 1} took {took:.1f} s"
        if case.kinds is None:
            assert fetched.ok and monitor.state.level is Level.UNKNOWN
            continue
        assert not fetched.ok and fetched.failure is not None
        assert fetched.failure.kind in case.kinds, fetched.failure
        if i < THRESHOLD - 1:
            assert monitor.state.level is Level.OPERATIONAL  # holds until the threshold
        if case.retry_after is not None:
            assert fetched.failure.retry_after == case.retry_after

    view = monitor.view()
    assert view.level is Level.UNKNOWN and monitor.state.level is Level.UNKNOWN
    assert view.reason, "the tooltip must say why"
    assert re.search(case.reason, view.reason, re.IGNORECASE), view.reason
    assert view.reason in view.headline
    assert not view.offline  # the page failed, not our connection
    red, green, blue = level_colour(view.level)[:3]
    assert max(red, green, blue) - min(red, green, blue) < 24  # the icon is grey
    if case.kinds is not None:
        assert "can't reach the status page" in view.reason
        assert view.failures == THRESHOLD
        assert monitor.next_delay() >= (case.retry_after or 60 * 2)  # backed off
    if case.retry_after is not None:
        assert monitor.next_delay() == case.retry_after

    if env.huge is not None:
        deadline = time.monotonic() + 10
        while len(env.huge.responses) < THRESHOLD and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(env.huge.responses) == THRESHOLD
        # Each response was cut off after a few MiB of socket buffers at most, not 200 MB.
        assert max(env.huge.responses) < BODY_CAP + 16 * fs.MIB, env.huge.responses
        assert fs.vm_rss_kib() - rss_before < RSS_SLACK_KIB

    env.server.fault = None
    monitor.source.base = primary
    env.server.set_level(Level.PARTIAL_OUTAGE)
    fetched, effects = poll()
    assert fetched.ok
    assert monitor.state.level is Level.PARTIAL_OUTAGE
    assert monitor.view().level is Level.PARTIAL_OUTAGE
    assert monitor.state.failures == 0


def test_the_matrix_covers_issue_4(env: Env) -> None:
    """Every fault named in the issue has a case here (a guard against quietly dropping one)."""
    wanted = {
        "connection-refused", "dns-failure", "tls-self-signed", "no-answer", "slow-drip-body",
        "connection-reset", "500-json", "502-html-proxy", "429-retry-after", "503-retry-after",
        "200-garbage", "200-truncated-json", "200-empty", "200-wrong-types",
        "200-deeply-nested", "200-captive-portal", "200-200MB-declared", "redirect-loop",
        "redirect-to-plain-http", "redirect-to-another-host",
    }
    assert wanted <= set(CASES)


def test_a_recovery_to_operational_after_faults_sends_nothing(
    env: Env, client: HttpClient
) -> None:
    """Operational, then unreachable, then operational again: the user hears nothing at all."""
    monitor = monitor_for(env, client)
    effects: list[Effect] = []
    now = 1_800_000_000.0
    for step in range(12):
        env.server.fault = fs.json_500() if 1 <= step <= 6 else None
        now += 60
        effects += monitor.poll(now)[1]
    assert notifications(effects) == []
    assert monitor.state.level is Level.OPERATIONAL
