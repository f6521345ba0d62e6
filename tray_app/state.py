"""State that survives a restart: each service's alert state, learned page and component ids,
the pause, the armed one-shot alert and the last notifications.

Kept in the shared database (:mod:`tray_app.store`), one row per thing. A save writes only the
rows that changed since this process last read or wrote them, so a tray and a ``watch`` running
at once never put back each other's old values (a pause set in the tray stays set).

The policy state of a service is an opaque JSON object: :func:`dump_state` makes it and
:func:`load_state` reads it. One that can't be read means a fresh start for that service only.
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .core.persist import dump_state, load_state
from .core.policy import PolicyState
from .core.prefs import armed_keys
from .store import Database

log = logging.getLogger(__name__)

VERSION = 1  # of the JSON file earlier versions wrote
MAX_ALERTS = 50


@dataclass(frozen=True)
class Saved:
    services: dict[str, PolicyState] = field(default_factory=dict)
    page_ids: dict[str, str] = field(default_factory=dict)
    paused_until: float = 0.0
    armed: frozenset[str] = frozenset()  # service keys ("*": every service)
    alerts: tuple[dict[str, Any], ...] = ()
    saved_at: float = 0.0
    # Per service: the component names the user watches (casefolded) -> the id the page gave
    # them, so a component renamed between runs is still found.
    component_ids: dict[str, dict[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        armed: object = self.armed
        if isinstance(armed, bool):  # True: every service (as earlier versions saved it)
            object.__setattr__(self, "armed", armed_keys(armed))


Row = tuple[str, ...]  # ("state", service) | ("page_id", service) | ("component_id", service,
#                        name) | ("setting", name) | ("alert", json): a row and its value


class StateStore:
    def __init__(self, db: Database | Path) -> None:
        self.db = db if isinstance(db, Database) else Database(db)
        self.path = self.db.path
        self._lock = threading.Lock()
        self._last: dict[Row, str] = _rows(Saved())  # what the database has, as far as we know

    def load(self) -> Saved:
        raw = self.db.read(_read)
        if raw is None:
            return Saved()  # the database logged why
        saved = _decode(raw)
        with self._lock:
            self._last = _rows(saved)
        return saved

    def save(self, saved: Saved) -> None:
        rows = _rows(saved)
        with self._lock:
            changed = {k: v for k, v in rows.items() if self._last.get(k) != v}
            self._last = rows
        # A failed write is kept by the database and retried first with the next one.
        self.db.write(_Changes(changed, saved.saved_at))


@dataclass(frozen=True)
class _Changes:
    rows: dict[Row, str]
    saved_at: float

    def apply(self, conn: sqlite3.Connection) -> None:
        for key, value in self.rows.items():
            _put(conn, key, value)
        _put(conn, ("setting", "saved_at"), json.dumps(self.saved_at))
        if any(key[0] == "alert" for key in self.rows):
            conn.execute("DELETE FROM alerts WHERE id NOT IN "
                         "(SELECT id FROM alerts ORDER BY id DESC LIMIT ?)", (MAX_ALERTS,))


def _put(conn: sqlite3.Connection, key: Row, value: str) -> None:
    kind = key[0]
    if kind == "state":
        conn.execute("INSERT INTO service_state (service, state) VALUES (?, ?) "
                     "ON CONFLICT (service) DO UPDATE SET state = excluded.state",
                     (key[1], value))
    elif kind == "page_id":
        conn.execute("INSERT INTO page_ids (service, page_id) VALUES (?, ?) "
                     "ON CONFLICT (service) DO UPDATE SET page_id = excluded.page_id",
                     (key[1], value))
    elif kind == "component_id":
        conn.execute("INSERT INTO component_ids (service, name, id) VALUES (?, ?, ?) "
                     "ON CONFLICT (service, name) DO UPDATE SET id = excluded.id",
                     (key[1], key[2], value))
    elif kind == "setting":
        conn.execute("INSERT INTO settings (name, value) VALUES (?, ?) "
                     "ON CONFLICT (name) DO UPDATE SET value = excluded.value", (key[1], value))
    elif kind == "alert":
        conn.execute("INSERT OR IGNORE INTO alerts (alert) VALUES (?)", (key[1],))
    else:
        raise ValueError(f"unknown kind of row {kind!r}")


def _rows(saved: Saved) -> dict[Row, str]:
    """Everything a save would write, one entry per row. Empty ids are never written: another
    process may know the one this one doesn't."""
    rows: dict[Row, str] = {
        ("setting", "paused_until"): json.dumps(float(saved.paused_until)),
        ("setting", "armed"): json.dumps(sorted(saved.armed)),
    }
    for service, state in saved.services.items():
        rows[("state", service)] = json.dumps(dump_state(state), sort_keys=True)
    for service, page_id in saved.page_ids.items():
        if page_id:
            rows[("page_id", service)] = page_id
    for service, ids in saved.component_ids.items():
        for name, cid in ids.items():
            if name and cid:
                rows[("component_id", service, name)] = cid
    for alert in saved.alerts[-MAX_ALERTS:]:
        rows[("alert", json.dumps(alert, sort_keys=True, ensure_ascii=False))] = ""
    return rows


