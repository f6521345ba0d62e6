"""The policy's state across a restart: versioned, migrated, never thrown away for a renamed
field, and restored by rules that agree with the rest of the timing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tray_app.core import persist
from tray_app.core.assess import IncidentState
from tray_app.core.levels import Level
from tray_app.core.persist import dump_state, load_state, restored, signature
from tray_app.core.policy import (
    Clear,
    Flap,
    FlapPhase,
    Kind,
    Notify,
    Phase,
    PolicyState,
    Reading,
    Record,
    step,
)
from tray_app.core.timing import Timing

NOW = 1_800_000_000.0
T = Timing()


def incident(iid: str = "inc1", level: Level = Level.MAJOR_OUTAGE) -> IncidentState:
    return IncidentState(iid, "Elevated errors", "investigating", "critical", level, "", "",
                         False, False, components=("claude.ai",))


def outage() -> PolicyState:
    """Mid-outage: one incident told, its flap window open, a maintenance announced."""
    state = PolicyState()
    for k in range(3):
        state, _ = step(state, Reading("Claude", Level.MAJOR_OUTAGE, "x",
                                       incidents=(incident(),)), NOW - 900 + 60 * k)
    return state


def test_a_rich_state_survives_json_unchanged() -> None:
    state = outage()
    assert state.records and state.flaps and state.clear is Clear.TROUBLE
    state = PolicyState(**{**state.__dict__, "upcoming_told": (("m1", NOW + 3600),)})
    raw = json.loads(json.dumps(dump_state(state)))
    assert raw["v"] == persist.VERSION
    assert load_state(raw) == state


def test_a_field_added_later_reads_as_its_default_and_an_unknown_one_is_ignored() -> None:
    raw = dump_state(outage())
    del raw["episode_gap"]
    raw["something_from_the_future"] = 42
    assert load_state(raw).episode_gap is False


def test_a_renamed_field_carries_over(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = dump_state(outage())
    raw["first_bad_at"] = raw.pop("episode_start")  # as if a later version had renamed it
    monkeypatch.setattr(persist, "RENAMED", {"first_bad_at": "episode_start"})
    assert load_state(raw).episode_start == outage().episode_start


def test_version_1_is_migrated_and_a_restart_repeats_nothing() -> None:
    # What the app saved before incidents were tracked, mid-outage with "down" announced.
    v1 = {"level": "major_outage", "reason": "Elevated errors", "offline": False, "failures": 0,
          "started": True, "announced": "major_outage", "episode_start": NOW - 900,
          "episode_worst": "major_outage", "episode_alert": 3, "last_bad_at": NOW - 30,
          "ok_since": None, "ok_streak": 0, "window_start": NOW - 900,
          "window_recovered": False, "held_back": 0, "grace_until": None}
    state = restored(load_state(v1), NOW - 30, NOW)
    state, effects = step(state, Reading("Claude", Level.MAJOR_OUTAGE, "x",
                                         incidents=(incident(),)), NOW)
    assert not [e for e in effects if isinstance(e, Notify)], "no second 'down' after upgrade"
    kinds = []
    for k in range(1, 4):
        state, effects = step(state, Reading("Claude", Level.OPERATIONAL), NOW + 60 * k)
        kinds += [e.kind for e in effects if isinstance(e, Notify)]
    assert kinds == [Kind.RECOVERED]


@pytest.mark.parametrize("raw", [
    {"v": 99}, {"v": "two"}, "a string", [], {"v": 2, "level": "on fire"},
    {"v": 2, "records": [{"id": "x"}]}, {"v": 2, "flaps": []},
    {"v": 2, "records": [{"id": "x", "name": "y", "phase": "told", "start": "yesterday"}]},
    {"level": None}, {"failures": "3"},
], ids=str)
def test_what_cant_be_read_raises_so_that_service_starts_afresh(raw: Any) -> None:
    with pytest.raises((TypeError, ValueError)):
        load_state(raw)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                 max_size=3),
    max_leaves=5,
)


@settings(max_examples=300, deadline=None)
@given(field=st.sampled_from(sorted(dump_state(outage()))), value=json_values,
       record_field=st.sampled_from(sorted(Record.__dataclass_fields__)))
def test_any_damaged_value_loads_into_a_steppable_state_or_raises(
    field: str, value: Any, record_field: str
) -> None:
    for raw in (dump_state(outage()), dump_state(outage())):
        raw[field] = value
        break
    nested = dump_state(outage())
    nested["records"][0][record_field] = value
    for candidate in (raw, nested):
        try:
            state = load_state(candidate)
        except (TypeError, ValueError):
            continue
        t = NOW + 10
        for obs in (Reading("Claude", Level.MAJOR_OUTAGE, "x", incidents=(incident(),)),
                    Reading("Claude", Level.OPERATIONAL), Reading("Claude", Level.OPERATIONAL),
                    Reading("Claude", Level.DEGRADED)):
            state, _ = step(state, obs, t)
            t += 60


def test_restored_keeps_what_was_told_never_the_level() -> None:
    state = restored(outage(), NOW, NOW + 120)
    assert state.level is Level.UNKNOWN and "last seen: major outage" in state.reason
    assert state.records == outage().records and state.started
    assert state.last_reading == NOW  # the time the app was off is a gap


def test_a_restart_within_the_outage_tells_its_end_as_a_lower_bound() -> None:
    state = restored(outage(), NOW - 780, NOW)
    state, effects = step(state, Reading("Claude", Level.OPERATIONAL), NOW)
    state, effects = step(state, Reading("Claude", Level.OPERATIONAL), NOW + 60)
    (note,) = [e for e in effects if isinstance(e, Notify)]
    assert note.kind is Kind.RECOVERED and note.title == "Claude is back"
    assert "at least" in note.body


def test_after_restore_within_the_outage_memory_is_history_but_nothing_is_repeated() -> None:
    away = T.restore_within + 3600
    state = restored(outage(), NOW, NOW + away)
    assert not state.started and state.episode_start is None and state.clear is Clear.CLEAR
    assert {r.phase for r in state.records} == {Phase.TOLD}
    # Still open: not announced again (it was told), not a start-up alert for it either.
    state, effects = step(state, Reading("Claude", Level.MAJOR_OUTAGE, "x",
                                         incidents=(incident(),)), NOW + away)
    assert not [e for e in effects if isinstance(e, Notify)]
    # Another one, new since: the start-up alert names it alone.
    state2 = restored(outage(), NOW, NOW + away)
    state2, effects = step(state2, Reading("Claude", Level.MAJOR_OUTAGE, "x", incidents=(
        incident(), incident("inc2"))), NOW + away)
    (note,) = [e for e in effects if isinstance(e, Notify)]
    assert note.kind is Kind.STARTUP and note.incidents == ("inc2",)
    # Its end, once it comes, is old news: the story was told before the app went away.
    notes = []
    for k in (1, 2, 3):
        state, effects = step(state, Reading("Claude", Level.OPERATIONAL), NOW + away + 60 * k)
        notes += [e for e in effects if isinstance(e, Notify)]
    assert notes == [] and not state.in_episode


def test_after_forget_after_the_restart_is_fresh() -> None:
    assert restored(outage(), NOW, NOW + T.forget_after + 1) == PolicyState()
    assert restored(PolicyState(failures=2), NOW, NOW + 1) == PolicyState()


def test_the_signature_ignores_what_moves_every_poll() -> None:
    a = outage()
    b = PolicyState(**{**a.__dict__, "last_reading": (a.last_reading or 0) + 60,
                       "failures": 1, "reason": "other"})
    assert signature(a) == signature(b)
    c = PolicyState(**{**a.__dict__, "flaps": (("inc1", Flap(FlapPhase.CALM)),)})
    assert signature(a) != signature(c)


def test_restore_rules_agree_with_the_timing() -> None:
    assert persist.RESTORE_WITHIN == T.restore_within <= T.forget_after
    assert T.monitoring_grace < T.stale_after
