"""Typical time to fix: the incidents.json parser, the estimate, its text, and its calibration
over Claude's 2026 archive (run with ``-s`` to print the calibration table for the README)."""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.shared import ARCHIVE, need
from tray_app.core.estimate import COMPONENT_SAMPLE, Estimate, estimate, long_text, short_text
from tray_app.core.incidents import MAX_INCIDENTS, History, PastIncident, Update, parse_incidents

FIXTURES = Path(__file__).parent / "fixtures"
MIN = 60.0
API = ("k8w3r06qmzrp", "Claude API (api.anthropic.com)")
APP = ("rwppv331jlwc", "claude.ai")
CODE = ("yyzkbfz2thpt", "Claude Code")


def past(
    fixed_min: float,
    impact: str = "major",
    components: Iterable[tuple[str, str]] = (API,),
    start: float = 0.0,
    steps: Iterable[tuple[str, float]] | None = None,
) -> PastIncident:
    """A resolved incident that started at ``start`` and was fixed ``fixed_min`` later."""
    if steps is None:
        steps = [("investigating", 0.0), ("resolved", fixed_min)]
    steps = list(steps)
    updates = tuple(Update(status, start + m * MIN) for status, m in steps)
    end = max([fixed_min] + [m for _, m in steps])
    return PastIncident(
        id=f"i{fixed_min}-{start}", name="Elevated errors", impact=impact, status="resolved",
        start=start, created=start, resolved=start + end * MIN,
        components=tuple(components), updates=updates,
    )


TEN = [past(m) for m in (10, 20, 30, 40, 50, 60, 70, 80, 90, 100)]


# --- the estimate: conditioning, floor, exclusions -------------------------------------------


def test_at_age_zero_it_is_the_plain_distribution() -> None:
    e = estimate(TEN, "major", [], 0)
    assert e == Estimate(50 * MIN, 80 * MIN, 10, "10 major incidents", 0.0)


def test_it_conditions_on_how_long_the_incident_has_lasted() -> None:
    # Still open after 35 min: the seven that took 40..100 min; 5..65 min remained.
    e = estimate(TEN, "major", [], 35 * MIN)
    assert e is not None
    assert (e.sample, e.median_s, e.p75_s) == (7, 35 * MIN, 55 * MIN)
    assert e.basis == "7 major incidents"
    # One that ended exactly at this age was no longer open at it.
    e = estimate(TEN, "major", [], 50 * MIN)
    assert e is not None and e.sample == 5 and e.median_s == 30 * MIN


def test_fewer_than_five_comparable_incidents_say_nothing() -> None:
    assert estimate(TEN[:4], "major", [], 0) is None
    assert estimate(TEN[:5], "major", [], 0) is not None
    assert estimate(TEN, "major", [], 60 * MIN) is None  # only four were still open at 60 min
    assert estimate([], "major", [], 0) is None


def test_only_the_same_impact_is_compared() -> None:
    minor = [past(m, impact="minor") for m in (1, 2, 3, 4, 5, 6)]
    e = estimate(TEN + minor, "major", [], 0)
    assert e is not None and e.sample == 10
    assert estimate(TEN, "critical", [], 0) is None
    assert estimate(TEN, "", [], 0) is None


@pytest.mark.parametrize(
    ("name", "incident"),
    [
        ("first update already resolved", past(5, steps=[("resolved", 5)])),
        ("first update already monitoring", past(5, steps=[("monitoring", 0), ("resolved", 5)])),
        ("first posted 2 h after its start", past(
            150, steps=[("investigating", 120), ("resolved", 150)])),
        ("no updates at all", past(5, steps=[])),
        ("still open", PastIncident("open", "Open", "major", "investigating", 0.0, 0.0, None,
                                    (API,), (Update("investigating", 0.0),))),
    ],
)
def test_reports_after_the_fact_and_open_incidents_are_left_out(
    name: str, incident: PastIncident,
) -> None:
    five = [past(m) for m in (10, 20, 30, 40, 50)]
    with_it = estimate([*five, incident], "major", [], 0)
    assert with_it == estimate(five, "major", [], 0), name


def test_a_fix_counts_from_the_monitoring_that_held() -> None:
    # Fixed at 20 min, then left in monitoring for three days: it took 20 min.
    parked = past(20, steps=[("investigating", 0), ("monitoring", 20),
                             ("resolved", 3 * 24 * 60)])
    assert parked.fixed == 20 * MIN
    # A monitoring stretch that reopened does not count; the last one that held does.
    reopened = past(0, steps=[("investigating", 0), ("monitoring", 15), ("investigating", 54),
                              ("monitoring", 167), ("resolved", 278)])
    assert reopened.fixed == 167 * MIN
    # Never in monitoring: fixed when resolved.
    assert past(42).fixed == 42 * MIN
    e = estimate([*TEN[:4], parked], "major", [], 0)
    assert e is not None and e.p75_s == 30 * MIN  # the 3-day wait counts as 20 min


