"""The source (tray_app.source + tray_app.http) against real servers on 127.0.0.1, plus unit
tests of the pure failure mapping with httpx.MockTransport."""

from __future__ import annotations

import contextlib
import email.utils
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import httpx
import pytest

from tests import faultserver as fs
from tray_app import __version__
from tray_app.core.levels import Level
from tray_app.core.model import FailureKind, Fetched
from tray_app.core.urls import SUMMARY_PATH, BadURL, page_base
from tray_app.demo import Fault, StatusServer, summary
from tray_app.http import BODY_CAP, HttpClient, Response, failure_from, retry_after
from tray_app.source import StatuspageSource

TOTAL = 2.0  # the client's whole-request timeout in these tests


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def release() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()  # frees any fault still waiting or dripping


@pytest.fixture
def server(release: threading.Event) -> Iterator[StatusServer]:
    with StatusServer() as s:
        yield s
        release.set()


@pytest.fixture
def client() -> Iterator[HttpClient]:
    c = HttpClient(total_timeout=TOTAL)
    yield c
    c.close()


def source_for(base: str, client: HttpClient, **kw: object) -> StatuspageSource:
    return StatuspageSource(base, client, **kw)  # type: ignore[arg-type]


def level(fetched: Fetched) -> Level:
    from tray_app.core.assess import assess

    assert fetched.summary is not None, fetched.failure
    return assess(fetched.summary).level


def timed(fn: Callable[[], Fetched]) -> tuple[Fetched, float]:
    start = time.monotonic()
    result = fn()
    return result, time.monotonic() - start


# -- conditional requests ------------------------------------------------------------------------


def test_etag_304_reuses_the_last_parse(server: StatusServer, client: HttpClient) -> None:
    rec = fs.Recorder()
    server.fault = rec
    src = source_for(server.url, client)
    first = src.fetch()
    assert first.ok and not first.not_modified
    assert "if-none-match" not in rec.last
    second = src.fetch()
    assert second.not_modified
    assert second.summary is first.summary  # the last parse, not a new one
    assert server.not_modified == 1
    assert rec.last["if-none-match"].startswith('"')
    server.set_level(Level.MAJOR_OUTAGE)
    third = src.fetch()
    assert not third.not_modified and level(third) is Level.MAJOR_OUTAGE
    assert server.not_modified == 1


def test_last_modified_is_sent_back_as_if_modified_since(
    server: StatusServer, client: HttpClient
) -> None:
    rec = fs.Recorder()
    stamp = "Tue, 24 Nov 2026 12:00:00 GMT"
    server.fault = fs.last_modified_page(summary(Level.DEGRADED), stamp, rec)
    src = source_for(server.url, client)
    first = src.fetch()
    assert level(first) is Level.DEGRADED
    assert "if-modified-since" not in rec.last
    second = src.fetch()
    assert rec.last["if-modified-since"] == stamp
    assert "if-none-match" not in rec.last  # there was no ETag to send
    assert second.not_modified and second.summary is first.summary


def test_no_conditional_headers_until_a_response_parsed(
    server: StatusServer, client: HttpClient
) -> None:
    server.set_document(b"<html>maintenance</html>")  # served with an ETag all the same
    rec = fs.Recorder()
    server.fault = rec
    src = source_for(server.url, client)
    assert not src.fetch().ok
    assert not src.fetch().ok
    assert all("if-none-match" not in headers for _, _, headers in rec.seen)
    assert server.not_modified == 0


def test_a_304_with_nothing_cached_is_a_failure(server: StatusServer, client: HttpClient) -> None:
    server.fault = fs.respond(304)
    got = source_for(server.url, client).fetch()
    assert not got.ok
    assert got.failure is not None and got.failure.kind is FailureKind.HTTP
    assert "304" in got.failure.message


# -- redirects -----------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_same_origin_redirects_are_followed(
    server: StatusServer, client: HttpClient, code: int
) -> None:
    server.fault = fs.redirect("/new" + SUMMARY_PATH, code, when=lambda p: p.startswith("/old/"))
    got = source_for(server.url + "/old", client).fetch()
    assert level(got) is Level.OPERATIONAL
    assert server.requests == 2


def test_a_redirect_loop_is_a_failure(server: StatusServer, client: HttpClient) -> None:
    server.fault = fs.redirect_loop()
    got = source_for(server.url, client).fetch()
    assert got.failure is not None and got.failure.kind is FailureKind.REDIRECT
    assert "loop" in got.failure.message
    assert server.requests <= 3


