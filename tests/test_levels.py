"""Levels: the order, the fold (``worst``) and the Statuspage vocabularies."""

from __future__ import annotations

import pytest

from tray_app.core.levels import (
    COMPONENT_STATUS,
    INCIDENT_IMPACT,
    PAGE_INDICATOR,
    Level,
    worst,
)

OPS, MNT, DEG, PAR, MAJ, UNK = (
    Level.OPERATIONAL,
    Level.MAINTENANCE,
    Level.DEGRADED,
    Level.PARTIAL_OUTAGE,
    Level.MAJOR_OUTAGE,
    Level.UNKNOWN,
)
KNOWN_IN_ORDER = [OPS, MNT, DEG, PAR, MAJ]


def test_known_levels_are_ordered_by_severity() -> None:
    assert sorted(reversed(KNOWN_IN_ORDER)) == KNOWN_IN_ORDER
    assert [lv.rank for lv in KNOWN_IN_ORDER] == [0, 1, 2, 3, 4]
    assert OPS < MNT < DEG < PAR < MAJ
    assert not MAJ < PAR


def test_unknown_stands_outside_the_order() -> None:
    assert not UNK.is_known
    assert not UNK.is_problem
    assert not UNK.is_outage
    assert all(lv.is_known for lv in KNOWN_IN_ORDER)


@pytest.mark.parametrize(
    ("level", "problem", "outage"),
    [
        (OPS, False, False), (MNT, True, False), (DEG, True, False),
        (PAR, True, True), (MAJ, True, True),
    ],
    ids=lambda v: v.value if isinstance(v, Level) else str(v),
)
def test_problem_and_outage_flags(level: Level, problem: bool, outage: bool) -> None:
    assert level.is_problem is problem
    assert level.is_outage is outage


def test_labels_are_words_not_identifiers() -> None:
    assert PAR.label == "partial outage"
    assert MAJ.label == "major outage"
    assert all("_" not in lv.label for lv in Level)


WORST = [
    ("empty-is-unknown", [], UNK),
    ("all-operational", [OPS, OPS, OPS], OPS),
    ("single-maintenance", [MNT], MNT),
    ("max-of-known", [OPS, DEG, MNT, PAR, OPS], PAR),
    ("major-wins", [MAJ, PAR, DEG], MAJ),
    ("unknown-poisons-green", [OPS, OPS, UNK], UNK),
    ("only-unknown", [UNK, UNK], UNK),
    ("known-problem-beats-unknown", [UNK, DEG, OPS], DEG),
    ("maintenance-beats-unknown", [UNK, MNT], MNT),
    ("outage-beats-unknown", [OPS, UNK, MAJ], MAJ),
]


@pytest.mark.parametrize(("parts", "expected"), [c[1:] for c in WORST], ids=[c[0] for c in WORST])
def test_worst(parts: list[Level], expected: Level) -> None:
    assert worst(parts) is expected
    assert worst(iter(parts)) is expected  # any iterable, consumed once


VOCAB = [
    ("component", COMPONENT_STATUS, {
        "operational": OPS, "under_maintenance": MNT, "degraded_performance": DEG,
        "partial_outage": PAR, "major_outage": MAJ,
    }),
    ("indicator", PAGE_INDICATOR, {
        "none": OPS, "maintenance": MNT, "minor": DEG, "major": PAR, "critical": MAJ,
    }),
    ("impact", INCIDENT_IMPACT, {
        "none": OPS, "minor": DEG, "major": PAR, "critical": MAJ, "maintenance": MNT,
    }),
]


@pytest.mark.parametrize(("table", "expected"), [c[1:] for c in VOCAB], ids=[c[0] for c in VOCAB])
def test_vocabularies_match_the_spec(table: dict[str, Level], expected: dict[str, Level]) -> None:
    assert table == expected
    assert UNK not in table.values()
