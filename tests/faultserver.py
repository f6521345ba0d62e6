"""Hostile and broken status pages on 127.0.0.1, for the fault matrix and the source tests.

Most faults are ``fault`` hooks for :class:`tray_app.demo.StatusServer`: a callable given the
request handler that writes whatever it likes (or nothing) and returns True when it took the
request over. What ``http.server`` can't do (TLS with a self-signed certificate) gets a tiny
raw-socket server. Every server binds 127.0.0.1 only, and every loop is bounded: a fault that
waits or drips stops at ``LIMIT`` seconds, when its ``release`` event is set, or as soon as the
client hangs up, whichever comes first.
"""

from __future__ import annotations

import contextlib
import datetime
import gzip
import ipaddress
import json
import os
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from unittest import mock

from tests.listener import Listener
from tray_app.app import AppPaths
from tray_app.demo import Fault, summary

LIMIT = 10.0  # no fault ever blocks longer than this
DNS_FAIL_URL = "https://status.nonexistent.invalid"  # .invalid never resolves (RFC 2606)
MIB = 1024 * 1024
_CHUNK = 64 * 1024

PROXY_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)
CAPTIVE_PORTAL = (
    b"<!DOCTYPE html><html><head><title>Welcome to Airport Wi-Fi</title></head><body>"
    b"<form method=post action=/login><h1>Sign in to continue</h1>"
    b"<input name=room><input type=password name=code><button>Connect</button></form>"
    b"</body></html>"
)
CHALLENGE = (
    b"<!DOCTYPE html><html lang=en><head><title>Just a moment...</title></head><body>"
    b"<noscript>Enable JavaScript and cookies to continue</noscript></body></html>"
)


# -- plain answers ---------------------------------------------------------------------------


def _send_head(h: BaseHTTPRequestHandler, status: int, headers: dict[str, str]) -> None:
    h.send_response(status)
    for key, value in headers.items():
        h.send_header(key, value)
    h.end_headers()


