"""The alert policy with incidents (issue 10): table-driven scenarios, in state X an event Y
gives notifications Z. Each scenario is a list of polls; a poll is what the page shows then."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from tray_app.core.assess import IncidentState
from tray_app.core.levels import Level
from tray_app.core.policy import (
    INCIDENT,
    Effect,
    EpisodeEnded,
    Event,
    Kind,
    Notify,
    Observation,
    Phase,
    PolicyConfig,
    PolicyState,
    QuietRecovery,
    Reading,
    Unreachable,
    Upcoming,
    Woke,
    step,
)
from tray_app.core.timeline import iso
from tray_app.core.timing import Timing

OPS, MNT, DEG, PAR, MAJ, UNK = (
    Level.OPERATIONAL, Level.MAINTENANCE, Level.DEGRADED, Level.PARTIAL_OUTAGE,
    Level.MAJOR_OUTAGE, Level.UNKNOWN,
)
MIN, HOUR, DAY = 60.0, 3600.0, 86400.0
T0 = 1_800_000_000.0
FAIL = Unreachable("Claude", "can't reach the status page (timed out)")


def inc(iid: str, level: Level = PAR, *, name: str = "", status: str = "investigating",
        start: float | None = None, fixed: bool = False, quiet: str = "",
        relevant: bool = True, maintenance: bool = False,
        components: tuple[str, ...] = ("claude.ai",)) -> IncidentState:
    """An open incident as the assessment hands it to the policy."""
    return IncidentState(
        id=iid, name=name or f"Incident {iid}", status=status, impact="", level=level, url="",
        started_at=iso(start) if start is not None else "", is_maintenance=maintenance,
        recovering=fixed and not quiet, relevant=relevant, fixed=fixed, quiet=quiet,
        components=components,
    )


def page(*incidents: IncidentState, level: Level | None = None, loose: Level = OPS,
         upcoming: tuple[Upcoming, ...] = ()) -> Reading:
    """A reading: the level is the worst colouring incident unless given."""
    if level is None:
        colours = [i.level for i in incidents if i.relevant and not i.quiet]
        level = max([OPS, loose, *colours], key=lambda lv: lv.rank)
    return Reading("Claude", level, incidents[0].name if incidents else "",
                   incidents=tuple(incidents), loose=loose, upcoming=upcoming)


@dataclass
class Run:
    cfg: PolicyConfig = field(default_factory=PolicyConfig)
    state: PolicyState = field(default_factory=PolicyState)
    log: list[tuple[float, Effect]] = field(default_factory=list)

    def at(self, t: float, obs: Observation) -> list[Notify]:
        self.state, effects = step(self.state, obs, T0 + t, self.cfg)
        self.log += [(t, e) for e in effects]
        return [e for e in effects if isinstance(e, Notify)]

    def polls(self, start: float, obs: Observation, n: int, every: float = MIN) -> Run:
        for k in range(n):
            self.at(start + k * every, obs)
        return self

    @property
    def notes(self) -> list[tuple[float, Notify]]:
        return [(t, e) for t, e in self.log if isinstance(e, Notify)]

    def told(self) -> list[tuple[str, tuple[str, ...]]]:
        return [(n.kind.value, n.incidents) for _, n in self.notes]


QUIET = page()


# --- the tables are complete -------------------------------------------------------------------


def test_every_phase_and_event_has_a_transition() -> None:
    for phase in (None, Phase.NOTED, Phase.TOLD, Phase.FIXED, Phase.OVER):
        for event in (Event.ABOVE, Event.SHOWN):
            assert (phase, event) in INCIDENT, (phase, event)
    for phase in (Phase.NOTED, Phase.TOLD):  # only what is open can go
        assert (phase, Event.GONE) in INCIDENT


# --- new incidents ----------------------------------------------------------------------------


def test_a_new_major_incident_alerts_while_an_older_minor_one_is_open() -> None:
    # 2026-03-27: a 9.8-hour Opus outage that started while other incidents were open.
    r = Run().polls(0, QUIET, 2)
    minor = inc("old", DEG, name="Elevated errors on Claude Haiku")
    r.polls(2 * MIN, page(minor), 30)
    major = inc("opus", MAJ, name="Elevated errors on Claude Opus 4.6")
    (n,) = r.at(40 * MIN, page(minor, major))
    assert n.kind is Kind.DOWN and n.incidents == ("opus",)
    assert n.title == "Claude is down: Elevated errors on Claude Opus 4.6"
    assert r.told() == [("degraded", ("old",)), ("down", ("opus",))]


def test_each_new_incident_is_told_even_minutes_after_a_back() -> None:
    # Issue 10: a new incident within 10 min of a "back" used to wait for the flap window.
    r = Run().polls(0, QUIET, 1)
    a = inc("a", PAR)
    r.polls(MIN, page(a), 5).polls(6 * MIN, QUIET, 2)  # down at 1, back at 7
    (n,) = r.at(9 * MIN, page(inc("b", PAR)))  # a different incident, 2 min after the back
    assert (n.kind, n.incidents) == (Kind.DOWN, ("b",))
    assert r.told() == [("down", ("a",)), ("recovered", ("a",)), ("down", ("b",))]


@pytest.mark.parametrize(("level", "kind"), [(MNT, Kind.MAINTENANCE), (DEG, Kind.DEGRADED),
                                             (PAR, Kind.DOWN), (MAJ, Kind.DOWN),
                                             (UNK, Kind.DEGRADED)])
def test_the_kind_follows_the_incident_level(level: Level, kind: Kind) -> None:
    # An incident of an impact never seen before is never silent: it is told as degraded.
    r = Run().polls(0, QUIET, 1)
    (n,) = r.at(MIN, page(inc("x", level, maintenance=level is MNT)))
    assert n.kind is kind


def test_notify_on_applies_to_new_incidents() -> None:
    cfg = PolicyConfig(notify=frozenset(Kind) - {Kind.DEGRADED})
    r = Run(cfg).polls(0, QUIET, 1)
    r.polls(MIN, page(inc("x", DEG)), 3)
    assert r.notes == []
    # ... but it rising to an outage is news the user wants.
    (n,) = r.at(5 * MIN, page(inc("x", PAR)))
    assert n.kind is Kind.DOWN and "Incident x" in n.title


def test_an_incident_that_does_not_concern_the_user_is_listed_not_told() -> None:
    r = Run().polls(0, QUIET, 1)
    r.polls(MIN, page(inc("opus", PAR, relevant=False), level=OPS), 5)
    assert r.notes == [] and r.state.level is OPS


def test_two_open_incidents_with_one_title_are_each_told_once() -> None:
    r = Run().polls(0, QUIET, 1)
    a = inc("a", DEG, name="Elevated errors")
    b = inc("b", DEG, name="Elevated errors")
    r.polls(MIN, page(a), 2).polls(3 * MIN, page(a, b), 3)
    assert r.told() == [("degraded", ("a",)), ("degraded", ("b",))]


# --- escalation -----------------------------------------------------------------------------


def test_a_rise_into_a_higher_class_is_told_once_more_within_a_class_not() -> None:
    r = Run().polls(0, QUIET, 1)
    r.polls(MIN, page(inc("x", DEG)), 2)
    r.polls(3 * MIN, page(inc("x", PAR)), 2)  # degraded -> outage: told
    r.polls(5 * MIN, page(inc("x", MAJ)), 2)  # partial -> major: same class, not told
    r.polls(7 * MIN, page(inc("x", DEG)), 2)  # down again to degraded: nothing
    r.polls(9 * MIN, page(inc("x", MAJ)), 2)  # and back up: already told as an outage
    assert r.told() == [("degraded", ("x",)), ("down", ("x",))]
    assert r.notes[1][1].body == "Now a partial outage (it was degraded)."


# --- already fixed ------------------------------------------------------------------------------


def test_one_first_seen_already_fixed_is_a_notice_after_the_fact() -> None:
    r = Run().polls(0, QUIET, 1)
    notice = inc("n", DEG, status="monitoring", fixed=True)
    r.polls(MIN, page(notice, level=DEG), 10)
    r.polls(11 * MIN, QUIET, 3)  # it resolves: it was never news, so its end isn't either
    assert r.notes == []


def test_a_notice_stays_one_while_another_incident_colours_its_components() -> None:
    # 2026-07-20: posted in monitoring with its components green; another incident then set
    # them degraded. That is the other incident's news, not this one's.
    r = Run().polls(0, QUIET, 1)
    notice = inc("n", DEG, status="monitoring", fixed=True)
    r.polls(MIN, page(notice), 3)
    still = inc("n", DEG, status="monitoring", fixed=False)  # shares degraded components now
    r.polls(4 * MIN, page(still, inc("other", DEG)), 3)
    assert r.told() == [("degraded", ("other",))]


def test_a_notice_that_opens_up_again_is_news() -> None:
    r = Run().polls(0, QUIET, 1)
    r.polls(MIN, page(inc("n", DEG, status="monitoring", fixed=True)), 3)
    (n,) = r.at(4 * MIN, page(inc("n", PAR, status="investigating")))
    assert n.kind is Kind.DOWN


def test_first_seen_in_monitoring_with_its_components_down_is_told() -> None:
    # 2026-04-25: "Claude Code v2.1.120 Crashes on Startup", posted straight into monitoring
    # with components at partial outage: told at the first poll.
    r = Run().polls(0, QUIET, 1)
    (n,) = r.at(MIN, page(inc("z", DEG, status="monitoring", fixed=False)))
    assert n.kind is Kind.DEGRADED


# --- the end of an incident -------------------------------------------------------------------


def test_fixed_while_others_are_open_is_told_at_once_with_its_length() -> None:
    r = Run().polls(0, QUIET, 1)
    a = inc("a", PAR, name="Elevated errors on Claude Opus 4.6", start=T0 + MIN)
    b = inc("b", DEG, name="Slow Claude Code")
    r.polls(MIN, page(a, b), 174)  # 1 min .. 2 h 54 min
    (n,) = r.at(175 * MIN, page(b))
    assert n.kind is Kind.RESOLVED and n.incidents == ("a",)
    assert n.title == "Fixed: Elevated errors on Claude Opus 4.6, after 2 h 54 min"
    assert n.body == "Still open: Slow Claude Code."


def test_the_last_problem_ending_is_one_recovered_naming_it() -> None:
    r = Run().polls(0, QUIET, 1)
    a = inc("a", PAR, name="Elevated errors", start=T0 + MIN)
    r.polls(MIN, page(a), 30)
    assert r.at(31 * MIN, QUIET) == []  # confirming
    (n,) = r.at(32 * MIN, QUIET)
    assert (n.kind, n.incidents) == (Kind.RECOVERED, ("a",))
    assert n.title == "Claude is back, after 30 min"
    assert n.body.startswith("Fixed: Elevated errors.")
    assert [e for _, e in r.log if isinstance(e, EpisodeEnded)]
    assert r.told() == [("down", ("a",)), ("recovered", ("a",))]


def test_when_the_all_clear_cant_come_the_fix_is_told_at_once() -> None:
    # The incident is resolved but a component still reads degraded (no incident for it).
    r = Run().polls(0, QUIET, 1)
    r.polls(MIN, page(inc("a", PAR)), 5)
    told = r.at(6 * MIN, page(loose=DEG))
    assert [(n.kind, n.incidents) for n in told] == [(Kind.DEGRADED, ()),
                                                     (Kind.RESOLVED, ("a",))]


def test_an_incident_leaving_the_list_without_resolved_counts_as_over() -> None:
    r = Run().polls(0, QUIET, 1).polls(MIN, page(inc("a", MAJ)), 3)
    r.polls(4 * MIN, QUIET, 2)
    assert [k for k, _ in r.told()] == ["down", "recovered"]


def test_a_resolved_incident_gone_for_a_poll_then_back_is_no_news() -> None:
    r = Run().polls(0, QUIET, 1).polls(MIN, page(inc("a", MAJ)), 3)
    r.at(4 * MIN, QUIET)  # gone for one poll: confirming, not yet told
    r.polls(5 * MIN, page(inc("a", MAJ)), 3)
    assert r.told() == [("down", ("a",))]


def test_recovered_turned_off_leaves_resolved_to_tell_the_fix() -> None:
    cfg = PolicyConfig(notify=frozenset(Kind) - {Kind.RECOVERED})
    r = Run(cfg).polls(0, QUIET, 1).polls(MIN, page(inc("a", MAJ)), 3)
    (n,) = r.at(4 * MIN, QUIET)
    assert n.kind is Kind.RESOLVED


# --- lengths ----------------------------------------------------------------------------------


def test_the_incidents_own_start_is_used_when_plausible() -> None:
    # Posted 4 min after it began (the page back-dates its start): the length counts from
    # the page's start.
    r = Run().polls(0, QUIET, 10)
    a = inc("a", PAR, start=T0 + 6 * MIN)
    r.polls(10 * MIN, page(a), 20)
    r.polls(30 * MIN, QUIET, 2)
    assert r.notes[-1][1].title == "Claude is back, after 24 min"


def test_a_start_in_the_future_or_long_before_the_app_could_see_it_is_not() -> None:
    r = Run().polls(0, QUIET, 10)
    r.polls(10 * MIN, page(inc("a", PAR, start=T0 + 5 * HOUR)), 20)
    r.polls(30 * MIN, QUIET, 2)
    assert r.notes[-1][1].title == "Claude is back, after 20 min"


def test_starting_during_an_outage_while_an_old_incident_is_open() -> None:
    # Issue 10: "back, after 3 days" for a 2-minute-old outage, because a 3-day-old minor
    # incident was open. Now each incident has its own length; the old one is a lower bound.
    old = inc("old", DEG, name="Old minor incident", start=T0 - 3 * DAY)
    new = inc("new", PAR, name="New outage", start=T0 - 2 * MIN)
    r = Run()
    (n,) = r.at(0, page(old, new))
    assert n.kind is Kind.STARTUP and set(n.incidents) == {"old", "new"}
    r.polls(MIN, page(old, new), 20)
    (fixed,) = r.at(21 * MIN, page(old))
    assert fixed.title == "Fixed: New outage, after 23 min"
    r.polls(22 * MIN, page(old), 10)
    r.polls(32 * MIN, QUIET, 2)
    assert r.notes[-1][1].title == "Claude is back"
    assert "at least 31 min" in r.notes[-1][1].body  # seen from 0 until 31 min
    assert "3 days" not in r.notes[-1][1].body


def test_a_sleep_across_two_outages_says_at_least() -> None:
    # Issue 10: after an 8-hour sleep across two different outages, "back after 8 h 24 min".
    r = Run().polls(0, QUIET, 1)
    r.polls(MIN, page(inc("a", PAR, start=T0 + MIN)), 23)  # seen from 1 to 23 min
    r.at(8 * HOUR, Woke())
    r.at(8 * HOUR, page(inc("b", PAR, start=T0 + 7 * HOUR)))  # a different one, newly seen
    told = r.notes[-2:]
    assert [(n.kind, n.incidents) for _, n in told] == [(Kind.DOWN, ("b",)),
                                                       (Kind.RESOLVED, ("a",))]
    assert told[1][1].title == "Fixed: Incident a, after at least 22 min"


def test_a_gap_inside_an_outage_makes_its_length_a_lower_bound() -> None:
    r = Run().polls(0, QUIET, 1)
    a = inc("a", PAR, start=T0 + MIN)
    r.polls(MIN, page(a), 5)
    r.polls(6 * MIN, FAIL, 20)  # twenty failed polls: not watched
    r.polls(26 * MIN, page(a), 5)
    r.polls(31 * MIN, QUIET, 2)
    assert "at least" in r.notes[-1][1].body


# --- noise ------------------------------------------------------------------------------------


def test_an_incident_that_keeps_coming_back_is_held_and_summed_up() -> None:
    r = Run().polls(0, QUIET, 1)
    a = inc("a", PAR, name="API errors")
    r.polls(MIN, page(a), 2).polls(3 * MIN, QUIET, 2)  # down at 1, recovered at 4
    r.polls(5 * MIN, page(a), 2).polls(7 * MIN, QUIET, 2)  # again at 5, over at 8: held
    assert r.told() == [("down", ("a",)), ("recovered", ("a",))]
    r.polls(9 * MIN, page(a), 6)  # back at 9, and still there when the window ends at 14
    kinds = [k for k, _ in r.told()]
    assert kinds == ["down", "recovered", "summary"]
    summary = r.notes[-1][1]
    assert summary.title == "Claude: partial outage"
    assert summary.body == ("API errors went down twice and came back once in the last "
                            "10 min; now: partial outage.")
    assert r.notes[-1][0] == 14 * MIN


def test_a_wake_never_closes_a_window_nor_alerts() -> None:
    # Issue 10: a wake closed a flap window and sent "major outage" about an 8-hour-old state.
    r = Run().polls(0, QUIET, 1)
    a = inc("a", MAJ)
    r.polls(MIN, page(a), 2).polls(3 * MIN, QUIET, 2).at(5 * MIN, page(a))  # held
    before = len(r.notes)
    assert r.at(8 * HOUR, Woke()) == []
    r.at(8 * HOUR + 1, page())  # the first real reading after the wake: it is over
    assert len(r.notes) == before


# --- filtering -------------------------------------------------------------------------------


def test_a_startup_alert_counts_as_told_only_if_it_was_let_through() -> None:
    # Issue 10: notify_on = ["down", "recovered"]: the start-up alert was filtered out but
    # counted as told, and a 2-hour outage was never announced.
    cfg = PolicyConfig(notify=frozenset({Kind.DOWN, Kind.RECOVERED}))
    r = Run(cfg)
    r.polls(0, page(inc("a", MAJ)), 120)
    r.polls(120 * MIN, QUIET, 2)
    assert [k for k, _ in r.told()] == ["down", "recovered"]


def test_a_degraded_startup_is_quiet_when_degraded_is_off() -> None:
    cfg = PolicyConfig(notify=frozenset(Kind) - {Kind.DEGRADED})
    r = Run(cfg).polls(0, page(inc("a", DEG)), 5)
    assert r.notes == []


# --- failures and the all-clear ------------------------------------------------------------------


def test_good_polls_alternating_with_failures_still_confirm() -> None:
    r = Run().polls(0, QUIET, 1).polls(MIN, page(inc("a", MAJ)), 3)
    for k in range(6):
        r.at((4 + k) * MIN, QUIET if k % 2 == 0 else FAIL)
    assert [k for k, _ in r.told()] == ["down", "recovered"]
    assert not r.state.in_episode


def test_an_unreadable_page_is_no_evidence_that_anything_ended() -> None:
    r = Run().polls(0, QUIET, 1).polls(MIN, page(inc("a", MAJ)), 3)
    r.polls(4 * MIN, Reading("Claude", UNK, "page status indicator 'severe'"), 5)
    r.polls(9 * MIN, page(inc("a", MAJ)), 2)
    assert r.told() == [("down", ("a",))]


def test_the_one_shot_alert_hears_a_quiet_all_clear() -> None:
    cfg = PolicyConfig(notify=frozenset(Kind) - {Kind.DEGRADED})
    r = Run(cfg).polls(0, QUIET, 1).polls(MIN, page(inc("a", DEG)), 3).polls(4 * MIN, QUIET, 2)
    quiet = [e for _, e in r.log if isinstance(e, QuietRecovery)]
    assert r.notes == [] and len(quiet) == 1 and quiet[0].note.kind is Kind.RECOVERED


# --- the icon ---------------------------------------------------------------------------------


def test_a_quiet_incident_does_not_hold_the_all_clear() -> None:
    # A told incident left in monitoring past its grace no longer colours the icon: the
    # all-clear comes; its end is told later, on its own.
    r = Run().polls(0, QUIET, 1)
    r.polls(MIN, page(inc("a", DEG)), 3)
    r.polls(4 * MIN, page(inc("a", OPS, status="monitoring", quiet="fixed")), 3)
    assert not r.state.in_episode
    (n,) = r.at(10 * DAY, QUIET)
    assert n.kind is Kind.RESOLVED and n.title.startswith("Fixed: Incident a, after")


# --- maintenance ------------------------------------------------------------------------------


def test_maintenance_is_told_and_its_end_is_no_recovery() -> None:
    r = Run().polls(0, QUIET, 1)
    m = inc("m", MNT, name="Database upgrade", maintenance=True, status="in_progress")
    r.polls(MIN, page(m), 60)
    r.polls(61 * MIN, QUIET, 3)
    kinds = [(n.kind, n.title) for _, n in r.notes]
    assert kinds == [(Kind.MAINTENANCE, "Claude maintenance: Database upgrade"),
                     (Kind.RESOLVED, "Maintenance over: Database upgrade, after 1 h")]


def test_upcoming_maintenance_is_told_once_an_hour_ahead() -> None:
    soon = Upcoming("m1", "Database upgrade", T0 + 3 * HOUR, "Thu 02:00–03:00",
                    ("Claude API",))
    r = Run()
    for k in range(200):  # every minute for over three hours
        r.at(k * MIN, page(upcoming=(soon,)))
    ups = [(t, n) for t, n in r.notes if n.kind is Kind.UPCOMING]
    assert len(ups) == 1
    t, n = ups[0]
    assert t == 2 * HOUR and n.incidents == ("m1",)
    assert n.title == "Claude maintenance soon: Database upgrade"
    assert n.body == "Thu 02:00–03:00: Claude API"


def test_upcoming_maintenance_seen_late_is_still_told_before_it_starts() -> None:
    soon = Upcoming("m1", "Upgrade", T0 + 10 * MIN, "Thu 02:00–03:00")
    r = Run()
    r.polls(0, page(upcoming=(soon,)), 20)
    assert [n.kind for _, n in r.notes] == [Kind.UPCOMING]


# --- a long, realistic day --------------------------------------------------------------------


def day_of_incidents(kinds: Sequence[tuple[float, float, Level]]) -> list[tuple[float, Reading]]:
    """(start, end, level) incidents, each its own id, read every minute for a day."""
    out = []
    for m in range(int(DAY // MIN)):
        t = m * MIN
        open_ = [inc(f"i{k}", lv, start=T0 + a) for k, (a, b, lv) in enumerate(kinds)
                 if a <= t < b]
        out.append((t, page(*open_)))
    return out


def test_a_busy_day_tells_each_incident_and_its_end() -> None:
    spans = [(HOUR, 3 * HOUR, DEG), (2 * HOUR, 2.5 * HOUR, MAJ), (2.2 * HOUR, 5 * HOUR, PAR),
             (10 * HOUR, 10.1 * HOUR, DEG), (10.2 * HOUR, 11 * HOUR, PAR)]
    r = Run()
    for t, obs in day_of_incidents(spans):
        r.at(t, obs)
    told = r.told()
    for k in range(len(spans)):
        ids = [kind for kind, ids in told if f"i{k}" in ids]
        assert ids[0] in ("degraded", "down") and ids[-1] in ("resolved", "recovered"), (k, told)
    assert len(told) <= 2 * len(spans)


def test_the_timing_rules_agree_by_default_and_say_when_they_dont() -> None:
    assert Timing().problems() == []
    assert Timing(monitoring_grace=13 * HOUR).problems()
    assert Timing(recovery_confirmations=0).problems()
