"""The local Statuspage server (``--demo`` and every socket-level test stand on it)."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler

import pytest

from tray_app.core.assess import assess
from tray_app.core.levels import Level
from tray_app.core.statuspage import parse_summary
from tray_app.demo import DEMO_CYCLE, DemoCycle, StatusServer, summary

SUMMARY = "/api/v2/summary.json"
KNOWN = [level for level in Level if level.is_known]


@pytest.fixture
def server() -> Iterator[StatusServer]:
    with StatusServer() as s:
        yield s


def get(
    server: StatusServer, path: str = SUMMARY, method: str = "GET",
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        body = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body
    finally:
        conn.close()


def level_of(body: bytes) -> Level:
    return assess(parse_summary(json.loads(body))).level


def raw_exchange(port: int, request: bytes) -> bytes:
    """Send ``request`` as is and read everything until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        chunks: list[bytes] = []
        while True:
            data = sock.recv(65536)
            if not data:
                return b"".join(chunks)
            chunks.append(data)


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return bool(predicate())


def test_serves_an_operational_summary_with_an_etag(server: StatusServer) -> None:
    status, headers, body = get(server)
    assert status == 200
    assert headers["content-type"].startswith("application/json")
    assert headers["etag"].startswith('"') and headers["etag"].endswith('"')
    assert int(headers["content-length"]) == len(body)
    assert level_of(body) is Level.OPERATIONAL
    assert server.requests == 1
    assert server.not_modified == 0


def test_if_none_match_gets_304_without_a_body(server: StatusServer) -> None:
    _, first, _ = get(server)
    status, headers, body = get(server, headers={"If-None-Match": first["etag"]})
    assert status == 304
    assert body == b""
    assert headers["etag"] == first["etag"]
    assert server.not_modified == 1
    status, _, body = get(server, headers={"If-None-Match": '"stale"'})
    assert status == 200 and body
    assert server.not_modified == 1
    assert server.requests == 3


@pytest.mark.parametrize("level", KNOWN, ids=[lv.value for lv in KNOWN])
def test_set_level_changes_the_document_and_its_etag(server: StatusServer, level: Level) -> None:
    _, before, _ = get(server)
    server.set_level(level)
    status, after, body = get(server, headers={"If-None-Match": before["etag"]})
    if level is Level.OPERATIONAL:
        assert status == 304  # the same document: the same ETag
        return
    assert status == 200
    assert after["etag"] != before["etag"]
    assert level_of(body) is level


def test_head_sends_the_headers_but_no_body(server: StatusServer) -> None:
    _, _, body = get(server)
    status, headers, head_body = get(server, method="HEAD")
    assert status == 200
    assert head_body == b""
    assert int(headers["content-length"]) == len(body)
    assert server.requests == 2


def test_head_of_a_missing_path_has_no_body_either(server: StatusServer) -> None:
    # Two requests on one connection: a body after the HEAD's 404 would be read as the start
    # of the second response.
    response = raw_exchange(server.port, b"HEAD /nope HTTP/1.1\r\nHost: a\r\n\r\n"
                            b"GET /api/v2/summary.json HTTP/1.1\r\nHost: a\r\n"
                            b"Connection: close\r\n\r\n")
    first, _, rest = response.partition(b"\r\n\r\n")
    assert first.startswith(b"HTTP/1.1 404")
    assert rest.startswith(b"HTTP/1.1 200")


def test_set_document_serves_bytes_verbatim(server: StatusServer) -> None:
    server.set_document(b"not json at all")
    status, _, body = get(server)
    assert (status, body) == (200, b"not json at all")


def test_other_paths_are_404(server: StatusServer) -> None:
    status, _, body = get(server, "/api/v2/incidents.json")
    assert status == 404
    assert json.loads(body) == {"error": "not found"}


def test_any_prefix_before_the_summary_path_is_served(server: StatusServer) -> None:
    status, _, body = get(server, "/mirror/tymt9n04zgry/api/v2/summary.json?x=1")
    assert status == 200 and level_of(body) is Level.OPERATIONAL


def test_byte_counters_count_request_and_response_headers(server: StatusServer) -> None:
    request = (
        b"GET /api/v2/summary.json HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"User-Agent: counter-test\r\nConnection: close\r\n\r\n"
    )
    response = raw_exchange(server.port, request)
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert len(body) == len(json.dumps(summary()).encode())
    assert wait_for(lambda: server.bytes_out == len(response))
    assert server.bytes_in == len(request)  # the request line and every header
    assert server.bytes_out == len(response) > len(body)  # the status line and headers too


def test_byte_counters_add_up_over_a_kept_alive_connection(server: StatusServer) -> None:
    _, headers, _ = get(server)
    server.reset_counters()
    assert (server.requests, server.bytes_in, server.bytes_out) == (0, 0, 0)
    first = b"GET /api/v2/summary.json HTTP/1.1\r\nHost: a\r\n\r\n"
    second = (b"GET /api/v2/summary.json HTTP/1.1\r\nHost: a\r\nConnection: close\r\n"
              b"If-None-Match: " + headers["etag"].encode() + b"\r\n\r\n")
    response = raw_exchange(server.port, first + second)
    assert response.count(b"HTTP/1.1 200") == 1 and response.count(b"HTTP/1.1 304") == 1
    assert wait_for(lambda: server.requests == 2 and server.bytes_out == len(response))
    assert server.bytes_in == len(first) + len(second)
    assert server.not_modified == 1


def test_a_fault_can_take_a_request_over_or_pass_it_on(server: StatusServer) -> None:
    seen: list[str] = []

    def teapot(h: BaseHTTPRequestHandler) -> bool:
        seen.append(h.path)
        if "tea" not in h.path:
            return False
        h.send_response(418)
        h.send_header("Content-Length", "0")
        h.end_headers()
        return True

    server.fault = teapot
    assert get(server, "/tea/api/v2/summary.json")[0] == 418
    assert get(server)[0] == 200
    assert seen == ["/tea/api/v2/summary.json", SUMMARY]


def test_stop_closes_the_port() -> None:
    server = StatusServer().start()
    port = server.port
    assert get(server)[0] == 200
    server.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    assert not any(t.name == "status-server" for t in threading.enumerate())


def test_the_demo_cycle_shows_every_level_then_stops(server: StatusServer) -> None:
    cycle = DemoCycle(server, step=0.05)
    seen: set[Level] = set()
    cycle.start()
    try:
        deadline = time.monotonic() + 10
        while seen != set(DEMO_CYCLE) and time.monotonic() < deadline:
            seen.add(level_of(get(server)[2]))
    finally:
        cycle.stop()
    assert seen == set(DEMO_CYCLE)
    assert set(DEMO_CYCLE) == set(KNOWN)  # a new user sees every state
    assert wait_for(lambda: not any(t.name == "demo-cycle" for t in threading.enumerate()))
