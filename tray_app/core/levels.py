"""Service levels, ordered by severity, plus ``unknown`` which stands outside the order."""

from __future__ import annotations

import enum
from collections.abc import Iterable


class Level(enum.Enum):
    OPERATIONAL = "operational"
    MAINTENANCE = "maintenance"
    DEGRADED = "degraded"
    PARTIAL_OUTAGE = "partial_outage"
    MAJOR_OUTAGE = "major_outage"
    UNKNOWN = "unknown"

    @property
    def rank(self) -> int:
        """Severity; ``unknown`` has none (-1) because it is not comparable."""
        return _RANK[self]

    @property
    def is_known(self) -> bool:
        return self is not Level.UNKNOWN

    @property
    def is_outage(self) -> bool:
        return self in (Level.PARTIAL_OUTAGE, Level.MAJOR_OUTAGE)

    @property
    def is_problem(self) -> bool:
        """A known level worse than operational."""
        return self.rank > 0

    @property
    def label(self) -> str:
        return _LABEL[self]

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Level):
            return NotImplemented
        return self.rank < other.rank


_RANK = {
    Level.OPERATIONAL: 0,
    Level.MAINTENANCE: 1,
    Level.DEGRADED: 2,
    Level.PARTIAL_OUTAGE: 3,
    Level.MAJOR_OUTAGE: 4,
    Level.UNKNOWN: -1,
}

_LABEL = {
    Level.OPERATIONAL: "operational",
    Level.MAINTENANCE: "maintenance",
    Level.DEGRADED: "degraded",
    Level.PARTIAL_OUTAGE: "partial outage",
    Level.MAJOR_OUTAGE: "major outage",
    Level.UNKNOWN: "unknown",
}


def worst(levels: Iterable[Level]) -> Level:
    """Fold parts into one level.

    A known problem wins over an unknown part (a red component is red even if a sibling is
    unreadable); otherwise any unknown part makes the whole unknown, so nothing unreadable
    ever reads as green. No parts at all is unknown too.
    """
    known = Level.OPERATIONAL
    seen_known = seen_unknown = False
    for level in levels:
        if level is Level.UNKNOWN:
            seen_unknown = True
        else:
            seen_known = True
            if level.rank > known.rank:
                known = level
    if known.is_problem:
        return known
    if seen_unknown or not seen_known:
        return Level.UNKNOWN
    return known


# Statuspage vocabularies. Anything not listed here is a value never seen before.
COMPONENT_STATUS = {
    "operational": Level.OPERATIONAL,
    "under_maintenance": Level.MAINTENANCE,
    "degraded_performance": Level.DEGRADED,
    "partial_outage": Level.PARTIAL_OUTAGE,
    "major_outage": Level.MAJOR_OUTAGE,
}
PAGE_INDICATOR = {
    "none": Level.OPERATIONAL,
    "maintenance": Level.MAINTENANCE,
    "minor": Level.DEGRADED,
    "major": Level.PARTIAL_OUTAGE,
    "critical": Level.MAJOR_OUTAGE,
}
INCIDENT_IMPACT = {
    "none": Level.OPERATIONAL,
    "minor": Level.DEGRADED,
    "major": Level.PARTIAL_OUTAGE,
    "critical": Level.MAJOR_OUTAGE,
    # Scheduled maintenances carry this impact.
    "maintenance": Level.MAINTENANCE,
}
INCIDENT_WORKING = frozenset({"investigating", "identified"})  # no fix out yet
INCIDENT_DONE = frozenset({"resolved", "postmortem"})  # an incident's closing statuses
INCIDENT_OPEN = INCIDENT_WORKING | {"monitoring"}
INCIDENT_CLOSED = INCIDENT_DONE | {"completed"}  # "completed": a maintenance's
MAINTENANCE_ACTIVE = frozenset({"in_progress", "verifying"})
MAINTENANCE_INACTIVE = frozenset({"scheduled", "completed"})
