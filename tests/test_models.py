"""The model table: names read from incident titles and updates, and the user's model filter."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.shared import ARCHIVE, need
from tray_app.core.models import (
    Mentions,
    Model,
    ModelFilter,
    ModelFilterError,
    affects,
    describe,
    mentions,
    parse_filter,
    seen_models,
)

FIXTURES = Path(__file__).parent / "fixtures"


def notation(m: Mentions) -> str:
    """The fixtures' notation: filter keys in order, '-' for none, 'all' / '+ others' if broad."""
    text = ", ".join(model.key for model in m.named)
    if m.broad:
        return f"{text} + others" if text else "all"
    return text or "-"


def table(name: str, columns: int) -> list[list[str]]:
    rows = []
    for line in (FIXTURES / name).read_text("utf-8").splitlines():
        if line and not line.startswith("#"):
            row = line.split("\t")
            assert len(row) == columns, line
            rows.append(row)
    return rows


@pytest.fixture(scope="module")
def incidents_2026() -> list[dict[str, Any]]:
    need(ARCHIVE)
    data: list[dict[str, Any]] = json.loads(ARCHIVE.read_text("utf-8"))
    found = [i for i in data if i["created_at"].startswith("2026")]
    assert len(found) == 248
    return sorted(found, key=lambda i: i["created_at"])


def bodies(incident: dict[str, Any]) -> list[str]:
    ups = sorted(incident["incident_updates"], key=lambda u: u["created_at"])
    return [u["body"] for u in ups]


# --- every 2026 title of Claude's page ------------------------------------------------------


def test_every_2026_title_reads_as_the_table_says(incidents_2026: list[dict[str, Any]]) -> None:
    expected = {title: want for want, title in table("models-2026-titles.tsv", 2)}
    titles = {i["name"] for i in incidents_2026}
    assert titles == set(expected), (
        f"not in the table: {sorted(titles - set(expected))}; "
        f"not in the archive: {sorted(set(expected) - titles)}"
    )
    wrong = {t: (notation(mentions(t)), want) for t, want in expected.items()
             if notation(mentions(t)) != want}
    assert not wrong, wrong


def test_update_bodies_change_only_what_the_table_says(
    incidents_2026: list[dict[str, Any]],
) -> None:
    # Bodies add models ("Sonnet 4.6 is also showing elevated errors") but must not add noise:
    # times ("Opus 4.6 - 8:25 PT"), links ("/news/fable-mythos-access"), "non-Opus models".
    expected = {iid: (want, title) for iid, want, title in table("models-2026-bodies.tsv", 3)}
    got = {}
    for inc in incidents_2026:
        with_bodies = notation(mentions(inc["name"], bodies(inc)))
        if with_bodies != notation(mentions(inc["name"])):
            got[inc["id"]] = (with_bodies, inc["name"])
    assert got == expected


def test_the_2026_figures_for_the_readme(incidents_2026: list[dict[str, Any]]) -> None:
    read = [mentions(i["name"], bodies(i)) for i in incidents_2026]
    titles = [mentions(i["name"]) for i in incidents_2026]
    assert sum(bool(m.in_title) for m in titles) == 148  # titles that name a specific model
    assert sum(not m.for_everyone for m in read) == 147  # ...and name no others in general
    with_impact = [(i, m) for i, m in zip(incidents_2026, read, strict=True)
                   if i["impact"] != "none"]
    assert len(with_impact) == 231
    sonnet = parse_filter("sonnet")
    spared = [i["name"] for i, m in with_impact if not affects(sonnet, m)]
    assert len(spared) == 101, len(spared)
    # The title alone would spare one more: b9802k1zb5l2, "Elevated error rates on Opus 4.6",
    # whose update says "Sonnet 4.6 is also showing elevated errors".
    title_only = [i for i in incidents_2026 if i["impact"] != "none"
                  and not affects(sonnet, mentions(i["name"]))]
    assert len(title_only) == 102


