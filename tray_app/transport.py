"""The app's httpx transport, built on public interfaces only: :class:`httpx.BaseTransport`
over httpcore's :class:`~httpcore.ConnectionPool` and :class:`~httpcore.HTTPProxy`, both given
our network backend (:mod:`tray_app.streams`).

- Routing: each request goes direct or through the proxy :class:`~tray_app.proxy.Proxies`
  chooses for it; one pool per route.
- One retry: a GET or HEAD that failed on a reused connection before a single byte of the
  answer came back is sent again, once, on a fresh connection, within the same deadline. The
  server never answered it, so nothing is repeated that had an effect we saw; a request whose
  answer had begun is never retried.
- Idle connections are closed after ``keepalive`` seconds (see :data:`KEEPALIVE`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator

import httpcore
import httpx

from .proxy import Proxies, Route
from .streams import Attempt, Backend
from .tls import Sessions, Trust

log = logging.getLogger(__name__)

# Idle connections are closed after this long. NATs and firewalls that drop idle TCP silently
# commonly do so after 4-5 minutes (Azure's load balancer, many home routers) and the more
# eager middleboxes and servers after 60 s (AWS's load balancers, nginx's 75 s); 50 s stays
# under all of those while still letting connections be reused within a poll and at the
# shortest remote interval (30 s).
KEEPALIVE = 50.0
# A reused connection must show the first byte of its answer within this long, else it is
# presumed dropped on the way and the request goes out again on a fresh one. A third of the
# 15 s budget: the status page answers in well under a second, and the fresh connection keeps
# 10 s for its connect (5 s at most) and answer.
REUSE_WAIT = 5.0
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS"})

_EXCEPTIONS: list[tuple[type[Exception], type[httpx.TransportError]]] = [
    # Most specific first.
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
]


def _mapped(exc: Exception) -> Exception:
    for core, ours in _EXCEPTIONS:
        if isinstance(exc, core):
            return ours(str(exc))
    return exc


class _Body(httpx.SyncByteStream):
    def __init__(self, stream: Iterator[bytes] | object) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._stream  # type: ignore[misc]
        except Exception as exc:
            mapped = _mapped(exc)
            if mapped is exc:
                raise
            raise mapped from exc

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()


class Transport(httpx.BaseTransport):
    def __init__(
        self,
        trust: Trust,
        proxies: Proxies,
        clock: Callable[[], float] = time.monotonic,
        keepalive: float = KEEPALIVE,
        reuse_wait: float = REUSE_WAIT,
    ) -> None:
        self.trust = trust
        self.proxies = proxies
        self.clock = clock
        self.keepalive = keepalive
        self.sessions = Sessions() if trust.resumable else None
        self.attempt = Attempt()
        self.backend = Backend(self.attempt, self.sessions, clock, keepalive, reuse_wait)
        self.retries = 0  # requests sent again on a fresh connection (for logs and tests)
        self._pools: dict[Route | None, httpcore.ConnectionPool] = {}
        self._lock = threading.Lock()

    def route(self, url: httpx.URL) -> Route | None:
        return self.proxies.route(url.scheme, url.host, url.port)

    def _pool_for(self, route: Route | None) -> httpcore.ConnectionPool:
        with self._lock:
            pool = self._pools.get(route)
            if pool is not None:
                return pool
            limits = {"max_connections": 4, "max_keepalive_connections": 2,
                      "keepalive_expiry": self.keepalive, "network_backend": self.backend}
            ctx = self.trust.context
            if route is None:
                pool = httpcore.ConnectionPool(ssl_context=ctx, **limits)  # type: ignore[arg-type]
            else:
                pool = httpcore.HTTPProxy(
                    proxy_url=httpcore.URL(scheme=route.scheme.encode(), host=route.host.encode(),
                                           port=route.port, target=b"/"),
                    proxy_auth=route.auth, ssl_context=ctx,
                    proxy_ssl_context=ctx if route.scheme == "https" else None,
                    **limits,  # type: ignore[arg-type]
                )
            # Settings that changed (a new network, a new proxy): forget the oldest pool.
            if len(self._pools) >= 3:
                oldest = next(iter(self._pools))
                self._pools.pop(oldest).close()
            self._pools[route] = pool
            return pool

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        pool = self._pool_for(self.route(url))
        deadline = request.extensions.get("deadline")
        port = url.port or (443 if url.scheme == "https" else 80)
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port,
                             target=url.raw_path),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        retried = False
        while True:
            self.attempt.begin(deadline, port)
            try:
                resp = pool.handle_request(core)
                break
            except Exception as exc:
                if not retried and self._may_retry(request.method, deadline):
                    retried = True
                    self.retries += 1
                    log.info("no answer from %s on a reused connection (%s); sending the "
                             "request again on a fresh one", url.host, type(exc).__name__)
                    _close_idle(pool)
                    continue
                mapped = _mapped(exc)
                if mapped is exc:
                    raise
                raise mapped from exc
        return httpx.Response(status_code=resp.status, headers=resp.headers,
                              stream=_Body(resp.stream), extensions=resp.extensions)

    def _may_retry(self, method: str, deadline: float | None) -> bool:
        a = self.attempt
        in_time = deadline is None or self.clock() < deadline - 0.05
        return a.reused and a.response_bytes == 0 and method in IDEMPOTENT and in_time

    def close(self) -> None:
        with self._lock:
            pools = list(self._pools.values())
            self._pools.clear()
        for pool in pools:
            pool.close()


def _close_idle(pool: httpcore.ConnectionPool) -> None:
    """Idle connections may be as stale as the one that just failed: the retry gets a new one."""
    for conn in pool.connections:
        if conn.is_idle():
            conn.close()
