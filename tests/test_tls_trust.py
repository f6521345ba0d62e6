"""Trust and TLS sessions (tray_app.tls, tray_app.streams) against a real TLS server on
127.0.0.1 whose CA is made by the test and trusted only through SSL_CERT_FILE."""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import faultserver as fs
from tests.netservers import TestCA, TlsFront, poll_failing
from tray_app.app import make_monitor
from tray_app.config import Config
from tray_app.core.levels import Level
from tray_app.core.model import FailureKind
from tray_app.demo import StatusServer
from tray_app.http import HttpClient
from tray_app.monitor import Monitor
from tray_app.tls import load_trust
from tray_app.transport import KEEPALIVE

WALL = 1_800_000_000.0


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return TestCA(tmp_path_factory.mktemp("ca"))


@pytest.fixture
def page() -> Iterator[StatusServer]:
    with StatusServer() as s:
        yield s


@pytest.fixture
def front(ca: TestCA, page: StatusServer) -> Iterator[TlsFront]:
    with TlsFront(page.port, ca.server_context("127.0.0.1")) as f:
        yield f


@pytest.fixture
def trusting(ca: TestCA, monkeypatch: pytest.MonkeyPatch) -> TestCA:
    """This process trusts the test CA only, through SSL_CERT_FILE."""
    monkeypatch.setenv("SSL_CERT_FILE", str(ca.pem))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    return ca


def monitor_for(url: str, client: HttpClient) -> Monitor:
    cfg = Config(url=url)
    return make_monitor(cfg.main_service(), cfg, client)


