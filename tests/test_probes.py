"""The second opinions, with loopback stand-ins: the connectivity check (a listening socket, a
closed port, route tables in files) and the reachability probe (a real HTTP server on
127.0.0.1 that answers 401/405/503, sets cookies and records what it receives)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import httpx
import pytest

from tests import faultserver as fs
from tray_app.core.urls import BadURL
from tray_app.demo import StatusServer
from tray_app.http import HttpClient
from tray_app.probes import OnlineCheck, ReachabilityProbe

# /proc/net/route and /proc/net/ipv6_route as Linux writes them.
ROUTE_HEADER = ("Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\t"
                "Window\tIRTT\n")
V4_DEFAULT = "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
V4_LAN = "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
V4_UNREACHABLE_DEFAULT = "*\t00000000\t00000000\t0201\t0\t0\t0\t00000000\t0\t0\t0\n"
ZERO = "0" * 32
V6_DEFAULT = (f"{ZERO} 00 {ZERO} 00 fd000000000000000000000000000001 00000400 00000002 "
              "00000000 00000003     eth0\n")
V6_LO_REJECT = f"{ZERO} 00 {ZERO} 00 {ZERO} ffffffff 00000001 00000000 00200200       lo\n"
V6_LOOPBACK = (f"{'0' * 31}1 80 {ZERO} 00 {ZERO} 00000000 00000002 00000000 80200001       "
               "lo\n")


@pytest.fixture
def listening() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield s.getsockname()[1]


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def routes(folder: Path, v4: str, v6: str | None) -> Path:
    (folder / "route").write_text(ROUTE_HEADER + v4)
    if v6 is not None:
        (folder / "ipv6_route").write_text(v6)
    return folder / "route"


# -- OnlineCheck -------------------------------------------------------------------------------


def test_a_listening_host_means_online(listening: int) -> None:
    assert OnlineCheck([f"127.0.0.1:{listening}"], route_file=None)() is True


def test_a_closed_port_means_offline(closed_port: int) -> None:
    assert OnlineCheck([f"127.0.0.1:{closed_port}"], timeout=1, route_file=None)() is False


def test_any_one_target_is_enough(listening: int, closed_port: int) -> None:
    check = OnlineCheck([f"127.0.0.1:{closed_port}", f"[::1]:{closed_port}",
                         f"127.0.0.1:{listening}"], timeout=1, route_file=None)
    assert check() is True


def test_no_targets_and_no_route_file_means_offline() -> None:
    assert OnlineCheck([], route_file=None)() is False


@pytest.mark.parametrize(
    ("v4", "v6", "online"),
    [
        (V4_LAN, None, False),  # no default route at all: offline without a single packet
        (V4_LAN, V6_LO_REJECT + V6_LOOPBACK, False),  # the kernel's reject route is no route
        (V4_UNREACHABLE_DEFAULT, V6_LO_REJECT, False),
        (V4_DEFAULT + V4_LAN, V6_LO_REJECT, True),
        (V4_LAN, V6_DEFAULT + V6_LO_REJECT, True),  # IPv6-only networks are online too
        ("", "", False),
    ],
    ids=["lan-only", "v6-reject-only", "v4-unreachable", "v4-default", "v6-default", "empty"],
)
def test_the_route_table_decides_first(
    tmp_path: Path, listening: int, v4: str, v6: str | None, online: bool
) -> None:
    check = OnlineCheck([f"127.0.0.1:{listening}"], route_file=routes(tmp_path, v4, v6))
    assert check() is online


def test_a_missing_route_file_falls_back_to_connecting(tmp_path: Path, listening: int) -> None:
    assert OnlineCheck([f"127.0.0.1:{listening}"], route_file=tmp_path / "nope")() is True


@pytest.mark.parametrize("target", ["127.0.0.1", "localhost:http", ":443", "1.1.1.1:"])
def test_a_bad_target_is_refused_up_front(target: str) -> None:
    with pytest.raises(ValueError):
        OnlineCheck([target])


# -- ReachabilityProbe -------------------------------------------------------------------------


class Recorder:
    """A StatusServer fault that answers every request with ``status`` and a cookie, and keeps
    every request's method, path and headers."""

    def __init__(self) -> None:
        self.status: dict[str, int] = {}
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        self.lock = threading.Lock()

    def __call__(self, h: BaseHTTPRequestHandler) -> bool:
        with self.lock:
            self.seen.append((h.command, h.path, {k.lower(): v for k, v in h.headers.items()}))
        status = self.status.get(h.path, 200)
        h.send_response(status)
        if 300 <= status < 400:
            h.send_header("Location", "https://login.example/sso")  # elsewhere: not followed
        h.send_header("Set-Cookie", "session=secret123; Path=/")
        h.send_header("Set-Cookie", "__cf_bm=challenge; Path=/; HttpOnly")
        h.send_header("Content-Length", "0")
        h.end_headers()
        return True


