"""The tray model as data: every label, action and check state, without a display."""

from __future__ import annotations

import re
import time
from dataclasses import replace
from typing import Any

import pytest

from tray_app.core.assess import Selector, Watch
from tray_app.core.levels import Level
from tray_app.core.model import Fetched
from tray_app.core.prefs import Prefs
from tray_app.core.statuspage import parse_summary
from tray_app.demo import COMPONENTS, summary
from tray_app.menu import TOOLTIP_LIMIT, Entry, Extras, TrayModel, build
from tray_app.monitor import Monitor, ServiceView

NOW = 1_800_000_000.0
HOSTS = frozenset({"status.claude.com", "stspg.io"})
CLAUDE_WATCH = Watch(exclude=(Selector(name="Claude for Government"),))
GOVERNMENT = "0scnb50nvy53"


class PageSource:
    base = "https://status.claude.com"
    using_mirror = False

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc

    def fetch(self) -> Fetched:
        return Fetched(self.base + "/api/v2/summary.json", summary=parse_summary(self.doc))

    def hosts(self) -> frozenset[str]:
        return HOSTS


def view_of(doc: dict[str, Any], key: str = "claude", name: str = "Claude",
            watch: Watch = CLAUDE_WATCH) -> ServiceView:
    m = Monitor(key=key, name=name, source=PageSource(doc), watch=watch)
    m.poll(NOW - 90)
    return m.view()


def texts(entries: tuple[Entry, ...]) -> list[str]:
    return [e.text for e in entries if not e.separator]


def find(entries: tuple[Entry, ...], prefix: str) -> Entry:
    for e in entries:
        if e.text.startswith(prefix):
            return e
        if e.children:
            try:
                return find(e.children, prefix)
            except LookupError:
                pass
    raise LookupError(prefix)


def has(entries: tuple[Entry, ...], prefix: str) -> bool:
    try:
        find(entries, prefix)
    except LookupError:
        return False
    return True


DEFAULT_PREFS, NO_EXTRAS = Prefs(), Extras()


def model(*views: ServiceView, prefs: Prefs = DEFAULT_PREFS,
          extras: Extras = NO_EXTRAS) -> TrayModel:
    return build(views, prefs, NOW, extras)


def test_an_operational_page() -> None:
    m = model(view_of(summary()))
    assert m.level is Level.OPERATIONAL and m.badge == "" and not m.offline
    head = m.menu[0]
    assert head.text == "Claude: operational" and not head.enabled and not head.action
    assert m.menu[1].text.startswith("Last check: ")
    watched = [e for e in m.menu if e.text.startswith("✓ ")]
    assert [e.text for e in watched] == [
        f"✓ {name}: operational" for cid, name in COMPONENTS if cid != GOVERNMENT
    ]
    assert all(not e.enabled for e in watched)
    assert not has(m.menu, "Notify me when it's back")
    assert [e.action for e in m.menu if e.action] == [
        "check_now", "open_page", "quit"
    ]
    assert m.menu[-1].text == "Quit"


def test_an_outage_shows_components_incidents_and_the_one_shot() -> None:
    m = model(view_of(summary(Level.PARTIAL_OUTAGE, affected=("yyzkbfz2thpt",))))
    assert m.level is Level.PARTIAL_OUTAGE
    assert m.menu[0].text == "Claude: partial outage, Claude Code login failures"
    assert has(m.menu, "▲ Claude Code: partial outage")
    incident = find(m.menu, "▲ Claude Code login failures (investigating)")
    assert (incident.action, incident.arg, incident.enabled) == (
        "open_url", "https://stspg.io/demopartial_", True
    )
    arm = find(m.menu, "Notify me when it's back")
    assert (arm.action, arm.checked) == ("arm", False)


def test_the_one_shot_stays_visible_while_armed() -> None:
    m = model(view_of(summary()), prefs=Prefs(armed=True))
    arm = find(m.menu, "Notify me when it's back")
    assert arm.checked is True


