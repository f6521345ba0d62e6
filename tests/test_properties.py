"""Property tests (issue 4, item 10): random and mutated Statuspage documents.

- The parser either returns a Summary or raises NotAStatuspage; it never raises anything else,
  and ``assess`` never raises at all.
- A document the parser does not understand (a value outside the known vocabularies, or a
  required field removed or of the wrong type) never reads as operational.

Runs are derandomised (the same examples every time) and keep no example database.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tray_app.core.assess import Watch, assess
from tray_app.core.levels import (
    COMPONENT_STATUS,
    INCIDENT_CLOSED,
    INCIDENT_IMPACT,
    INCIDENT_OPEN,
    MAINTENANCE_ACTIVE,
    MAINTENANCE_INACTIVE,
    PAGE_INDICATOR,
    Level,
)
from tray_app.core.presets import CLAUDE
from tray_app.core.statuspage import NotAStatuspage, decode, parse_summary

FIXTURES = Path(__file__).parent / "fixtures"
DOCS = {
    p.name: json.loads(p.read_text("utf-8")) for p in sorted(FIXTURES.glob("summary-*.json"))
}
EVERYTHING = Watch()
WATCHES = [EVERYTHING, CLAUDE.watch, Watch.of_names(["claude.ai", "API Gateway", "nothing"])]

PROPS = settings(
    max_examples=120,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

scalars = (
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
    | st.sampled_from(["operational", "none", "critical", "monitoring", "resolved", "in_progress"])
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                               max_size=4),
    max_leaves=12,
)
# Keys a summary has, so random documents often get past the "is it a summary at all" gate.
summary_like = st.fixed_dictionaries(
    {"status": json_values, "components": json_values},
    optional={
        "page": json_values, "incidents": json_values, "scheduled_maintenances": json_values,
    },
)


def check_total(doc: Any) -> None:
    """parse_summary returns or raises NotAStatuspage; assess never raises."""
    try:
        summary = parse_summary(doc)
    except NotAStatuspage:
        return
    for watch in WATCHES:
        a = assess(summary, watch, "Claude")
        assert isinstance(a.level, Level)
        if a.level is Level.UNKNOWN:
            assert a.reasons, "an unknown level must say why"


@PROPS
@given(json_values)
def test_random_json_never_breaks_the_parser(doc: Any) -> None:
    check_total(doc)


@PROPS
@given(summary_like)
def test_random_summary_shaped_documents_never_break_the_parser(doc: Any) -> None:
    check_total(doc)


@PROPS
@given(st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()))
def test_decode_returns_a_value_or_refuses(body: bytes) -> None:
    try:
        decode(body)
    except NotAStatuspage:
        pass


# --- mutations of real documents ---------------------------------------------------------------


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += paths(value, (*prefix, i))
    return out


def parent_of(doc: Any, path: tuple[Any, ...]) -> Any:
    node = doc
    for key in path[:-1]:
        node = node[key]
    return node


def delete(doc: Any, path: tuple[Any, ...]) -> None:
    parent = parent_of(doc, path)
    del parent[path[-1]]


def put(doc: Any, path: tuple[Any, ...], value: Any) -> None:
    parent_of(doc, path)[path[-1]] = value


def other_type(value: Any) -> st.SearchStrategy[Any]:
    return json_values.filter(lambda v: type(v) is not type(value))


@PROPS
@given(st.sampled_from(sorted(DOCS)), st.data())
def test_any_mutation_of_a_real_document_never_breaks_anything(name: str, data: Any) -> None:
    doc = copy.deepcopy(DOCS[name])
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        spots = paths(doc)
        if not spots:
            break
        path = data.draw(st.sampled_from(spots), label="path")
        how = data.draw(st.sampled_from(["drop", "retype", "string"]), label="how")
        if how == "drop":
            delete(doc, path)
        elif how == "retype":
            put(doc, path, data.draw(other_type(parent_of(doc, path)[path[-1]]), label="value"))
        else:
            put(doc, path, data.draw(st.text(max_size=20), label="value"))
    check_total(doc)


# --- what the parser does not understand is never green -------------------------------------------

UNKNOWN_WORD = {
    "indicator": st.text(max_size=20).filter(lambda s: s not in PAGE_INDICATOR),
    "component": st.text(max_size=20).filter(lambda s: s not in COMPONENT_STATUS),
    "incident_status": st.text(max_size=20).filter(
        lambda s: s not in INCIDENT_OPEN | INCIDENT_CLOSED
    ),
    "impact": st.text(max_size=20).filter(lambda s: s not in INCIDENT_IMPACT),
    "maintenance": st.text(max_size=20).filter(
        lambda s: s not in MAINTENANCE_ACTIVE | MAINTENANCE_INACTIVE
    ),
}
NOT_A_STRING = json_values.filter(lambda v: not isinstance(v, str))
NOT_A_LIST = json_values.filter(lambda v: not isinstance(v, list))
NOT_AN_OBJECT = json_values.filter(lambda v: not isinstance(v, dict))


def targets(doc: dict[str, Any]) -> list[tuple[str, tuple[Any, ...]]]:
    """Every place where an unreadable value must not read as green, with its vocabulary."""
    out: list[tuple[str, tuple[Any, ...]]] = [("indicator", ("status", "indicator")),
                                              ("status", ("status",)),
                                              ("list", ("components",))]
    components = doc.get("components")
    components = components if isinstance(components, list) else []
    rows = [c for c in components if isinstance(c, dict)]
    with_children = {c.get("group_id") for c in rows if isinstance(c.get("group_id"), str)}
    for i, c in enumerate(components):
        if not isinstance(c, dict):
            continue
        if c.get("group") is True and (c.get("id") in with_children or c.get("components")):
            continue  # a group row counts through its children (see test_assess)
        out += [("component", ("components", i, "status")), ("object", ("components", i))]
    for key in ("incidents", "scheduled_maintenances"):
        if not isinstance(doc.get(key), list):
            continue
        out.append(("list", (key,)))
        for j, inc in enumerate(doc[key]):
            if not isinstance(inc, dict):
                continue
            out.append(("object", (key, j)))
            if key == "scheduled_maintenances":
                out.append(("maintenance", (key, j, "status")))
                continue
            out.append(("incident_status", (key, j, "status")))
            if inc.get("status") not in INCIDENT_CLOSED:
                out.append(("impact", (key, j, "impact")))
    return [t for t in out if _exists(doc, t[1])]


@PROPS
@given(st.sampled_from(sorted(DOCS)), st.data())
def test_what_the_parser_does_not_understand_is_never_operational(name: str, data: Any) -> None:
    doc = copy.deepcopy(DOCS[name])
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        spots = targets(doc)
        if not spots:
            break
        vocab, path = data.draw(st.sampled_from(spots), label="target")
        how = data.draw(st.sampled_from(["unknown", "drop", "retype"]), label="how")
        if vocab in ("status", "list", "object"):
            strategy = {"status": NOT_AN_OBJECT, "list": NOT_A_LIST, "object": NOT_AN_OBJECT}
            if how == "drop" and (vocab == "object" or path != ("components",)):
                # Dropping a list item or an optional list leaves a readable document.
                how = "retype"
            if how == "drop":
                delete(doc, path)
            else:
                value = data.draw(strategy[vocab], label="value")
                if vocab == "list" and value is None and path != ("components",):
                    value = 0  # null stands for an absent optional list
                put(doc, path, value)
        elif how == "unknown":
            put(doc, path, data.draw(UNKNOWN_WORD[vocab], label="word"))
        elif how == "drop":
            delete(doc, path)
        else:
            put(doc, path, data.draw(NOT_A_STRING, label="value"))
    try:
        summary = parse_summary(doc)
    except NotAStatuspage:
        return  # status and components both broken: refused, which is not green either
    a = assess(summary, EVERYTHING, "Claude")
    assert a.level is not Level.OPERATIONAL, (a.headline, doc)
    assert a.level.is_problem or a.reasons


def _exists(doc: Any, path: tuple[Any, ...]) -> bool:
    node = doc
    for key in path:
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and key < len(node):
            node = node[key]
        else:
            return False
    return True


@PROPS
@given(st.sampled_from(sorted(DOCS)))
def test_unmutated_fixtures_read_as_named(name: str) -> None:
    # The baseline the mutation tests start from, so a mutation is what turns them.
    a = assess(parse_summary(copy.deepcopy(DOCS[name])), EVERYTHING)
    assert a.level is Level(name.removeprefix("summary-").split("-")[0].removesuffix(".json"))