@dataclass(frozen=True)
class _Raw:
    states: list[tuple[str, str]]
    page_ids: list[tuple[str, str]]
    component_ids: list[tuple[str, str, str]]
    settings: dict[str, str]
    alerts: list[str]


def _read(conn: sqlite3.Connection) -> _Raw:
    return _Raw(
        states=conn.execute("SELECT service, state FROM service_state").fetchall(),
        page_ids=conn.execute("SELECT service, page_id FROM page_ids").fetchall(),
        component_ids=conn.execute("SELECT service, name, id FROM component_ids").fetchall(),
        settings=dict(conn.execute("SELECT name, value FROM settings").fetchall()),
        alerts=[r[0] for r in conn.execute(
            "SELECT alert FROM (SELECT id, alert FROM alerts ORDER BY id DESC LIMIT ?) "
            "ORDER BY id", (MAX_ALERTS,))],
    )


def _decode(raw: _Raw) -> Saved:
    services: dict[str, PolicyState] = {}
    for service, text in raw.states:
        try:
            services[str(service)] = load_state(json.loads(text))
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            log.warning("the saved state of %s can't be used (%s); it starts afresh", service,
                        exc)
    component_ids: dict[str, dict[str, str]] = {}
    for service, name, cid in raw.component_ids:
        component_ids.setdefault(str(service), {})[str(name)] = str(cid)
    alerts = []
    for text in raw.alerts:
        alert = _json(text)
        if isinstance(alert, dict):
            alerts.append(alert)
    return Saved(
        services=services,
        page_ids={str(k): str(v) for k, v in raw.page_ids if v},
        paused_until=_number(raw.settings, "paused_until"),
        armed=armed_keys(_json(raw.settings.get("armed", "[]"))),
        alerts=tuple(alerts),
        saved_at=_number(raw.settings, "saved_at"),
        component_ids=component_ids,
    )


def _json(text: object) -> Any:
    try:
        return json.loads(text)  # type: ignore[arg-type]  # SQLite may hold any type
    except (ValueError, TypeError):
        return None


def _number(settings: Mapping[str, str], name: str) -> float:
    if name not in settings:
        return 0.0
    value = _json(settings[name])
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    log.warning("the saved %s (%r) is not a number; using 0", name, settings[name])
    return 0.0


def import_json(conn: sqlite3.Connection, data: bytes) -> None:
    """Copy an earlier version's ``state.json`` into the database (see store.Legacy). Values of
    the wrong type are skipped one by one; each service's state is copied as it is and checked
    when it is loaded."""
    raw = json.loads(data.decode("utf-8"))
    if not isinstance(raw, dict) or raw.get("version") != VERSION:
        raise ValueError("not a state file this version knows")
    services = raw.get("services", {})
    if not isinstance(services, dict):
        raise TypeError("'services' must be an object")
    rows: dict[Row, str] = {}
    for service, state in services.items():
        rows[("state", str(service))] = json.dumps(state, sort_keys=True)
    page_ids = raw.get("page_ids", {})
    for service, page_id in (page_ids.items() if isinstance(page_ids, dict) else ()):
        if isinstance(page_id, str) and page_id:
            rows[("page_id", str(service))] = page_id
    for name in ("paused_until", "saved_at"):
        value = raw.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            rows[("setting", name)] = json.dumps(float(value))
    if isinstance(raw.get("armed"), bool):
        rows[("setting", "armed")] = json.dumps(sorted(armed_keys(raw["armed"])))
    alerts = raw.get("alerts", [])
    for alert in (alerts[-MAX_ALERTS:] if isinstance(alerts, list) else ()):
        if isinstance(alert, dict):
            rows[("alert", json.dumps(alert, sort_keys=True, ensure_ascii=False))] = ""
    for key, value in rows.items():
        _put(conn, key, value)


