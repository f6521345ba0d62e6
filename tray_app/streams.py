"""The app's own httpcore network backend: sockets with a whole-request deadline, TLS with
session resumption, and what the transport needs to know to retry safely.

httpcore drives HTTP over any :class:`httpcore.NetworkBackend` (public interface); this one
adds, to what httpcore's own ``SyncBackend`` does:

- every socket operation waits at most until the request's deadline, so a server that drips its
  status line a byte at a time can't hold a poll for ever (httpx times each operation apart);
- TLS through :class:`ssl.SSLObject` (memory BIOs), which takes a saved session: the next
  connection to a host resumes it and skips the certificate exchange. The same code carries TLS
  inside a TLS tunnel (an https:// proxy);
- the stream that carries HTTP records whether it is being reused and whether any byte of the
  response came back, so the transport retries only a request that provably got no answer; on a
  reused connection the first response byte must come within ``reuse_wait`` seconds;
- an idle connection older than ``keepalive`` by the injected clock reports itself readable,
  which is how httpcore learns that a connection is not to be reused.
"""

from __future__ import annotations

import select
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import httpcore

from .tls import Sessions

TLS_RECORD = 16384


class Attempt(threading.local):
    """The current request's context, per thread: set by the transport, read by the streams."""

    deadline: float | None = None
    origin_port: int = 0
    reused: bool = False  # the HTTP exchange went out on a connection used before
    response_bytes: int = 0  # bytes of the answer received so far

    def begin(self, deadline: float | None, origin_port: int) -> None:
        self.deadline = deadline
        self.origin_port = origin_port
        self.reused = False
        self.response_bytes = 0


