"""A local Statuspage v2 server on 127.0.0.1: the ``--demo`` page, and a fixture for tests and
benchmarks (it honours ETag/If-None-Match and counts every byte it sends and receives)."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, BinaryIO

from .core.levels import Level

COMPONENTS = (
    ("rwppv331jlwc", "claude.ai"),
    ("0qbwn08sd68x", "Claude Console (platform.claude.com)"),
    ("k8w3r06qmzrp", "Claude API (api.anthropic.com)"),
    ("yyzkbfz2thpt", "Claude Code"),
    ("bpp5gb3hpjcl", "Claude Cowork"),
    ("0scnb50nvy53", "Claude for Government"),
)
_COMPONENT_STATUS = {
    Level.OPERATIONAL: "operational",
    Level.MAINTENANCE: "under_maintenance",
    Level.DEGRADED: "degraded_performance",
    Level.PARTIAL_OUTAGE: "partial_outage",
    Level.MAJOR_OUTAGE: "major_outage",
}
_INDICATOR = {
    Level.OPERATIONAL: ("none", "All Systems Operational"),
    Level.MAINTENANCE: ("maintenance", "Service Under Maintenance"),
    Level.DEGRADED: ("minor", "Partially Degraded Service"),
    Level.PARTIAL_OUTAGE: ("major", "Partial System Outage"),
    Level.MAJOR_OUTAGE: ("critical", "Major System Outage"),
}
_IMPACT = {
    Level.DEGRADED: "minor",
    Level.PARTIAL_OUTAGE: "major",
    Level.MAJOR_OUTAGE: "critical",
    Level.MAINTENANCE: "maintenance",
}
_INCIDENT_NAME = {
    Level.DEGRADED: "Elevated errors on Claude Code",
    Level.PARTIAL_OUTAGE: "Claude Code login failures",
    Level.MAJOR_OUTAGE: "Elevated errors across Claude.ai, the API and Claude Code",
    Level.MAINTENANCE: "Scheduled maintenance of the Console",
}


def summary(
    level: Level = Level.OPERATIONAL,
    *,
    name: str = "Claude",
    affected: tuple[str, ...] = ("yyzkbfz2thpt",),
    incident: str | None = None,
    page_id: str = "tymt9n04zgry",
    padding: int = 0,
) -> dict[str, Any]:
    """A Statuspage v2 summary in Claude's shape at ``level``.

    For a major outage every component is down; otherwise the ``affected`` ones carry the
    level. ``padding`` adds long component descriptions to reach a realistic body size.
    """
    if level is Level.MAJOR_OUTAGE:
        affected = tuple(cid for cid, _ in COMPONENTS)
    stamp = "2026-11-24T12:00:00.000Z"
    components = []
    for pos, (cid, cname) in enumerate(COMPONENTS, 1):
        status = _COMPONENT_STATUS[level] if cid in affected and level.is_known else "operational"
        components.append({
            "id": cid, "name": cname, "status": status, "created_at": stamp, "updated_at": stamp,
            "position": pos, "description": ("x" * padding) or None, "showcase": True,
            "start_date": "2023-07-11", "group_id": None, "page_id": page_id, "group": False,
            "only_show_if_degraded": False,
        })
    incidents: list[dict[str, Any]] = []
    maintenances: list[dict[str, Any]] = []
    if level.is_problem:
        body = {
            "id": f"demo{level.value[:8]}",
            "name": incident or _INCIDENT_NAME[level],
            "status": "in_progress" if level is Level.MAINTENANCE else "investigating",
            "impact": _IMPACT[level],
            "created_at": stamp, "updated_at": stamp, "started_at": stamp,
            "monitoring_at": None, "resolved_at": None,
            "shortlink": f"https://stspg.io/demo{level.value[:8]}", "page_id": page_id,
            "incident_updates": [],
            "components": [c for c in components if c["id"] in affected],
        }
        (maintenances if level is Level.MAINTENANCE else incidents).append(body)
    indicator, description = _INDICATOR.get(level, ("none", "All Systems Operational"))
    return {
        "page": {"id": page_id, "name": name, "url": "https://status.claude.com",
                 "time_zone": "Etc/UTC", "updated_at": stamp},
        "components": components,
        "incidents": incidents,
        "scheduled_maintenances": maintenances,
        "status": {"indicator": indicator, "description": description},
    }


class _Counter:
    """Wraps a socket file and counts the bytes that cross it."""

    def __init__(self, inner: BinaryIO, add: Callable[[int], None]) -> None:
        self._inner = inner
        self._add = add

    def read(self, n: int = -1) -> bytes:
        data = self._inner.read(n)
        self._add(len(data))
        return data

    def readline(self, limit: int = -1) -> bytes:
        data = self._inner.readline(limit)
        self._add(len(data))
        return data

    def write(self, data: bytes) -> int:
        self._add(len(data))
        return self._inner.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


Fault = Callable[[BaseHTTPRequestHandler], bool]


class StatusServer:
    """Serves ``/api/v2/summary.json`` (any path ending in it) from a document you can swap,
    and ``/api/v2/incidents.json`` once one is set (``set_incidents``; 404 until then).

    ``fault`` may take over a request: a function given the handler that writes whatever it
    likes (or nothing) and returns True when it handled the request.
    """

    def __init__(self, document: dict[str, Any] | bytes | None = None, port: int = 0) -> None:
        self._lock = threading.Lock()
        self.fault: Fault | None = None
        self.requests = 0
        self.not_modified = 0
        self.bytes_in = 0
        self.bytes_out = 0
        self.incidents_requests = 0
        self._incidents: tuple[bytes, str] | None = None
        self.set_document(document if document is not None else summary())
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "StatusServer/1"
            sys_version = ""

            def setup(self) -> None:
                super().setup()
                self.rfile = _Counter(self.rfile, server._count_in)  # type: ignore[assignment,arg-type]
                self.wfile = _Counter(self.wfile, server._count_out)  # type: ignore[assignment,arg-type]

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                server._serve(self)

            def do_HEAD(self) -> None:  # noqa: N802
                server._serve(self, head=True)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _count_in(self, n: int) -> None:
        with self._lock:
            self.bytes_in += n

    def _count_out(self, n: int) -> None:
        with self._lock:
            self.bytes_out += n

    def set_document(self, document: dict[str, Any] | bytes) -> None:
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        with self._lock:
            self._body, self._etag = body, etag

    def set_incidents(self, document: dict[str, Any] | bytes) -> None:
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        with self._lock:
            self._incidents = (body, '"' + hashlib.sha256(body).hexdigest()[:16] + '"')

    def set_level(self, level: Level, **kwargs: Any) -> None:
        self.set_document(summary(level, **kwargs))

    def reset_counters(self) -> None:
        with self._lock:
            self.requests = self.not_modified = self.bytes_in = self.bytes_out = 0

    def _serve(self, h: BaseHTTPRequestHandler, head: bool = False) -> None:
        with self._lock:
            self.requests += 1
            body, etag, fault = self._body, self._etag, self.fault
        if fault is not None and fault(h):
            return
        path = h.path.split("?")[0]
        if path.endswith("/api/v2/incidents.json") and self._incidents is not None:
            with self._lock:
                self.incidents_requests += 1
                body, etag = self._incidents
        elif not path.endswith("/api/v2/summary.json"):
            missing = b'{"error":"not found"}'
            self._reply(h, 404, b"" if head else missing, {}, length=len(missing))
            return
        if h.headers.get("If-None-Match") == etag:
            with self._lock:
                self.not_modified += 1
            self._reply(h, 304, b"", {"ETag": etag})
            return
        headers = {"ETag": etag, "Content-Type": "application/json; charset=utf-8",
                   "Cache-Control": "max-age=0, private, must-revalidate"}
        self._reply(h, 200, b"" if head else body, headers, length=len(body))

    @staticmethod
    def _reply(
        h: BaseHTTPRequestHandler, code: int, body: bytes, headers: dict[str, str],
        length: int | None = None,
    ) -> None:
        h.send_response(code)
        for key, value in headers.items():
            h.send_header(key, value)
        if code != 304:
            h.send_header("Content-Length", str(len(body) if length is None else length))
        h.end_headers()
        if body:
            h.wfile.write(body)

    def start(self) -> StatusServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.2},
            name="status-server", daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(2)

    def __enter__(self) -> StatusServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


DEMO_CYCLE = (Level.OPERATIONAL, Level.DEGRADED, Level.MAJOR_OUTAGE, Level.OPERATIONAL,
              Level.MAINTENANCE, Level.PARTIAL_OUTAGE)
DEMO_STEP = 10.0


class DemoCycle:
    """Moves a :class:`StatusServer` through every level, one step every ``step`` seconds."""

    def __init__(self, server: StatusServer, step: float = DEMO_STEP) -> None:
        self.server = server
        self.step = step
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-cycle", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        i = 0
        while not self._stop.is_set():
            level = DEMO_CYCLE[i % len(DEMO_CYCLE)]
            affected = ("0qbwn08sd68x",) if level is Level.MAINTENANCE else ("yyzkbfz2thpt",)
            self.server.set_level(level, affected=affected)
            i += 1
            self._stop.wait(self.step)

    def stop(self) -> None:
        self._stop.set()


def start_demo(step: float = DEMO_STEP) -> tuple[StatusServer, DemoCycle]:
    server = StatusServer().start()
    cycle = DemoCycle(server, step)
    cycle.start()
    return server, cycle

