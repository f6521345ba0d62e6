"""Networks as users have them, on 127.0.0.1: a certificate authority of our own, a TLS server
in front of a status page, an HTTP CONNECT proxy, and a page whose kept-alive connections go
dead. Used by the tests and by bench/run.py.

Every server binds 127.0.0.1 only, serves each connection on its own daemon thread, and every
loop is bounded: it ends when the server stops, the peer hangs up, or ``LIMIT`` passes.
"""

from __future__ import annotations

import os
import select
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import trustme

from tests.listener import Listener

LIMIT = 10.0  # no connection is held longer than this without traffic, unless told otherwise
PROXY_ENV = ("https_proxy", "http_proxy", "all_proxy", "no_proxy")


# -- certificates -----------------------------------------------------------------------------


class TestCA:
    """A CA made for one test run. ``ca.pem`` is what a client trusts (through SSL_CERT_FILE);
    ``server_context(names)`` is a server context with a certificate for those names.

    ``realistic`` issues like a public CA does: RSA 2048 keys and an intermediate that the
    server sends along, so a full handshake has the size of a real one."""

    __test__ = False  # not a pytest test class

    def __init__(self, directory: Path, realistic: bool = False) -> None:
        kind = trustme.KeyType.RSA if realistic else trustme.KeyType.ECDSA
        self.root = trustme.CA(key_type=kind, organization_name="Claude Status Tray tests")
        self.issuer = self.root.create_child_ca(key_type=kind) if realistic else self.root
        self.kind = kind
        self.pem = directory / "ca.pem"
        self.root.cert_pem.write_to_path(str(self.pem))

    def server_context(self, *names: str) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.issuer.issue_cert(*(names or ("127.0.0.1",)), key_type=self.kind).configure_cert(ctx)
        return ctx

    def env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """``base`` (default: os.environ) trusting this CA only, and with no proxy set."""
        env = {k: v for k, v in (os.environ if base is None else base).items()
               if k.lower() not in PROXY_ENV}
        env["SSL_CERT_FILE"] = str(self.pem)
        env["SSL_CERT_DIR"] = ""
        return env


# -- a TLS front for a plain page ---------------------------------------------------------------


@dataclass
class Conn:
    """One client connection to :class:`TlsFront`, in bytes on the wire (TLS records)."""

    handshake_in: int = 0  # from the client, until the handshake is done
    handshake_out: int = 0  # to the client, tickets included
    data_in: int = 0  # after the handshake: requests
    data_out: int = 0  # after the handshake: responses, and the close_notify at idle close
    resumed: bool = False
    requests: int = 0
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def total(self) -> int:
        return self.handshake_in + self.handshake_out + self.data_in + self.data_out


class TlsFront(Listener):
    """TLS on 127.0.0.1 in front of a plain HTTP server on 127.0.0.1 (a StatusServer): each
    client connection gets its own connection upstream. It counts every byte on the wire per
    connection (handshake and after), notes whether the session was resumed, and closes a
    connection that has been idle for ``idle_close`` seconds (with a close_notify, as nginx
    does at its keep-alive timeout)."""

    def __init__(self, upstream_port: int, ctx: ssl.SSLContext, idle_close: float = 30.0,
                 host: str = "127.0.0.1") -> None:
        self.upstream_port = upstream_port
        self.ctx = ctx
        self.idle_close = idle_close
        self.host = host  # the name clients use (the certificate's)
        self.name = "tls-front"
        self.conns: list[Conn] = []
        self._lock = threading.Lock()
        super().__init__()

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def serve(self, conn: socket.socket) -> None:
        record = Conn()
        with self._lock:
            self.conns.append(record)
        self._serve(conn, record)

    def _serve(self, sock: socket.socket, c: Conn) -> None:
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = self.ctx.wrap_bio(incoming, outgoing, server_side=True)
        upstream: socket.socket | None = None
        try:
            sock.settimeout(LIMIT)
            while True:  # the handshake
                try:
                    obj.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    c.handshake_out += _flush(sock, outgoing)
                    data = sock.recv(65536)
                    if not data:
                        return
                    c.handshake_in += len(data)
                    incoming.write(data)
            c.handshake_out += _flush(sock, outgoing)
            # Records the handshake left unread came with its last read: the request's.
            c.handshake_in -= incoming.pending
            c.data_in += incoming.pending
            c.resumed = obj.session_reused
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), LIMIT)
            early = _drain(obj)  # a request that came in the handshake's last read
            if early:
                c.requests += early.count(b"HTTP/1.1\r\n")
                upstream.sendall(early)
            last = time.monotonic()
            while not self._stop.is_set():
                idle = time.monotonic() - last
                if idle >= self.idle_close:
                    try:
                        obj.unwrap()
                    except ssl.SSLError:
                        pass  # the close_notify is written; the peer's is not awaited
                    c.data_out += _flush(sock, outgoing)
                    return
                ready, _, _ = select.select([sock, upstream], [], [],
                                            min(0.1, self.idle_close - idle))
                if sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    c.data_in += len(data)
                    incoming.write(data)
                    plain = _drain(obj)
                    if plain:
                        c.requests += plain.count(b"HTTP/1.1\r\n")
                        upstream.sendall(plain)
                    c.data_out += _flush(sock, outgoing)
                    last = time.monotonic()
                if upstream in ready:
                    data = upstream.recv(65536)
                    if not data:
                        return
                    obj.write(data)
                    c.data_out += _flush(sock, outgoing)
                    last = time.monotonic()
        except (OSError, ssl.SSLError):
            return
        finally:
            if upstream is not None:
                upstream.close()
            sock.close()
            c.done.set()


