"""The reachability hint: pure stepping, and the Monitor path that turns it into one
notification per episode and a line apart from the official status."""

from __future__ import annotations

from typing import Any

import pytest

from tray_app.clock import FakeClock
from tray_app.core.hint import MISSES_BEFORE_HINT, HintState, hint_text, step_hint
from tray_app.core.levels import Level
from tray_app.core.model import Fetched
from tray_app.core.policy import Kind, Notify
from tray_app.core.prefs import Prefs
from tray_app.core.statuspage import parse_summary
from tray_app.demo import summary
from tray_app.menu import build
from tray_app.monitor import Monitor
from tray_app.poller import Poller, Report

OK, DOWN = Level.OPERATIONAL, Level.MAJOR_OUTAGE


FRESH = HintState()


def run(answers: list[bool], official: Level = OK, online: bool = True,
        state: HintState = FRESH) -> tuple[HintState, list[bool]]:
    notes = []
    for answered in answers:
        state, notify = step_hint(state, answered, official, online)
        notes.append(notify)
    return state, notes


def test_three_misses_while_green_and_online_notify_once() -> None:
    state, notes = run([False] * 6)
    assert notes == [False, False, True, False, False, False]
    assert state.active() and state.misses == 6


def test_an_answer_resets_and_a_new_episode_may_notify_again() -> None:
    state, notes = run([False, False, False, True, False, False, False])
    assert notes == [False, False, True, False, False, False, True]
    state, notes = run([False, False, True, False, False, True])
    assert notes == [False] * 6 and state == HintState()


def test_offline_never_hints_and_does_not_count() -> None:
    state, notes = run([False] * 10, online=False)
    assert notes == [False] * 10 and state == HintState()
    state, notes = run([False] * 2)
    state, notes = run([False] * 5, online=False, state=state)
    assert state.misses == 2 and not any(notes)


def test_no_hint_while_the_page_already_says_there_is_trouble() -> None:
    state, notes = run([False] * 5, official=DOWN)
    assert not any(notes)
    assert hint_text("Claude", state, DOWN) == ""
    # The page turns green while Claude still doesn't answer: now it is a hint.
    state, notify = step_hint(state, False, OK, True)
    assert notify
    assert hint_text("Claude", state, OK).startswith("Claude looks unreachable from here")


def test_hint_text() -> None:
    assert hint_text("Claude", HintState(misses=MISSES_BEFORE_HINT - 1), OK) == ""
    assert hint_text("Claude", HintState(misses=MISSES_BEFORE_HINT), OK) == (
        "Claude looks unreachable from here; the status page still says all systems operational"
    )


# -- through the Monitor and the Poller -------------------------------------------------------


class PageSource:
    base = "https://status.claude.com"
    using_mirror = False

    def __init__(self, level: Level = OK) -> None:
        self.doc: dict[str, Any] = summary(level)

    def fetch(self) -> Fetched:
        return Fetched(self.base + "/api/v2/summary.json", summary=parse_summary(self.doc))

    def hosts(self) -> frozenset[str]:
        return frozenset({"status.claude.com"})


class Probe:
    def __init__(self, answers: bool = False) -> None:
        self.answers = answers
        self.calls = 0

    def __call__(self) -> bool:
        self.calls += 1
        return self.answers


class Online:
    def __init__(self, value: bool | None = True) -> None:
        self.value = value
        self.calls = 0

    def __call__(self) -> bool | None:
        self.calls += 1
        return self.value


def hint_notes(reports: list[Report]) -> list[Notify]:
    return [e for r in reports for e in r.effects
            if isinstance(e, Notify) and e.kind is Kind.UNREACHABLE]


def rig(probe: Probe, online: Online | None = None,
        level: Level = OK) -> tuple[Monitor, Poller, list[Report], FakeClock]:
    clock = FakeClock()
    m = Monitor("claude", "Claude", PageSource(level), online_check=online)
    m.reach = probe
    reports: list[Report] = []
    return m, Poller([m], reports.append, clock=clock), reports, clock


def polls(poller: Poller, clock: FakeClock, n: int) -> None:
    for _ in range(n):
        clock.advance(poller.tick())


def test_the_monitor_hints_once_when_claude_is_silent_and_the_page_green() -> None:
    probe = Probe(answers=False)
    m, poller, reports, clock = rig(probe, Online(True))
    polls(poller, clock, 10)
    (note,) = hint_notes(reports)
    assert note.title == "Claude looks unreachable from here"
    assert "still says all systems operational" in note.body
    assert note.level is OK
    view = m.view()
    assert view.level is OK  # a hint, never the red state
    assert view.hint.startswith("Claude looks unreachable from here")
    model = build((view,), Prefs(), clock.time())
    assert model.badge == "hint" and model.level is OK
    assert model.menu[1].text.startswith("Claude looks unreachable")
    # Claude answers again: the hint goes, and a new episode may notify again.
    probe.answers = True
    polls(poller, clock, 2)
    assert m.view().hint == ""
    probe.answers = False
    polls(poller, clock, 10)
    assert len(hint_notes(reports)) == 2


def test_probing_is_light_while_all_is_quiet() -> None:
    probe = Probe(answers=True)
    m, poller, _, clock = rig(probe)
    polls(poller, clock, 10)
    assert probe.calls == 5  # every second good poll


def test_offline_means_no_hint() -> None:
    online = Online(False)
    m, poller, reports, clock = rig(Probe(answers=False), online)
    polls(poller, clock, 10)
    assert hint_notes(reports) == [] and m.view().hint == ""
    assert online.calls > 0


@pytest.mark.parametrize("value", [True, None], ids=["online", "can't-tell"])
def test_an_undecided_connectivity_check_still_hints(value: bool | None) -> None:
    m, poller, reports, clock = rig(Probe(answers=False), Online(value))
    polls(poller, clock, 6)
    assert len(hint_notes(reports)) == 1


def test_no_hint_when_the_page_says_there_is_an_outage() -> None:
    m, poller, reports, clock = rig(Probe(answers=False), level=DOWN)
    polls(poller, clock, 10)
    assert hint_notes(reports) == [] and m.view().hint == ""


def test_a_broken_probe_is_no_evidence() -> None:
    def broken() -> bool:
        raise RuntimeError("probe bug")

    m, poller, reports, clock = rig(Probe())
    m.reach = broken
    polls(poller, clock, 8)
    assert hint_notes(reports) == [] and m.state.level is OK