def test_a_long_redirect_chain_is_cut(server: StatusServer, client: HttpClient) -> None:
    def hop(path: str) -> bool:
        return path.startswith("/r")

    def chain(h: BaseHTTPRequestHandler) -> bool:
        if not hop(h.path):
            return False
        n = int(h.path.split("/")[1][1:])
        return fs.redirect(f"/r{n + 1}{SUMMARY_PATH}")(h)

    server.fault = chain
    got = source_for(server.url + "/r0", client).fetch()
    assert got.failure is not None and got.failure.kind is FailureKind.REDIRECT
    assert "more than 5" in got.failure.message
    assert server.requests == 6


@pytest.mark.parametrize(
    ("target", "words"),
    [
        ("http://localhost:{port}/x" + SUMMARY_PATH, "plain http"),
        ("https://elsewhere.invalid" + SUMMARY_PATH, "another host"),
        ("ftp://127.0.0.1:{port}/x", "plain ftp"),
    ],
    ids=["to-plain-http-elsewhere", "to-another-host", "to-ftp"],
)
def test_unsafe_redirects_are_refused_without_following(
    server: StatusServer, client: HttpClient, target: str, words: str
) -> None:
    server.fault = fs.redirect(target.format(port=server.port))
    got = source_for(server.url, client).fetch()
    assert got.failure is not None and got.failure.kind is FailureKind.REDIRECT
    assert words in got.failure.message
    assert server.requests == 1  # refused before any request to the target


# -- the size cap --------------------------------------------------------------------------------


def test_a_declared_length_over_the_cap_fails_without_reading(
    server: StatusServer, client: HttpClient, release: threading.Event
) -> None:
    server.fault = fs.declared_only(BODY_CAP + 1, release)
    got, took = timed(source_for(server.url, client).fetch)
    assert got.failure is not None and got.failure.kind is FailureKind.TOO_LARGE
    assert took < TOTAL / 2  # it didn't wait for a body that never comes


def test_an_unannounced_body_over_the_cap_stops_near_the_cap(
    server: StatusServer, release: threading.Event
) -> None:
    small = 64 * 1024
    huge = fs.HugeBody(size=50 * fs.MIB, chunked=True, release=release, send_buffer=small)
    server.fault = huge
    transport = httpx.HTTPTransport(socket_options=[(socket.SOL_SOCKET, socket.SO_RCVBUF, small)])
    client = HttpClient(transport=transport, total_timeout=TOTAL)
    try:
        got = source_for(server.url, client).fetch()
    finally:
        client.close()
    assert got.failure is not None and got.failure.kind is FailureKind.TOO_LARGE
    assert huge.done.wait(5)
    # The client read just past the cap; what else was sent sat in small socket buffers.
    assert BODY_CAP < huge.sent < BODY_CAP + 1024 * 1024


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_the_cap_is_exact(server: StatusServer, client: HttpClient, chunked: bool) -> None:
    url = server.url + SUMMARY_PATH
    server.fault = fs.HugeBody(size=1000, chunked=chunked)
    at_cap = client.request(url, cap=1000)
    server.fault = fs.HugeBody(size=1001, chunked=chunked)
    over = client.request(url, cap=1000)
    assert isinstance(at_cap, Response) and len(at_cap.body) == 1000
    assert not isinstance(over, Response) and over.kind is FailureKind.TOO_LARGE


def test_a_gzip_bomb_stops_at_the_cap(server: StatusServer, client: HttpClient) -> None:
    bomb = fs.gzip_bomb(64 * fs.MIB)
    assert len(bomb) < BODY_CAP  # small on the wire: only inflating shows the size
    server.fault = fs.gzipped(bomb)
    got = source_for(server.url, client).fetch()
    assert got.failure is not None and got.failure.kind is FailureKind.TOO_LARGE


def test_a_gzipped_summary_is_read(server: StatusServer, client: HttpClient) -> None:
    server.fault = fs.gzipped(fs.gzip_json(summary(Level.PARTIAL_OUTAGE)))
    assert level(source_for(server.url, client).fetch()) is Level.PARTIAL_OUTAGE


# -- timeouts ------------------------------------------------------------------------------------


SLOW: dict[str, Callable[[threading.Event], Fault]] = {
    "no-answer": lambda release: fs.no_answer(release),
    "drip-body": lambda release: fs.drip_body(release, every=0.2),
    "drip-headers": lambda release: fs.drip_head(release, every=0.2),
}


@pytest.mark.parametrize("case", list(SLOW))
def test_the_whole_request_is_bounded_by_the_total_timeout(
    server: StatusServer, release: threading.Event, case: str
) -> None:
    server.fault = SLOW[case](release)
    client = HttpClient(total_timeout=1.0)
    try:
        got, took = timed(source_for(server.url, client).fetch)
    finally:
        client.close()
    assert got.failure is not None and got.failure.kind is FailureKind.TIMEOUT
    assert 0.9 <= took < 2.0, took