def _flush(sock: socket.socket, outgoing: ssl.MemoryBIO) -> int:
    data = outgoing.read()
    if data:
        sock.sendall(data)
    return len(data)


def _drain(obj: ssl.SSLObject) -> bytes:
    out = b""
    while True:
        try:
            piece = obj.read(65536)
        except ssl.SSLWantReadError:
            return out
        except ssl.SSLZeroReturnError:
            return out
        if not piece:
            return out
        out += piece


# -- an HTTP CONNECT proxy ----------------------------------------------------------------------


class ConnectProxy(Listener):
    """An HTTP proxy on 127.0.0.1 that only tunnels (CONNECT). ``names`` maps host names to
    loopback addresses (the proxy resolves them, so the client never does); any other target
    that isn't loopback is refused with 403, an unreachable one gets 502. It counts the tunnels
    it opened and keeps each CONNECT's target and headers. With ``credentials``, a CONNECT
    without the matching Proxy-Authorization gets 407."""

    def __init__(self, names: Mapping[str, str] | None = None,
                 credentials: tuple[str, str] | None = None,
                 tls: ssl.SSLContext | None = None) -> None:
        self.names = dict(names or {})
        self.credentials = credentials
        self.tls = tls  # an https:// proxy: clients speak TLS to the proxy itself
        self.tunnels = 0
        self.connects: list[tuple[str, dict[str, str]]] = []
        self._lock = threading.Lock()
        self.name = "proxy"
        super().__init__()

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def serve(self, conn: socket.socket) -> None:
        self._serve(conn)

    def _serve(self, client: socket.socket) -> None:
        import base64

        upstream: socket.socket | None = None
        try:
            client.settimeout(LIMIT)
            if self.tls is not None:
                client = self.tls.wrap_socket(client, server_side=True)
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 16384:
                piece = client.recv(4096)
                if not piece:
                    return
                head += piece
            lines = head.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
            method, target, _ = (lines[0].split(" ") + ["", ""])[:3]
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            with self._lock:
                self.connects.append((f"{method} {target}", headers))
            if method != "CONNECT":
                client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                return
            if self.credentials is not None:
                token = base64.b64encode(":".join(self.credentials).encode()).decode()
                if headers.get("proxy-authorization") != f"Basic {token}":
                    client.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                                   b"Proxy-Authenticate: Basic realm=\"test\"\r\n"
                                   b"Content-Length: 0\r\n\r\n")
                    return
            host, _, port = target.rpartition(":")
            address = self.names.get(host.strip("[]"), host.strip("[]"))
            if address not in ("127.0.0.1", "::1", "localhost"):
                client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                return
            try:
                upstream = socket.create_connection((address, int(port)), 2.0)
            except (OSError, ValueError):
                client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                return
            with self._lock:
                self.tunnels += 1
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            _relay(client, upstream, self._stop)
        except OSError:
            return
        finally:
            if upstream is not None:
                upstream.close()
            client.close()


def _relay(a: socket.socket, b: socket.socket, stop: threading.Event) -> None:
    last = time.monotonic()
    while not stop.is_set() and time.monotonic() - last < LIMIT:
        # A TLS socket may hold decrypted bytes that select() can't see.
        buffered = [s for s in (a, b) if isinstance(s, ssl.SSLSocket) and s.pending()]
        ready = buffered or select.select([a, b], [], [], 0.1)[0]
        for src in ready:
            data = src.recv(65536)
            if not data:
                return
            (b if src is a else a).sendall(data)
            last = time.monotonic()


# -- kept-alive connections that go dead --------------------------------------------------------


@dataclass
class DeadOnReuse:
    """A StatusServer fault: the first request on each connection is served as usual; any
    later request on the same connection is read and never answered (a NAT that dropped the
    connection: nothing comes back, nothing says so). New connections keep working.
    ``answer_head`` instead sends the status line and then goes silent: an answer has begun.
    """

    release: threading.Event = field(default_factory=threading.Event)
    answer_head: bool = False
    limit: float = LIMIT
    served: int = 0
    swallowed: int = 0

    def __call__(self, h: BaseHTTPRequestHandler) -> bool:
        # http.server keeps one handler object per connection.
        if not getattr(h, "_cst_served", False):
            h._cst_served = True  # type: ignore[attr-defined]
            self.served += 1
            return False  # the server serves it
        self.swallowed += 1
        h.close_connection = True
        if self.answer_head:
            h.wfile.write(b"HTTP/1.1 200 OK\r\n")
            h.wfile.flush()
        self.release.wait(self.limit)
        return True


GREY_AFTER = 3  # failed polls in a row that turn the icon grey (the policy's default)


def poll_failing(monitor: Any, now: float, polls: int = GREY_AFTER) -> Any:
    """Poll as often as it takes failures to show in the icon; the last poll's result."""
    fetched = None
    for i in range(polls):
        fetched, _ = monitor.poll(now + 60 * i)
    return fetched


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
