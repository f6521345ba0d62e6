"""Short page stories through the real parse -> assess -> policy chain (the Monitor), each from
a review of issues 10-13: what the user is told when the page does something awkward."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tray_app.core.levels import Level
from tray_app.core.model import Fetched, Summary
from tray_app.core.models import parse_filter
from tray_app.core.persist import load_state, restored
from tray_app.core.policy import Kind, Notify, PolicyState, Reading, step
from tray_app.core.statuspage import parse_summary
from tray_app.core.timeline import iso
from tray_app.monitor import Monitor

T0 = 1_800_000_000.0
MIN, HOUR = 60.0, 3600.0
RANK = {"operational": 0, "under_maintenance": 1, "degraded_performance": 2,
        "partial_outage": 3, "major_outage": 4}
IMPACT = {"none": 0, "minor": 2, "major": 3, "critical": 4, "maintenance": 1}


def comp(cid: str, status: str = "operational") -> dict[str, Any]:
    return {"id": cid, "name": f"Claude {cid.upper()}", "status": status, "group": False,
            "group_id": None}


def incident(iid: str, name: str, impact: str = "major", *, comps: Sequence[str] = (),
             start: float = T0 + MIN, updates: Sequence[tuple[str, float]] = ()
             ) -> dict[str, Any]:
    """An unresolved incident; ``updates`` (status, time), oldest first."""
    ups = list(updates) or [("investigating", start)]
    return {"id": iid, "name": name, "status": ups[-1][0], "impact": impact,
            "created_at": iso(start), "started_at": iso(start), "shortlink": "",
            "incident_updates": [{"status": s, "created_at": iso(t), "body": "An update."}
                                 for s, t in reversed(ups)],
            "components": [{"id": c} for c in comps]}


def page(comps: Sequence[dict[str, Any]], incidents: Sequence[dict[str, Any]] = ()
         ) -> dict[str, Any]:
    worst = max([RANK[c["status"]] for c in comps]
                + [IMPACT.get(i["impact"], 3) for i in incidents] + [0])
    return {"page": {"id": "p", "name": "Claude", "url": "https://status.claude.com"},
            "status": {"indicator": ["none", "maintenance", "minor", "major", "critical"][worst],
                       "description": ""},
            "components": list(comps), "incidents": list(incidents),
            "scheduled_maintenances": []}


class Page:
    """The status page as a source: serves whatever document it was last given."""

    base = "https://status.claude.com"
    using_mirror = False

    def __init__(self) -> None:
        self.summary: Summary | None = None

    def fetch(self) -> Fetched:
        return Fetched("https://status.claude.com/api/v2/summary.json", summary=self.summary)

    def hosts(self) -> frozenset[str]:
        return frozenset({"status.claude.com"})


class Story:
    def __init__(self, models: str | None = None) -> None:
        self.page = Page()
        self.monitor = Monitor("claude", "Claude", self.page,
                               models=parse_filter(models) if models else None)
        self.told: list[tuple[float, Notify]] = []

    def polls(self, minutes: range, doc: dict[str, Any]) -> list[Notify]:
        """Poll once a minute over ``minutes`` with the page showing ``doc``; what was told."""
        self.page.summary = parse_summary(doc)
        out = []
        for m in minutes:
            _, effects = self.monitor.poll(T0 + m * MIN)
            out += [e for e in effects if isinstance(e, Notify)]
            self.told += [(m, e) for e in effects if isinstance(e, Notify)]
        return out


OK = [comp("api"), comp("code")]
API_DOWN = [comp("api", "partial_outage"), comp("code")]
API_ERRORS = incident("A", "API errors", comps=["api"])


def _kinds(notes: Sequence[Notify]) -> list[str]:
    return [n.kind.value for n in notes]


def test_an_incident_resolved_before_its_components_are_reset_is_told_once_when_they_are() -> None:
    s = Story()
    s.polls(range(1), page(OK))
    assert _kinds(s.polls(range(1, 30), page(API_DOWN, [API_ERRORS]))) == ["down"]
    # Resolved, but the page sets the component back a poll later: not a new "down".
    assert s.polls(range(30, 31), page(API_DOWN)) == []
    after = s.polls(range(31, 40), page(OK))
    assert _kinds(after) == ["recovered"]
    assert "API errors" in after[0].body and "after 30 min" in after[0].title


def test_an_incident_dropped_from_the_list_for_one_poll_is_neither_fixed_nor_flapping() -> None:
    s = Story()
    s.polls(range(1), page(OK))
    s.polls(range(1, 30), page(API_DOWN, [API_ERRORS]))
    assert s.polls(range(30, 31), page(API_DOWN)) == []
    assert s.polls(range(31, 60), page(API_DOWN, [API_ERRORS])) == []


def test_worse_trouble_left_behind_by_a_resolved_incident_is_news() -> None:
    s = Story()
    s.polls(range(1), page(OK))
    slow = [comp("api", "degraded_performance"), comp("code")]
    s.polls(range(1, 30), page(slow, [incident("A", "API slow", "minor", comps=["api"])]))
    told = s.polls(range(30, 32), page(API_DOWN))
    assert _kinds(told) == ["down", "resolved"]


def test_an_incident_of_an_unknown_impact_colours_the_icon_and_holds_the_all_clear() -> None:
    s = Story()
    s.polls(range(1), page(OK))
    y = incident("Y", "API errors", comps=["api"])
    x = incident("X", "Code slow", "severe", comps=["code"], start=T0 + 3 * MIN)
    s.polls(range(1, 3), page(API_DOWN, [y]))
    assert _kinds(s.polls(range(3, 4), page(API_DOWN, [y, x]))) == ["degraded"]
    ended = s.polls(range(4, 120), page(OK, [x]))
    assert _kinds(ended) == ["resolved"] and "Still open: Code slow" in ended[0].body
    assert s.monitor.state.level is not Level.OPERATIONAL
    back = s.polls(range(120, 125), page(OK))
    assert _kinds(back) == ["recovered"] and "Code slow" in back[0].body


def test_an_incident_the_all_clear_passed_over_is_news_when_it_colours_the_icon_again() -> None:
    s = Story()
    s.polls(range(1), page(OK))
    s.polls(range(1, 30), page(API_DOWN, [API_ERRORS]))
    fix = [("investigating", T0 + MIN), ("monitoring", T0 + 30 * MIN)]
    # In monitoring past the 2 h grace: the icon goes green without a word.
    assert s.polls(range(30, 160), page(OK, [incident("A", "API errors", comps=["api"],
                                                       updates=fix)])) == []
    assert s.monitor.state.level is Level.OPERATIONAL
    again = fix + [("investigating", T0 + 160 * MIN)]
    told = s.polls(range(160, 162), page(API_DOWN, [incident("A", "API errors", comps=["api"],
                                                             updates=again)]))
    assert _kinds(told) == ["down"] and "again" in told[0].title


def test_a_quiet_incident_that_names_no_components_does_not_hide_a_worse_outage() -> None:
    s = Story(models="sonnet")
    opus = incident("O", "Elevated errors on Claude Opus 4.8", "minor")
    s.polls(range(2), page(OK, [opus]))
    told = s.polls(range(2, 4), page([comp("api"), comp("code", "major_outage")], [opus]))
    assert _kinds(told) == ["down"] and "Claude CODE" in told[0].body


def test_an_old_incident_that_names_no_components_is_not_revived_by_a_new_one() -> None:
    s = Story()
    s.polls(range(1), page(OK))
    cowork = incident("W", "Connection resets in Cowork", "minor")
    assert _kinds(s.polls(range(1, 3), page(OK, [cowork]))) == ["degraded"]
    # No update for 12 h with everything green: stale, the icon goes green.
    s.polls(range(3, 13 * 60, 10), page(OK, [cowork]))
    assert s.monitor.state.level is Level.OPERATIONAL
    opus = incident("B", "Errors on Opus", comps=["api"], start=T0 + 13 * HOUR)
    told = s.polls(range(13 * 60, 13 * 60 + 3), page(API_DOWN, [cowork, opus]))
    assert [n.title for n in told] == ["Claude is partly down: Errors on Opus"]


def test_a_summary_and_the_all_clear_due_together_go_out_as_the_all_clear() -> None:
    s = Story()
    s.polls(range(1), page(OK))
    a, b = API_ERRORS, incident("B", "Code errors", comps=["code"], start=T0 + 20 * MIN)
    both = [comp("api", "partial_outage"), comp("code", "partial_outage")]
    s.polls(range(1, 2), page(API_DOWN, [a]))
    s.polls(range(2, 5), page(OK))
    s.polls(range(5, 16), page(API_DOWN, [a]))  # down again at once: held, then summed up
    s.polls(range(16, 19), page(OK))
    s.polls(range(19, 20), page(API_DOWN, [a]))
    s.polls(range(20, 32), page(both, [a, b]))
    final = s.polls(range(32, 40), page(OK))
    assert _kinds(final) == ["recovered"]
    assert "API errors" in final[0].body and "Code errors" in final[0].body


def test_a_wall_clock_that_steps_back_does_not_stick_a_flap_window() -> None:
    s = Story()
    s.polls(range(1), page(OK))
    s.polls(range(1, 2), page(API_DOWN, [API_ERRORS]))
    s.polls(range(2, 5), page(OK))
    back = -180  # minutes: NTP corrects a fast clock
    s.monitor.woke(T0 + (5 + back) * MIN)
    told = s.polls(range(5 + back, 125 + back), page(API_DOWN, [API_ERRORS]))
    assert _kinds(told) == ["down"]
    assert all(f.opened <= T0 + (125 + back) * MIN for _, f in s.monitor.state.flaps)


def test_a_state_restored_long_after_is_a_fresh_start_that_still_tells_new_trouble() -> None:
    now = T0 + 30 * HOUR
    v1 = {"level": "major_outage", "started": True, "announced": "major_outage",
          "episode_start": now - 10 * HOUR - 900, "episode_worst": "major_outage",
          "last_bad_at": now - 10 * HOUR, "ok_streak": 0, "failures": 0}
    state = restored(load_state(v1), now - 10 * HOUR, now)
    assert not state.adopt and state.flaps == () and not state.started
    doc = page(API_DOWN, [incident("N", "Login failures", comps=["api"], start=now - 60)])
    from tray_app.core.assess import assess

    reading = Reading("Claude", Level.PARTIAL_OUTAGE, "Login failures",
                      incidents=assess(parse_summary(doc), now=now).incidents)
    _, effects = step(state, reading, now)
    fresh = step(PolicyState(), reading, now)[1]
    titles = [e.title for e in effects if isinstance(e, Notify)]
    assert titles == [e.title for e in fresh if isinstance(e, Notify)] and titles
    assert {e.kind for e in effects if isinstance(e, Notify)} == {Kind.STARTUP}


def test_two_incidents_resolved_together_before_their_components_are_reset() -> None:
    s = Story()
    s.polls(range(1), page(OK))
    red = [comp("api", "partial_outage"), comp("code", "partial_outage")]
    s.polls(range(1, 30), page(red, [API_ERRORS, incident("B", "Code errors", comps=["code"])]))
    assert s.polls(range(30, 31), page(red)) == []
    back = s.polls(range(31, 40), page(OK))
    assert _kinds(back) == ["recovered"] and "after 30 min" in back[0].title
    assert "API errors" in back[0].body and "Code errors" in back[0].body


def test_a_told_incident_resolved_while_its_component_stays_red_for_days_is_fixed_then() -> None:
    s = Story()
    s.polls(range(1), page(OK))
    s.polls(range(1, 30), page(API_DOWN, [API_ERRORS]))
    assert s.polls(range(30, 2 * 24 * 60, 30), page(API_DOWN)) == []
    assert s.monitor.state.level is Level.PARTIAL_OUTAGE  # the page still reads red
    back = s.polls(range(2 * 24 * 60, 2 * 24 * 60 + 5), page(OK))
    assert _kinds(back) == ["recovered"] and "API errors" in back[0].body


def test_an_incident_past_its_monitoring_grace_resolved_before_its_component_is_reset() -> None:
    s = Story()
    s.polls(range(1), page(OK))
    s.polls(range(1, 30), page(API_DOWN, [API_ERRORS]))
    fix = [("investigating", T0 + MIN), ("monitoring", T0 + 30 * MIN)]
    s.polls(range(30, 200, 2), page(API_DOWN, [incident("A", "API errors", comps=["api"],
                                                        updates=fix)]))
    assert s.monitor.state.level is Level.OPERATIONAL
    assert s.polls(range(200, 201), page(API_DOWN)) == []
    assert _kinds(s.polls(range(201, 210), page(OK))) == ["recovered"]


def test_another_models_incident_resolved_before_its_component_is_reset_is_not_news() -> None:
    s = Story(models="sonnet")
    opus = incident("O", "Elevated errors on Claude Opus 4.8", comps=["api"])
    assert s.polls(range(30), page(API_DOWN, [opus])) == []
    assert s.polls(range(30, 32), page(API_DOWN)) == []
    assert s.polls(range(32, 40), page(OK)) == []


def test_trouble_left_by_another_models_incident_is_news_once_it_outlasts_the_window() -> None:
    s = Story(models="sonnet")
    opus = incident("O", "Elevated errors on Claude Opus 4.8", comps=["api"])
    s.polls(range(30), page(API_DOWN, [opus]))
    told = s.polls(range(30, 60), page(API_DOWN))
    assert _kinds(told) == ["down"] and "Claude API" in told[0].body
    assert s.told[-1][0] - 30 <= 11  # within a flap window of the incident leaving


def test_an_incident_resolved_beside_told_loose_trouble_elsewhere() -> None:
    s = Story()
    s.polls(range(1), page(OK))
    both = [comp("api", "partial_outage"), comp("code", "degraded_performance")]
    s.polls(range(1, 20), page(API_DOWN, [API_ERRORS]))
    assert _kinds(s.polls(range(20, 40), page(both, [API_ERRORS]))) == ["degraded"]
    assert s.polls(range(40, 41), page(both)) == []
    fixed = s.polls(range(41, 50), page([comp("api"), comp("code", "degraded_performance")]))
    assert _kinds(fixed) == ["resolved"] and "API errors, after 40 min" in fixed[0].title
    assert _kinds(s.polls(range(50, 55), page(OK))) == ["recovered"]


def test_an_old_incident_naming_a_red_component_stays_alive_beside_a_quiet_one() -> None:
    """A named its component 13 h ago and it still reads red; C on the same component is in
    monitoring past its grace (or about another model): A still colours the icon."""
    now = 20 * 60
    a = incident("A", "API outage", comps=["api"], start=T0 + 6 * HOUR,
                 updates=[("investigating", T0 + 6 * HOUR), ("identified", T0 + 7 * HOUR)])
    c = incident("C", "Slow responses on Claude Opus 4.8", "minor", comps=["api"],
                 start=T0 + 16 * HOUR,
                 updates=[("investigating", T0 + 16 * HOUR), ("monitoring", T0 + 17 * HOUR)])
    for models in (None, "sonnet"):
        s = Story(models=models)
        s.polls(range(now, now + 3), page(API_DOWN, [a, c]))
        assert s.monitor.state.level is Level.PARTIAL_OUTAGE
        assert [i.id for i in s.monitor.assessment.incidents if i.relevant and not i.quiet] \
            == ["A"]