@pytest.mark.parametrize(
    "link",
    [
        "javascript:alert(document.cookie)",
        "http://stspg.io/demo",
        "https://evil.example/phish",
        "https://stspg.io.evil.example/x",
        "https://user:pw@stspg.io/x",
        "https://stspg.io/a b",
        "file:///etc/passwd",
        "",
    ],
)
def test_a_hostile_incident_link_is_a_disabled_entry(link: str) -> None:
    doc = summary(Level.MAJOR_OUTAGE)
    doc["incidents"][0]["shortlink"] = link
    entry = find(model(view_of(doc)).menu, "✕ Elevated errors")
    assert (entry.action, entry.arg, entry.enabled) == ("", "", False)


def test_components_submenu_has_a_check_per_component_by_id() -> None:
    v = view_of(summary())
    components = find(model(v).menu, "Components")
    assert [(e.text, e.action, e.arg, e.checked) for e in components.children] == [
        (name, "toggle_component", f"claude\t{cid}", cid != GOVERNMENT)
        for cid, name in COMPONENTS
    ]
    only_code = view_of(summary(), watch=Watch(include=(Selector(id="yyzkbfz2thpt"),)))
    checks = {e.arg.split("\t")[1]: e.checked
              for e in find(model(only_code).menu, "Components").children}
    assert [cid for cid, on in checks.items() if on] == ["yyzkbfz2thpt"]


def test_notifications_submenu_and_the_pause() -> None:
    v = view_of(summary())
    idle = find(model(v).menu, "Notifications")
    assert texts(idle.children) == [
        "Enabled", "Pause for 1 hour", "Pause until 08:00"
    ]
    assert idle.children[0].checked is True
    paused = model(v, prefs=Prefs(paused_until=NOW + 50 * 60 - 30))
    items = find(paused.menu, "Notifications").children
    assert "Paused, 50 min left" in texts(items)
    assert find(items, "Resume now").action == "resume"
    assert paused.badge == "paused"
    assert find(model(v, prefs=Prefs(enabled=False)).menu, "Enabled").checked is False
    assert model(v, prefs=Prefs(enabled=False)).badge == "paused"
    long_pause = model(v, prefs=Prefs(paused_until=NOW + 16 * 3600))
    assert has(long_pause.menu, "Paused, 16 h 00 min left")


def test_the_hint_is_shown_apart_and_marks_the_icon() -> None:
    hint = "Claude looks unreachable from here; the status page still says all systems operational"
    v = replace(view_of(summary()), hint=hint)
    m = model(v, prefs=Prefs(paused_until=NOW + 600))
    assert m.badge == "hint"  # the hint wins over the pause marker
    assert m.level is Level.OPERATIONAL  # never the red state by itself
    assert m.menu[0].text == "Claude: operational"
    assert m.menu[1].text == hint[:79] + "…" and not m.menu[1].enabled
    assert "unreachable from here" in m.tooltip


def test_what_the_service_answered_is_shown_apart_and_only_when_the_hint_is_on() -> None:
    seen = "From this machine: claude.ai: HTTP 200, api.anthropic.com: HTTP 401"
    v = replace(view_of(summary()), reachability=seen)
    m = model(v)
    assert m.menu[0].text == "Claude: operational"
    assert find(m.menu, "From this machine").text == seen
    assert not find(m.menu, "From this machine").enabled
    assert not has(model(v, extras=Extras(hint_enabled=False)).menu, "From this machine")


def test_history_and_autostart_entries() -> None:
    extras = Extras(autostart=False, history=("Uptime: 24 h 100.00%", "No outages recorded yet"))
    m = model(view_of(summary()), extras=extras)
    history = find(m.menu, "History")
    assert texts(history.children) == [
        "Uptime: 24 h 100.00%", "No outages recorded yet", "Show history chart"
    ]
    assert find(history.children, "Show history chart").action == "show_chart"
    auto = find(m.menu, "Start at login")
    assert (auto.action, auto.checked) == ("toggle_autostart", False)
    assert not has(model(view_of(summary())).menu, "Start at login")  # unsupported: no entry