def run_check(tmp_path: Path, url: str, env: dict[str, str]) -> tuple[int, dict[str, Any]]:
    proc = subprocess.run(
        [sys.executable, "-m", "tray_app", "check", "--json", "--url", url],
        env=env, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
        check=False, cwd=tmp_path,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    doc = json.loads(proc.stdout.splitlines()[0])
    assert isinstance(doc, dict)
    return proc.returncode, doc


# -- SSL_CERT_FILE ------------------------------------------------------------------------------


def test_check_reads_a_page_whose_ca_is_given_only_through_ssl_cert_file(
    tmp_path: Path, ca: TestCA, front: TlsFront
) -> None:
    env = ca.env(fs.isolated_env(tmp_path))
    code, doc = run_check(tmp_path, front.url, env)
    assert (code, doc["level"], doc["error"]) == (0, "operational", None), doc
    assert front.conns and front.conns[0].requests == 1

    # The same page, the same machine, without the variable: the CA is unknown, TLS fails.
    del env["SSL_CERT_FILE"]
    code, doc = run_check(tmp_path, front.url, env)
    assert (code, doc["level"]) == (3, "unknown"), doc
    assert "TLS" in doc["error"] and "certificate" in doc["error"].lower()


def test_the_level_comes_through_tls_trusted_by_ssl_cert_file(
    trusting: TestCA, front: TlsFront, page: StatusServer
) -> None:
    page.set_level(Level.PARTIAL_OUTAGE)
    client = HttpClient()
    try:
        monitor = monitor_for(front.url, client)
        fetched, _ = monitor.poll(WALL)
        assert fetched.ok, fetched.failure
        assert monitor.view().level is Level.PARTIAL_OUTAGE
        assert client.own_transport is not None
        assert "SSL_CERT_FILE" in client.own_transport.trust.source
    finally:
        client.close()


def test_a_broken_ssl_cert_file_is_named_in_the_tls_failure(
    tmp_path: Path, front: TlsFront, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "no-such-ca.pem"
    monkeypatch.setenv("SSL_CERT_FILE", str(missing))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    client = HttpClient()
    try:
        monitor = monitor_for(front.url, client)
        fetched = poll_failing(monitor, WALL)
    finally:
        client.close()
    assert fetched.failure is not None and fetched.failure.kind is FailureKind.TLS
    # The system's store was used instead, and the message says why the user's CA wasn't.
    assert f"SSL_CERT_FILE={missing} can't be loaded" in fetched.failure.message
    view = monitor.view()
    assert view.level is Level.UNKNOWN and "SSL_CERT_FILE" in view.reason, view
    assert sum(c.requests for c in front.conns) == 0  # nothing sent over untrusted TLS


def test_ssl_cert_dir_alone_is_enough(tmp_path: Path, ca: TestCA, front: TlsFront) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs the openssl command to name a certificate by its subject hash")
    digest = subprocess.run([openssl, "x509", "-hash", "-noout", "-in", str(ca.pem)],
                            capture_output=True, text=True, check=True, timeout=10)
    folder = tmp_path / "certs"
    folder.mkdir()
    shutil.copy(ca.pem, folder / f"{digest.stdout.strip()}.0")
    env = ca.env(fs.isolated_env(tmp_path)) | {"SSL_CERT_FILE": "", "SSL_CERT_DIR": str(folder)}
    code, doc = run_check(tmp_path, front.url, env)
    assert (code, doc["level"]) == (0, "operational"), doc


def test_where_trust_comes_from(tmp_path: Path, ca: TestCA) -> None:
    named = load_trust({"SSL_CERT_FILE": str(ca.pem)}, platform="linux")
    assert named.source == f"SSL_CERT_FILE={ca.pem}" and named.resumable and not named.note
    assert named.context.verify_mode is ssl.CERT_REQUIRED and named.context.check_hostname

    empty = tmp_path / "empty"
    empty.mkdir()
    fallback = load_trust({"SSL_CERT_DIR": str(empty)}, platform="linux")
    assert "holds no certificates" in fallback.note
    assert "SSL_CERT_DIR" not in fallback.source  # the system's store (or certifi)

    for platform in ("win32", "darwin"):
        osstore = load_trust({}, platform=platform)
        assert "truststore" in osstore.source
        assert not osstore.resumable  # see test_a_resumed_handshake_carries_no_certificates
        assert osstore.context.verify_mode is ssl.CERT_REQUIRED


def test_truststores_context_reads_the_page_and_offers_no_session(
    trusting: TestCA, front: TlsFront
) -> None:
    """The Windows/macOS path, run here through truststore's Linux backend (which trusts what
    OpenSSL's defaults name: SSL_CERT_FILE, set by the fixture)."""
    from tray_app.proxy import Proxies
    from tray_app.transport import Transport

    trust = load_trust({}, platform="win32")
    clock = FakeClock()
    client = HttpClient(transport=Transport(trust, Proxies("none"), clock), clock=clock)
    try:
        monitor = monitor_for(front.url, client)
        for _ in range(2):
            fetched, _ = monitor.poll(WALL)
            assert fetched.ok, fetched.failure
            clock.now += KEEPALIVE + 1  # the next poll needs a new connection
    finally:
        client.close()
    assert monitor.view().level is Level.OPERATIONAL
    assert len(front.conns) == 2 and not any(c.resumed for c in front.conns)


def test_a_resumed_handshake_carries_no_certificates(trusting: TestCA, front: TlsFront) -> None:
    """Why sessions are not offered with truststore on Windows and macOS: it verifies the
    chain the server sent, through the OS, after every handshake, and a resumed handshake
    sends none (truststore would fail it: "Peer sent no certificates to verify")."""
    import socket

    ctx = ssl.create_default_context(cafile=str(trusting.pem))

    def connect(session: ssl.SSLSession | None) -> ssl.SSLSocket:
        sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", front.port), 5),
                               server_hostname="127.0.0.1", session=session)
        sock.sendall(b"GET /api/v2/summary.json HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.recv(1)  # the ticket arrives with the answer
        return sock

    first = connect(None)
    second = connect(first.session)
    try:
        assert not first.session_reused and second.session_reused

        def chain(sock: ssl.SSLSocket) -> list[Any]:
            obj: Any = sock._sslobj  # type: ignore[attr-defined]
            return list(obj.get_unverified_chain() or [])

        assert len(chain(first)) >= 1 and chain(second) == []
    finally:
        first.close()
        second.close()


# -- resumption ---------------------------------------------------------------------------------


def test_the_next_connection_resumes_the_tls_session(
    trusting: TestCA, front: TlsFront, page: StatusServer
) -> None:
    clock = FakeClock()
    client = HttpClient(clock=clock)
    try:
        monitor = monitor_for(front.url, client)
        levels = []
        for step in range(3):
            if step == 2:
                page.set_level(Level.MAJOR_OUTAGE)
            fetched, _ = monitor.poll(WALL + 60 * step)
            assert fetched.ok, fetched.failure
            levels.append(monitor.view().level)
            clock.now += 61  # the default interval: past the keep-alive, a new connection
        transport = client.own_transport
        assert transport is not None and transport.sessions is not None
    finally:
        client.close()
    assert levels == [Level.OPERATIONAL, Level.OPERATIONAL, Level.MAJOR_OUTAGE]
    assert [c.resumed for c in front.conns] == [False, True, True]  # the server's own word
    assert (transport.sessions.offered, transport.sessions.resumed) == (2, 2)
    full, resumed = front.conns[0], front.conns[1]
    # No certificate on the wire the second time: far fewer handshake bytes from the server.
    assert resumed.handshake_out < full.handshake_out / 2, (full, resumed)


def test_a_server_that_closes_idle_connections_gets_resumed_ones(
    trusting: TestCA, page: StatusServer
) -> None:
    """The bench's case: the server drops idle connections first; the client notices the
    closed socket, opens a new one, and resumes."""
    with TlsFront(page.port, trusting.server_context("127.0.0.1"), idle_close=0.1) as front:
        client = HttpClient()
        try:
            monitor = monitor_for(front.url, client)
            for _ in range(3):
                fetched, _ = monitor.poll(WALL)
                assert fetched.ok and monitor.view().level is Level.OPERATIONAL
                deadline = time.monotonic() + 5
                while not front.conns[-1].done.is_set() and time.monotonic() < deadline:
                    time.sleep(0.02)
        finally:
            client.close()
    assert [c.resumed for c in front.conns] == [False, True, True]
    assert all(c.requests == 1 for c in front.conns)


def test_a_session_is_only_offered_to_the_host_and_port_it_came_from(
    trusting: TestCA, page: StatusServer
) -> None:
    ctx = trusting.server_context("127.0.0.1")
    with TlsFront(page.port, ctx) as one, TlsFront(page.port, ctx) as two:
        clock = FakeClock()
        client = HttpClient(clock=clock)
        try:
            for url in (one.url, two.url, one.url):
                assert monitor_for(url, client).poll(WALL)[0].ok
                clock.now += 61
        finally:
            client.close()
    assert [c.resumed for c in one.conns] == [False, True]
    assert [c.resumed for c in two.conns] == [False]  # nothing offered from the other port