def test_the_models_seen_in_the_newest_50(incidents_2026: list[dict[str, Any]]) -> None:
    newest = incidents_2026[-50:]
    menu = [m.label for m in seen_models(mentions(i["name"], bodies(i)) for i in newest)]
    assert menu == [
        "Mythos", "Mythos 5", "Fable", "Fable 5", "Opus", "Opus 5", "Opus 4.8", "Opus 4.7",
        "Opus 4.5", "Opus 4.1", "Sonnet", "Sonnet 5", "Sonnet 4.6",
        "Haiku", "Haiku 4.5",
    ]


# --- reading names -----------------------------------------------------------------------


def m(*keys: str) -> tuple[Model, ...]:
    out = []
    for key in keys:
        family, _, version = key.partition(" ")
        out.append(Model(family, version))
    return tuple(out)


@pytest.mark.parametrize(
    ("text", "named", "broad"),
    [
        ("Elevated errors on Claude Opus 4.6", m("opus 4.6"), False),
        ("Sonnet 4.6 and Sonnet 5 errors elevated", m("sonnet 4.6", "sonnet 5"), False),
        ("error rates on Sonnet 4.6 and 5 were elevated", m("sonnet 4.6", "sonnet 5"), False),
        ("issues affecting success rates on Opus 4.7 and 4.8", m("opus 4.7", "opus 4.8"), False),
        ("Opus 4.8, Opus 4.7, Opus 4.6, Sonnet 4.6, and Haiku 4.5",
         m("opus 4.8", "opus 4.7", "opus 4.6", "sonnet 4.6", "haiku 4.5"), False),
        ("Opus 4.8, 4.7, and 4.6", m("opus 4.8", "opus 4.7", "opus 4.6"), False),
        ("Elevated errors on Claude Opus 4.5 and Claude Sonnet 4.5",
         m("opus 4.5", "sonnet 4.5"), False),
        ("Elevated error rates on Claude Opus and Sonnet 4.6", m("opus 4.6", "sonnet 4.6"), False),
        ("elevated errors on Opus 48", m("opus 4.8"), False),
        ("Elevated errors on Opus-48.", m("opus 4.8"), False),
        ("Elevated errors on Claude Opus 4.8 (Fast Mode)", m("opus 4.8"), False),
        ("Fast Mode for Claude Opus 4.6", m("opus 4.6"), False),
        ("Elevated errors on Claude 3.5 Sonnet", m("sonnet 3.5"), False),
        ("October Claude 3.5 Sonnet and 3.7 Sonnet", m("sonnet 3.5", "sonnet 3.7"), False),
        ("Elevated errors on Claude 4 Opus", m("opus 4"), False),
        ("Elevated errors on Claude Sonnet 4.0", m("sonnet 4"), False),
        ("Fable not available in the model picker", m("fable"), False),
        ("Elevated errors across the Haiku family of models", m("haiku"), False),
        ("all Sonnet and Opus models were affected", m("sonnet", "opus"), False),
        ("Recovery times per model were: Opus 4.6 - 8:25 PT / 15:25 UTC Sonnet 4.6 — 9:23 PT",
         m("opus 4.6", "sonnet 4.6"), False),
        ("Learn more here: https://anthropic.com/news/fable-mythos-access", (), False),
        ("Opus 4.8 error rates were elevated from Opus 12:41 PDT", m("opus 4.8", "opus"), False),
        ("Elevated errors across several Claude products", (), False),
        ("Elevated errors on <b>Claude&nbsp;Haiku 4.5</b>", m("haiku 4.5"), False),
        ("Some users are experiencing memory leaks in Claude Code 2.1.27", (), False),
        ("Claude Code v2.1.120 Crashes on Startup", (), False),
        ("Elevated errors across multiple models", (), True),
        ("Elevated errors on many Claude models", (), True),
        ("Elevated errors for some models", (), True),
        ("Elevated errors across models", (), True),
        ("Elevated errors across all models", (), True),
        ("Elevated errors on several models", (), True),
        ("The issue affecting requests to non-Opus models has been resolved.", (), True),
        ("affecting requests to models other than Claude Opus 4.6", m("opus 4.6"), True),
        ("Claude Fable 5, Claude Sonnet 5, Claude Haiku 4.5, and other models",
         m("fable 5", "sonnet 5", "haiku 4.5"), True),
        ("a single model is affected", (), False),
        ("", (), False),
    ],
)
def test_reading_names(text: str, named: tuple[Model, ...], broad: bool) -> None:
    found = mentions(text)
    assert (found.named, found.broad) == (named, broad)
    assert found.in_title == named


