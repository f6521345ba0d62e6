"""State that survives a restart: round trip, a fresh start from anything broken, and what a
restart keeps of an outage."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tray_app.core.levels import Level
from tray_app.core.persist import restored
from tray_app.core.policy import (
    Clear,
    Phase,
    PolicyState,
    Reading,
    Record,
    Unreachable,
    step,
)
from tray_app.state import Saved, StateStore

NOW = 1_800_000_000.0
OUTAGE = PolicyState(
    level=Level.MAJOR_OUTAGE, reason="Elevated errors", started=True, last_reading=NOW - 30,
    records=(Record("inc1", "Elevated errors", Phase.TOLD, NOW - 900, told=3,
                    level=Level.MAJOR_OUTAGE, seen=NOW - 30, colouring=True),),
    clear=Clear.TROUBLE, episode_start=NOW - 900, episode_worst=Level.MAJOR_OUTAGE,
    last_bad_at=NOW - 30, failures=1, ok_streak=0,
)


def saved_sample() -> Saved:
    return Saved(
        services={"claude": OUTAGE, "openai": PolicyState(level=Level.OPERATIONAL, started=True)},
        page_ids={"claude": "tymt9n04zgry"},
        paused_until=NOW + 3600,
        armed=True,
        alerts=({"at": NOW - 900, "kind": "down", "title": "Claude is down", "sent": True},),
        saved_at=NOW,
    )


def broken_copies(folder: Path) -> list[Path]:
    return sorted(folder.glob("state.json.broken-*"))


def test_round_trip(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.json")
    store.save(saved_sample())
    assert StateStore(tmp_path / "state.json").load() == saved_sample()


def test_the_file_is_plain_json_with_a_version(tmp_path: Path) -> None:
    StateStore(tmp_path / "state.json").save(saved_sample())
    raw = json.loads((tmp_path / "state.json").read_text(encoding="utf-8"))
    assert raw["version"] == 1
    assert raw["services"]["claude"]["level"] == "major_outage"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]  # no temporary file left


def test_only_the_last_alerts_are_kept(tmp_path: Path) -> None:
    alerts = tuple({"at": float(n), "kind": "down", "title": str(n), "sent": True}
                   for n in range(120))
    store = StateStore(tmp_path / "state.json")
    store.save(Saved(alerts=alerts))
    kept = store.load().alerts
    assert len(kept) == 50 and kept[-1]["title"] == "119"


def test_a_missing_file_is_a_fresh_start(tmp_path: Path) -> None:
    assert StateStore(tmp_path / "state.json").load() == Saved()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{",
        b"\xff\xfe not utf-8",
        b"null",
        b"[1, 2, 3]",
        b'"a string"',
        b'{"version": 2, "services": {}}',  # a future format
        b'{"services": {}}',  # no version at all
        b'{"version": 1, "services": []}',
        b'{"version": 1, "services": {"claude": 5}}',
        b'{"version": 1, "services": {"claude": {"level": "on fire"}}}',
        b'{"version": 1, "services": {"claude": {"level": null}}}',
        b'{"version": 1, "services": {"claude": {"episode_start": "yesterday"}}}',
        b'{"version": 1, "services": {"claude": {"failures": "3"}}}',
        b'{"version": 1, "services": {"claude": {"ok_streak": null}}}',
        b'{"version": 1, "services": {"claude": {"last_bad_at": [1]}}}',
        b'{"version": 1, "paused_until": "soon"}',
        b'{"version": 1, "paused_until": null}',
        b'{"version": 1, "page_ids": []}',
        b'{"version": 1, "alerts": 7}',
    ],
    ids=lambda c: c.decode("utf-8", "replace")[:60] or "empty",
)
def test_a_corrupt_file_is_a_fresh_start_and_kept_aside(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(content)
    assert StateStore(path).load() == Saved()
    kept = broken_copies(tmp_path)
    assert len(kept) == 1 and kept[0].read_bytes() == content
    assert not path.exists()
    # The next save writes a good file again.
    StateStore(path).save(saved_sample())
    assert StateStore(path).load() == saved_sample()


def test_an_unwritable_place_is_logged_not_raised(tmp_path: Path) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("a file where the folder should be")
    StateStore(blocker / "state.json").save(saved_sample())  # must not raise
    assert StateStore(blocker / "state.json").load() == Saved()


def _poll_through(state: PolicyState) -> PolicyState:
    """Step a state through what a day can bring; raises if the state was unusable."""
    t = NOW + 10
    for obs in (Reading("Claude", Level.MAJOR_OUTAGE, "x", NOW - 100),
                Unreachable("Claude", "refused"), Unreachable("Claude", "refused"),
                Unreachable("Claude", "refused"), Reading("Claude", Level.OPERATIONAL),
                Reading("Claude", Level.OPERATIONAL), Reading("Claude", Level.DEGRADED),
                Reading("Claude", Level.OPERATIONAL), Reading("Claude", Level.OPERATIONAL)):
        state, _ = step(state, obs, t)
        t += 700
    return state


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                 max_size=3),
    max_leaves=5,
)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(sorted(asdict(OUTAGE))), value=json_values)
def test_any_mutated_field_loads_into_a_usable_state(
    tmp_path: Path, field: str, value: Any
) -> None:
    """A hand-edited or damaged field either loads into a state the policy can step, or the
    whole file is set aside: never a monitor stuck on a TypeError at every poll."""
    path = tmp_path / "state.json"
    StateStore(path).save(saved_sample())
    raw = json.loads(path.read_text(encoding="utf-8"))
    raw["services"]["claude"][field] = value
    path.write_text(json.dumps(raw), encoding="utf-8")
    loaded = StateStore(path).load()
    for state in loaded.services.values():
        _poll_through(restored(state, loaded.saved_at, NOW + 5))
    if not path.exists():
        assert loaded == Saved()
        for p in broken_copies(tmp_path):
            p.unlink()


def test_a_restart_in_an_outage_neither_repeats_the_alert_nor_forgets_it() -> None:
    state = restored(OUTAGE, NOW, NOW + 60)
    state, effects = step(state, Reading("Claude", Level.MAJOR_OUTAGE, "x", incidents=(
        _incident("inc1"),)), NOW + 70)
    assert not [e for e in effects if hasattr(e, "kind")]
    state, _ = step(state, Reading("Claude", Level.OPERATIONAL), NOW + 700)
    state, effects = step(state, Reading("Claude", Level.OPERATIONAL), NOW + 760)
    kinds = [e.kind.value for e in effects if hasattr(e, "kind")]
    assert kinds == ["recovered"]


def _incident(iid: str) -> Any:
    from tray_app.core.assess import IncidentState

    return IncidentState(iid, "Elevated errors", "investigating", "critical",
                         Level.MAJOR_OUTAGE, "", "", False, False)
