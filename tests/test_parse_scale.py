"""Reading a page costs time in proportion to its size, and its size is capped.

Cost is counted, not timed: the number of Python lines the core executes (``sys.settrace``) for
a generated page of n component groups and for one four times as big. Linear work grows about
4x; the old quadratic grouping grew about 16x. The count doesn't depend on the machine's load.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

import tray_app.core
from tray_app.core.assess import Selector, Watch, assess
from tray_app.core.levels import Level
from tray_app.core.statuspage import MAX_COMPONENTS, MAX_INCIDENTS, parse_summary

CORE = str(Path(tray_app.core.__file__).parent)


def page(groups: int, *, children: int = 4, incidents: int | None = None) -> dict[str, Any]:
    """A page of ``groups`` groups with their children, as many loose components, and an
    incident for every second group naming three of its components."""
    components: list[dict[str, Any]] = []
    for g in range(groups):
        kids = [f"c{g}-{k}" for k in range(children)]
        components.append({"id": f"g{g}", "name": f"Group {g}", "status": "operational",
                           "group": True, "components": kids})
        components += [{"id": kid, "name": f"Part {kid}", "status": "operational",
                        "group_id": f"g{g}"} for kid in kids]
        components.append({"id": f"l{g}", "name": f"Loose {g}", "status": "operational"})
    count = groups // 2 if incidents is None else incidents
    return {
        "page": {"id": "big", "name": "Big"},
        "status": {"indicator": "minor", "description": "Minor"},
        "components": components,
        "incidents": [{"id": f"i{n}", "name": f"Incident {n}", "status": "investigating",
                       "impact": "minor", "components": [{"id": f"c{n * 2}-0"}, f"g{n * 2}",
                                                         {"id": f"l{n * 2}"}]}
                      for n in range(count)],
    }


def lines_run(work: Callable[[], object]) -> int:
    count = 0

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal count
        if not frame.f_code.co_filename.startswith(CORE):
            return None
        if event == "line":
            count += 1
        return tracer

    sys.settrace(tracer)
    try:
        work()
    finally:
        sys.settrace(None)
    return count


def everything_ticked(doc: dict[str, Any]) -> Watch:
    """What the menu saves when every component is ticked: one selector per leaf, by id."""
    leaves = [c for c in doc["components"] if not c.get("group")]
    return Watch(include=tuple(Selector(name=c["name"], id=c["id"]) for c in leaves))


def by_name(doc: dict[str, Any]) -> Watch:
    """A hand-written config naming every group and loose component."""
    return Watch(include=tuple(Selector(name=c["name"]) for c in doc["components"]
                               if "group_id" not in c))


@pytest.mark.parametrize("watch", [lambda d: Watch(), everything_ticked, by_name],
                         ids=["all", "every-leaf-by-id", "every-group-by-name"])
def test_reading_a_page_is_linear_in_its_size(watch: Callable[[dict[str, Any]], Watch]) -> None:
    def cost(groups: int) -> int:
        doc = page(groups)
        chosen = watch(doc)
        return lines_run(lambda: assess(parse_summary(doc), chosen, "Big"))

    small, big = cost(50), cost(200)
    assert big / small < 5.5, (small, big)  # linear: ~4; the quadratic grouping gave ~16


def test_a_large_page_is_read_whole_and_right() -> None:
    doc = page(MAX_COMPONENTS // 6, incidents=MAX_INCIDENTS)  # 6 rows per group
    doc["components"][1]["status"] = "major_outage"  # a child of the first group
    s = parse_summary(doc)
    assert s.problems == () and len(s.components) == len(doc["components"]) <= MAX_COMPONENTS
    a = assess(s, Watch.of_names(["Group 0"]), "Big")
    assert a.level is Level.MAJOR_OUTAGE
    assert {c.id for c in a.watched} == {f"c0-{k}" for k in range(4)}


@pytest.mark.parametrize(
    ("key", "cap", "what"),
    [("components", MAX_COMPONENTS, "components"), ("incidents", MAX_INCIDENTS, "incidents"),
     ("scheduled_maintenances", MAX_INCIDENTS, "scheduled maintenances")],
)
def test_past_the_cap_the_rest_is_not_read_and_the_page_is_unknown(key: str, cap: int,
                                                                    what: str) -> None:
    doc = page(10, incidents=0)
    doc["status"] = {"indicator": "none", "description": "All Systems Operational"}
    row: dict[str, Any] = {"id": "x", "name": "X", "status": "operational"}
    if key != "components":
        row = {"id": "x", "name": "X", "status": "in_progress" if key != "incidents"
               else "investigating", "impact": "none", "components": []}
    doc[key] = [dict(row, id=f"x{n}") for n in range(cap + 5)]
    s = parse_summary(doc)
    assert f"the page lists {cap + 5} {what}; only the first {cap} are read" in s.problems
    read = {"components": s.components, "incidents": s.incidents,
            "scheduled_maintenances": s.maintenances}[key]
    assert len(read) == cap
    a = assess(s)  # never green: unknown, unless what was read is a known problem
    expected = Level.MAINTENANCE if key == "scheduled_maintenances" else Level.UNKNOWN
    assert a.level is expected and any(what in r for r in a.reasons)