def test_title_and_bodies_combine_as_a_union() -> None:
    found = mentions(
        "Elevated error rates on Opus 4.6",
        ["We are currently investigating this issue.",
         "Sonnet 4.6 is also showing elevated errors.",
         "As of 12:00 UTC Sonnet 4.6 is now healthy. We are still working to fix Opus 4.6."],
    )
    assert found.in_title == m("opus 4.6")
    assert found.named == m("opus 4.6", "sonnet 4.6")
    assert not found.broad
    assert found.label == "Opus 4.6, Sonnet 4.6"


def test_a_body_that_speaks_of_models_in_general_counts_for_everyone() -> None:
    found = mentions("Elevated errors on Claude Opus 4.6",
                     ["We are investigating elevated errors on requests to some Claude models."])
    assert found.broad and found.for_everyone
    assert affects(parse_filter("haiku"), found)


def test_bad_text_reads_as_nothing() -> None:
    found = mentions(None, [42, None, "Haiku 4.5 is also returning errors"])  # type: ignore[arg-type, list-item]
    assert found == Mentions(named=m("haiku 4.5"), in_title=(), broad=False)
    huge = "Opus 4.6 " + "x" * 1_000_000
    assert mentions(huge).named == m("opus 4.6")


def test_labels() -> None:
    assert Model("opus", "4.8").label == "Opus 4.8"
    assert Model("haiku").label == "Haiku"
    assert describe(m("opus 4.8", "haiku 4.5")) == "Opus 4.8, Haiku 4.5"
    assert mentions("Elevated errors on Opus 4.8 and Haiku 4.5").label == "Opus 4.8, Haiku 4.5"
    assert mentions(
        "Elevated errors for Claude Fable 5, Claude Sonnet 5, and other models"
    ).label == "Fable 5, Sonnet 5 and other models"
    assert mentions("Elevated errors across many models").label == ""
    assert mentions("Claude.ai down").label == ""


def test_seen_models_groups_families_newest_first() -> None:
    found = [mentions("Opus 4.6"), mentions("Haiku 4.5 and Sonnet 4.5"),
             mentions("Opus 4.10 and Opus 5"), mentions("Sonnet 5"), mentions("Fable")]
    assert [x.key for x in seen_models(found)] == [
        "opus", "opus 5", "opus 4.10", "opus 4.6", "sonnet", "sonnet 5", "sonnet 4.5",
        "haiku", "haiku 4.5", "fable",  # a family seen only without a version comes last
    ]
    assert seen_models([mentions("Claude.ai down")]) == ()


# --- the filter ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "entries"),
    [
        ("sonnet", "sonnet"),
        ("Sonnet", "sonnet"),
        ("sonnet, haiku 4.5", "sonnet, haiku 4.5"),
        (" sonnet ,, haiku 4.5 ; opus 5 ", "sonnet, haiku 4.5, opus 5"),
        ("Claude Sonnet 4.5", "sonnet 4.5"),
        ("claude-sonnet-4-5-20250929", "sonnet 4.5"),
        ("claude-opus-4-1", "opus 4.1"),
        ("claude-sonnet-4-20250514", "sonnet 4"),
        ("claude-3-5-sonnet-latest", "sonnet 3.5"),
        ("sonnet 4.0", "sonnet 4"),
        ("sonnet, Sonnet", "sonnet"),
        ("", ""),
        (" , ", ""),
    ],
)
def test_parse_filter(text: str, entries: str) -> None:
    parsed = parse_filter(text)
    assert str(parsed) == entries
    assert parse_filter(str(parsed)) == parsed  # what config stores reads back the same


