"""Replay Claude's real 2026 incident history through the app and count what a user was told.

    python bench/archive_replay.py [--archive FILE] [--models NAMES] [--show FROM TO ...]

It rebuilds the page's timeline from the archive of Claude's ``incidents.json``
(``../shared/statuspage-samples/claude-incident-archive/``), replays it with the app's default
settings (polling every 60 s, as the live poller would), and prints the figures issue 10 asks
for, plus the notifications of any date ranges given with ``--show``. ``tests/test_replay.py``
asserts the same figures; the README quotes them.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tray_app.core.incidents import PastIncident, parse_time  # noqa: E402
from tray_app.core.levels import INCIDENT_WORKING, Level  # noqa: E402
from tray_app.core.timeline import Rebuilt, iso, rebuild  # noqa: E402
from tray_app.replay import Result, Sent  # noqa: E402

ARCHIVE = (ROOT.parent / "shared" / "statuspage-samples" / "claude-incident-archive"
           / "claude_all_incidents_archive.json")
CLAUDE_PAGE = {"id": "tymt9n04zgry", "name": "Claude", "url": "https://status.claude.com",
               "time_zone": "Etc/UTC"}
YEAR = "2026"
HOUR = 3600.0


def load_2026(path: Path = ARCHIVE) -> list[dict[str, Any]]:
    """The archive's incidents created in 2026 (by the time they were posted)."""
    raw = json.loads(path.read_text("utf-8"))
    out = []
    for inc in raw:
        times = [parse_time(u.get("created_at")) for u in inc.get("incident_updates") or []]
        posted = min((t for t in times if t is not None), default=None)
        if posted is not None and datetime.fromtimestamp(posted, UTC).strftime("%Y") == YEAR:
            out.append(inc)
    return out


# --- the figures ----------------------------------------------------------------------------

@dataclass
class Figures:
    severe_shown: int = 0  # major/critical incidents shown investigating/identified at a poll
    severe_missed: list[str] = field(default_factory=list)  # ... with no alert of their own
    announced: int = 0
    unresolved_told: list[str] = field(default_factory=list)  # announced, never told over
    delayed: list[str] = field(default_factory=list)  # first alert later than one poll
    monitoring_off_green_h: float = 0.0  # icon off green while only stale monitoring is open
    monitoring_stretches: int = 0
    length_errors: list[tuple[str, float]] = field(default_factory=list)  # > 2 min off
    lengths_checked: int = 0
    busiest_24h: int = 0
    busiest_24h_from: float = 0.0
    notifications: int = 0

    def lines(self) -> list[str]:
        def few(xs: Sequence[Any]) -> str:
            return (": " + ", ".join(str(x) for x in xs[:6]) + (" ..." if len(xs) > 6 else "")
                    ) if xs else ""

        return [
            f"notifications in all: {self.notifications}",
            f"major/critical incidents shown open at a poll: {self.severe_shown}; without "
            f"their own alert within one poll: {len(self.severe_missed)}{few(self.severe_missed)}",
            f"incidents announced: {self.announced}; not told over within 3 polls of the page "
            f"closing them: {len(self.unresolved_told)}{few(self.unresolved_told)}",
            f"new incidents whose first alert came later than one poll: {len(self.delayed)}"
            f"{few(self.delayed)}",
            f"icon off green while only monitoring incidents past their 2 h grace were open: "
            f"{self.monitoring_off_green_h:.1f} h in {self.monitoring_stretches} stretches",
            f"'back'/'fixed' lengths checked: {self.lengths_checked}; off by more than 2 min: "
            f"{len(self.length_errors)}"
            f"{few([f'{i} {d / 60:+.0f} min' for i, d in self.length_errors])}",
            f"busiest 24 hours: {self.busiest_24h} notifications, from "
            f"{iso(self.busiest_24h_from)[:16]}",
        ]


_LENGTH = re.compile(r"after (?:(\d+) days? )?(?:(\d+) h)?\s*(?:(\d+) min)?")


def told_length(text: str) -> float | None:
    """The exact length a notification states ("after 2 h 54 min"), None for "at least"."""
    if "at least" in text:
        return None
    m = _LENGTH.search(text)
    if not m or not any(m.groups()):
        return None
    days, hours, minutes = (int(g) if g else 0 for g in m.groups())
    return days * 86400 + hours * 3600 + minutes * 60


def _names(sent: Sent, by_id: dict[str, PastIncident]) -> set[str]:
    """The incidents a notification is about: its ids, or (older builds) the names it quotes."""
    ids = set(getattr(sent.note, "incidents", ()) or ())
    if ids:
        return ids
    text = f"{sent.note.title} {sent.note.body}"
    return {i for i, inc in by_id.items() if inc.name and inc.name in text}