def respond(
    status: int,
    body: bytes = b"",
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> Fault:
    """Answer every request with ``status`` and ``body`` (a complete, well-formed response)."""

    def fault(h: BaseHTTPRequestHandler) -> bool:
        hdrs = {"Content-Type": content_type, "Content-Length": str(len(body)), **(headers or {})}
        _send_head(h, status, hdrs)
        if h.command != "HEAD" and body:
            h.wfile.write(body)
        return True

    return fault


def ok(body: bytes, content_type: str = "application/json") -> Fault:
    return respond(200, body, content_type)


def json_500() -> Fault:
    return respond(500, b'{"error": {"code": 500, "message": "Internal Server Error"}}')


def proxy_502() -> Fault:
    return respond(502, PROXY_502, "text/html")


def retry_later(status: int, seconds: int) -> Fault:
    """429 or 503 with ``Retry-After: seconds``."""
    return respond(status, b'{"error": "slow down"}', headers={"Retry-After": str(seconds)})


def truncated_json() -> bytes:
    whole = json.dumps(summary()).encode()
    return whole[: len(whole) // 2]


def nested_json(depth: int = 100_000) -> bytes:
    """A document far deeper than any real summary (well under the size cap)."""
    return b'{"status": ' + b"[" * depth + b"]" * depth + b"}"


BAD_BODIES: dict[str, tuple[bytes, str]] = {
    "garbage": (bytes(range(256)) * 8, "application/json"),
    "truncated": (truncated_json(), "application/json"),
    "empty": (b"", "application/json"),
    "array": (b"[]", "application/json"),
    "wrong_types": (b'{"status": 5, "components": "x"}', "application/json"),
    "nested": (nested_json(), "application/json"),
    "captive_portal": (CAPTIVE_PORTAL, "text/html; charset=utf-8"),
}


# -- redirects -------------------------------------------------------------------------------


def redirect(location: str, status: int = 302, when: Callable[[str], bool] | None = None) -> Fault:
    """Redirect (every request, or those whose path ``when`` accepts) to ``location``."""

    def fault(h: BaseHTTPRequestHandler) -> bool:
        if when is not None and not when(h.path):
            return False
        _send_head(h, status, {"Location": location, "Content-Length": "0"})
        return True

    return fault


def redirect_loop() -> Fault:
    """/a -> /b -> /a ... for any path ending in the summary."""

    def fault(h: BaseHTTPRequestHandler) -> bool:
        nxt = "/b" if h.path.startswith("/a/") else "/a"
        _send_head(h, 302, {"Location": f"{nxt}/api/v2/summary.json", "Content-Length": "0"})
        return True

    return fault


# -- connection-level faults ------------------------------------------------------------------


def _hang_up(h: BaseHTTPRequestHandler) -> None:
    h.close_connection = True


def reset() -> Fault:
    """Read the request, then close with SO_LINGER 0: the client gets a TCP RST."""

    def fault(h: BaseHTTPRequestHandler) -> bool:
        _hang_up(h)
        sock = h.connection
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        h.rfile.close()  # drop the makefile() reference so close() really closes the fd
        sock.close()
        return True

    return fault


def no_answer(release: threading.Event, limit: float = LIMIT) -> Fault:
    """Accept the request and never reply (until ``release`` or ``limit``)."""

    def fault(h: BaseHTTPRequestHandler) -> bool:
        _hang_up(h)
        release.wait(limit)
        return True

    return fault


def _drip(h: BaseHTTPRequestHandler, data: bytes, release: threading.Event, every: float,
          limit: float) -> None:
    deadline = time.monotonic() + limit
    for i in range(len(data)):
        if release.is_set() or time.monotonic() > deadline:
            return
        try:
            h.wfile.write(data[i : i + 1])
        except OSError:
            return  # the client hung up
        release.wait(every)


def drip_body(release: threading.Event, every: float = 1.0, limit: float = LIMIT) -> Fault:
    """Headers at once, then the body one byte per ``every`` seconds."""
    body = json.dumps(summary()).encode()

    def fault(h: BaseHTTPRequestHandler) -> bool:
        _hang_up(h)
        _send_head(h, 200, {"Content-Type": "application/json", "Content-Length": str(len(body))})
        _drip(h, body, release, every, limit)
        return True

    return fault


def drip_head(release: threading.Event, every: float = 1.0, limit: float = LIMIT) -> Fault:
    """The status line and headers themselves one byte per ``every`` seconds (slowloris)."""
    body = json.dumps(summary()).encode()
    head = (
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Padding: "
        + "." * 200
        + f"\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()

    def fault(h: BaseHTTPRequestHandler) -> bool:
        _hang_up(h)
        _drip(h, head + body, release, every, limit)
        return True

    return fault


def declared_only(size: int, release: threading.Event, limit: float = LIMIT) -> Fault:
    """Headers announcing ``size`` bytes, then nothing: a client that tried to read the body
    would sit there until its timeout."""

    def fault(h: BaseHTTPRequestHandler) -> bool:
        _hang_up(h)
        _send_head(h, 200, {"Content-Type": "application/json", "Content-Length": str(size)})
        release.wait(limit)
        return True

    return fault


@dataclass
class HugeBody:
    """A fault that streams ``size`` bytes lazily, 64 KiB at a time, and stops when the client
    hangs up. ``sent`` counts what it wrote in all, ``responses`` what it wrote for each
    response; ``done`` is set when a response is over."""

    size: int = 200 * MIB
    chunked: bool = False
    release: threading.Event = field(default_factory=threading.Event)
    limit: float = LIMIT
    send_buffer: int | None = None
    sent: int = 0
    responses: list[int] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)

    def _chunks(self) -> Iterator[bytes]:
        block = b"x" * _CHUNK
        prefix = b'{"page": {"id": "huge"}, "padding": "'
        yield prefix
        left = self.size - len(prefix)
        while left > 0:
            piece = block if left >= _CHUNK else block[:left]
            left -= len(piece)
            yield piece

    def __call__(self, h: BaseHTTPRequestHandler) -> bool:
        _hang_up(h)
        self.done.clear()
        if self.send_buffer is not None:
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.send_buffer)
        # Say so: a client may not reuse a connection the server is about to close.
        headers = {"Content-Type": "application/json", "Connection": "close"}
        if self.chunked:
            headers["Transfer-Encoding"] = "chunked"
        else:
            headers["Content-Length"] = str(self.size)
        deadline = time.monotonic() + self.limit
        sent = 0
        try:
            _send_head(h, 200, headers)
            for piece in self._chunks():
                if self.release.is_set() or time.monotonic() > deadline:
                    return True
                data = b"%x\r\n%s\r\n" % (len(piece), piece) if self.chunked else piece
                h.wfile.write(data)
                sent += len(piece)
            if self.chunked:
                h.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass  # the client hung up: exactly what should happen long before the end
        finally:
            self.sent += sent
            self.responses.append(sent)
            self.done.set()
        return True


def gzip_bomb(inflated: int = 64 * MIB) -> bytes:
    """``inflated`` zero bytes, gzip-compressed (about a thousandth of the size)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"\0" * MIB
    parts = [comp.compress(block) for _ in range(inflated // MIB)]
    parts.append(comp.flush())
    return b"".join(parts)


def gzipped(body: bytes, content_type: str = "application/json") -> Fault:
    return respond(200, body, content_type, {"Content-Encoding": "gzip"})


def gzip_json(doc: dict[str, Any]) -> bytes:
    return gzip.compress(json.dumps(doc).encode())


# -- watching what the client sends -------------------------------------------------------------


@dataclass
class Recorder:
    """A pass-through fault that keeps each request's method, path and headers."""

    seen: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)

    def __call__(self, h: BaseHTTPRequestHandler) -> bool:
        self.seen.append((h.command, h.path, {k.lower(): v for k, v in h.headers.items()}))
        return False

    @property
    def last(self) -> dict[str, str]:
        return self.seen[-1][2]