def test_parse_filter_takes_a_config_list() -> None:
    assert parse_filter(["sonnet", "haiku 4.5, opus"]) == ModelFilter(
        m("sonnet", "haiku 4.5", "opus")
    )
    assert not parse_filter([])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sonet", "unknown model 'sonet' (did you mean 'sonnet'?): expected a model family "
                  "(mythos, fable, opus, sonnet, haiku), optionally with a version, "
                  "like 'sonnet' or 'haiku 4.5'"),
        ("sonnet, gpt-4", "unknown model 'gpt-4': expected a model family"),
        ("4.5", "unknown model '4.5': expected a model family"),
        ("opus sonnet", "'opus sonnet' names more than one family; separate models with commas"),
        ("sonnet x", "'sonnet x': the version must be a number like 4.5 or 5"),
        ("sonnet 4.5.1", "'sonnet 4.5.1': the version must be a number like 4.5 or 5"),
        ("haiku <b>4</b> 5 6", "'haiku 4 5 6': the version must be a number"),
    ],
)
def test_bad_filter_entries_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ModelFilterError) as err:
        parse_filter(text)
    assert str(err.value).startswith(message), str(err.value)


def test_a_filter_entry_must_be_text() -> None:
    with pytest.raises(ModelFilterError, match="a model must be text, got int"):
        parse_filter(["sonnet", 5])  # type: ignore[list-item]


SONNET_46 = Mentions(named=m("sonnet 4.6"))
SONNET_5 = Mentions(named=m("sonnet 5"))
SONNET_ANY = Mentions(named=m("sonnet"))
OPUS_48 = Mentions(named=m("opus 4.8"))
OPUS_AND_HAIKU = Mentions(named=m("opus 4.8", "haiku 4.5"))
BROAD = Mentions(broad=True)
BROAD_NAMING_OPUS = Mentions(named=m("opus 4.8"), broad=True)
NONE = Mentions()


@pytest.mark.parametrize(
    ("filter_text", "found", "counts"),
    [
        ("", OPUS_48, True),  # no filter: everything counts
        ("sonnet", SONNET_46, True),  # a family matches every version
        ("sonnet", SONNET_5, True),
        ("sonnet", SONNET_ANY, True),
        ("sonnet", OPUS_48, False),  # another family's incident is spared
        ("sonnet", OPUS_AND_HAIKU, False),
        ("sonnet 5", SONNET_5, True),  # a version matches only that version
        ("sonnet 5", SONNET_46, False),
        ("sonnet 5", SONNET_ANY, True),  # "Sonnet" without a version may be Sonnet 5
        ("sonnet 4", Mentions(named=m("sonnet 4.5")), False),
        ("sonnet 4.0", Mentions(named=m("sonnet 4")), True),
        ("haiku 4.5", OPUS_AND_HAIKU, True),  # any one named model is enough
        ("sonnet, haiku 4.5", OPUS_AND_HAIKU, True),
        ("sonnet, haiku 4.5", OPUS_48, False),
        ("sonnet", BROAD, True),  # "multiple models": counts for everyone
        ("sonnet", BROAD_NAMING_OPUS, True),  # "Opus 4.8 and other models"
        ("sonnet", NONE, True),  # names no model: counts for everyone
    ],
)
def test_affects(filter_text: str, found: Mentions, counts: bool) -> None:
    assert affects(parse_filter(filter_text), found) is counts