class Backend(httpcore.NetworkBackend):
    def __init__(
        self,
        attempt: Attempt,
        sessions: Sessions | None,
        clock: Callable[[], float] = time.monotonic,
        keepalive: float = 50.0,
        reuse_wait: float = 5.0,
    ) -> None:
        self.attempt = attempt
        self.sessions = sessions  # None: never offer a saved session
        self.clock = clock
        self.keepalive = keepalive
        self.reuse_wait = reuse_wait

    def left(self, timeout: float | None) -> float | None:
        """``timeout`` cut to what is left of the request's deadline."""
        at = self.attempt.deadline
        if at is None:
            return timeout
        left = max(at - self.clock(), 0.001)
        return left if timeout is None else min(timeout, left)

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        source = None if local_address is None else (local_address, 0)
        try:
            sock = socket.create_connection((host, port), self.left(timeout),
                                            source_address=source)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(str(exc) or "timed out") from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        try:
            for option in socket_options or ():
                sock.setsockopt(*option)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError as exc:
            sock.close()
            raise httpcore.ConnectError(str(exc)) from exc
        return SocketStream(self, sock, host, port)

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None
                            ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not used by this app")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class _Stream(httpcore.NetworkStream):
    """What both kinds of stream share: ``recv``/``send`` move raw bytes (a TLS stream uses
    its inner stream's); ``read``/``write`` are what httpcore calls for HTTP, and they keep the
    books the transport's retry rule needs."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._exchanges = 0
        self._answering = True  # a write after a read starts the next exchange
        self._first_byte_by: float | None = None
        self.last_used = backend.clock()

    def recv(self, max_bytes: int, timeout: float | None) -> bytes:
        raise NotImplementedError

    def send(self, data: bytes, timeout: float | None) -> None:
        raise NotImplementedError

    def raw_socket(self) -> socket.socket:
        raise NotImplementedError

    def session_key(self, server_hostname: str) -> tuple[str, int]:
        """Where a TLS session started on this stream belongs: (host name, port)."""
        raise NotImplementedError

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        attempt, clock = self.backend.attempt, self.backend.clock
        self._answering = True
        if self._first_byte_by is not None and attempt.response_bytes == 0:
            wait = max(self._first_byte_by - clock(), 0.001)
            timeout = wait if timeout is None else min(timeout, wait)
        data = self.recv(max_bytes, timeout)
        attempt.response_bytes += len(data)
        self.last_used = clock()
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if self._answering:
            self._answering = False
            self._exchanges += 1
            reused = self._exchanges > 1
            attempt = self.backend.attempt
            attempt.reused, attempt.response_bytes = reused, 0
            self._first_byte_by = (self.backend.clock() + self.backend.reuse_wait
                                   if reused else None)
        self.send(buffer, timeout)
        self.last_used = self.backend.clock()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return TlsStream(self, ssl_context, server_hostname, timeout)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            # Idle past the keep-alive limit (by our clock): not to be reused, like a
            # connection the server closed. Else: readable while idle means the server hung up.
            if self.backend.clock() - self.last_used > self.backend.keepalive:
                return True
            return _readable(self.raw_socket())
        if info == "socket":
            return self.raw_socket()
        if info == "client_addr":
            return self.raw_socket().getsockname()
        if info == "server_addr":
            return self.raw_socket().getpeername()
        return None


def _readable(sock: socket.socket) -> bool:
    if sock.fileno() < 0:
        return True
    try:
        if hasattr(select, "poll"):
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return bool(poller.poll(0))
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):
        return True


class SocketStream(_Stream):
    def __init__(self, backend: Backend, sock: socket.socket, host: str, port: int) -> None:
        super().__init__(backend)
        self.sock = sock
        self.host = host
        self.port = port

    def raw_socket(self) -> socket.socket:
        return self.sock

    def recv(self, max_bytes: int, timeout: float | None) -> bytes:
        try:
            self.sock.settimeout(self.backend.left(timeout))
            return self.sock.recv(max_bytes)
        except TimeoutError as exc:
            raise httpcore.ReadTimeout(str(exc) or "timed out") from exc
        except OSError as exc:
            raise httpcore.ReadError(str(exc)) from exc

    def send(self, data: bytes, timeout: float | None) -> None:
        try:
            while data:
                self.sock.settimeout(self.backend.left(timeout))
                sent = self.sock.send(data)
                data = data[sent:]
        except TimeoutError as exc:
            raise httpcore.WriteTimeout(str(exc) or "timed out") from exc
        except OSError as exc:
            raise httpcore.WriteError(str(exc)) from exc

    def close(self) -> None:
        self.sock.close()

    def session_key(self, server_hostname: str) -> tuple[str, int]:
        # Straight to the host: its own port. Through a proxy tunnel (the hostname is not the
        # host we dialled): the port of the request's origin.
        if server_hostname == self.host:
            return server_hostname, self.port
        return server_hostname, self.backend.attempt.origin_port or self.port


class TlsStream(_Stream):
    def __init__(self, inner: _Stream, ctx: ssl.SSLContext, server_hostname: str | None,
                 timeout: float | None) -> None:
        super().__init__(inner.backend)
        self.inner = inner
        self.key = inner.session_key(server_hostname or "")
        self._saved = False
        sessions = self.backend.sessions
        saved = sessions.get(self.key) if sessions is not None else None
        self._in, self._out = ssl.MemoryBIO(), ssl.MemoryBIO()
        try:
            self.obj = ctx.wrap_bio(self._in, self._out, server_hostname=server_hostname,
                                    session=saved)
            self._io(self.obj.do_handshake, timeout)
        except (httpcore.ReadTimeout, httpcore.WriteTimeout) as exc:
            inner.close()
            raise httpcore.ConnectTimeout(str(exc) or "the TLS handshake timed out") from exc
        except (httpcore.ReadError, httpcore.WriteError) as exc:
            inner.close()
            raise httpcore.ConnectError(str(exc)) from exc
        except (ssl.SSLError, ssl.CertificateError, ValueError) as exc:
            inner.close()
            if saved is not None and sessions is not None:
                sessions.drop(self.key)
            raise httpcore.ConnectError(str(exc)) from exc
        if sessions is not None:
            sessions.count(saved is not None, self.obj.session_reused)
            self._save()

    def _save(self) -> None:
        """Keep the session for the next connection (once it holds a TLS 1.3 ticket, which
        comes after the handshake, with the first data)."""
        sessions = self.backend.sessions
        if sessions is None or self._saved:
            return
        session = self.obj.session
        if session is not None and (session.has_ticket or self.obj.version() != "TLSv1.3"):
            sessions.put(self.key, session)
            self._saved = True

    def raw_socket(self) -> socket.socket:
        return self.inner.raw_socket()

    def _flush(self, timeout: float | None) -> None:
        if self._out.pending:
            self.inner.send(self._out.read(), timeout)

    def _io(self, op: Callable[[], Any], timeout: float | None) -> Any:
        while True:
            try:
                result = op()
            except ssl.SSLWantReadError:
                self._flush(timeout)
                data = self.inner.recv(TLS_RECORD, timeout)
                if data:
                    self._in.write(data)
                else:
                    self._in.write_eof()
                continue
            self._flush(timeout)
            return result

    def recv(self, max_bytes: int, timeout: float | None) -> bytes:
        try:
            data: bytes = self._io(lambda: self.obj.read(max_bytes), timeout)
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            return b""  # the server closed (with or without close_notify)
        except ssl.SSLError as exc:
            raise httpcore.ReadError(str(exc)) from exc
        if data:
            self._save()
        return data

    def send(self, data: bytes, timeout: float | None) -> None:
        try:
            self._io(lambda: self.obj.write(data), timeout)
        except ssl.SSLError as exc:
            raise httpcore.WriteError(str(exc)) from exc

    def close(self) -> None:
        self._save()
        self.inner.close()

    def session_key(self, server_hostname: str) -> tuple[str, int]:
        return server_hostname, self.backend.attempt.origin_port

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object":
            return self.obj
        return super().get_extra_info(info)
