"""The effective level of a page for the components a user watches."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tests.shared import SAMPLES, need
from tray_app.core.assess import Assessment, Selector, Watch, assess
from tray_app.core.levels import Level
from tray_app.core.presets import CLAUDE
from tray_app.core.statuspage import decode, parse_summary

FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE_FILES = sorted(FIXTURES.glob("summary-*.json"))

CLAUDE_AI, CONSOLE, API, CODE, COWORK, GOV = (
    "rwppv331jlwc", "0qbwn08sd68x", "k8w3r06qmzrp", "yyzkbfz2thpt", "bpp5gb3hpjcl", "0scnb50nvy53"
)


def fixture(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((FIXTURES / f"summary-{name}.json").read_text("utf-8"))
    return doc


EVERYTHING = Watch()


def run(doc: dict[str, Any], watch: Watch = EVERYTHING, service: str = "Claude") -> Assessment:
    return assess(parse_summary(doc), watch, service)


def names(*wanted: str) -> Watch:
    return Watch.of_names(wanted)


def level_in_name(path: Path) -> Level:
    return Level(path.stem.removeprefix("summary-").split("-")[0])


def set_status(doc: dict[str, Any], component_id: str, status: str) -> None:
    for c in doc["components"]:
        if c["id"] == component_id:
            c["status"] = status
            return
    raise AssertionError(component_id)


# --- the fixtures table ------------------------------------------------------------------------


def test_fixture_names_cover_every_level() -> None:
    assert {level_in_name(p) for p in FIXTURE_FILES} == set(Level)


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=[p.name for p in FIXTURE_FILES])
def test_fixture_yields_the_level_in_its_name(path: Path) -> None:
    a = assess(parse_summary(decode(path.read_bytes())))
    assert a.level is level_in_name(path), a.reasons
    assert bool(a.reasons) is (a.level is Level.UNKNOWN or "unknown" in path.name)


# Under the Claude preset the indicator does not count (it is a filtered watch), so these show
# that the components and incidents alone reach the same level. The two fixtures whose only
# problem is the page indicator are left out on purpose: see test_preset_ignores_the_indicator.
PRESET_CASES = [
    p for p in FIXTURE_FILES
    if json.loads(p.read_text("utf-8"))["page"]["id"] == CLAUDE.page_id
    and p.stem not in ("summary-unknown-new-indicator", "summary-unknown-missing-indicator")
]


@pytest.mark.parametrize("path", PRESET_CASES, ids=[p.name for p in PRESET_CASES])
def test_fixture_level_holds_under_the_claude_preset(path: Path) -> None:
    a = assess(parse_summary(decode(path.read_bytes())), CLAUDE.watch, "Claude")
    assert a.level is level_in_name(path), a.reasons


def test_preset_ignores_the_indicator() -> None:
    # Documented behaviour (issue 2): with a component filter the page indicator doesn't count,
    # even when its value is new; without a filter that same page is unknown.
    doc = fixture("unknown-new-indicator")
    assert run(doc).level is Level.UNKNOWN
    assert run(doc, CLAUDE.watch).level is Level.OPERATIONAL


# --- worst of indicator, watched components and the incidents touching them -------------------


def test_unfiltered_level_is_the_worst_of_all_three() -> None:
    doc = fixture("degraded")  # Claude Code degraded, minor incident, indicator minor
    assert run(doc).level is Level.DEGRADED
    doc["status"]["indicator"] = "major"
    assert run(doc).level is Level.PARTIAL_OUTAGE  # the indicator alone
    doc["status"]["indicator"] = "minor"
    doc["incidents"][0]["impact"] = "critical"
    assert run(doc).level is Level.MAJOR_OUTAGE  # the incident alone
    doc["incidents"] = []
    set_status(doc, COWORK, "partial_outage")
    assert run(doc).level is Level.PARTIAL_OUTAGE  # a component alone


def test_with_a_filter_the_indicator_does_not_count() -> None:
    doc = fixture("major_outage")  # indicator critical; claude.ai and Cowork down
    a = run(doc, names("Claude Code"))
    assert a.level is Level.OPERATIONAL
    assert a.incidents == ()  # the incident touches only other components
    assert [c.name for c in a.watched] == ["Claude Code"]
    assert run(doc, names("claude.ai")).level is Level.MAJOR_OUTAGE


def test_an_incident_raises_the_components_it_touches() -> None:
    doc = fixture("major_outage")
    # Cowork reads partial_outage, but the critical incident touching it makes it major.
    assert run(doc, names("Claude Cowork")).level is Level.MAJOR_OUTAGE
    doc["incidents"][0]["impact"] = "minor"
    assert run(doc, names("Claude Cowork")).level is Level.PARTIAL_OUTAGE


def test_names_match_without_regard_to_case() -> None:
    doc = fixture("degraded")
    a = run(doc, names("CLAUDE CODE", "  claude.AI "))
    assert a.level is Level.DEGRADED
    assert {c.name for c in a.watched} == {"Claude Code", "claude.ai"}
    assert a.reasons == ()


def test_a_name_the_page_does_not_have_is_unknown_and_lists_the_names() -> None:
    a = run(fixture("operational"), names("Claude Desktop"))
    assert a.level is Level.UNKNOWN
    (reason,) = a.reasons
    assert "Claude Desktop" in reason
    for name in ("claude.ai", "Claude Console (platform.claude.com)", "Claude Code",
                 "Claude API (api.anthropic.com)", "Claude Cowork", "Claude for Government"):
        assert name in reason
    assert a.headline.startswith("Claude: unknown, no component named Claude Desktop")


def test_a_missing_name_next_to_a_known_problem() -> None:
    doc = fixture("major_outage")
    assert run(doc, names("claude.ai", "Claude Desktop")).level is Level.MAJOR_OUTAGE
    assert run(doc, names("Claude Code", "Claude Desktop")).level is Level.UNKNOWN


def test_id_selector() -> None:
    a = run(fixture("degraded"), Watch.of_names(["id:" + CODE]))
    assert a.level is Level.DEGRADED
    assert [c.name for c in a.watched] == ["Claude Code"]


def test_renamed_component_is_still_watched_by_its_learned_id() -> None:
    doc = fixture("operational")
    first = run(doc, names("claude console (platform.claude.com)"))
    assert first.level is Level.OPERATIONAL
    assert first.watch.include == (
        Selector(name="Claude Console (platform.claude.com)", id=CONSOLE),
    )
    renamed = copy.deepcopy(doc)
    renamed["components"][1]["name"] = "Claude Platform"
    set_status(renamed, CONSOLE, "partial_outage")
    again = run(renamed, first.watch)
    assert again.level is Level.PARTIAL_OUTAGE
    assert [c.name for c in again.watched] == ["Claude Platform"]
    assert again.reasons == ()
    # The old name alone would no longer find it.
    assert run(renamed, names("Claude Console (platform.claude.com)")).level is Level.UNKNOWN


def test_a_learned_id_that_vanished_falls_back_to_the_name() -> None:
    doc = fixture("degraded")
    watch = Watch(include=(Selector(name="Claude Code", id="gone00000000"),))
    assert run(doc, watch).level is Level.DEGRADED


def test_summary_problems_make_even_a_filtered_watch_unknown() -> None:
    doc = fixture("operational")
    doc["incidents"] = {"oops": True}  # an unreadable incident list might hide anything
    a = run(doc, names("claude.ai"))
    assert a.level is Level.UNKNOWN
    assert "'incidents' is an object, not a list" in a.reasons


# --- groups ------------------------------------------------------------------------------------


def test_a_group_row_counts_through_its_children_not_twice() -> None:
    doc = fixture("degraded-groups")
    a = run(doc, service="Example")
    assert [c.name for c in a.components] == ["API Gateway", "Workers", "Dashboard"]
    assert a.level is Level.DEGRADED
    # Watching the group watches its children.
    g = run(doc, names("platform"))
    assert {c.name for c in g.watched} == {"API Gateway", "Workers"}
    assert g.level is Level.DEGRADED
    # The group row's own status plays no part: a red row over green children reads green.
    doc["components"][0]["status"] = "major_outage"
    doc["incidents"] = []
    set_status(doc, "c7ap1gw4y9dk", "operational")
    doc["status"]["indicator"] = "none"
    assert run(doc, names("Platform")).level is Level.OPERATIONAL
    assert run(doc).level is Level.OPERATIONAL


def test_an_incident_on_the_group_touches_its_children() -> None:
    doc = fixture("degraded-groups")
    doc["incidents"][0]["components"] = [{"id": "g1pl4tf0rm2x", "name": "Platform"}]
    assert run(doc, names("Workers")).level is Level.DEGRADED
    assert run(doc, names("Dashboard")).level is Level.OPERATIONAL


# --- incidents ---------------------------------------------------------------------------------


def test_an_incident_listing_no_components_touches_every_component() -> None:
    doc = fixture("major_outage-incident-no-components")
    for watch in (names("Claude Code"), names("claude.ai"), CLAUDE.watch):
        a = run(doc, watch)
        assert a.level is Level.MAJOR_OUTAGE
        assert [i.name for i in a.incidents] == ["Elevated errors across Claude"]


def test_monitoring_incident_with_green_components_reads_recovering() -> None:
    doc = fixture("degraded-monitoring-recovering")
    a = run(doc)
    assert a.level is Level.DEGRADED
    assert a.headline == "Claude: recovering, Claude.ai unavailable"
    assert a.incidents[0].recovering
    assert run(doc, names("claude.ai")).level is Level.DEGRADED


def test_monitoring_counts_by_its_own_status_not_its_components() -> None:
    # Issue 10: a fix is out, so the incident is degraded at most, even while a component
    # only it holds still reads partial outage; it is "recovering" only once they read green.
    doc = fixture("degraded-monitoring-recovering")
    set_status(doc, COWORK, "partial_outage")  # touched by the monitoring incident only
    a = run(doc)
    assert a.level is Level.DEGRADED
    assert not a.incidents[0].recovering
    assert a.headline == "Claude: degraded, Claude.ai unavailable"
    # For a user who watches only claude.ai (green), it is recovering.
    assert run(doc, names("claude.ai")).incidents[0].recovering


def test_a_component_shared_with_an_active_incident_counts_in_full() -> None:
    doc = fixture("degraded-monitoring-recovering")
    active = copy.deepcopy(fixture("degraded")["incidents"][0])  # minor, on Claude Code
    active["components"] = [c for c in doc["components"] if c["id"] == COWORK]
    doc["incidents"].append(active)
    set_status(doc, COWORK, "major_outage")
    a = run(doc)
    assert a.level is Level.MAJOR_OUTAGE  # the active incident holds Cowork: it counts
    # ... and the active incident is raised to what its component reads; the monitoring one
    # is not raised by a component it shares.
    by_name = {i.name: i for i in a.incidents}
    assert by_name[active["name"]].level is Level.MAJOR_OUTAGE
    assert by_name["Claude.ai unavailable"].level is Level.DEGRADED


@pytest.mark.parametrize(
    ("impact", "level"),
    [("none", Level.OPERATIONAL), ("minor", Level.DEGRADED), ("major", Level.DEGRADED),
     ("critical", Level.DEGRADED), ("brand_new", Level.DEGRADED)],
)
def test_monitoring_counts_as_degraded_at_most(impact: str, level: Level) -> None:
    doc = fixture("degraded-monitoring-recovering")
    doc["incidents"][0]["impact"] = impact
    doc["status"]["indicator"] = "none"
    assert run(doc, names("claude.ai")).level is level


def test_indicator_is_discounted_when_only_recovering_incidents_hold_it_up() -> None:
    doc = fixture("degraded-monitoring-recovering")  # indicator critical
    minor = copy.deepcopy(fixture("degraded")["incidents"][0])  # Claude Code, minor
    doc["incidents"].append(minor)
    set_status(doc, CODE, "degraded_performance")
    a = run(doc)
    assert a.level is Level.DEGRADED, a.headline
    # Not discounted when something else explains the indicator.
    set_status(doc, CODE, "major_outage")
    assert run(doc).level is Level.MAJOR_OUTAGE


def test_indicator_is_not_discounted_without_a_recovering_incident() -> None:
    doc = fixture("operational")
    doc["status"]["indicator"] = "critical"  # the page says so, nothing else does
    assert run(doc).level is Level.MAJOR_OUTAGE


def test_known_problem_beats_an_unknown_part() -> None:
    a = run(fixture("partial_outage-beats-unknown-component"))
    assert a.level is Level.PARTIAL_OUTAGE
    assert any("degraded_availability" in r for r in a.reasons)
    a = run(fixture("unknown-component-status"))
    assert a.level is Level.UNKNOWN


def test_unknown_part_outside_the_watch_does_not_count() -> None:
    doc = fixture("unknown-component-status")  # the Console's status is new
    assert run(doc, names("claude.ai")).level is Level.OPERATIONAL
    assert run(doc, names("Claude Console (platform.claude.com)")).level is Level.UNKNOWN


def test_active_maintenance_and_upcoming() -> None:
    a = run(fixture("maintenance"), names("Claude Console (platform.claude.com)"))
    assert a.level is Level.MAINTENANCE
    assert a.incidents[0].is_maintenance
    b = run(fixture("operational-upcoming-maintenance"))
    assert b.level is Level.OPERATIONAL
    assert [u.name for u in b.upcoming] == ["Database upgrade for Claude Console"]
    assert b.incidents == ()


def test_incidents_are_listed_worst_first() -> None:
    doc = fixture("degraded")
    big = copy.deepcopy(fixture("major_outage")["incidents"][0])
    doc["incidents"].append(big)
    a = run(doc)
    assert [i.level for i in a.incidents] == [Level.MAJOR_OUTAGE, Level.DEGRADED]
    assert a.headline == "Claude: major outage, Claude.ai unavailable"


# --- the Claude preset -------------------------------------------------------------------------


def government_only_outage() -> dict[str, Any]:
    doc = fixture("operational")
    set_status(doc, GOV, "major_outage")
    doc["status"] = {"indicator": "critical", "description": "Major System Outage"}
    inc = copy.deepcopy(fixture("major_outage")["incidents"][0])
    inc["name"] = "Claude for Government unavailable"
    inc["components"] = [copy.deepcopy(doc["components"][5])]
    doc["incidents"] = [inc]
    return doc


def test_claude_preset_leaves_out_government() -> None:
    doc = government_only_outage()
    assert run(doc).level is Level.MAJOR_OUTAGE
    a = run(doc, CLAUDE.watch)
    assert a.level is Level.OPERATIONAL
    assert GOV not in {c.id for c in a.watched}
    assert len(a.watched) == 5


def test_claude_preset_excludes_government_by_id_after_a_rename() -> None:
    doc = government_only_outage()
    doc["components"][5]["name"] = "Claude Gov"
    assert run(doc, CLAUDE.watch).level is Level.OPERATIONAL


def test_claude_preset_still_sees_the_rest() -> None:
    doc = government_only_outage()
    set_status(doc, API, "partial_outage")
    assert run(doc, CLAUDE.watch).level is Level.PARTIAL_OUTAGE


# --- headline and description ------------------------------------------------------------------


def test_headlines() -> None:
    assert run(fixture("partial_outage")).headline == (
        "Claude: partial outage, Elevated errors on the Claude API"
    )
    assert run(fixture("operational")).headline == "Claude: operational"
    assert run(fixture("unknown-new-indicator")).headline == (
        "Claude: unknown, page status indicator 'severe'"
    )
    doc = fixture("degraded")
    doc["incidents"] = []
    assert run(doc).headline == "Claude: degraded, Claude Code"


def test_service_name_defaults_to_the_page_name() -> None:
    a = assess(parse_summary(fixture("operational-no-incidents-key")))
    assert a.service == "OpenAI"
    assert a.headline == "OpenAI: operational"


def test_description_is_the_pages_own_only_when_it_speaks_for_the_watch() -> None:
    assert run(fixture("partial_outage")).description == "Partial System Outage"
    filtered = run(fixture("partial_outage"), names("Claude API (api.anthropic.com)"))
    assert filtered.description == "partial outage, Elevated errors on the Claude API"


# --- real pages (optional) ---------------------------------------------------------------------

# What each of Claude's sample summaries should read, from reading it:
SAMPLE_EXPECTATIONS = {
    # all six components operational, no incidents, indicator none
    "anthropic_summary_all_operational.json": (Level.OPERATIONAL, Level.OPERATIONAL),
    # right after an incident resolved: it has dropped out, everything operational
    "anthropic_summary_after_recovery.json": (Level.OPERATIONAL, Level.OPERATIONAL),
    # Claude Code degraded_performance, minor incident on it, indicator minor
    "anthropic_summary_minor_degraded.json": (Level.DEGRADED, Level.DEGRADED),
    # Claude API degraded_performance, minor incident on it
    "anthropic_summary_minor_degraded_api.json": (Level.DEGRADED, Level.DEGRADED),
    # Claude API partial_outage, major incident on it, indicator major
    "anthropic_summary_partial_outage_api_only.json": (Level.PARTIAL_OUTAGE,
                                                        Level.PARTIAL_OUTAGE),
    # claude.ai and Cowork major_outage (API/Code partial); indicator only "major", but a
    # component at major_outage makes the whole major
    "anthropic_summary_major_outage_claude_ai.json": (Level.MAJOR_OUTAGE, Level.MAJOR_OUTAGE),
    # Console under_maintenance, an in-progress maintenance on it, indicator maintenance
    "anthropic_summary_under_maintenance.json": (Level.MAINTENANCE, Level.MAINTENANCE),
    "anthropic_recon_summary_under_maintenance.json": (Level.MAINTENANCE, Level.MAINTENANCE),
}


def test_every_claude_sample_summary_has_an_expectation() -> None:
    need(SAMPLES)
    found = {p.name for p in SAMPLES.glob("anthropic_*summary*.json")}
    assert found == set(SAMPLE_EXPECTATIONS)


@pytest.mark.parametrize("name", sorted(SAMPLE_EXPECTATIONS))
def test_claude_sample_summaries(name: str) -> None:
    path = need(SAMPLES / name)
    summary = parse_summary(decode(path.read_bytes()))
    unfiltered, preset = SAMPLE_EXPECTATIONS[name]
    a = assess(summary, Watch(), "Claude")
    assert a.level is unfiltered, a.headline
    assert a.reasons == ()
    assert assess(summary, CLAUDE.watch, "Claude").level is preset
    if summary.incidents:
        assert a.headline == f"Claude: {a.level.label}, {summary.incidents[0].name}"


def test_other_sample_pages() -> None:
    expected = {
        # incident.io's compatible summary, no incidents keys, Codex API degraded
        "openai_incidentio_summary_json.json": Level.DEGRADED,
        # GitHub Actions degraded_performance with a minor incident
        "github_summary_actions_degraded.json": Level.DEGRADED,
        # a group with a degraded child
        "statuspage_with_component_groups.json": Level.DEGRADED,
    }
    need(SAMPLES)
    for name, level in expected.items():
        a = assess(parse_summary(decode((SAMPLES / name).read_bytes())))
        assert a.level is level, name
        assert not any(c.name == "HashiCorp Cloud Platform (HCP)" for c in a.components)