def test_one_incident_left_open_for_days_moves_the_figures_by_one_rank_at_most() -> None:
    days = past(5 * 24 * 60)  # open 5 days, never in monitoring
    plain = estimate(TEN, "major", [], 0)
    skewed = estimate([*TEN, days], "major", [], 0)
    assert plain is not None and skewed is not None
    assert skewed.median_s == 60 * MIN and skewed.p75_s == 90 * MIN  # the next rank, not days


def test_the_same_components_are_compared_where_there_are_enough() -> None:
    api = [past(m, components=[API]) for m in (10, 15, 20, 25, 30, 35, 40, 45)]
    app = [past(m, components=[APP]) for m in (100, 110, 120, 130, 140)]
    e = estimate(api + app, "major", [API[0]], 0)
    assert e is not None
    assert (e.sample, e.basis, e.median_s) == (8, "8 major incidents touching "
                                                  "Claude API (api.anthropic.com)", 25 * MIN)
    # Too few on the same components: all of the same impact instead.
    e = estimate(api[: COMPONENT_SAMPLE - 1] + app, "major", [API[0]], 0)
    assert e is not None and e.basis == "12 major incidents"


def test_much_the_same_components_count_as_the_same() -> None:
    # Half or more of the components in common (Jaccard >= 1/2).
    three = [APP, API, CODE]
    near = [past(m, components=[APP, API, CODE, ("cowork", "Claude Cowork")])
            for m in range(10, 90, 10)]  # 3 of 4 in common
    far = [past(m, components=[APP]) for m in (200, 210, 220)]  # 1 of 3 in common
    e = estimate(near + far, "major", [c for c, _ in three], 0)
    assert e is not None and e.sample == 8
    assert e.basis == "8 major incidents touching the same 3 components"
    two = [past(m, components=[APP, CODE]) for m in range(10, 90, 10)]
    e = estimate(two, "major", [APP[0], CODE[0]], 0)
    assert e is not None and e.basis == "8 major incidents touching claude.ai and Claude Code"


@pytest.mark.parametrize("age", [math.nan, math.inf, -math.inf])
def test_an_unusable_age_gives_no_estimate(age: float) -> None:
    assert estimate(TEN, "major", [], age) is None


def test_a_negative_age_counts_as_zero() -> None:
    assert estimate(TEN, "major", [], -300) == estimate(TEN, "major", [], 0)


def test_the_json_for_check() -> None:
    e = Estimate(2101.6, 6600.2, 9, "9 major incidents touching Claude API", 2400.0)
    assert e.as_json() == {"median_s": 2102, "p75_s": 6600, "sample": 9,
                           "basis": "9 major incidents touching Claude API"}


# --- text ------------------------------------------------------------------------------------


def test_the_menu_and_tooltip_text() -> None:
    e = Estimate(35 * MIN, 110 * MIN, 9, "9 major incidents", 40 * MIN)
    assert long_text(e) == (
        "Typically: of similar incidents still open after 40 min, half were fixed within "
        "another 35 min, 3 in 4 within 1 h 50 min"
    )
    assert short_text(e) == "typically fixed within ~35 min"
    fresh = Estimate(31 * MIN, 65 * MIN, 10, "10 critical incidents", 0.0)
    assert long_text(fresh) == (
        "Typically: of similar incidents, half were fixed within 35 min, 3 in 4 within 1 h 10 min"
    )


@pytest.mark.parametrize(
    ("minutes", "shown"),
    [(0.2, "1 min"), (7.1, "8 min"), (10, "10 min"), (31, "35 min"), (60, "1 h"),
     (61, "1 h 10 min"), (179, "3 h"), (181, "3 h 30 min"), (3000, "2 days 2 h")],
)
def test_figures_are_rounded_up_so_within_stays_true(minutes: float, shown: str) -> None:
    assert short_text(Estimate(minutes * MIN, minutes * MIN, 5, "", 0.0)) == (
        f"typically fixed within ~{shown}"
    )


# --- the parser ------------------------------------------------------------------------------


def test_the_project_fixture_gives_the_estimate_it_was_written_for() -> None:
    doc = json.loads((FIXTURES / "incidents-history-critical.json").read_text("utf-8"))
    history = parse_incidents(doc)
    assert history.problems == ()
    assert len(history.incidents) == 14
    open_one = next(h for h in history if h.id == "p5w8c3n6z2rb")
    assert open_one.resolved is None and open_one.fixed is None
    e = estimate(history, "critical", ["rwppv331jlwc", "bpp5gb3hpjcl"], 0)
    assert e is not None
    assert e.as_json() == {"median_s": 31 * 60, "p75_s": 65 * 60, "sample": 10,
                           "basis": "10 critical incidents touching claude.ai and Claude Cowork"}
    later = estimate(history, "critical", ["rwppv331jlwc", "bpp5gb3hpjcl"], 45 * MIN)
    assert later is None  # only 4 of them were still open after 45 min