# -- what the client says about itself -------------------------------------------------------------


def test_the_user_agent_names_the_app_and_its_version(
    server: StatusServer, client: HttpClient
) -> None:
    rec = fs.Recorder()
    server.fault = rec
    assert source_for(server.url, client).fetch().ok
    method, path, headers = rec.seen[0]
    assert (method, path) == ("GET", SUMMARY_PATH)
    assert headers["user-agent"].startswith(f"ClaudeStatusTray/{__version__}")
    assert "application/json" in headers["accept"]
    assert not {"cookie", "authorization"} & set(headers)


# -- URL rules -----------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [
    "http://example.com", "http://status.claude.com", "http://10.0.0.1:8080",
    "http://127.0.0.1.nip.io", "http://localhost.example.com",
])
def test_plain_http_is_refused_for_remote_hosts(url: str, client: HttpClient) -> None:
    with pytest.raises(BadURL, match="plain http"):
        page_base(url)
    with pytest.raises(BadURL):
        StatuspageSource(url, client)


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8080", "http://127.9.8.7", "http://localhost:1", "http://[::1]:9",
    "https://status.claude.com/api/v2/summary.json",
])
def test_loopback_http_and_remote_https_are_accepted(url: str) -> None:
    assert page_base(url).startswith(url.split("/api/")[0].lower())


# -- the mirror ------------------------------------------------------------------------------------


CHALLENGES = {
    "html-challenge": fs.ok(fs.CHALLENGE, "text/html; charset=UTF-8"),
    "405": fs.respond(405, b"", "text/plain"),
    "403-html": fs.respond(403, fs.CHALLENGE, "text/html"),
}


@pytest.fixture
def mirror(release: threading.Event) -> Iterator[StatusServer]:
    with StatusServer(summary(Level.DEGRADED)) as s:
        yield s


@pytest.mark.parametrize("challenge", list(CHALLENGES), ids=list(CHALLENGES))
def test_a_challenged_primary_falls_back_to_the_mirror_and_returns(
    server: StatusServer, mirror: StatusServer, client: HttpClient, challenge: str
) -> None:
    clock = FakeClock()
    src = source_for(server.url, client, mirror_template=mirror.url + "/mirror/{id}",
                     mirror_after=2, mirror_hold=600.0, clock=clock)
    assert src.fetch().ok and src.page_id == "tymt9n04zgry"  # learned from a good answer
    assert src.mirror_base == mirror.url + "/mirror/tymt9n04zgry"

    server.fault = CHALLENGES[challenge]
    first = src.fetch()
    assert not first.ok and not first.via_mirror and mirror.requests == 0
    second = src.fetch()  # the second challenge in a row: read the mirror instead
    assert second.ok and second.via_mirror and level(second) is Level.DEGRADED
    assert second.url == mirror.url + "/mirror/tymt9n04zgry" + SUMMARY_PATH
    assert src.using_mirror

    primary_before = server.requests
    clock.now += 300
    held = src.fetch()
    assert held.via_mirror and held.ok
    assert server.requests == primary_before  # the primary is left alone while held

    server.fault = None
    clock.now += 301  # past mirror_hold
    back = src.fetch()
    assert back.ok and not back.via_mirror and level(back) is Level.OPERATIONAL
    assert not src.using_mirror
    assert server.requests == primary_before + 1


def test_no_mirror_before_the_page_id_is_known(
    server: StatusServer, mirror: StatusServer, client: HttpClient
) -> None:
    server.fault = CHALLENGES["html-challenge"]
    src = source_for(server.url, client, mirror_template=mirror.url + "/mirror/{id}",
                     mirror_after=1)
    for _ in range(3):
        got = src.fetch()
        assert got.failure is not None and got.failure.kind is FailureKind.NOT_JSON
    assert mirror.requests == 0


def test_rate_limiting_is_not_a_reason_for_the_mirror(
    server: StatusServer, mirror: StatusServer, client: HttpClient
) -> None:
    src = source_for(server.url, client, mirror_template=mirror.url + "/mirror/{id}",
                     mirror_after=1)
    assert src.fetch().ok
    server.fault = fs.retry_later(429, 30)
    for _ in range(3):
        got = src.fetch()
        assert got.failure is not None and got.failure.kind is FailureKind.RATE_LIMITED
        assert got.failure.retry_after == 30
    assert mirror.requests == 0


