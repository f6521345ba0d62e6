"""Typical time to fix, from the status page's own history (``/api/v2/incidents.json``).

Pure: no I/O, no clock (the caller passes the incident's age), standard library only.

API (for the poller, the menu, the tooltip, ``check --json``, ``wait`` and ``replay``):

- :func:`parse_incidents` ``(doc) -> History``: a decoded ``incidents.json`` (``{"incidents":
  [...]}``, the newest 50) or a bare list of incident objects (the shared archive). Never
  raises: values of the wrong type are skipped and the reason kept in ``History.problems``;
  counts and texts are capped. Decode bytes first with ``statuspage.decode``.
- :func:`estimate` ``(history, impact, component_ids, age_s) -> Estimate | None``: how long
  incidents like this one took to be fixed, counted from now. ``None`` when fewer than
  :data:`MIN_SAMPLE` comparable incidents were still open at this age: say nothing rather
  than guess. ``Estimate.as_json()`` is the ``check --json`` object.
- :func:`long_text` (menu) and :func:`short_text` (tooltip, ``wait``): always "typically",
  never a promise.

What "fixed" means, here and in the calibration test alike: the moment the page said a fix
was in place and it held, i.e. the start of the incident's last ``monitoring`` stretch (one
not followed by ``investigating`` or ``identified``), or its resolution if it never had one.
Claude's page posts "A fix has been implemented and we are monitoring the results" when
users can work again, then often keeps the incident open a while: of the 230 resolved
incidents of 2026 posted live, 131 ended with a monitoring stretch; half of those sat in it
more than 21 minutes, 24 more than an hour, the longest 4 h 45 min (and one incident, posted
straight into monitoring, stayed open 18 days). Counting to ``resolved`` would add that
waiting to every estimate, and the replay shows it: measured to resolution, the stated median
held only 42% of the time overall and 33% at 60 minutes of age; measured to the fix, 49% and
45%. So the estimate answers "when can I retry?", and an incident in ``monitoring`` is already
fixed by this definition: the caller shows that instead of an estimate.

What is compared: resolved incidents (``resolved_at`` set) with a known fix time, posted
live, of the same impact. Among those, the ones whose components are much the same as this
one's (Jaccard overlap of the component sets at least 1/2) when at least
:data:`COMPONENT_SAMPLE` of them were still open at this age; otherwise all of that impact.
"Still open at this age" means not yet fixed ``age_s`` seconds after its start; for each, the
remaining time is ``fix - start - age_s``. The median and the 3-in-4 figure are order
statistics (the smallest value that at least half, resp. three quarters, of the sample are
within), so one incident left open for days moves them by one rank at most, never by its
length.

Posted after the fact, left out: an incident whose first update (by its real posting time,
``created_at``) is already ``resolved``, ``postmortem`` or ``monitoring`` (in 2026 all such
posts report an impact that was over: "Opus 4.8 error rates were elevated from 12:41 to
12:53"), or that was first posted more than :data:`LATE_POST_S` after the start the page
gives it (back-dated). The start is ``started_at``, else ``created_at``, as in
``statuspage.py``, so the age the caller computes from a summary's incident matches.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .incidents import LATE_POST_S, History, PastIncident, Update, parse_incidents
from .notices import format_duration

__all__ = [
    "COMPONENT_SAMPLE",
    "LATE_POST_S",
    "MIN_SAMPLE",
    "Estimate",
    "History",
    "PastIncident",
    "Update",
    "estimate",
    "long_text",
    "parse_incidents",
    "short_text",
]

MIN_SAMPLE = 5  # fewer comparable incidents: no estimate
COMPONENT_SAMPLE = 8  # the component-matched subset is used only from this many
# --- the estimate ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Estimate:
    """Counted from now: half of the comparable incidents were fixed within ``median_s``."""

    median_s: float
    p75_s: float
    sample: int
    basis: str  # "9 major incidents touching Claude API"
    age_s: float = 0.0  # the age it was conditioned on

    def as_json(self) -> dict[str, Any]:
        """The ``check --json`` object."""
        return {
            "median_s": round(self.median_s),
            "p75_s": round(self.p75_s),
            "sample": self.sample,
            "basis": self.basis,
        }


def comparable(history: Iterable[PastIncident]) -> list[PastIncident]:
    """The incidents an estimate may learn from: resolved, with a fix time, posted live."""
    return [h for h in history if h.fixed is not None and h.posted_live]


def estimate(
    history: Iterable[PastIncident],
    impact: str,
    component_ids: Iterable[str],
    age_s: float,
) -> Estimate | None:
    """How long incidents like this one took to be fixed, from now; None below the floor.

    ``age_s``: how long this incident has lasted (now minus its start); a negative age (a
    start in the future, clock skew) counts as 0. No impact or a non-finite age: None.
    """
    if not impact or not math.isfinite(age_s):
        return None
    age = max(0.0, float(age_s))
    same_impact = [h for h in comparable(history) if h.impact == impact]
    wanted = frozenset(component_ids)
    if wanted:
        near = [h for h in same_impact if _overlap(wanted, h.component_ids) >= 0.5]
        remaining = _remaining(near, age)
        if len(remaining) >= COMPONENT_SAMPLE:
            names = _names(wanted, near)
            return _estimate(remaining, age, f"{impact} incidents touching {names}")
    remaining = _remaining(same_impact, age)
    if len(remaining) < MIN_SAMPLE:
        return None
    return _estimate(remaining, age, f"{impact} incidents")


def _overlap(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def _remaining(incidents: list[PastIncident], age: float) -> list[float]:
    out = []
    for h in incidents:
        length = (h.fixed or h.start) - h.start
        if length > age:
            out.append(length - age)
    return sorted(out)


def _quantile(values: list[float], share: float) -> float:
    """The smallest value that at least ``share`` of ``values`` (sorted) are within."""
    return values[max(0, math.ceil(share * len(values)) - 1)]


def _estimate(remaining: list[float], age: float, what: str) -> Estimate:
    return Estimate(
        median_s=_quantile(remaining, 0.5),
        p75_s=_quantile(remaining, 0.75),
        sample=len(remaining),
        basis=f"{len(remaining)} {what}",
        age_s=age,
    )


def _names(wanted: frozenset[str], seen: list[PastIncident]) -> str:
    known: dict[str, str] = {}  # in the page's own order, as its incidents list them
    for h in seen:
        for cid, name in h.components:
            known.setdefault(cid, name)
    names = [name for cid, name in known.items() if cid in wanted]
    names += sorted(cid for cid in wanted if cid not in known)
    if len(names) == 1:
        return names[0]
    if len(names) == 2:
        return f"{names[0]} and {names[1]}"
    return f"the same {len(names)} components"


# --- text ------------------------------------------------------------------------------------


def _round_up(seconds: float) -> float:
    """Round up to a step that suits the size, so "within" stays true: 1, 5, 10 or 30 min."""
    minutes = seconds / 60
    step = 1 if minutes <= 10 else 5 if minutes <= 60 else 10 if minutes <= 180 else 30
    return math.ceil(minutes / step) * step * 60


def long_text(e: Estimate) -> str:
    """For the menu: "Typically: of similar incidents still open after 40 min, half were fixed
    within another 35 min, 3 in 4 within 1 h 50 min"."""
    return " ".join(long_lines(e))


def long_lines(e: Estimate) -> tuple[str, str]:
    """:func:`long_text` in the two parts a menu line can take."""
    median = format_duration(_round_up(e.median_s))
    p75 = format_duration(_round_up(e.p75_s))
    since = f" still open after {format_duration(e.age_s)}" if e.age_s >= 60 else ""
    another = " another" if e.age_s >= 60 else ""
    return (f"Typically: of similar incidents{since},",
            f"half were fixed within{another} {median}, 3 in 4 within {p75}")


def short_text(e: Estimate) -> str:
    """For the tooltip: "typically fixed within ~35 min"."""
    return f"typically fixed within ~{format_duration(_round_up(e.median_s))}"
