"""``replay``: the app's own poll schedule, parsing, assessment and alert policy, run over a
recorded history of a status page with a simulated clock.

The input says what the page served from each moment on (a JSONL file, one change per line,
or a Statuspage ``incidents.json`` rebuilt into such changes by :mod:`tray_app.core.timeline`).
Between changes the real :class:`~tray_app.poller.Poller` decides when to poll, exactly as it
would live (the interval, faster during incidents, backing off on failures, at once after a
wake), and each poll reads the current document through the real parser. Notifications pass
the same gate as live ones (``notify_on``, pauses), but none is ever shown, and the user's
history, state and settings are never read or written.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timezone
from typing import Any, TextIO

from .clock import FakeClock
from .core.incidents import parse_time
from .core.levels import Level
from .core.model import Failure, FailureKind, Fetched, Summary
from .core.policy import Notify, format_duration
from .core.prefs import Prefs
from .core.statuspage import NotAStatuspage, parse_summary
from .core.timeline import Rebuilt
from .core.urls import SUMMARY_PATH, host_of
from .monitor import Monitor, ServiceView
from .poller import Poller, Report

KINDS = ("summary", "error", "offline", "asleep", "end")


class ReplayInputError(ValueError):
    """Bad replay input; the message names the line."""


@dataclass(frozen=True)
class Line:
    number: int
    at: float
    kind: str
    value: Any = None


def parse_lines(lines: Iterable[str], name: str = "input") -> list[Line]:
    """Validate the JSONL input: one object per line, ``at`` in time order, one known key."""
    out: list[Line] = []
    last = float("-inf")
    for number, text in enumerate(lines, 1):
        if not text.strip():
            continue
        where = f"{name}:{number}"
        try:
            obj = json.loads(text)
        except ValueError as exc:
            raise ReplayInputError(f"{where}: not JSON ({exc})") from None
        if not isinstance(obj, dict):
            raise ReplayInputError(f"{where}: expected a JSON object")
        at = parse_time(obj.get("at"))
        if at is None:
            raise ReplayInputError(f"{where}: \"at\" must be an ISO 8601 time, e.g. "
                                   "\"2026-03-27T14:05:00Z\"")
        if at < last:
            raise ReplayInputError(f"{where}: out of order ({obj['at']} is before the line "
                                   "above)")
        last = at
        keys = sorted(k for k in obj if k != "at")
        unknown = [k for k in keys if k not in KINDS]
        if unknown:
            raise ReplayInputError(f"{where}: unknown key {unknown[0]!r} (known: at, "
                                   f"{', '.join(KINDS)})")
        if len(keys) != 1:
            raise ReplayInputError(f"{where}: needs exactly one of {', '.join(KINDS)}")
        kind = keys[0]
        value = obj[kind]
        if kind == "summary" and not isinstance(value, dict):
            raise ReplayInputError(f"{where}: \"summary\" must be a summary.json object")
        if kind == "error" and not (isinstance(value, str) and value.strip()):
            raise ReplayInputError(f"{where}: \"error\" must be a reason (a string)")
        if kind in ("offline", "asleep", "end") and value is not True:
            raise ReplayInputError(f"{where}: \"{kind}\" must be true")
        out.append(Line(number, at, kind, value))
    if not out:
        raise ReplayInputError(f"{name}: no lines")
    if out[-1].kind == "asleep":
        raise ReplayInputError(f"{name}:{out[-1].number}: the machine can't sleep on the last "
                               "line; add the line it wakes at")
    return out


def from_rebuilt(rebuilt: Rebuilt, lead: float = 3600.0, tail: float = 6 * 3600.0
                 ) -> list[Line]:
    """The replay of a rebuilt timeline: an all-clear page ``lead`` before the first change
    (the app starting on a quiet page), each change, and the end ``tail`` after the last."""
    if not rebuilt.changes:
        raise ReplayInputError("the incidents contain no updates to replay")
    first = rebuilt.changes[0]
    calm = {**first.summary, "incidents": [],
            "status": {"indicator": "none", "description": "All Systems Operational"},
            "components": [{**c, "status": "operational"}
                           for c in first.summary["components"]]}
    out = [Line(0, first.at - lead, "summary", calm)]
    out += [Line(k, c.at, "summary", c.summary) for k, c in enumerate(rebuilt.changes, 1)]
    out.append(Line(len(out), rebuilt.changes[-1].at + tail, "end", True))
    return out


class ReplaySource:
    """What the page serves at the current simulated moment; parsed as the live source parses.

    A document is parsed once; later polls of the same document are answered as a 304 would
    be, with the cached summary.
    """

    def __init__(self, base: str) -> None:
        self.base = base
        self._hosts = frozenset({host_of(base), "stspg.io"})
        self.page_id = ""
        self._doc: dict[str, Any] | None = None
        self._parsed: Summary | Failure | None = None
        self._served: object = None
        self.error = ""
        self.offline = False
        self.fetches = 0

    @property
    def using_mirror(self) -> bool:
        return False

    def hosts(self) -> frozenset[str]:
        return self._hosts

    def serve(self, doc: dict[str, Any]) -> None:
        self._doc, self._parsed, self.error, self.offline = doc, None, "", False

    def fail(self, reason: str) -> None:
        self.error, self.offline = reason, False

    def go_offline(self) -> None:
        self.offline = True

    def online(self) -> bool:
        return not self.offline

    def fetch(self) -> Fetched:
        self.fetches += 1
        url = self.base + SUMMARY_PATH
        if self.offline:
            return Fetched(url, failure=Failure(FailureKind.CONNECT, "no connection"))
        if self.error:
            return Fetched(url, failure=Failure(FailureKind.OTHER, self.error))
        if self._doc is None:
            return Fetched(url, failure=Failure(FailureKind.HTTP, "nothing served yet", 404))
        if self._parsed is None:
            try:
                self._parsed = parse_summary(self._doc)
            except NotAStatuspage as exc:
                self._parsed = Failure(FailureKind.NOT_STATUSPAGE, str(exc), 200)
        parsed = self._parsed
        if isinstance(parsed, Failure):
            return Fetched(url, failure=parsed)
        same = self._served is parsed
        self._served = parsed
        return Fetched(url, summary=parsed, not_modified=same)


@dataclass(frozen=True)
class Sent:
    at: float
    note: Notify
    service: str


@dataclass
class Result:
    start: float
    end: float
    polls: int = 0
    poll_times: list[float] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    levels: list[tuple[float, Level]] = field(default_factory=list)  # each change of the icon


Presenter = Callable[[Report], None]


def run(
    lines: list[Line],
    monitor: Monitor,
    source: ReplaySource,
    *,
    prefs: Prefs | None = None,
    presenters: Iterable[Presenter] = (),
    on_sent: Callable[[Notify, ServiceView], None] | None = None,
    clock: FakeClock | None = None,
) -> Result:
    """Replay ``lines`` through ``monitor``. Notifications pass the live session's gate
    (``prefs``); none is shown, nothing is stored."""
    from .session import Session

    clock = clock or FakeClock(lines[0].at)
    clock.wall = lines[0].at
    monitor.online_check = source.online
    result = Result(start=lines[0].at, end=lines[-1].at)
    shown = [Level.UNKNOWN]
    presenters = list(presenters)

    def sent(note: Notify, view: ServiceView) -> None:
        result.sent.append(Sent(clock.time(), note, view.name))
        if on_sent is not None:
            on_sent(note, view)

    session = Session([monitor], prefs=prefs, clock=clock, on_sent=sent)

    def on_report(report: Report) -> None:
        for p in presenters:
            p(report)
        session(report)
        if report.level is not shown[0]:
            shown[0] = report.level
            result.levels.append((clock.time(), report.level))

    def apply(line: Line) -> None:
        if line.kind == "summary":
            source.serve(line.value)
        elif line.kind == "error":
            source.fail(line.value)
        elif line.kind == "offline":
            source.go_offline()

    poller = Poller([monitor], on_report, clock=clock)
    pending = iter(lines)
    nxt: Line | None = next(pending)
    while nxt is not None and nxt.kind not in ("end", "asleep") and nxt.at <= clock.time():
        apply(nxt)  # what the page serves when the app starts
        nxt = next(pending, None)
    while True:
        before = source.fetches
        delay = poller.tick()
        if source.fetches != before:
            result.polls += source.fetches - before
            result.poll_times.append(clock.time())
        due = clock.time() + delay
        woke = False
        while not woke and nxt is not None and nxt.at <= due:
            line, nxt = nxt, next(pending, None)
            clock.advance(line.at - clock.time())
            if line.kind == "end":
                result.end = line.at
                return result
            if line.kind != "asleep":
                apply(line)
                continue
            assert nxt is not None  # parse_lines refuses a trailing sleep
            # Asleep until the next line: no polls; the wall clock runs on, the monotonic one
            # doesn't, and the poller notices the jump at its next tick, right away.
            clock.sleep(nxt.at - clock.time())
            woke = True
            if nxt.kind not in ("end", "asleep"):
                line, nxt = nxt, next(pending, None)
                apply(line)
        if woke:
            continue
        if nxt is None:
            result.end = clock.time()
            return result
        clock.advance(due - clock.time())


def report_text(result: Result, out: TextIO, tz: timezone = UTC) -> None:
    """The readable report: every notification, counts by kind, the busiest day, outage time."""
    def when(ts: float) -> str:
        return datetime.fromtimestamp(ts, tz).strftime("%Y-%m-%d %H:%M")

    span = format_duration(result.end - result.start)
    print(f"Replayed {span} ({when(result.start)} to {when(result.end)} UTC), "
          f"{result.polls} polls, {len(result.sent)} notifications.", file=out)
    print("", file=out)
    for s in result.sent:
        print(f"{when(s.at)}  {s.note.kind.value:<11}  {s.note.title}", file=out)
        if s.note.body:
            print(f"{'':30}{s.note.body}", file=out)
    print("", file=out)
    kinds = Counter(s.note.kind.value for s in result.sent)
    print("By kind: " + (", ".join(f"{k} {n}" for k, n in kinds.most_common()) or "none"),
          file=out)
    days = Counter(datetime.fromtimestamp(s.at, tz).strftime("%Y-%m-%d") for s in result.sent)
    if days:
        day, n = max(days.items(), key=lambda kv: (kv[1], kv[0]))
        print(f"Busiest day: {day}, {n} notifications", file=out)
    n24, start24 = busiest_24h(s.at for s in result.sent)
    if n24:
        print(f"Busiest 24 hours: {n24} notifications, from {when(start24)} UTC", file=out)
    months = time_per_month(result, tz)
    if months:
        print("Time the icon showed an outage (partial or major) / degraded, per month:",
              file=out)
        for month, (outage, degraded) in sorted(months.items()):
            print(f"  {month}: {format_duration(outage)} / {format_duration(degraded)}", file=out)


def busiest_24h(times: Iterable[float]) -> tuple[int, float]:
    ts = sorted(times)
    best, start, j = 0, 0.0, 0
    for i, t in enumerate(ts):
        while ts[j] <= t - 86400:
            j += 1
        if i - j + 1 > best:
            best, start = i - j + 1, ts[j]
    return best, start


def spans(result: Result) -> Iterator[tuple[float, float, Level]]:
    """The icon's level as (from, to, level) spans over the replay."""
    for (t, level), nxt in zip(result.levels, [*result.levels[1:], (result.end, None)],
                               strict=True):
        yield t, nxt[0], level


def time_per_month(result: Result, tz: timezone = UTC) -> dict[str, tuple[float, float]]:
    out: dict[str, list[float]] = {}
    for start, end, level in spans(result):
        if not level.is_problem or level is Level.MAINTENANCE:
            continue
        t = start
        while t < end:  # split at month boundaries
            d = datetime.fromtimestamp(t, tz)
            nxt_month = datetime(d.year + d.month // 12, d.month % 12 + 1, 1, tzinfo=tz)
            stop = min(end, nxt_month.timestamp())
            slot = out.setdefault(d.strftime("%Y-%m"), [0.0, 0.0])
            slot[0 if level.is_outage else 1] += stop - t
            t = stop
    return {k: (v[0], v[1]) for k, v in out.items()}