def test_it_reads_a_real_capture() -> None:
    path = need(ARCHIVE.parent / "claude_incidents_2026-08-22T16-16-08Z.json")
    history = parse_incidents(json.loads(path.read_text("utf-8")))
    assert history.problems == ()
    assert len(history.incidents) == 50
    newest = history.incidents[0]
    assert newest.id == "c0ncxxm2wd9r" and newest.impact == "major"
    assert [u.status for u in newest.updates] == ["investigating", "resolved"]  # oldest first
    assert newest.fixed is not None and round((newest.fixed - newest.start) / 60) == 26
    assert newest.components[1] == API
    assert "some Claude models" in newest.bodies[0]


def good_doc() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(
        (FIXTURES / "incidents-history-critical.json").read_text("utf-8"))
    return doc


@pytest.mark.parametrize(
    ("doc", "problem"),
    [
        (None, "expected Statuspage incidents.json: got null"),
        ("incidents", "expected Statuspage incidents.json: got a string"),
        ({"page": {}}, "expected Statuspage incidents.json: got an object without an "
                       "'incidents' list"),
        ({"incidents": {"a": 1}}, "got an object without an 'incidents' list"),
        (7, "got a number"),
    ],
)
def test_not_an_incident_list(doc: Any, problem: str) -> None:
    history = parse_incidents(doc)
    assert history.incidents == ()
    assert len(history.problems) == 1 and problem in history.problems[0]


def test_bad_parts_are_skipped_with_a_reason() -> None:
    doc = good_doc()
    incidents = doc["incidents"]
    incidents.append("not an incident")
    incidents.append({"id": "x1", "name": "No time", "impact": "major"})
    bad_resolved = copy.deepcopy(incidents[3])
    bad_resolved.update(id="x2", name="Bad resolved_at", resolved_at="yesterday")
    incidents.append(bad_resolved)
    bad_updates = copy.deepcopy(incidents[4])
    bad_updates.update(id="x3", name="Bad updates", components="claude.ai")
    bad_updates["incident_updates"].append({"status": "resolved", "created_at": 12})
    bad_updates["incident_updates"].append(None)
    incidents.append(bad_updates)
    no_list = copy.deepcopy(incidents[5])
    no_list.update(id="x4", name="Updates not a list", incident_updates={"status": "resolved"})
    incidents.append(no_list)
    history = parse_incidents(doc)
    assert [h.id for h in history][-3:] == ["x2", "x3", "x4"]
    assert history.problems == (
        "incident #15 is a string, not an object: skipped",
        "incident #16 (No time): no readable created_at: skipped",
        "incident #17 (Bad resolved_at): unreadable resolved_at: treated as unresolved",
        "incident #18 (Bad updates): 'components' is a string, not a list",
        "incident #18 (Bad updates): 2 update(s) without a status or time: skipped",
        "incident #19 (Updates not a list): 'incident_updates' is an object, not a list",
    )
    x2, x3, x4 = history.incidents[-3:]
    assert x2.resolved is None and x2.fixed is None
    assert x3.components == () and len(x3.updates) == 4 and x3.fixed is not None
    assert x4.updates == () and not x4.posted_live
    # The broken copies change nothing: x2 and x4 are not comparable, x3 (no components left)
    # is not on the same components, and the same-component subset is large enough.
    wanted = ["rwppv331jlwc", "bpp5gb3hpjcl"]
    assert estimate(history, "critical", wanted, 0) == estimate(
        parse_incidents(good_doc()), "critical", wanted, 0)


def test_text_is_cleaned_and_capped() -> None:
    doc = good_doc()
    inc = doc["incidents"][0]
    inc["name"] = "<b>Claude.ai</b>\u202e unavailable " + "x" * 5000
    inc["incident_updates"][0]["body"] = "<script>alert(1)</script>Investigating " + "y" * 10**5
    history = parse_incidents(doc)
    first = history.incidents[0]
    assert first.name.startswith("Claude.ai unavailable x") and len(first.name) <= 200
    assert first.bodies[0].startswith("Investigating y") and len(first.bodies[0]) <= 2000


def test_counts_are_capped() -> None:
    inc = good_doc()["incidents"][1]
    many = {"incidents": [dict(inc, id=f"n{i}") for i in range(MAX_INCIDENTS + 5)]}
    history = parse_incidents(many)
    assert len(history.incidents) == MAX_INCIDENTS
    assert history.problems == (f"{MAX_INCIDENTS + 5} incidents; read the first "
                                f"{MAX_INCIDENTS}",)
    noisy = {"incidents": ["junk"] * 50}
    problems = parse_incidents(noisy).problems
    assert len(problems) == 21 and problems[-1] == "... and 30 more problems"


