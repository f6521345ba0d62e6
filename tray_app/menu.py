"""What the tray shows, as data: icon state, tooltip and menu entries (no UI toolkit here).

The tray adapter turns a :class:`TrayModel` into pystray objects; keeping the model pure lets
tests check every label and action without a display, and lets the adapter skip a rebuild when
nothing changed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from .core.estimate import long_lines, short_text
from .core.incidents import parse_time
from .core.levels import Level, worst
from .core.notices import local_window
from .core.plaintext import clean, cut_utf16, utf16_len
from .core.prefs import Prefs, describe_left
from .core.urls import safe_link
from .monitor import ServiceView

# Windows' szTip[128] less its NUL, in UTF-16 code units (an emoji takes two); pystray's
# ctypes struct refuses more.
TOOLTIP_LIMIT = 127
MENU_TEXT_LIMIT = 80
NOT_WATCHED = " (not watched)"
MAX_INCIDENTS = 6

_MARK = {
    Level.OPERATIONAL: "✓",
    Level.MAINTENANCE: "◷",
    Level.DEGRADED: "!",
    Level.PARTIAL_OUTAGE: "▲",
    Level.MAJOR_OUTAGE: "✕",
    Level.UNKNOWN: "?",
}


@dataclass(frozen=True)
class Entry:
    text: str
    action: str = ""  # "" = an inert label
    arg: str = ""
    checked: bool | None = None
    enabled: bool = True
    children: tuple[Entry, ...] = ()
    separator: bool = False


SEPARATOR = Entry("", separator=True)


@dataclass(frozen=True)
class Extras:
    autostart: bool | None = None  # None: not supported here
    history: tuple[str, ...] = ()
    hint_enabled: bool = True


@dataclass(frozen=True)
class TrayModel:
    level: Level
    offline: bool
    badge: str  # "", "hint" or "paused"
    tooltip: str
    menu: tuple[Entry, ...] = field(default=())


def _label(text: str) -> str:
    return clean(text, MENU_TEXT_LIMIT)


def _clock(ts: float | None) -> str:
    return time.strftime("%H:%M", time.localtime(ts)) if ts else "not yet"


def overall(views: tuple[ServiceView, ...]) -> ServiceView | None:
    """The service that speaks for the icon: the worst one, else the first."""
    if not views:
        return None
    level = worst(v.level for v in views)
    for v in views:
        if v.level is level:
            return v
    return views[0]


def tooltip(views: tuple[ServiceView, ...], prefs: Prefs, now: float) -> str:
    lead = overall(views)
    if lead is None:
        return "Claude Status Tray: starting"
    lines = [clean(lead.status_line, 100)]
    typical = _lead_estimate(lead)
    if typical:
        lines.append(typical)
    if lead.hint:
        lines.append(clean(lead.hint, 100))
    elif lead.reason and lead.level is not Level.UNKNOWN:
        lines.append(clean(lead.reason, 60))
    if lead.via_mirror:
        lines.append("via the statuspage.io mirror")
    others = [v for v in views if v is not lead and v.level is not Level.OPERATIONAL]
    lines += [clean(f"{v.name}: {v.level.label}", 40) for v in others[:2]]
    when = f"checked {_clock(lead.checked_at)}"
    if prefs.paused(now):
        when += ", alerts paused"
    lines.append(when)
    text = "\n".join(lines)
    if utf16_len(text) > TOOLTIP_LIMIT:  # keep the "checked" line; cut the headline instead
        keep = TOOLTIP_LIMIT - utf16_len(lines[-1]) - 1
        text = clean("\n".join(lines[:-1]), 10 * TOOLTIP_LIMIT)
        text = cut_utf16(cut_utf16(text, keep) + "\n" + lines[-1], TOOLTIP_LIMIT)
    return text


def _lead_estimate(view: ServiceView) -> str:
    """The typical time to fix of the incident the headline names, shortened."""
    a = view.assessment
    colouring = a.colouring if a else []
    if colouring and colouring[0].id in view.estimates:
        return short_text(view.estimates[colouring[0].id])
    return ""


def _components(view: ServiceView) -> list[Entry]:
    """One status line per component: watched ones with their level's mark, then the others
    marked "(not watched)" with no mark at all (a ✓ would read as "fine and watched")."""
    a = view.assessment
    if a is None:
        return []
    watched = [
        Entry(_label(f"{_MARK[c.level]} {c.name}: {c.level.label}"), enabled=False)
        for c in a.components if c.watched
    ]
    others = [  # a long name is cut, never the marker
        Entry(f"{clean(c.name, MENU_TEXT_LIMIT - len(NOT_WATCHED))}{NOT_WATCHED}", enabled=False)
        for c in a.components if not c.watched
    ]
    return watched + others


_QUIET = {"not yours": "not your models", "stale": "no update for hours",
          "fixed": "fixed, being watched"}


def _incidents(view: ServiceView) -> list[Entry]:
    """Each open incident (a click opens its page), and under it the models it names and how
    long such incidents typically take; then the next scheduled maintenance."""
    a = view.assessment
    if a is None:
        return []
    out = []
    for inc in a.incidents[:MAX_INCIDENTS]:
        url = inc.url if safe_link(inc.url, view.links) else ""
        if inc.quiet:  # listed, not colouring the icon: no level mark, and why
            text = f"{inc.name} ({_QUIET.get(inc.quiet, inc.quiet)})"
        else:
            status = "recovering" if inc.recovering else inc.status.replace("_", " ")
            text = f"{_MARK[inc.level]} {inc.name} ({status})"
        out.append(Entry(_label(text), "open_url" if url else "", url, enabled=bool(url)))
        if inc.models and not inc.quiet:
            out.append(Entry(_label(f"– Affects: {inc.models}"), enabled=False))
        if inc.id in view.estimates:
            out += [Entry(_label(f"– {line}"), enabled=False)
                    for line in long_lines(view.estimates[inc.id])]
    for m in a.upcoming[:1]:
        start, end = parse_time(m.started_at), parse_time(m.ends_at)
        when = local_window(start, end) if start is not None else "soon"
        what = ", ".join(m.components[:3]) or m.name
        out.append(Entry(_label(f"Maintenance {when}: {what}"), enabled=False))
    return out


def _models(view: ServiceView) -> Entry | None:
    """The Models submenu: every model, or the families and versions the page has named."""
    if not view.models_seen and not view.models:
        return None
    chosen = {k.strip() for k in view.models.split(",") if k.strip()}
    items = [Entry("Every model", "toggle_model", "", checked=not chosen)]
    for key in dict.fromkeys((*view.models_seen, *sorted(chosen))):
        family, _, version = key.partition(" ")
        label = family.capitalize() + (f" {version}" if version else " (every version)")
        items.append(Entry(_label(label), "toggle_model", key, checked=key in chosen))
    return Entry("Models", children=tuple(items))


def _choices(view: ServiceView) -> Entry | None:
    a = view.assessment
    if a is None or not a.components:
        return None
    items = tuple(
        Entry(_label(c.name), "toggle_component", f"{view.key}\t{c.id}", checked=c.watched)
        for c in a.components
    )
    return Entry("Components", children=items)


def _notifications(prefs: Prefs, now: float) -> Entry:
    items = [Entry("Enabled", "toggle_notifications", checked=prefs.enabled)]
    if prefs.paused(now):
        left = describe_left(prefs.pause_left(now))
        items.append(Entry(f"Paused, {left} left", enabled=False))
        items.append(Entry("Resume now", "resume"))
    items.append(Entry("Pause for 1 hour", "pause_1h"))
    items.append(Entry("Pause until 08:00", "pause_tomorrow"))  # the next 08:00
    return Entry("Notifications", children=tuple(items))


def _service_menu(view: ServiceView, prefs: Prefs) -> Entry:
    items = [Entry(_label(view.status_line), enabled=False), *_components(view)]
    incidents = _incidents(view)
    if incidents:
        items += [SEPARATOR, *incidents]
    items.append(SEPARATOR)
    if view.level is not Level.OPERATIONAL or prefs.armed_for(view.key):
        items.append(Entry("Notify me when it's back", "arm", view.key,
                           checked=prefs.armed_for(view.key)))
    items.append(Entry("Open status page", "open_page", view.key))
    choices = _choices(view)
    if choices is not None:
        items.append(choices)
    return Entry(_label(f"{_MARK[view.level]} {view.name}: {view.level.label}"),
                 children=tuple(items))


def build(
    views: tuple[ServiceView, ...], prefs: Prefs, now: float, extras: Extras = Extras()
) -> TrayModel:
    lead = overall(views)
    level = worst(v.level for v in views) if views else Level.UNKNOWN
    main = views[0] if views else None
    menu: list[Entry] = []
    if lead is not None and main is not None:
        menu.append(Entry(_label(lead.status_line), enabled=False))
        if main.hint:
            menu.append(Entry(_label(main.hint), enabled=False))
        if main.reachability and extras.hint_enabled:
            menu.append(Entry(_label(main.reachability), enabled=False))
        if main.via_mirror:
            menu.append(Entry("Reading the statuspage.io mirror", enabled=False))
        menu.append(Entry(f"Last check: {_clock(main.checked_at)}", enabled=False))
        menu += [SEPARATOR, *_components(main)]
        incidents = _incidents(main)
        if incidents:
            menu += [SEPARATOR, *incidents]
        if len(views) > 1:
            menu += [SEPARATOR, *(_service_menu(v, prefs) for v in views[1:])]
    menu.append(SEPARATOR)
    if lead is not None and (lead.level is not Level.OPERATIONAL or prefs.armed_for(lead.key)):
        menu.append(Entry("Notify me when it's back", "arm", lead.key,
                          checked=prefs.armed_for(lead.key)))
    menu.append(Entry("Check now", "check_now"))
    menu.append(Entry("Open status page", "open_page", main.key if main else ""))
    menu.append(_notifications(prefs, now))
    if main is not None:
        choices = _choices(main)
        if choices is not None:
            menu.append(choices)
        models = _models(main)
        if models is not None:
            menu.append(models)
    if extras.history:
        history = [Entry(_label(line), enabled=False) for line in extras.history]
        history += [SEPARATOR, Entry("Show history chart", "show_chart")]
        menu.append(Entry("History", children=tuple(history)))
    if extras.autostart is not None:
        menu.append(Entry("Start at login", "toggle_autostart", checked=extras.autostart))
    menu += [SEPARATOR, Entry("Quit", "quit")]
    badge = "hint" if lead is not None and lead.hint else ""
    if not badge and (prefs.paused(now) or not prefs.enabled):
        badge = "paused"
    return TrayModel(
        level=level,
        offline=lead.offline if lead is not None else False,
        badge=badge,
        tooltip=tooltip(views, prefs, now),
        menu=tuple(menu),
    )
