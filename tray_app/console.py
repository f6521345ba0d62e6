"""Terminal presenters: one-line summaries, ``check --json`` and ``watch --jsonl`` events."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TextIO

from .core.assess import Assessment
from .core.levels import Level
from .core.plaintext import clean
from .core.policy import LevelChanged, Notify
from .monitor import ServiceView

if TYPE_CHECKING:  # `check` needn't load the poll loop
    from .core.estimate import Estimate
    from .poller import Report

EXIT_CODES = {
    Level.OPERATIONAL: 0,
    Level.MAINTENANCE: 1,
    Level.DEGRADED: 1,
    Level.PARTIAL_OUTAGE: 2,
    Level.MAJOR_OUTAGE: 2,
    Level.UNKNOWN: 3,
}


def iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def check_json(url: str, level: Level, a: Assessment | None, checked_at: float,
               error: str | None, estimates: Mapping[str, Estimate] | None = None
               ) -> dict[str, Any]:
    """The ``check --json`` object; its keys are a contract with users' scripts."""
    estimates = estimates or {}
    return {
        "url": url,
        "level": level.value,
        "description": a.description if a else (error or "unknown"),
        "checked_at": iso(checked_at),
        "components": [
            {"name": c.name, "level": c.level.value, "status": c.status, "id": c.id}
            for c in (a.watched if a else ())
        ],
        "incidents": [
            {"name": i.name, "status": i.status, "impact": i.impact, "url": i.url,
             "level": i.level.value, "id": i.id, "models": i.models,
             "affects_you": i.relevant, "colours_icon": i.colours,
             "estimate": estimates[i.id].as_json() if i.id in estimates else None}
            for i in (a.incidents if a else ())
        ],
        "error": error,
        "service": a.service if a else "",
        "headline": a.headline if a else f"unknown, {error}",
        "reasons": list(a.reasons) if a else [],
    }


def one_line(view: ServiceView) -> str:
    line = view.status_line
    a = view.assessment
    colouring = a.colouring if a else []
    if view.level.is_problem and len(colouring) > 1:
        line += f" (+{len(colouring) - 1} more)"
    return clean(line, 300)


def waybar(view: ServiceView) -> dict[str, Any]:
    """The JSON waybar's and polybar's custom modules read (text, tooltip, class, percentage)."""
    a = view.assessment
    tip = [clean(view.status_line, 300)]
    if a:
        tip += [f"{c.name}: {c.level.label}" for c in a.watched if c.level is not Level.OPERATIONAL]
        tip += [f"• {i.name} ({i.status})" for i in a.colouring]
    percentage = {Level.OPERATIONAL: 100, Level.MAINTENANCE: 80, Level.DEGRADED: 60,
                  Level.PARTIAL_OUTAGE: 30, Level.MAJOR_OUTAGE: 0, Level.UNKNOWN: 50}
    return {
        "text": f"{view.name}: {view.level.label}",
        "alt": view.level.value,
        "tooltip": "\n".join(clean(t, 300) for t in tip),
        "class": view.level.value,
        "percentage": percentage[view.level],
    }


class ConsolePresenter:
    """Prints what the poller reports; with ``jsonl`` one JSON object per line."""

    def __init__(
        self,
        out: TextIO,
        *,
        jsonl: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.out = out
        self.jsonl = jsonl
        self.clock = clock
        self._last_line: dict[str, str] = {}

    def __call__(self, report: Report) -> None:
        view = report.service
        if self.jsonl:
            self._json({"event": "poll", "level": view.level.value, "ok": report.ok,
                        "service": view.name, "time": iso(self.clock())})
        else:
            line = one_line(view)
            if self._last_line.get(view.key) != line:
                self._last_line[view.key] = line
                self._text(line)
        for effect in report.effects:
            if isinstance(effect, LevelChanged) and self.jsonl:
                self._json({"event": "level", "from": effect.old.value,
                            "to": effect.new.value, "service": view.name})

    def notification(self, note: Notify, view: ServiceView) -> None:
        """A notification the user is sent (after ``notify_on`` and the pause)."""
        title, body = clean(note.title, 64), clean(note.body, 256)
        if self.jsonl:
            self._json({"event": "notification", "kind": note.kind.value, "title": title,
                        "body": body, "service": view.name, "incidents": list(note.incidents)})
        else:
            self._text(f"notification: {title}: {body}")

    def _json(self, obj: dict[str, Any]) -> None:
        obj["at"] = iso(self.clock())
        self.out.write(json.dumps(obj, ensure_ascii=False) + "\n")
        self.out.flush()

    def _text(self, line: str) -> None:
        self.out.write(f"{time.strftime('%H:%M:%S', time.localtime(self.clock()))}  {line}\n")
        self.out.flush()