def test_a_failing_mirror_sends_the_source_back_to_the_primary(
    server: StatusServer, mirror: StatusServer, client: HttpClient
) -> None:
    clock = FakeClock()
    src = source_for(server.url, client, mirror_template=mirror.url + "/mirror/{id}",
                     mirror_after=1, clock=clock)
    assert src.fetch().ok
    server.fault = CHALLENGES["405"]
    assert src.fetch().via_mirror and src.using_mirror
    mirror.fault = fs.json_500()
    server.fault = None
    got = src.fetch()
    assert got.ok and not got.via_mirror and level(got) is Level.OPERATIONAL
    assert not src.using_mirror


# -- socket-level failures -------------------------------------------------------------------------


def test_connection_refused(client: HttpClient) -> None:
    with contextlib.ExitStack() as stack:
        if fs.REFUSAL_S >= TOTAL:  # Windows: a refusal comes after its SYN retries
            client = HttpClient(total_timeout=fs.REFUSAL_S + 1)
            stack.callback(client.close)
        with fs.refused_port() as port:
            got = source_for(f"http://127.0.0.1:{port}", client).fetch()
    assert got.failure is not None and got.failure.kind is FailureKind.CONNECT
    assert "refused" in got.failure.message


def test_connection_reset(server: StatusServer, client: HttpClient) -> None:
    server.fault = fs.reset()
    got = source_for(server.url, client).fetch()
    assert got.failure is not None and got.failure.kind is FailureKind.CONNECT
    assert "broke" in got.failure.message


def test_dns_failure(client: HttpClient) -> None:
    if not fs.dns_fails_fast():
        pytest.skip("the local resolver does not answer for .invalid quickly")
    got = source_for(fs.DNS_FAIL_URL, client).fetch()
    assert got.failure is not None and got.failure.kind is FailureKind.DNS


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return fs.self_signed_cert(tmp_path_factory.mktemp("tls"))


def test_a_self_signed_certificate_is_a_tls_failure(
    cert: tuple[Path, Path], client: HttpClient
) -> None:
    with fs.TlsServer(*cert) as tls:
        got = source_for(tls.url, client).fetch()
    assert got.failure is not None and got.failure.kind is FailureKind.TLS
    assert "certificate" in got.failure.message.lower()
    assert tls.requests == 0  # not one request went out over the untrusted connection


def test_a_stalled_tls_handshake_is_a_timeout_not_a_tls_failure() -> None:
    client = HttpClient(total_timeout=0.5)
    try:
        with fs.silent_port() as port:
            got, took = timed(source_for(f"https://127.0.0.1:{port}", client).fetch)
    finally:
        client.close()
    assert got.failure is not None and got.failure.kind is FailureKind.TIMEOUT, got.failure
    assert took < 1.5


def test_https_on_loopback_with_a_trusted_certificate(cert: tuple[Path, Path]) -> None:
    client = HttpClient(transport=httpx.HTTPTransport(verify=fs.trusting(cert[0])))
    try:
        with fs.TlsServer(*cert) as tls:
            got = source_for(tls.url, client).fetch()
    finally:
        client.close()
    assert level(got) is Level.OPERATIONAL


def test_an_https_page_may_not_redirect_to_plain_http(
    cert: tuple[Path, Path], server: StatusServer
) -> None:
    def downgrade(path: str, headers: dict[str, str]) -> bytes:
        return fs.http_response(302, headers={"Location": server.url + SUMMARY_PATH})

    client = HttpClient(transport=httpx.HTTPTransport(verify=fs.trusting(cert[0])))
    try:
        with fs.TlsServer(*cert, respond=downgrade) as tls:
            got = source_for(tls.url, client).fetch()
    finally:
        client.close()
    assert got.failure is not None and got.failure.kind is FailureKind.REDIRECT
    assert "plain http" in got.failure.message
    assert server.requests == 0


# -- pure mapping (httpx.MockTransport) ----------------------------------------------------------


def streamed(status: int, headers: dict[str, str], body: bytes) -> httpx.Response:
    """A response whose body is still to be read, as from a socket (``content=bytes`` would
    hand the client a body already read, which ``iter_raw`` refuses)."""
    return httpx.Response(status, headers=headers, content=iter([body]))


def mock_source(handler: Callable[[httpx.Request], httpx.Response], wall: float = 0.0
                ) -> tuple[StatuspageSource, HttpClient]:
    client = HttpClient(transport=httpx.MockTransport(handler))
    return StatuspageSource("https://status.example.com", client, wall=lambda: wall), client


WALL = 1_800_000_000.0


