"""The HTTP client the app talks through (httpx, over the transport in :mod:`.transport`).
Every failure comes back as data, never raised.

Requests are bounded on every side: connect 5 s, the whole request 15 s (a slow drip is cut off
too), the body capped (decompression included, so a gzip bomb stops at the cap), redirects
followed by hand and only to https on the same host or a known alias, TLS always verified.
"""

from __future__ import annotations

import dataclasses
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
from .core.model import Failure, FailureKind
from .core.urls import redirect_allowed
from .proxy import Proxies, Route
from .tls import load_trust
from .transport import KEEPALIVE, REUSE_WAIT, Transport

log = logging.getLogger(__name__)

USER_AGENT = f"{APP_NAME.replace(' ', '')}/{__version__} (status tray; httpx)"
BODY_CAP = 1024 * 1024
DRAIN_CAP = 64 * 1024  # what we read of a redirect's or 304's body before giving up on reuse
CONNECT_TIMEOUT = 5.0
TOTAL_TIMEOUT = 15.0
MAX_REDIRECTS = 5
# Failures that may be the proxy's doing (a TLS one: a proxy that inspects TLS with a CA we
# don't trust): the message names the proxy.
_VIA_PROXY = frozenset({FailureKind.CONNECT, FailureKind.TIMEOUT, FailureKind.DNS,
                        FailureKind.TLS})


@dataclass(frozen=True)
class Response:
    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes = b""


@dataclass
class HttpClient:
    """A long-lived client with the app's limits built in: one transport (pools per route,
    TLS sessions), the system's trust store and proxy (see :mod:`tray_app.tls`,
    :mod:`tray_app.proxy`). ``proxy`` is the config's setting: ``""`` for the system's,
    ``"none"``, or a URL. ``transport`` replaces all of that (tests)."""

    transport: httpx.BaseTransport | None = None
    clock: Callable[[], float] = time.monotonic
    total_timeout: float = TOTAL_TIMEOUT
    proxy: str = ""
    keepalive: float = KEEPALIVE
    reuse_wait: float = REUSE_WAIT
    proxies: Proxies = field(init=False, repr=False)
    _client: httpx.Client | None = field(default=None, init=False, repr=False)
    _ours: Transport | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.proxies = Proxies(self.proxy)

    def _get_client(self) -> httpx.Client:
        if self._client is None:
            transport = self.transport
            if transport is None:
                trust = load_trust()
                log.debug("trusting %s; proxy setting %r", trust.source, self.proxy or "system")
                # A dead reused connection may cost a third of the budget at most: the fresh
                # one gets the rest.
                wait = min(self.reuse_wait, self.total_timeout / 3)
                self._ours = transport = Transport(trust, self.proxies, self.clock,
                                                   self.keepalive, wait)
            self._client = httpx.Client(
                timeout=httpx.Timeout(self.total_timeout, connect=CONNECT_TIMEOUT),
                follow_redirects=False,
                trust_env=False,  # no .netrc or other credentials picked up behind our back
                headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"},
                transport=transport,
            )
        return self._client

    @property
    def own_transport(self) -> Transport | None:
        """The app's transport, once the first request made it (None with an injected one)."""
        return self._ours

    def proxy_for(self, url: str) -> Route | None:
        """The proxy a request to ``url`` goes through now, or None (direct)."""
        if self.transport is not None:
            return None
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL:
            return None
        return self.proxies.route(parsed.scheme, parsed.host, parsed.port)

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
            return self._explained(failure_from(exc), current)

    def _explained(self, failure: Failure, url: str) -> Failure:
        """Add what the user set up and may need to look at: the proxy, their certificates."""
        extra = ""
        route = self.proxy_for(url)
        if route is not None and failure.kind in _VIA_PROXY:
            extra = f"through the proxy {route.url}"
        note = self._ours.trust.note if self._ours is not None else ""
        if failure.kind is FailureKind.TLS and note:
            extra = ", ".join(x for x in (extra, note) if x)
        if not extra:
            return failure
        return dataclasses.replace(failure, message=f"{failure.message} ({extra})")

    def _once(
        self, method: str, url: str, headers: Mapping[str, str], cap: int, deadline: float,
        read_body: bool,
    ) -> Response | Failure:
        with self._get_client().stream(method, url, headers=dict(headers),
                                       extensions={"deadline": deadline}) as resp:
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
    if isinstance(exc, httpx.ProxyError):
        if text.startswith("407"):
            return Failure(FailureKind.CONNECT, f"the proxy wants a user name and password "
                           f"({text}); put them in the proxy URL: http://user:password@host:port")
        return Failure(FailureKind.CONNECT, f"the proxy couldn't open a tunnel ({text})")
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


def json_get_headers(etag: str = "", last_modified: str = "") -> dict[str, str]:
    """A JSON GET's headers, conditional on what the last good answer carried (a 304 then
    costs a few hundred bytes instead of the document)."""
    headers = {"Accept": "application/json"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


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
