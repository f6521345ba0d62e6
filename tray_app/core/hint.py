"""The reachability hint (pure): Claude looks unreachable from here while the page is green.

It is a hint, never the red down state: the official level stays what the page says, the icon
gets a marker, the tooltip says it plainly, and it notifies at most once per episode.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .levels import Level

MISSES_BEFORE_HINT = 3


@dataclass(frozen=True)
class HintState:
    misses: int = 0
    notified: bool = False  # this episode's one notification went out

    def active(self, threshold: int = MISSES_BEFORE_HINT) -> bool:
        return self.misses >= threshold


def step_hint(
    state: HintState, answered: bool, official: Level, online: bool,
    threshold: int = MISSES_BEFORE_HINT,
) -> tuple[HintState, bool]:
    """Return the new state and whether to notify now."""
    if answered:
        return HintState(), False
    if not online:
        return state, False  # our own connection is down: not a hint about Claude
    state = replace(state, misses=state.misses + 1)
    if official is Level.OPERATIONAL and state.active(threshold) and not state.notified:
        return replace(state, notified=True), True
    return state, False


def hint_text(service: str, state: HintState, official: Level,
              threshold: int = MISSES_BEFORE_HINT) -> str:
    if not state.active(threshold) or official is not Level.OPERATIONAL:
        return ""
    return (f"{service} looks unreachable from here; the status page still says all systems "
            "operational")