def figures(result: Result, rebuilt: Rebuilt, poll_times: Sequence[float],
            grace: float = 2 * HOUR) -> Figures:
    import bisect

    f = Figures(notifications=len(result.sent))
    by_id = {i.id: i for i in rebuilt.incidents}
    alerts: dict[str, list[Sent]] = {}
    overs: dict[str, list[Sent]] = {}
    for s in result.sent:
        for iid in _names(s, by_id):
            kind = s.note.kind.value
            if kind in ("resolved", "recovered"):
                overs.setdefault(iid, []).append(s)
            elif kind != "unreachable":
                alerts.setdefault(iid, []).append(s)

    def polls_after(t: float, n: int) -> float:
        """The time of the n-th poll at or after t (inf past the end)."""
        k = bisect.bisect_left(poll_times, t) + n - 1
        return poll_times[k] if k < len(poll_times) else float("inf")

    for inc in rebuilt.incidents:
        closed = inc.closed_at
        # First poll that showed it open, in any status, and as investigating/identified.
        if not inc.shown_open:
            continue
        first_poll = polls_after(inc.posted, 1)
        if closed is not None and first_poll >= closed:
            continue  # never on the page at a poll
        active = [u.at for u in inc.updates if u.status in INCIDENT_WORKING]
        if inc.impact in ("major", "critical") and active:
            first_active = polls_after(active[0], 1)
            if closed is None or first_active < closed:
                f.severe_shown += 1
                deadline = polls_after(active[0], 2)
                if not any(s.at <= deadline for s in alerts.get(inc.id, [])):
                    f.severe_missed.append(inc.id)
        told = alerts.get(inc.id, [])
        if told:
            f.announced += 1
            if told[0].at > polls_after(inc.posted, 2) and inc.impact not in ("none",):
                f.delayed.append(inc.id)
            if closed is not None:
                ok = any(closed - 1 <= s.at <= polls_after(closed, 3) for s in overs.get(inc.id,
                                                                                       []))
                if not ok:
                    f.unresolved_told.append(inc.id)
    # Lengths: each told length against the page's own, from the earliest start of the
    # incidents it names to the last close among them.
    for s in result.sent:
        if s.note.kind.value not in ("resolved", "recovered"):
            continue
        length = told_length(s.note.title)
        ids = _names(s, by_id)
        if not ids and length is not None:  # older builds named none: those open meanwhile
            ids = {i.id for i in rebuilt.incidents if i.posted <= s.at
                   and (i.closed_at or s.at) >= s.at - length and i.shown_open}
        if length is None or not ids:
            continue
        incs = [by_id[i] for i in ids if i in by_id]
        starts = [i.start for i in incs]
        ends = [i.closed_at for i in incs if i.closed_at is not None]
        if not starts or not ends:
            continue
        f.lengths_checked += 1
        page = max(ends) - min(starts)
        # Told to the minute (to the hour past two days, as "3 days 4 h"): what the words
        # can't say isn't an error.
        precision = 1800 if "days" in s.note.title else 30
        if abs(length - page) > 120 + precision:
            f.length_errors.append((",".join(sorted(ids)), length - page))
    _monitoring(f, result, rebuilt, grace)
    from tray_app.replay import busiest_24h

    f.busiest_24h, f.busiest_24h_from = busiest_24h(s.at for s in result.sent)
    return f


def _monitoring(f: Figures, result: Result, rebuilt: Rebuilt, grace: float) -> None:
    """Time the icon was off green after polls that read only monitoring incidents past their
    grace (the page's own changes reach the icon at the next poll: that delay isn't counted)."""
    import bisect

    changes = [t for t, _ in result.levels]
    polls = result.poll_times
    total, stretches, inside = 0.0, 0, False
    for k, p in enumerate(polls):
        i = bisect.bisect_right(changes, p) - 1
        level = result.levels[i][1] if i >= 0 else Level.UNKNOWN
        bad = level.is_known and level.is_problem and _monitoring_only(rebuilt.incidents, p,
                                                                        grace)
        if bad:
            total += (polls[k + 1] if k + 1 < len(polls) else result.end) - p
            stretches += not inside
        inside = bad
    f.monitoring_off_green_h = total / HOUR
    f.monitoring_stretches = stretches


def _monitoring_only(incidents: Iterable[PastIncident], t: float, grace: float) -> bool:
    open_any = False
    for inc in incidents:
        if inc.posted > t:
            continue
        closed = inc.closed_at
        if closed is not None and closed <= t:
            continue
        status = inc.status_at(t)
        if status != "monitoring":
            return False
        since = max(u.at for u in inc.updates if u.at <= t and u.status == "monitoring")
        if t - since < grace:
            return False
        open_any = True
    return open_any


def run_archive(incidents: list[dict[str, Any]], config: Path | None = None,
                models: str | None = None) -> tuple[Result, Rebuilt]:
    """Replay the incidents with the app's defaults (or ``config``); no desktop, no files."""
    from tray_app.app import replay_setup
    from tray_app.replay import from_rebuilt, run

    rebuilt = rebuild(incidents, page=CLAUDE_PAGE)
    lines = from_rebuilt(rebuilt)
    monitor, source, prefs = replay_setup(config=config, models=models)
    return run(lines, monitor, source, prefs=prefs), rebuilt


def _ts(text: str) -> float:
    t = parse_time(text if "T" in text else text + "T00:00:00Z")
    if t is None:
        raise SystemExit(f"not a date: {text}")
    return t


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--archive", type=Path, default=ARCHIVE)
    ap.add_argument("--show", nargs=2, action="append", default=[], metavar=("FROM", "TO"),
                    help="print the notifications between two dates (YYYY-MM-DD)")
    ap.add_argument("--config", type=Path, default=None)
    ap.add_argument("--models", default=None)
    args = ap.parse_args(argv)
    result, rebuilt = run_archive(load_2026(args.archive), config=args.config,
                                  models=args.models)
    for line in figures(result, rebuilt, result.poll_times).lines():
        print(line)
    for a, b in args.show:
        lo, hi = _ts(a), _ts(b) + 86400
        print(f"\nNotifications {a} to {b}:")
        for s in result.sent:
            if lo <= s.at < hi:
                print(f"  {iso(s.at)[:16]}  {s.note.kind.value:<11} {s.note.title}"
                      + (f" | {s.note.body}" if s.note.body else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