def last_modified_page(doc: dict[str, Any], stamp: str, recorder: Recorder) -> Fault:
    """Serve ``doc`` with Last-Modified (no ETag); 304 when If-Modified-Since matches."""
    body = json.dumps(doc).encode()

    def fault(h: BaseHTTPRequestHandler) -> bool:
        recorder(h)
        if h.headers.get("If-Modified-Since") == stamp:
            _send_head(h, 304, {"Last-Modified": stamp})
            return True
        _send_head(h, 200, {"Content-Type": "application/json", "Last-Modified": stamp,
                            "Content-Length": str(len(body))})
        h.wfile.write(body)
        return True

    return fault


# -- ports, DNS, TLS ------------------------------------------------------------------------------


# How long a connect to a closed loopback port takes to be refused. Linux and macOS answer at
# once; Windows resends the SYN and says "refused" only after about 2 s (2.0 s on GitHub's
# windows-latest), so a client there needs a longer timeout to see the refusal at all.
REFUSAL_S = 2.5 if sys.platform == "win32" else 0.0


@contextlib.contextmanager
def refused_port() -> Iterator[int]:
    """A loopback port that is bound (so nobody else takes it) but not listening: connecting
    to it is refused (at once, but on Windows after `REFUSAL_S`)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])
    finally:
        sock.close()


@contextlib.contextmanager
def silent_port() -> Iterator[int]:
    """A loopback port that listens but never accepts: the kernel completes the TCP handshake,
    and then nothing ever answers (a stalled TLS handshake, or a request never read)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield int(sock.getsockname()[1])
    finally:
        sock.close()