def test_several_services_get_submenus_and_the_worst_leads() -> None:
    claude = view_of(summary())
    other = view_of(summary(Level.MAJOR_OUTAGE, name="OpenAI"), key="openai", name="OpenAI",
                    watch=Watch())
    m = model(claude, other)
    assert m.level is Level.MAJOR_OUTAGE
    assert m.menu[0].text.startswith("OpenAI: major outage")  # the headline is the worst
    sub = find(m.menu, "✕ OpenAI: major outage")
    assert find(sub.children, "Open status page").arg == "openai"
    assert [e.arg for e in find(sub.children, "Components").children][0].startswith("openai\t")
    top = [e for e in m.menu if e.text == "Open status page"]
    assert [e.arg for e in top] == ["claude"]  # the top-level one opens the first service


def test_unknown_level_says_why() -> None:
    m = Monitor(key="claude", name="Claude", source=PageSource(summary()))
    m.state = replace(m.state, level=Level.UNKNOWN, reason="can't reach the status page (x)")
    built = model(m.view())
    assert built.level is Level.UNKNOWN
    assert built.menu[0].text == "Claude: can't reach the status page (x)"
    assert has(built.menu, "Notify me when it's back")


def test_no_service_yet() -> None:
    built = model()
    assert built.level is Level.UNKNOWN
    assert built.tooltip == "Claude Status Tray: starting"
    assert texts(built.menu)[-1] == "Quit"


# -- text from the network is cleaned -----------------------------------------------------------

HOSTILE = "<b>Claude</b> \x1b[31mCode\u202e\u200b\x00 <script>alert(1)</script>&amp; more"


def hostile_page() -> dict[str, Any]:
    doc = summary(Level.MAJOR_OUTAGE)
    for c in doc["components"]:
        c["name"] = HOSTILE + " " + c["id"]
    doc["incidents"][0]["name"] = HOSTILE + " " + "x" * 400
    return doc


def all_texts(entries: tuple[Entry, ...]) -> list[str]:
    out = []
    for e in entries:
        out.append(e.text)
        out += all_texts(e.children)
    return out


def test_markup_and_control_characters_never_reach_the_menu() -> None:
    built = model(view_of(hostile_page(), watch=Watch()))
    for text in [*all_texts(built.menu), built.tooltip]:
        assert not re.search(r"[<>\x00-\x08\x0b-\x1f\x7f\u200b\u202e]", text), text
        assert "script" not in text and "&amp;" not in text
        assert len(text) <= 127
    # The component is still listed, with its name made harmless.
    assert "✕ Claude [31mCode + more yyzkbfz2thpt: major outage" in all_texts(built.menu)


@pytest.mark.parametrize("paused", [False, True])
@pytest.mark.parametrize("n_services", [1, 3])
def test_the_tooltip_fits_and_always_says_when_it_checked(paused: bool, n_services: int) -> None:
    views = [view_of(hostile_page(), watch=Watch())]
    views += [view_of(summary(Level.DEGRADED, name=f"Service {n} " + "y" * 80), key=f"s{n}",
                      name=f"Service {n} " + "y" * 80, watch=Watch())
              for n in range(n_services - 1)]
    prefs = Prefs(paused_until=NOW + 600) if paused else Prefs()
    tip = model(*views, prefs=prefs).tooltip
    assert len(tip) <= TOOLTIP_LIMIT
    last = tip.splitlines()[-1]
    stamp = time.strftime("%H:%M", time.localtime(NOW - 90))
    assert last == f"checked {stamp}" + (", alerts paused" if paused else "")
    assert tip.splitlines()[0].startswith("Claude: major outage")


def test_a_short_tooltip_is_left_whole() -> None:
    tip = model(view_of(summary())).tooltip
    stamp = time.strftime("%H:%M", time.localtime(NOW - 90))
    assert tip == f"Claude: operational\nchecked {stamp}"
