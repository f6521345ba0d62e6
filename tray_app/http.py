"""The one module that talks HTTP (httpx). Every failure comes back as data, never raised.

Requests are bounded on every side: connect 5 s, the whole request 15 s (a slow drip is cut off
too), the body capped (decompression included, so a gzip bomb stops at the cap), redirects
followed by hand and only to https on the same host or a known alias, TLS always verified.
"""

from __future__ import annotations

import email.utils
import logging
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpcore
import httpx

from . import APP_NAME, __version__
from .core.model import Failure, FailureKind
from .core.urls import redirect_allowed

log = logging.getLogger(__name__)

USER_AGENT = f"{APP_NAME.replace(' ', '')}/{__version__} (status tray; httpx)"
BODY_CAP = 1024 * 1024
DRAIN_CAP = 64 * 1024  # what we read of a redirect's or 304's body before giving up on reuse
CONNECT_TIMEOUT = 5.0
TOTAL_TIMEOUT = 15.0
MAX_REDIRECTS = 5


@dataclass(frozen=True)
class Response:
    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes = b""


class _Deadline(threading.local):
    """The current request's deadline, per thread (None outside a request)."""

    at: float | None = None


class _DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every read and write waits at most until the request's deadline."""

    def __init__(self, inner: httpcore.NetworkStream, left: Callable[[float | None], float | None]
                 ) -> None:
        self._inner = inner
        self._left = left

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._left(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._left(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(ssl_context, server_hostname, self._left(timeout))
        return _DeadlineStream(inner, self._left)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpx times each socket operation, not the whole exchange, so a server that drips its
    status line and headers a byte at a time would hold a poll for ever. This backend gives each
    operation at most what is left of the request's deadline."""

    def __init__(self, deadline: _Deadline, clock: Callable[[], float]) -> None:
        self._inner = httpcore.SyncBackend()
        self._deadline = deadline
        self._clock = clock

    def left(self, timeout: float | None) -> float | None:
        at = self._deadline.at
        if at is None:
            return timeout
        left = max(at - self._clock(), 0.001)
        return left if timeout is None else min(timeout, left)

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(host, port, self.left(timeout), local_address,
                                         socket_options)
        return _DeadlineStream(stream, self.left)

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None
                            ) -> httpcore.NetworkStream:
        stream = self._inner.connect_unix_socket(path, self.left(timeout), socket_options)
        return _DeadlineStream(stream, self.left)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


@dataclass
class HttpClient:
    """A long-lived client (one connection pool) with the app's limits built in."""

    transport: httpx.BaseTransport | None = None
    clock: Callable[[], float] = time.monotonic
    total_timeout: float = TOTAL_TIMEOUT
    _client: httpx.Client | None = field(default=None, init=False, repr=False)
    _deadline: _Deadline = field(default_factory=_Deadline, init=False, repr=False)

    def _get_client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(
                timeout=httpx.Timeout(self.total_timeout, connect=CONNECT_TIMEOUT),
                follow_redirects=False,
                verify=True,
                trust_env=False,  # no proxy credentials or netrc picked up behind the user's back
                headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"},
                transport=self.transport or self._default_transport(),
            )
        return self._client

    def _default_transport(self) -> httpx.HTTPTransport:
        # One context: loading certifi's CA bundle costs ~12 ms and ~1 MB, and HTTPTransport
        # would otherwise build one for a pool that is replaced right below.
        ctx = httpx.create_ssl_context(verify=True, trust_env=False)
        transport = httpx.HTTPTransport(verify=ctx, trust_env=False)
        # httpx has no public way to choose the network backend; its pool is built the same way.
        transport._pool = httpcore.ConnectionPool(
            ssl_context=ctx,
            max_connections=4,
            max_keepalive_connections=2,
            network_backend=_DeadlineBackend(self._deadline, self.clock),
        )
        return transport

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def request(
        self,
        url: str,
        *,
        method: str = "GET",
        headers: Mapping[str, str] | None = None,
        cap: int = BODY_CAP,
        aliases: frozenset[str] = frozenset(),
        read_body: bool = True,
    ) -> Response | Failure:
        deadline = self.clock() + self.total_timeout
        self._deadline.at = deadline
        seen = {url}
        current = url
        try:
            for _ in range(MAX_REDIRECTS + 1):
                # Cookies a page sets are never sent back: no credentials of any kind.
                self._get_client().cookies.clear()
                result = self._once(method, current, headers or {}, cap, deadline, read_body)
                if isinstance(result, Failure) or result.status not in (301, 302, 303, 307, 308):
                    return result
                target = str(httpx.URL(current).join(result.headers.get("location", "")))
                why = redirect_allowed(current, target, aliases)
                if why:
                    return Failure(FailureKind.REDIRECT, why, result.status)
                if target in seen:
                    return Failure(FailureKind.REDIRECT, f"redirect loop at {target[:120]}")
                seen.add(target)
                current = target
            return Failure(FailureKind.REDIRECT, f"more than {MAX_REDIRECTS} redirects")
        except Exception as exc:  # noqa: BLE001 - every failure becomes data
            return failure_from(exc)
        finally:
            self._deadline.at = None

    def _once(
        self, method: str, url: str, headers: Mapping[str, str], cap: int, deadline: float,
        read_body: bool,
    ) -> Response | Failure:
        with self._get_client().stream(method, url, headers=dict(headers)) as resp:
            hdrs = {k.lower(): v for k, v in resp.headers.items()}
            if not read_body or resp.status_code in (204, 304) or 300 <= resp.status_code < 400:
                # Read what little is left so the connection goes back to the pool: an
                # unchanged poll then costs one request on a kept-alive connection.
                drained = _read_capped(resp, DRAIN_CAP, deadline, self.clock, self.total_timeout)
                if isinstance(drained, Failure) and drained.kind is FailureKind.TIMEOUT:
                    return drained
                return Response(str(resp.url), resp.status_code, hdrs)
            declared = hdrs.get("content-length", "")
            if declared.isdigit() and int(declared) > cap:
                return _too_large(cap, resp.status_code)
            body = _read_capped(resp, cap, deadline, self.clock, self.total_timeout)
            if isinstance(body, Failure):
                return body
            return Response(str(resp.url), resp.status_code, hdrs, body)


def _too_large(cap: int, status: int | None = None) -> Failure:
    return Failure(FailureKind.TOO_LARGE, f"the response is larger than {cap // 1024} KiB", status)


def _read_capped(
    resp: httpx.Response, cap: int, deadline: float, clock: Callable[[], float], total: float
) -> bytes | Failure:
    encoding = resp.headers.get("content-encoding", "identity").lower().strip()
    if encoding in ("gzip", "x-gzip", "deflate"):
        inflater = zlib.decompressobj(wbits=47 if encoding != "deflate" else 15)
    elif encoding in ("identity", ""):
        inflater = None
    else:
        return Failure(FailureKind.BAD_BODY, f"unsupported content encoding {encoding[:20]!r}")
    out = bytearray()
    for chunk in resp.iter_raw():
        if clock() > deadline:
            return Failure(FailureKind.TIMEOUT,
                           f"the response took longer than {total:g} s to arrive")
        if inflater is None:
            out += chunk
        else:
            try:
                data = inflater.decompress(chunk, cap + 1 - len(out))
            except zlib.error as exc:
                return Failure(FailureKind.BAD_BODY, f"corrupt compressed body: {exc}")
            out += data
            if inflater.unconsumed_tail:
                return _too_large(cap, resp.status_code)
        if len(out) > cap:
            return _too_large(cap, resp.status_code)
    return bytes(out)


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in seen:
        seen.append(cur)
        cur = cur.__cause__ or cur.__context__
    return seen


def failure_from(exc: BaseException) -> Failure:
    """Map an httpx (or socket/ssl) exception to a :class:`Failure` with a plain message."""
    chain = _chain(exc)
    text = str(exc)[:200] or type(exc).__name__
    if any(isinstance(e, socket.gaierror) for e in chain) or "Name or service not known" in text:
        return Failure(FailureKind.DNS, "the host name could not be resolved (DNS)")
    # Before the TLS test: a stalled handshake reads "_ssl.c: The handshake operation timed out".
    if isinstance(exc, httpx.TimeoutException):
        return Failure(FailureKind.TIMEOUT, "no answer in time (timeout)")
    if any(isinstance(e, ssl.SSLError | ssl.CertificateError) for e in chain) or (
        "CERTIFICATE" in text.upper() or "SSL" in text.upper()
    ):
        return Failure(FailureKind.TLS, f"TLS verification failed: {text}")
    if isinstance(exc, httpx.ConnectError):
        if any(isinstance(e, ConnectionRefusedError) for e in chain) or "refused" in text:
            return Failure(FailureKind.CONNECT, "connection refused")
        return Failure(FailureKind.CONNECT, f"could not connect: {text}")
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return Failure(FailureKind.CONNECT, f"the connection broke: {text}")
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
        return Failure(FailureKind.OTHER, f"bad URL: {text}")
    log.warning("unexpected HTTP failure", exc_info=exc)
    return Failure(FailureKind.OTHER, f"{type(exc).__name__}: {text}")


def retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()[:64]
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - now)