@pytest.mark.parametrize(
    ("status", "headers", "body", "kind", "wait"),
    [
        (429, {"Retry-After": "120"}, b"{}", FailureKind.RATE_LIMITED, 120.0),
        (503, {"Retry-After": email.utils.formatdate(WALL + 90, usegmt=True)}, b"",
         FailureKind.UNAVAILABLE, 90.0),
        (503, {}, b"", FailureKind.UNAVAILABLE, None),
        (500, {"Content-Type": "application/json"}, b'{"error": 1}', FailureKind.HTTP, None),
        (502, {"Content-Type": "text/html"}, fs.PROXY_502, FailureKind.HTTP, None),
        (404, {}, b"", FailureKind.HTTP, None),
        (200, {"Content-Type": "text/html"}, fs.CAPTIVE_PORTAL, FailureKind.NOT_JSON, None),
        (200, {"Content-Type": "application/xml"}, b"<a/>", FailureKind.NOT_JSON, None),
        (200, {"Content-Type": "application/json"}, b"<html></html>", FailureKind.NOT_JSON,
         None),
        (200, {"Content-Type": "application/json"}, b'{"a": 1}', FailureKind.NOT_STATUSPAGE, None),
        (200, {"Content-Encoding": "br"}, b"xx", FailureKind.BAD_BODY, None),
        (200, {"Content-Encoding": "gzip"}, b"not gzip", FailureKind.BAD_BODY, None),
    ],
    ids=["429-seconds", "503-date", "503-bare", "500-json", "502-html", "404", "captive-portal",
         "xml", "html-labelled-json", "json-not-statuspage", "brotli", "corrupt-gzip"],
)
def test_answers_map_to_failures(
    status: int, headers: dict[str, str], body: bytes, kind: FailureKind, wait: float | None
) -> None:
    src, client = mock_source(lambda r: streamed(status, headers, body), WALL)
    try:
        got = src.fetch()
    finally:
        client.close()
    assert got.failure is not None
    assert got.failure.kind is kind
    assert got.failure.message
    if wait is None:
        assert got.failure.retry_after is None
    else:
        assert got.failure.retry_after == pytest.approx(wait, abs=1.0)


def test_a_good_answer_through_the_mock_transport() -> None:
    body = json.dumps(summary(Level.MAJOR_OUTAGE)).encode()
    src, client = mock_source(
        lambda r: streamed(200, {"Content-Type": "application/json"}, body))
    try:
        assert level(src.fetch()) is Level.MAJOR_OUTAGE
    finally:
        client.close()


def _raiser(exc: Exception) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return handler


def _caused(exc: Exception, cause: BaseException) -> Exception:
    exc.__cause__ = cause
    return exc


@pytest.mark.parametrize(
    ("exc", "kind", "words"),
    [
        (httpx.ConnectError("[Errno 111] Connection refused"), FailureKind.CONNECT, "refused"),
        (_caused(httpx.ConnectError("boom"), socket.gaierror(-2, "Name or service not known")),
         FailureKind.DNS, "DNS"),
        (_caused(httpx.ConnectError("x"), ssl.SSLCertVerificationError("bad cert")),
         FailureKind.TLS, "TLS"),
        (httpx.ConnectTimeout("timed out"), FailureKind.TIMEOUT, "timeout"),
        (httpx.ConnectTimeout("_ssl.c:989: The handshake operation timed out"),
         FailureKind.TIMEOUT, "timeout"),
        (httpx.ReadTimeout("timed out"), FailureKind.TIMEOUT, "timeout"),
        (httpx.RemoteProtocolError("Server disconnected"), FailureKind.CONNECT, "broke"),
        (httpx.ReadError("[Errno 104] Connection reset by peer"), FailureKind.CONNECT, "broke"),
        (httpx.UnsupportedProtocol("Request URL has an unsupported protocol 'gopher://'"),
         FailureKind.OTHER, "bad URL"),
    ],
    ids=["refused", "dns", "tls", "connect-timeout", "tls-handshake-timeout", "read-timeout",
         "disconnect", "reset", "bad-url"],
)
def test_exceptions_map_to_failures(exc: Exception, kind: FailureKind, words: str) -> None:
    direct = failure_from(exc)
    assert direct.kind is kind and words in direct.message
    src, client = mock_source(_raiser(exc))
    try:
        got = src.fetch()  # the same mapping, reached through the whole client
    finally:
        client.close()
    assert got.failure is not None and got.failure.kind is kind


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        (email.utils.formatdate(WALL + 300, usegmt=True), 300.0),
        (email.utils.formatdate(WALL - 300, usegmt=True), 0.0),  # a date in the past: now
        ("soon", None),
        ("-5", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after(value: str | None, expected: float | None) -> None:
    got = retry_after(value, WALL)
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected, abs=1.0)
