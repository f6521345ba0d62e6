"""Unwatched components are listed as such, with no level mark (a ✓ would read as "fine
and watched"), wherever components are status lines; the Components submenu stays the place
to choose."""

from __future__ import annotations

from tests.test_menu import NOW, find, view_of
from tray_app.core.assess import Selector, Watch
from tray_app.core.levels import Level
from tray_app.core.prefs import Prefs
from tray_app.demo import COMPONENTS, summary
from tray_app.menu import MENU_TEXT_LIMIT, Entry, build

GOVERNMENT = "Claude for Government"
EXCLUDE_GOVERNMENT = Watch(exclude=(Selector(name=GOVERNMENT),))


def status_lines(entries: tuple[Entry, ...]) -> list[str]:
    return [e.text for e in entries if not e.separator and not e.enabled and not e.action]


def test_an_unwatched_component_is_marked_and_has_no_check() -> None:
    menu = build((view_of(summary(), watch=EXCLUDE_GOVERNMENT),), Prefs(), NOW).menu
    lines = status_lines(menu)
    assert f"{GOVERNMENT} (not watched)" in lines
    line = next(e for e in menu if e.text == f"{GOVERNMENT} (not watched)")
    assert line.checked is None and not line.enabled and not line.action
    assert not any(t.startswith("✓") and GOVERNMENT in t for t in lines)
    # The watched ones keep their marks, and come first.
    watched = [f"✓ {name}: operational" for _, name in COMPONENTS if name != GOVERNMENT]
    start = lines.index(watched[0])
    assert lines[start:start + len(COMPONENTS)] == [*watched, f"{GOVERNMENT} (not watched)"]


def test_an_unwatched_component_in_an_outage_shows_no_level() -> None:
    doc = summary(Level.MAJOR_OUTAGE)  # every component down, Government too
    menu = build((view_of(doc, watch=EXCLUDE_GOVERNMENT),), Prefs(), NOW).menu
    assert f"{GOVERNMENT} (not watched)" in status_lines(menu)
    assert not any(GOVERNMENT in t and "outage" in t for t in status_lines(menu))


def test_the_components_submenu_still_holds_the_checkboxes() -> None:
    menu = build((view_of(summary(), watch=EXCLUDE_GOVERNMENT),), Prefs(), NOW).menu
    choices = find(menu, "Components")
    gov = next(e for e in choices.children if e.text == GOVERNMENT)
    assert gov.checked is False and gov.action == "toggle_component"
    assert all(e.checked is not None for e in choices.children)


def test_other_services_submenus_mark_unwatched_components_too() -> None:
    main = view_of(summary())
    other = view_of(summary(name="Other"), key="other", name="Other", watch=EXCLUDE_GOVERNMENT)
    menu = build((main, other), Prefs(), NOW).menu
    submenu = find(menu, "✓ Other: operational")
    assert f"{GOVERNMENT} (not watched)" in status_lines(submenu.children)


def test_a_long_unwatched_name_is_cut_but_keeps_its_marker() -> None:
    doc = summary()
    long_name = "Claude for Government " + "x" * 200
    for c in doc["components"]:
        if c["name"] == GOVERNMENT:
            c["name"] = long_name
    menu = build((view_of(doc, watch=Watch(exclude=(Selector(id="0scnb50nvy53"),))),),
                 Prefs(), NOW).menu
    line = next(t for t in status_lines(menu) if t.startswith("Claude for Government"))
    assert line.endswith("… (not watched)") and len(line) <= MENU_TEXT_LIMIT
