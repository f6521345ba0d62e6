"""State that survives a restart: each service's alert state, learned page ids, the pause,
the armed one-shot alert and the last notifications.

Kept in the user data directory as JSON, written atomically (temporary file, fsync, rename).
A missing or corrupt file means a fresh start, with the bad file kept aside.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .atomic import keep_aside, write_atomic
from .core.persist import dump_state, load_state
from .core.policy import PolicyState

log = logging.getLogger(__name__)

VERSION = 1
MAX_ALERTS = 50


@dataclass(frozen=True)
class Saved:
    services: dict[str, PolicyState] = field(default_factory=dict)
    page_ids: dict[str, str] = field(default_factory=dict)
    paused_until: float = 0.0
    armed: bool = False
    alerts: tuple[dict[str, Any], ...] = ()
    saved_at: float = 0.0


class StateStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def load(self) -> Saved:
        if not self.path.exists():
            return Saved()
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(raw, dict) or raw.get("version") != VERSION:
                raise ValueError("unknown format")
            alerts = raw.get("alerts", [])
            return Saved(
                services={str(k): load_state(v) for k, v in raw.get("services", {}).items()},
                page_ids={str(k): str(v) for k, v in raw.get("page_ids", {}).items()},
                paused_until=float(raw.get("paused_until", 0.0)),
                armed=bool(raw.get("armed", False)),
                alerts=tuple(a for a in alerts if isinstance(a, dict))[-MAX_ALERTS:],
                saved_at=float(raw.get("saved_at", 0.0)),
            )
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            moved = keep_aside(self.path) if self.path.exists() else None
            log.warning("state file %s unreadable (%s); starting fresh, kept it as %s",
                        self.path, exc, moved)
            return Saved()

    def save(self, saved: Saved) -> None:
        data = {
            "version": VERSION,
            "saved_at": saved.saved_at,
            "services": {k: dump_state(v) for k, v in saved.services.items()},
            "page_ids": saved.page_ids,
            "paused_until": saved.paused_until,
            "armed": saved.armed,
            "alerts": list(saved.alerts[-MAX_ALERTS:]),
        }
        with self._lock:
            try:
                write_atomic(self.path, json.dumps(data, ensure_ascii=False).encode("utf-8"))
            except OSError as exc:
                log.warning("can't save state to %s: %s", self.path, exc)