@pytest.mark.parametrize(
    ("text", "epoch"),
    [
        ("2026-08-20T19:16:24.932Z", 1787253384.932),
        ("2026-08-20T12:16:24.932-07:00", 1787253384.932),
        ("2026-08-20T19:16:24", 1787253384.0),  # naive: UTC
    ],
)
def test_times_with_offsets(text: str, epoch: float) -> None:
    doc = {"incidents": [{"id": "t", "created_at": text, "status": "investigating"}]}
    (h,) = parse_incidents(doc).incidents
    assert h.start == pytest.approx(epoch)


PROPS = settings(max_examples=150, derandomize=True, database=None, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
scalars = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
           | st.sampled_from(["resolved", "monitoring", "major", "2026-08-20T19:16:24Z"]))
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["id", "name", "status", "impact", "created_at", "started_at",
                         "resolved_at", "components", "incident_updates", "body", "incidents"])
        | st.text(max_size=6), inner, max_size=5),
    max_leaves=16,
)


@PROPS
@given(doc=json_values, age=st.floats(allow_nan=True))
def test_the_parser_and_the_estimate_never_raise(doc: Any, age: float) -> None:
    history = parse_incidents(doc)
    assert isinstance(history, History)
    for impact in ("major", "minor", ""):
        result = estimate(history, impact, ["rwppv331jlwc"], age)
        assert result is None or result.sample >= 5


# --- calibration over Claude's 2026 archive -------------------------------------------------

AGES = (0, 30, 60, 120)


@dataclass
class Tally:
    stated: int = 0
    median_held: int = 0
    p75_held: int = 0
    silent: int = 0  # no estimate (fewer than 5 comparable incidents)

    def add(self, other: Tally) -> None:
        self.stated += other.stated
        self.median_held += other.median_held
        self.p75_held += other.p75_held
        self.silent += other.silent

    def row(self, label: str) -> str:
        n = max(self.stated, 1)
        return (f"| {label} | {self.stated} | {self.median_held} ({self.median_held / n:.0%}) "
                f"| {self.p75_held} ({self.p75_held / n:.0%}) | {self.silent} |")


def replay(incidents: list[PastIncident]) -> dict[int, Tally]:
    """Each 2026 incident posted live, at each age while it was open and not in monitoring,
    estimated from the 50 incidents created before it that were resolved by then (what
    incidents.json would have returned); held = fixed (same definition) within the figure."""
    ordered = sorted(incidents, key=lambda h: h.created)
    tallies = {age: Tally() for age in AGES}
    for index, inc in enumerate(ordered):
        year = datetime.fromtimestamp(inc.created, UTC).year
        if year != 2026 or not inc.posted_live or inc.fixed is None:
            continue
        window = ordered[max(0, index - 50):index]
        for age in AGES:
            moment = max(inc.start + age * MIN, inc.updates[0].at)  # when the app first saw it
            if moment - inc.start > age * MIN + MIN:
                continue  # not yet posted at this age
            if inc.fixed <= moment or inc.status_at(moment) not in ("investigating", "identified"):
                continue  # fixed by then, or in monitoring: the app shows no estimate
            seen = [h for h in window if h.resolved is not None and h.resolved <= moment]
            e = estimate(seen, inc.impact, inc.component_ids, moment - inc.start)
            tally = tallies[age]
            if e is None:
                tally.silent += 1
                continue
            left = inc.fixed - moment
            tally.stated += 1
            tally.median_held += left <= e.median_s
            tally.p75_held += left <= e.p75_s
    return tallies


def test_calibration_over_the_2026_archive() -> None:
    need(ARCHIVE)
    history = parse_incidents(json.loads(ARCHIVE.read_text("utf-8")))
    assert history.problems == () and len(history.incidents) == 342
    tallies = replay(list(history.incidents))
    overall = Tally()
    for t in tallies.values():
        overall.add(t)
    lines = ["| Age | Estimates stated | Fixed within the median | Fixed within the 3-in-4 "
             "figure | No estimate (too few) |", "|---|---|---|---|---|"]
    lines += [tallies[age].row(f"{age} min") for age in AGES]
    lines.append(overall.row("all"))
    table = "\n".join(lines)
    print("\n" + table)
    assert overall.stated >= 300, table
    assert 0.40 <= overall.median_held / overall.stated <= 0.60, table
    assert 0.65 <= overall.p75_held / overall.stated <= 0.85, table
    # Where there are enough estimates to judge (50 or more), each age holds on its own too.
    for age, t in tallies.items():
        if t.stated >= 50:
            assert 0.40 <= t.median_held / t.stated <= 0.60, (age, table)
            assert 0.65 <= t.p75_held / t.stated <= 0.85, (age, table)
