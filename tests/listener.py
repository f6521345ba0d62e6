"""A TCP listener on 127.0.0.1 for the tests' own servers: an accept loop on a thread that
runs until the ``with`` block ends, handing each connection to ``serve``."""

from __future__ import annotations

import socket
import threading
from typing import Self


class Listener:
    """Subclasses set ``name`` and implement ``serve(conn)``. With ``threaded`` each
    connection gets a thread of its own; without, they are served one at a time."""

    name = "listener"
    threaded = True

    def __init__(self, backlog: int = 16) -> None:
        self._stop = threading.Event()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(backlog)
        self._sock.settimeout(0.1)  # so the loop sees the stop within 0.1 s
        self._thread = threading.Thread(target=self._accept, name=self.name, daemon=True)

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sock.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self.threaded:
                threading.Thread(target=self.serve, args=(conn,), name=f"{self.name}-conn",
                                 daemon=True).start()
            else:
                self.serve(conn)

    def serve(self, conn: socket.socket) -> None:
        raise NotImplementedError