@pytest.fixture
def recorder() -> Iterator[tuple[StatusServer, Recorder]]:
    rec = Recorder()
    with StatusServer() as server:
        server.fault = rec
        yield server, rec


@pytest.fixture
def client() -> Iterator[HttpClient]:
    c = HttpClient(total_timeout=2.0 + fs.REFUSAL_S)  # Windows: a refusal takes about 2 s
    yield c
    c.close()


Served = tuple[StatusServer, Recorder]


@pytest.mark.parametrize(
    ("web", "api", "answered"),
    [
        (200, 401, True),
        (403, 405, True),  # a challenge page still proves the host answers
        (301, 404, True),  # a redirect to a login host is an answer too
        (307, 308, True),
        (200, 503, False),
        (502, 401, False),
    ],
)
def test_any_answer_below_500_counts(recorder: Served, client: HttpClient, web: int, api: int,
                                     answered: bool) -> None:
    server, rec = recorder
    rec.status = {"/": web, "/v1/messages": api}
    probe = ReachabilityProbe(client, [server.url + "/", server.url + "/v1/messages"])
    assert probe() is answered
    assert probe.last == [f"127.0.0.1: HTTP {web}", f"127.0.0.1: HTTP {api}"]
    assert [(method, path) for method, path, _ in rec.seen] == [
        ("HEAD", "/"), ("HEAD", "/v1/messages")
    ]


def test_a_refused_connection_is_no_answer(client: HttpClient, closed_port: int) -> None:
    probe = ReachabilityProbe(client, [f"http://127.0.0.1:{closed_port}/"])
    assert probe() is False
    assert probe.last == ["127.0.0.1: connection refused"]


def test_no_cookie_or_credential_is_ever_sent(recorder: Served, client: HttpClient) -> None:
    server, rec = recorder
    rec.status = {"/v1/messages": 401}
    urls = [server.url + "/", server.url + "/v1/messages"]
    probe = ReachabilityProbe(client, urls)
    for _ in range(3):
        assert probe()
    assert len(rec.seen) == 6
    for _, _, headers in rec.seen:
        assert "cookie" not in headers
        assert "authorization" not in headers and "x-api-key" not in headers
    # Control: a plain client does send the cookie back, so the check above can fail.
    rec.seen.clear()
    with httpx.Client() as plain:
        plain.head(urls[0])
        plain.head(urls[0])
    assert "secret123" in rec.seen[1][2].get("cookie", "")


def test_every_probe_is_bounded(listening: int) -> None:
    """A host that accepts the connection and then says nothing is no answer, in bounded time."""
    c = HttpClient(total_timeout=1.0)
    try:
        probe = ReachabilityProbe(c, [f"http://127.0.0.1:{listening}/"])
        started = time.monotonic()
        assert probe() is False
        assert time.monotonic() - started < 3
    finally:
        c.close()


@pytest.mark.parametrize("url", ["http://claude.ai", "ftp://claude.ai", "http://10.0.0.1/"])
def test_remote_probes_use_https_only(client: HttpClient, url: str) -> None:
    with pytest.raises(BadURL):
        ReachabilityProbe(client, [url])
