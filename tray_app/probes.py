"""Cheap second opinions when the status page is silent or green.

- :class:`OnlineCheck`: is *our* connection up? A default route (where the OS shows one) and
  a TCP connect to any of a few independent hosts. It tells "you're offline" apart from "the
  status page is unreachable". When the page is reached through a proxy, the proxy is asked
  instead (see :meth:`OnlineCheck.ask_proxy`).
- :class:`ReachabilityProbe`: do claude.ai and the API answer from this machine? Any HTTP
  answer below 500 counts (the API says 401 or 405 to a request without a key). No
  credentials or cookies are ever sent, and every request is bounded.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Sequence
from pathlib import Path

from .core.model import FailureKind
from .core.urls import BadURL, host_of, is_loopback
from .http import HttpClient, Response
from .proxy import Route

log = logging.getLogger(__name__)


def _split(target: str) -> tuple[str, int]:
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"{target!r} is not host:port")
    return host.strip("[]"), int(port)


_RTF_UP, _RTF_REJECT = 0x0001, 0x0200


def _usable(flags: str) -> bool:
    try:
        value = int(flags, 16)
    except ValueError:
        return False
    return bool(value & _RTF_UP) and not value & _RTF_REJECT


class OnlineCheck:
    def __init__(self, targets: Sequence[str], timeout: float = 2.0,
                 route_file: Path | None = Path("/proc/net/route"),
                 proxy: Callable[[], Route | None] | None = None) -> None:
        self.targets = [_split(t) for t in targets]
        self.timeout = timeout
        self.route_file = route_file
        self.proxy = proxy  # the proxy the status page goes through now, if any

    def _no_default_route(self) -> bool:
        if self.route_file is None or not self.route_file.exists():
            return False
        try:
            lines = self.route_file.read_text().splitlines()[1:]
        except OSError:
            return False
        has_v4_default = any(
            len(f := ln.split()) > 3 and f[1] == "00000000" and _usable(f[3]) for ln in lines
        )
        # Next to the IPv4 table (``/proc/net/ipv6_route``). The kernel keeps a "reject" default
        # route on ``lo`` even with no network at all: only a route that is up and not a reject
        # counts.
        v6 = self.route_file.with_name("ipv6_route")
        try:
            has_v6_default = v6.exists() and any(
                len(f := ln.split()) > 8 and f[0] == "0" * 32 and f[1] == "00" and _usable(f[8])
                for ln in v6.read_text().splitlines()
            )
        except OSError:
            has_v6_default = True
        return not has_v4_default and not has_v6_default

    def __call__(self) -> bool:
        route = self.proxy() if self.proxy is not None else None
        if route is not None:
            return self.ask_proxy(route)
        if self._no_default_route():
            return False
        for host, port in self.targets:
            try:
                with socket.create_connection((host, port), timeout=self.timeout):
                    return True
            except OSError:
                continue
        return False


    def ask_proxy(self, route: Route) -> bool:
        """Behind a proxy, direct connections often fail by design (and there may be no default
        route at all), so they say nothing about our own connection: the proxy is the way out.
        Online when it answers: for an http:// proxy, any HTTP status to a CONNECT for the
        first target (a 403 or 407 still shows the proxy and the path to it work); for an
        https:// proxy, the TCP connection itself (its CONNECT would need a TLS handshake)."""
        try:
            with socket.create_connection((route.host, route.port), self.timeout) as sock:
                if route.scheme != "http" or not self.targets:
                    return True
                host, port = self.targets[0]
                target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
                sock.settimeout(self.timeout)
                sock.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
                head = b""
                while b"\r\n" not in head and len(head) < 64:
                    piece = sock.recv(64)
                    if not piece:
                        break
                    head += piece
                return head.startswith(b"HTTP/")
        except OSError as exc:
            log.info("the proxy %s doesn't answer: %s", route.url, exc)
            return False


class ReachabilityProbe:
    def __init__(self, client: HttpClient, urls: Sequence[str]) -> None:
        for url in urls:
            scheme = url.split("://", 1)[0].lower()
            if scheme != "https" and not (scheme == "http" and is_loopback(host_of(url))):
                raise BadURL(f"{url!r}: reachability checks use https only")
        self.client = client
        self.urls = list(urls)
        self.last: list[str] = []

    def __call__(self) -> bool:
        """True when every URL answered (an HTTP status below 500)."""
        self.last = []
        ok = True
        for url in self.urls:
            result = self.client.request(url, method="HEAD", read_body=False, cap=0)
            if isinstance(result, Response):
                answered, why = result.status < 500, f"HTTP {result.status}"
            else:
                # A redirect we don't follow (to a login host, or a loop) is still an answer.
                answered = result.kind is FailureKind.REDIRECT
                why = (f"HTTP {result.status_code}" if answered and result.status_code
                       else result.message)
            ok = ok and answered
            self.last.append(f"{host_of(url)}: {why}")
        return ok
