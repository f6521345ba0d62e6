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
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import httpx

from . import APP_NAME, __version__
from .model import Failure, FailureKind
from .urls import redirect_allowed

log = logging.getLogger(__name__)

USER_AGENT = f"{APP_NAME.replace(' ', '')}/{__version__} (+https://github.com/claude-status-tray)"
BODY_CAP = 1024 * 1024
CONNECT_TIMEOUT = 5.0
TOTAL_TIMEOUT = 15.0
MAX_REDIRECTS = 5


@dataclass(frozen=True)
class Response:
    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes = b""


@dataclass
class HttpClient:
    """A long-lived client (one connection pool) with the app's limits built in."""

    transport: httpx.BaseTransport | None = None
    clock: Callable[[], float] = time.monotonic
    total_timeout: float = TOTAL_TIMEOUT
    _client: httpx.Client | None = field(default=None, init=False, repr=False)

    def _get_client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(
                timeout=httpx.Timeout(self.total_timeout, connect=CONNECT_TIMEOUT),
                follow_redirects=False,
                verify=True,
                trust_env=False,  # no proxy credentials or netrc picked up behind the user's back
                headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"},
                transport=self.transport,
                limits=httpx.Limits(max_connections=4, max_keepalive_connections=2),
            )
        return self._client

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
        seen = {url}
        current = url
        try:
            for _ in range(MAX_REDIRECTS + 1):
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

    def _once(
        self, method: str, url: str, headers: Mapping[str, str], cap: int, deadline: float,
        read_body: bool,
    ) -> Response | Failure:
        with self._get_client().stream(method, url, headers=dict(headers)) as resp:
            hdrs = {k.lower(): v for k, v in resp.headers.items()}
            if not read_body or resp.status_code in (204, 304) or 300 <= resp.status_code < 400:
                return Response(str(resp.url), resp.status_code, hdrs)
            declared = hdrs.get("content-length", "")
            if declared.isdigit() and int(declared) > cap:
                return _too_large(cap, resp.status_code)
            body = _read_capped(resp, cap, deadline, self.clock)
            if isinstance(body, Failure):
                return body
            return Response(str(resp.url), resp.status_code, hdrs, body)


def _too_large(cap: int, status: int | None = None) -> Failure:
    return Failure(FailureKind.TOO_LARGE, f"the response is larger than {cap // 1024} KiB", status)


def _read_capped(
    resp: httpx.Response, cap: int, deadline: float, clock: Callable[[], float]
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
            return Failure(FailureKind.TIMEOUT, "the response took longer than 15 s to arrive")
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
    if any(isinstance(e, ssl.SSLError | ssl.CertificateError) for e in chain) or (
        "CERTIFICATE" in text.upper() or "SSL" in text.upper()
    ):
        return Failure(FailureKind.TLS, f"TLS verification failed: {text}")
    if isinstance(exc, httpx.TimeoutException):
        return Failure(FailureKind.TIMEOUT, "no answer in time (timeout)")
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
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - now)