def dns_fails_fast(timeout: float = 2.0) -> bool:
    """True when the local resolver says no to ``.invalid`` within ``timeout`` seconds."""
    result: list[bool] = []

    def look() -> None:
        try:
            socket.getaddrinfo("status.nonexistent.invalid", 443)
            result.append(False)
        except OSError:
            result.append(True)

    t = threading.Thread(target=look, name="dns-probe", daemon=True)
    t.start()
    t.join(timeout)
    return bool(result and result[0])


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 signed by itself: (cert.pem, key.pem) in ``directory``.

    Uses the ``cryptography`` package when it is installed, else the openssl command line.
    """
    cert, key = directory / "cert.pem", directory / "key.pem"
    try:
        _cert_with_cryptography(cert, key)
    except ImportError:
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key), "-out", str(cert),
             "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
            check=True, capture_output=True, timeout=30,
        )
    return cert, key


def _cert_with_cryptography(cert_path: Path, key_path: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(
            ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ))


Responder = Callable[[str, dict[str, str]], bytes]


def http_response(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> bytes:
    reason = {200: "OK", 301: "Moved Permanently", 302: "Found"}.get(status, "Status")
    lines = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(body)}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def serve_summary(path: str, headers: dict[str, str]) -> bytes:
    return http_response(200, json.dumps(summary()).encode(),
                         {"Content-Type": "application/json"})


class TlsServer(Listener):
    """A one-thread HTTPS server on 127.0.0.1 with the given certificate.

    Connections are handled one at a time (on the listener's thread) with short socket
    timeouts; ``respond`` turns a
    request's path and headers into the raw response bytes. ``handshakes_failed`` counts the
    clients that gave up on the certificate.
    """

    name = "tls-server"
    threaded = False

    def __init__(self, cert: Path, key: Path, respond: Responder = serve_summary) -> None:
        self._ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._ctx.load_cert_chain(cert, key)
        self._respond = respond
        self.requests = 0
        self.handshakes_failed = 0

        super().__init__(backlog=8)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(2.0)
            self._handle(conn)

    def _handle(self, conn: socket.socket) -> None:
        try:
            tls = self._ctx.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            self.handshakes_failed += 1
            return
        with tls:
            data = b""
            try:
                while b"\r\n\r\n" not in data and len(data) < 65536:
                    piece = tls.recv(4096)
                    if not piece:
                        return
                    data += piece
                head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
                path = head[0].split(" ")[1] if len(head[0].split(" ")) > 1 else "/"
                headers = {}
                for line in head[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                self.requests += 1
                tls.sendall(self._respond(path, headers))
            except (ssl.SSLError, OSError):
                return


def trusting(cert: Path) -> ssl.SSLContext:
    """A client context that trusts only ``cert`` (TLS verification stays on)."""
    return ssl.create_default_context(cafile=str(cert))


def vm_rss_kib() -> int:
    """This process's resident set size: /proc/self/status on Linux, psutil elsewhere (a test
    dependency off Linux)."""
    status = Path("/proc/self/status")
    if not status.exists():
        import psutil

        return int(psutil.Process().memory_info().rss) // 1024
    for line in status.read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def isolated_env(home: Path) -> dict[str, str]:
    """The environment for running the app as a process with every user directory (config,
    data, state/logs, cache, home) inside ``home``, so a test never touches the real ones."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "PYTEST_"))}
    for name in ("config", "data", "state", "cache"):
        (home / name).mkdir(parents=True, exist_ok=True)
        env[f"XDG_{name.upper()}_HOME"] = str(home / name)
    env["HOME"] = str(home)  # macOS: ~/Library/Logs
    if sys.platform == "win32":
        # platformdirs asks the Windows shell for AppData, unless these name it (4.8+).
        for name, folder in (("LOCAL_APPDATA", "local"), ("APPDATA", "roaming")):
            (home / folder).mkdir(exist_ok=True)
            env[f"WIN_PD_OVERRIDE_{name}"] = str(home / folder)
        env["USERPROFILE"] = str(home)
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)  # no desktop notifications from a test process
    return env


def app_paths(env: Mapping[str, str]) -> AppPaths:
    """Where the app, run with ``env`` (from `isolated_env`), keeps its config, data and logs:
    asked of platformdirs as the app asks it, so each system's layout holds."""
    with mock.patch.dict(os.environ, env, clear=True):
        return AppPaths.default()
