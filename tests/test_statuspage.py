"""The Statuspage v2 parser: never raises on a summary; what it doesn't know never reads green."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tests.shared import SAMPLES, need
from tray_app.core.assess import Watch, assess
from tray_app.core.levels import Level
from tray_app.core.statuspage import MAX_DEPTH, NAME_LIMIT, NotAStatuspage, decode, parse_summary

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((FIXTURES / f"summary-{name}.json").read_text("utf-8"))
    return doc


def samples(pattern: str) -> list[Path]:
    need(SAMPLES)
    found = sorted(SAMPLES.glob(pattern))
    assert found, f"no sample matches {pattern}"
    return found


# --- well-formed documents -----------------------------------------------------------------


def test_parses_claudes_summary_shape() -> None:
    s = parse_summary(fixture("degraded"))
    assert s.page.id == "tymt9n04zgry"
    assert s.page.name == "Claude"
    assert s.page.time_zone == "Etc/UTC"
    assert (s.indicator, s.indicator_level) == ("minor", Level.DEGRADED)
    assert s.description == "Partially Degraded Service"
    assert [c.name for c in s.components][:2] == [
        "claude.ai", "Claude Console (platform.claude.com)"
    ]
    code = s.component("yyzkbfz2thpt")
    assert code is not None
    assert (code.status, code.level, code.problem) == ("degraded_performance", Level.DEGRADED, "")
    (inc,) = s.incidents
    assert (inc.id, inc.status, inc.impact, inc.level) == (
        "d4g7k2n9q5wx", "investigating", "minor", Level.DEGRADED
    )
    assert inc.component_ids == ("yyzkbfz2thpt",)
    assert inc.url == "https://stspg.io/d4g7k2n9"
    assert inc.started_at == "2026-09-14T08:41:05.317Z"
    assert s.problems == ()


def test_optional_keys_may_be_missing() -> None:
    doc = fixture("operational-no-incidents-key")
    assert not {"incidents", "scheduled_maintenances"} & doc.keys()
    s = parse_summary(doc)
    assert s.problems == ()
    assert s.incidents == s.maintenances == s.upcoming == ()
    assert s.page.time_zone == ""
    assert [c.level for c in s.components] == [Level.OPERATIONAL] * 3
    assert not any(c.is_group for c in s.components)


@pytest.mark.parametrize("key", ["incidents", "scheduled_maintenances"])
def test_optional_lists_may_be_null(key: str) -> None:
    doc = fixture("degraded")
    doc[key] = None
    s = parse_summary(doc)
    assert s.problems == ()
    assert getattr(s, "incidents" if key == "incidents" else "maintenances") == ()


def _add_junk(node: Any) -> None:
    if isinstance(node, dict):
        for value in list(node.values()):
            _add_junk(value)
        node["x_new_field"] = {"nested": [1, "two", None]}
    elif isinstance(node, list):
        for value in node:
            _add_junk(value)


def test_extra_keys_are_ignored_everywhere() -> None:
    for name in ("degraded", "maintenance", "degraded-groups"):
        plain = fixture(name)
        junk = copy.deepcopy(plain)
        _add_junk(junk)
        assert parse_summary(junk) == parse_summary(plain), name


def test_group_rows() -> None:
    s = parse_summary(fixture("degraded-groups"))
    group = s.component("g1pl4tf0rm2x")
    assert group is not None and group.is_group
    assert group.children == ("c7ap1gw4y9dk", "c3wrk5rq8zmn")
    child = s.component("c7ap1gw4y9dk")
    assert child is not None and not child.is_group and child.group_id == "g1pl4tf0rm2x"
    assert s.page.time_zone == "America/New_York"


@pytest.mark.parametrize("status", ["resolved", "postmortem", "completed"])
def test_closed_incidents_are_ignored(status: str) -> None:
    doc = fixture("partial_outage")
    doc["incidents"][0]["status"] = status
    assert parse_summary(doc).incidents == ()


@pytest.mark.parametrize("status", ["investigating", "identified", "monitoring"])
def test_open_incidents_are_kept(status: str) -> None:
    doc = fixture("partial_outage")
    doc["incidents"][0]["status"] = status
    (inc,) = parse_summary(doc).incidents
    assert (inc.status, inc.level, inc.problem) == (status, Level.PARTIAL_OUTAGE, "")
    assert inc.recovering is (status == "monitoring")


def test_incident_components_may_be_bare_ids() -> None:
    doc = fixture("major_outage")
    doc["incidents"][0]["components"] = ["rwppv331jlwc", {"id": "bpp5gb3hpjcl"}, 7, {"x": 1}]
    (inc,) = parse_summary(doc).incidents
    assert inc.component_ids == ("rwppv331jlwc", "bpp5gb3hpjcl")


@pytest.mark.parametrize(
    ("status", "where"),
    [("in_progress", "active"), ("verifying", "active"), ("scheduled", "upcoming"),
     ("completed", "none")],
)
def test_scheduled_maintenance_states(status: str, where: str) -> None:
    doc = fixture("maintenance")
    doc["scheduled_maintenances"][0]["status"] = status
    s = parse_summary(doc)
    assert s.problems == ()
    assert len(s.maintenances) == (where == "active")
    assert len(s.upcoming) == (where == "upcoming")
    for m in (*s.maintenances, *s.upcoming):
        assert m.is_maintenance and m.level is Level.MAINTENANCE
        assert m.started_at == "2026-10-10T06:00:00.000Z"  # scheduled_for


# --- values never seen before: unknown, reason kept, never raises ----------------------------


def test_unknown_indicator() -> None:
    s = parse_summary(fixture("unknown-new-indicator"))
    assert (s.indicator, s.indicator_level) == ("severe", Level.UNKNOWN)


@pytest.mark.parametrize("bad", [None, 3, ["minor"], {"v": "minor"}, True], ids=repr)
def test_wrong_typed_indicator(bad: Any) -> None:
    doc = fixture("operational")
    doc["status"]["indicator"] = bad
    assert parse_summary(doc).indicator_level is Level.UNKNOWN


@pytest.mark.parametrize("bad", [None, "none", ["none"], 0])
def test_status_not_an_object_with_components_present(bad: Any) -> None:
    doc = fixture("operational")
    doc["status"] = bad
    s = parse_summary(doc)
    assert s.indicator_level is Level.UNKNOWN
    assert len(s.components) == 6


def test_unknown_component_status_keeps_the_reason() -> None:
    s = parse_summary(fixture("unknown-component-status"))
    console = s.component("0qbwn08sd68x")
    assert console is not None and console.level is Level.UNKNOWN
    assert "Claude Console" in console.problem and "degraded_availability" in console.problem
    others = [c for c in s.components if c.id != "0qbwn08sd68x"]
    assert all(c.level is Level.OPERATIONAL and not c.problem for c in others)


@pytest.mark.parametrize("bad", ["MISSING", None, 3, ["operational"], {"s": "operational"}])
def test_missing_or_wrong_typed_component_status(bad: Any) -> None:
    doc = fixture("operational")
    if bad == "MISSING":
        del doc["components"][0]["status"]
    else:
        doc["components"][0]["status"] = bad
    c = parse_summary(doc).components[0]
    assert c.level is Level.UNKNOWN
    assert c.problem.startswith("claude.ai:")


def test_component_without_name_or_id_still_counts() -> None:
    doc = fixture("operational")
    doc["components"][0] = {"status": "major_outage"}
    c = parse_summary(doc).components[0]
    assert c.name == "component #1" and c.id and c.level is Level.MAJOR_OUTAGE


@pytest.mark.parametrize("bad", [{}, "all fine", 5, None], ids=repr)
def test_components_not_a_list_is_a_problem(bad: Any) -> None:
    doc = fixture("operational")
    doc["components"] = bad
    s = parse_summary(doc)
    assert s.components == ()
    assert len(s.problems) == 1 and "components" in s.problems[0]


def test_components_missing_is_a_problem() -> None:
    doc = fixture("operational")
    del doc["components"]
    assert parse_summary(doc).problems == ("'components' is missing",)


@pytest.mark.parametrize("bad", ["claude.ai", 1, None, ["x"]], ids=repr)
def test_component_entry_not_an_object_is_a_problem(bad: Any) -> None:
    doc = fixture("operational")
    doc["components"][2] = bad
    s = parse_summary(doc)
    assert len(s.components) == 5
    assert s.problems and s.problems[0].startswith("component #3 is a")


def test_unknown_incident_impact() -> None:
    (inc,) = parse_summary(fixture("unknown-new-incident-impact")).incidents
    assert inc.level is Level.UNKNOWN
    assert "severe" in inc.problem and "Intermittent login issues" in inc.problem


@pytest.mark.parametrize(("impact", "level"), [("major", Level.PARTIAL_OUTAGE),
                                               ("none", Level.UNKNOWN)])
def test_unknown_incident_status_known_problem_still_wins(impact: str, level: Level) -> None:
    doc = fixture("partial_outage")
    doc["incidents"][0]["status"] = "escalated"
    doc["incidents"][0]["impact"] = impact
    (inc,) = parse_summary(doc).incidents
    assert inc.level is level
    assert "escalated" in inc.problem


@pytest.mark.parametrize("field", ["status", "impact"])
@pytest.mark.parametrize("bad", ["MISSING", None, 2, ["major"]], ids=repr)
def test_missing_or_wrong_typed_incident_fields(field: str, bad: Any) -> None:
    doc = fixture("operational")
    inc = copy.deepcopy(fixture("degraded")["incidents"][0])
    inc["impact"] = "none"
    if bad == "MISSING":
        del inc[field]
    else:
        inc[field] = bad
    doc["incidents"] = [inc]
    (parsed,) = parse_summary(doc).incidents
    assert parsed.level is Level.UNKNOWN
    assert parsed.problem


@pytest.mark.parametrize("key", ["incidents", "scheduled_maintenances"])
@pytest.mark.parametrize("bad", [{}, "none", 0], ids=repr)
def test_incident_lists_of_the_wrong_type_are_problems(key: str, bad: Any) -> None:
    doc = fixture("operational")
    doc[key] = bad
    s = parse_summary(doc)
    assert len(s.problems) == 1 and key in s.problems[0]


@pytest.mark.parametrize("key", ["incidents", "scheduled_maintenances"])
def test_incident_entry_not_an_object_is_a_problem(key: str) -> None:
    doc = fixture("operational")
    doc[key] = ["Claude is down", 3]
    assert len(parse_summary(doc).problems) == 2


@pytest.mark.parametrize("bad", ["paused", None, 4, ["in_progress"], {"a": 1}], ids=repr)
def test_unknown_maintenance_status_is_unknown(bad: Any) -> None:
    doc = fixture("maintenance")
    doc["scheduled_maintenances"][0]["status"] = bad
    (m,) = parse_summary(doc).maintenances
    assert m.level is Level.UNKNOWN
    assert "maintenance status" in m.problem


# --- not a summary at all ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "doc",
    [[], [{"status": {}}], "summary", 3, 2.5, None, True, {},
     {"error": {"type": "overloaded_error", "message": "Overloaded"}},
     {"status": "ok", "version": "1.2"}, {"components": "none"}, {"page": None, "status": None}],
    ids=repr,
)
def test_not_a_summary(doc: Any) -> None:
    with pytest.raises(NotAStatuspage, match="expected a Statuspage v2 summary.json"):
        parse_summary(doc)


@pytest.mark.parametrize(
    ("doc", "says"),
    [({"hello": "world"}, "has none of a Statuspage's keys (keys: hello)"),
     ({"status": "ok", "version": "1"},
      "only Statuspage key is 'status' is a string, not an object (keys: status, version)")],
    ids=["no-keys", "one-key-wrong"],
)
def test_not_a_summary_says_what_it_saw_without_contradiction(doc: Any, says: str) -> None:
    with pytest.raises(NotAStatuspage) as caught:
        parse_summary(doc)
    assert says in str(caught.value)
    assert "neither" not in str(caught.value)


WRONG_TYPES = [
    # The shape of the report in issue 11: every Statuspage key, two of the wrong type.
    ({"page": {"id": "x", "name": "Claude"}, "status": "x",
      "components": {"a": {"status": "operational"}}, "incidents": []},
     "'status' is a string, not an object; 'components' is an object, not a list"),
    ({"status": "ok", "components": {"a": "operational"}},
     "'status' is a string, not an object; 'components' is an object, not a list"),
    ({"status": 5, "components": "x"},
     "'status' is a number, not an object; 'components' is a string, not a list"),
    ({"page": [], "status": {"indicator": "none"}, "components": []},
     "'page' is an array, not an object"),
    ({"page": {"id": "x"}, "status": {"indicator": "none"}, "components": [], "incidents": 7},
     "'incidents' is a number, not a list"),
    ({"page": {"id": "x"}}, "'components' is missing"),
]


@pytest.mark.parametrize(("doc", "says"), WRONG_TYPES, ids=[w[1][:40] for w in WRONG_TYPES])
@pytest.mark.parametrize("watch", [Watch(), Watch.of_names(["a"])], ids=["all", "filtered"])
def test_a_statuspage_with_values_of_the_wrong_types_is_unknown_naming_them(
    doc: Any, says: str, watch: Watch
) -> None:
    s = parse_summary(doc)
    assert s.problems[0] == says
    a = assess(s, watch, "Claude")
    assert a.level is Level.UNKNOWN
    assert a.reasons[0] == says and says in a.headline


def test_a_status_json_is_read_but_flagged() -> None:
    # /api/v2/status.json has page and status but no components: readable, not complete.
    s = parse_summary({"page": {"id": "tymt9n04zgry"}, "status": {"indicator": "none"}})
    assert s.indicator_level is Level.OPERATIONAL
    assert s.problems == ("'components' is missing",)


# --- decode ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"", "empty"),
        (b"  \r\n\t ", "empty"),
        (b"<!DOCTYPE html><html><title>Just a moment...</title></html>", "HTML"),
        (b"\n   <html><body>Log in to the Wi-Fi</body></html>", "HTML"),
        (b"\xef\xbb\xbf<html></html>", "HTML"),
        (b"\xff\xfe{\x00}\x00", "not UTF-8"),
        (b'{"status": "\xc3\x28"}', "not UTF-8"),
        (b"garbage", "not valid JSON"),
        (b'{"page": {"id": "tymt9n04zgry"', "not valid JSON"),
        (b"{'single': 'quotes'}", "not valid JSON"),
        (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), "nests more than"),
        (b'{"a":' * (MAX_DEPTH + 1) + b"1" + b"}" * (MAX_DEPTH + 1), "nests more than"),
        (b"[" * 200_000 + b"]" * 200_000, "nests"),
    ],
    ids=["empty", "whitespace", "challenge-html", "portal-html", "bom-html", "utf16",
         "bad-utf8", "garbage", "truncated", "python-repr", "deep-arrays", "deep-objects",
         "recursion-bomb"],
)
def test_decode_rejects(body: bytes, says: str) -> None:
    with pytest.raises(NotAStatuspage, match=says):
        decode(body)


def test_decode_accepts_exactly_max_depth_and_a_bom() -> None:
    deepest = b"[" * MAX_DEPTH + b"1" + b"]" * MAX_DEPTH
    value = decode(deepest)
    for _ in range(MAX_DEPTH):
        assert isinstance(value, list)
        value = value[0]
    assert value == 1
    body = (FIXTURES / "summary-operational.json").read_bytes()
    assert decode(b"\xef\xbb\xbf" + body) == json.loads(body)


# --- network text is cleaned -------------------------------------------------------------------


def test_names_lose_control_bidi_and_markup() -> None:
    doc = fixture("degraded")
    doc["components"][3]["name"] = "Claude\u202e Code\x00\x1b[31m\u200b"
    doc["incidents"][0]["name"] = "<b>Elevated</b>\u2066 errors\r\nin Claude Code\u2069"
    doc["page"]["name"] = "\u202bClaude\u202c"
    s = parse_summary(doc)
    assert s.components[3].name == "Claude Code[31m"
    assert s.incidents[0].name == "Elevated errors in Claude Code"
    assert s.page.name == "Claude"
    for text in (s.components[3].name, s.incidents[0].name, s.page.name):
        assert text.isprintable()


def test_long_names_are_capped() -> None:
    doc = fixture("degraded")
    doc["incidents"][0]["name"] = "x" * 10_000
    doc["components"][0]["name"] = "y " * 5_000
    s = parse_summary(doc)
    assert len(s.incidents[0].name) == NAME_LIMIT
    assert len(s.components[0].name) <= NAME_LIMIT


def test_reasons_quote_hostile_values_cleaned() -> None:
    doc = fixture("operational")
    doc["components"][0]["status"] = "evil\u202e<script>x</script>" + "z" * 500
    problem = parse_summary(doc).components[0].problem
    assert "\u202e" not in problem and "<script>" not in problem
    assert len(problem) < 120


# --- real pages (optional) ---------------------------------------------------------------------


def test_real_summaries_parse_without_problems() -> None:
    names = ["anthropic_*summary*.json", "openai_incidentio_summary_json.json",
             "github_summary_*.json", "statuspage_with_component_groups.json"]
    paths = [p for pattern in names for p in samples(pattern)]
    for path in paths:
        s = parse_summary(decode(path.read_bytes()))
        assert s.problems == (), path.name
        assert s.components, path.name
        assert all(c.level.is_known for c in s.components), path.name
        assert all(i.level.is_known for i in (*s.incidents, *s.maintenances)), path.name


def test_real_non_summaries_are_refused() -> None:
    for path in samples("anthropic_api_*.json"):
        with pytest.raises(NotAStatuspage):
            parse_summary(decode(path.read_bytes()))
    # unresolved.json is a Statuspage document, just not a summary: read, and unknown.
    for path in samples("anthropic_unresolved_*.json"):
        s = parse_summary(decode(path.read_bytes()))
        assert "'components' is missing" in s.problems, path.name
        assert assess(s).level is Level.UNKNOWN
