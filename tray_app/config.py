"""The user's settings: a TOML file in the platform's config directory, overridden by flags.

A broken file never stops the program: one line names the file, the line and the problem, the
defaults (or the other, valid keys) apply, and the file is left untouched. The file is written
only when the user changes a setting from the menu, and then atomically.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .atomic import write_atomic
from .core.assess import Selector, Watch
from .core.policy import Kind, PolicyConfig
from .core.presets import CLAUDE, PRESETS, Preset, preset_for_url
from .core.timing import Timing
from .core.urls import BadURL, page_base
from .proxy import check_setting

log = logging.getLogger(__name__)

CONFIG_NAME = "config.toml"
ALL_KINDS = frozenset(k.value for k in Kind)
DEFAULT_ONLINE_CHECK = ("1.1.1.1:443", "8.8.8.8:53", "9.9.9.9:443")
ONLINE_CHECK_ENV = "CST_ONLINE_CHECK"  # host:port,... overrides the default (tests, odd networks)


def _default_online_check() -> tuple[str, ...]:
    override = os.environ.get(ONLINE_CHECK_ENV, "")
    targets = tuple(t.strip() for t in override.split(",") if t.strip())
    return targets or DEFAULT_ONLINE_CHECK
DEFAULT_REACHABILITY = ("https://claude.ai", "https://api.anthropic.com/v1/messages")


@dataclass(frozen=True)
class ServiceConfig:
    name: str
    url: str
    components: tuple[Selector, ...] = ()
    exclude: tuple[Selector, ...] = ()
    page_id: str = ""
    aliases: frozenset[str] = frozenset()
    key: str = ""

    @property
    def watch(self) -> Watch:
        return Watch(self.components, self.exclude)


@dataclass(frozen=True)
class Config:
    url: str = CLAUDE.url
    interval: float = 60.0
    components: tuple[Selector, ...] = ()
    notify_on: frozenset[str] = ALL_KINDS
    recovery_confirmations: int = 2
    models: tuple[str, ...] = ()  # the model filter ("sonnet", "haiku 4.5"); empty: every model
    monitoring_grace: float = Timing().monitoring_grace
    stale_after: float = Timing().stale_after
    extra_services: tuple[ServiceConfig, ...] = ()
    reachability: bool = True
    reachability_urls: tuple[str, ...] = DEFAULT_REACHABILITY
    online_check: tuple[str, ...] = field(default_factory=_default_online_check)
    mirror: str = "https://{id}.statuspage.io"
    proxy: str = ""  # "" the system's proxy settings, "none", or a proxy URL
    notifications: bool = True
    paused_until: float = 0.0
    autostart: bool | None = None  # None: the file doesn't say; the menu's choice stands
    source_path: Path | None = field(default=None, compare=False)
    problems: tuple[str, ...] = field(default=(), compare=False)
    notes: tuple[str, ...] = field(default=(), compare=False)  # fine, but worth a word

    def timing(self) -> Timing:
        return Timing(interval=self.interval, recovery_confirmations=self.recovery_confirmations,
                      monitoring_grace=self.monitoring_grace, stale_after=self.stale_after)

    def policy(self) -> PolicyConfig:
        return PolicyConfig(notify=frozenset(Kind(k) for k in self.notify_on),
                            timing=self.timing())

    def main_service(self) -> ServiceConfig:
        """The first service: the top-level url, with the preset's defaults for known pages."""
        preset: Preset | None = preset_for_url(self.url)
        if preset is not None:
            exclude = () if self.components else preset.watch.exclude
            return ServiceConfig(preset.name, self.url, self.components, exclude,
                                 preset.page_id, preset.aliases, preset.key)
        return ServiceConfig("", self.url, self.components, key=service_key(self.url))

    def services(self) -> tuple[ServiceConfig, ...]:
        return (self.main_service(), *self.extra_services)


def service_key(url: str) -> str:
    """What a service's state and menu entries are filed under: the preset's key for a known
    page, else the page's address without the scheme (host, port and path). Never its place
    in the file, so reordering or removing ``[[services]]`` can't hand one page's remembered
    outage to another."""
    preset = preset_for_url(url)
    return preset.key if preset is not None else url.split("://", 1)[-1]


class ConfigError(ValueError):
    """A problem in the config file, with the file and line in the message."""


def _line_of(text: str, key: str) -> int:
    pattern = re.compile(rf"^[ \t]*{re.escape(key)}[ \t]*=", re.MULTILINE)  # not across lines
    match = pattern.search(text)
    return text.count("\n", 0, match.start()) + 1 if match else 1


def load(path: Path) -> tuple[Config, list[str]]:
    """Read the file; return the config and one message per problem (empty when all is well)."""
    if not path.exists():
        return Config(source_path=path), []
    import tomllib  # only when there is a file to read

    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"line (\d+)", str(exc))
        where = f"{path}:{line.group(1)}" if line else str(path)
        message = f"{where}: {exc}; running on defaults (the file is left as it is)"
        return Config(source_path=path, problems=(message,)), [message]
    except (OSError, UnicodeDecodeError) as exc:
        message = f"{path}: can't read it ({exc}); running on defaults"
        return Config(source_path=path, problems=(message,)), [message]
    cfg, problems = from_dict(data, text, path)
    return replace(cfg, problems=tuple(problems)), problems


def from_dict(data: dict[str, Any], text: str = "", path: Path | None = None) -> tuple[
    Config, list[str]
]:
    problems: list[str] = []
    values: dict[str, Any] = {}
    where = str(path) if path else "config"

    def bad(key: str, why: str) -> None:
        problems.append(f"{where}:{_line_of(text, key)}: {key} {why}; using the default")

    for key, value in data.items():
        try:
            values.update(_convert(key, value))
        except ConfigError as exc:
            bad(key, str(exc))
    timing_problems = replace(Config(source_path=path), **values).timing().problems()
    if timing_problems:
        keys = [k for k in ("monitoring_grace", "stale_after", "recovery_confirmations",
                            "interval") if k in values]
        problems.append(f"{where}:{_line_of(text, keys[0]) if keys else 1}: "
                        f"{timing_problems[0]}; using the defaults for monitoring_grace and "
                        "stale_after")
        values.pop("monitoring_grace", None)
        values.pop("stale_after", None)
    known = set(Config.__dataclass_fields__) - {"source_path", "problems", "notes",
                                                "extra_services"}
    known |= {"services", "notifications_paused_until"}
    for key in data:
        if key not in known:
            problems.append(f"{where}:{_line_of(text, key)}: unknown setting {key!r} ignored")
    cfg, repeats = _merge_repeats(replace(Config(source_path=path), **values))
    for number, message in repeats:
        problems.append(f"{where}:{_services_line(text, number)}: {message}")
    notes = []
    if data.get("reachability") is True and "unreachable" not in cfg.notify_on:
        notes.append(
            f"{where}:{_line_of(text, 'notify_on')}: notify_on leaves out \"unreachable\", so "
            "the reachability hint shows in the menu but never notifies (add it to notify_on "
            "to be told)"
        )
    return replace(cfg, notes=tuple(notes)), problems


def _selectors(value: Any) -> tuple[Selector, ...]:
    if isinstance(value, str):
        value = [v for v in value.split(",") if v.strip()]
    if not isinstance(value, list):
        raise ConfigError("must be a list of component names")
    out = []
    for item in value:
        if isinstance(item, str):
            out.append(Selector.parse(item))
        elif isinstance(item, dict) and isinstance(item.get("id", item.get("name")), str):
            out.append(Selector(name=str(item.get("name", "")), id=str(item.get("id", ""))))
        else:
            raise ConfigError("must list names (strings) or {id, name} tables")
    return tuple(out)


def _convert(key: str, value: Any) -> dict[str, Any]:
    if key == "url":
        if not isinstance(value, str):
            raise ConfigError("must be a string")
        try:
            return {"url": page_base(value)}
        except BadURL as exc:
            raise ConfigError(f"is not usable: {exc}") from exc
    if key in ("interval", "monitoring_grace", "stale_after"):
        if (isinstance(value, bool) or not isinstance(value, int | float) or value <= 0
                or not math.isfinite(value)):
            raise ConfigError("must be a positive number of seconds")
        return {key: float(value)}
    if key == "components":
        return {"components": _selectors(value)}
    if key == "notify_on":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"must be a list drawn from {sorted(ALL_KINDS)}")
        unknown = set(value) - ALL_KINDS
        if unknown:
            raise ConfigError(f"has unknown kinds {sorted(unknown)} (known: {sorted(ALL_KINDS)})")
        return {"notify_on": frozenset(value)}
    if key == "models":
        from .core.models import parse_filter

        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError('must be a list of model names, e.g. ["sonnet", "haiku 4.5"]')
        try:
            chosen = parse_filter(value)
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        return {"models": tuple(m.key for m in chosen.entries)}
    if key == "recovery_confirmations":
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 20:
            raise ConfigError("must be a whole number from 1 to 20")
        return {"recovery_confirmations": value}
    if key in ("paused_until", "notifications_paused_until"):
        return {"paused_until": _epoch(value)}
    if key in ("reachability", "notifications", "autostart"):
        if not isinstance(value, bool):
            raise ConfigError("must be true or false")
        return {key: value}
    if key in ("reachability_urls", "online_check"):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError("must be a list of strings")
        return {key: tuple(value)}
    if key == "proxy":
        if not isinstance(value, str):
            raise ConfigError('must be a proxy URL or "none"')
        try:
            return {"proxy": check_setting(value)}
        except ValueError as exc:
            raise ConfigError(f"is not usable: {exc}") from exc
    if key == "mirror":
        if not isinstance(value, str) or "{id}" not in value:
            raise ConfigError("must be a URL template containing {id}")
        return {"mirror": value}
    if key == "services":
        return {"extra_services": _services(value)}
    return {}


def _epoch(value: Any) -> float:
    """A TOML date-time (an offset, or local time) or epoch seconds."""
    if isinstance(value, dt.datetime):
        return value.timestamp()  # a local date-time (no offset) is taken in local time
    if (isinstance(value, bool) or not isinstance(value, int | float)
            or not math.isfinite(value)):
        raise ConfigError("must be a date and time (2026-12-24T08:00:00) or epoch seconds")
    return float(value)


def _services(value: Any) -> tuple[ServiceConfig, ...]:
    if not isinstance(value, list):
        raise ConfigError("must be an array of tables ([[services]])")
    out = []
    for item in value:
        if isinstance(item, str) and item in PRESETS:
            p = PRESETS[item]
            out.append(ServiceConfig(p.name, p.url, (), p.watch.exclude, p.page_id, p.aliases,
                                     p.key))
            continue
        if not isinstance(item, dict):
            raise ConfigError(f"entries must be tables or preset names ({', '.join(PRESETS)})")
        preset = PRESETS.get(str(item.get("preset", "")))
        url = item.get("url", preset.url if preset else None)
        if not isinstance(url, str):
            raise ConfigError("each service needs a url (or a known preset)")
        try:
            url = page_base(url)
        except BadURL as exc:
            raise ConfigError(str(exc)) from exc
        preset = preset or preset_for_url(url)  # a known page by its address: same key
        name = item.get("name", preset.name if preset else "")
        components = _selectors(item.get("components", []))
        exclude = _selectors(item.get("exclude", [])) if "exclude" in item else (
            preset.watch.exclude if preset and not components else ()
        )
        out.append(ServiceConfig(
            str(name), url, components, exclude,
            preset.page_id if preset else "", preset.aliases if preset else frozenset(),
            preset.key if preset else service_key(url),
        ))
    return tuple(out)


def _merge_repeats(cfg: Config) -> tuple[Config, list[tuple[int, str]]]:
    """Watch a page listed twice (in ``[[services]]``, or as the main url too) once, with the
    components of both; return the merged config and, per repeat, its place and a message."""
    out = [cfg.main_service()]
    first: dict[str, tuple[int, str]] = {out[0].key: (0, "the main url")}
    repeats: list[tuple[int, str]] = []
    for number, svc in enumerate(cfg.extra_services, start=1):
        if svc.key not in first:
            first[svc.key] = (len(out), f"[[services]] #{number}")
            out.append(svc)
            continue
        index, where = first[svc.key]
        out[index] = _merge(out[index], svc)
        repeats.append((number, f"[[services]] #{number} ({svc.url}) is the same page as "
                                f"{where}; watching it once, with the components of both"))
    if not repeats:
        return cfg, []
    return replace(cfg, components=out[0].components, extra_services=tuple(out[1:])), repeats


def _merge(a: ServiceConfig, b: ServiceConfig) -> ServiceConfig:
    def union(x: tuple[Selector, ...], y: tuple[Selector, ...]) -> tuple[Selector, ...]:
        return x + tuple(s for s in y if s not in x)

    if a.components and b.components:
        components = union(a.components, b.components)
        exclude = tuple(s for s in a.exclude if s in b.exclude)
    elif a.components or b.components:  # one of them watches everything but its exclusions
        chosen, rest = (a, b) if a.components else (b, a)
        components, exclude = (), tuple(s for s in rest.exclude if s not in chosen.components)
    else:
        components, exclude = (), tuple(s for s in a.exclude if s in b.exclude)
    return replace(a, name=a.name or b.name, components=components, exclude=exclude)


def _services_line(text: str, number: int) -> int:
    """The line of the ``number``-th ``[[services]]`` table (or of ``services =``)."""
    headers = [m.start() for m in re.finditer(r"^[ \t]*\[\[[ \t]*services[ \t]*\]\]", text,
                                              re.MULTILINE)]
    if len(headers) >= number:
        return text.count("\n", 0, headers[number - 1]) + 1
    return _line_of(text, "services")


def _toml_str(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    escaped = "".join(ch if ch.isprintable() else _toml_escape(ch) for ch in escaped)
    return f'"{escaped}"'


def _toml_escape(ch: str) -> str:
    # TOML's \u takes exactly four hex digits; characters beyond the BMP need \U and eight.
    code = ord(ch)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _toml_selectors(selectors: tuple[Selector, ...]) -> str:
    items = []
    for s in selectors:
        if s.id:
            items.append(f"{{ id = {_toml_str(s.id)}, name = {_toml_str(s.name)} }}")
        else:
            items.append(_toml_str(s.name))
    return "[" + ", ".join(items) + "]"


def dumps(cfg: Config) -> str:
    """Serialise the settings the menu can change, plus the ones the user had."""
    lines = [
        "# Claude Status Tray settings. Written by the app when you change a setting in the menu;",
        "# edit freely while the app is not running. See the README for every key.",
        f"url = {_toml_str(cfg.url)}",
        f"interval = {cfg.interval:g}",
        f"components = {_toml_selectors(cfg.components)}",
        "notify_on = [" + ", ".join(_toml_str(k) for k in sorted(cfg.notify_on)) + "]",
        f"recovery_confirmations = {cfg.recovery_confirmations}",
        "models = [" + ", ".join(_toml_str(m) for m in cfg.models) + "]",
        f"monitoring_grace = {cfg.monitoring_grace:g}",
        f"stale_after = {cfg.stale_after:g}",
        f"notifications = {str(cfg.notifications).lower()}",
        f"reachability = {str(cfg.reachability).lower()}",
        "reachability_urls = [" + ", ".join(_toml_str(u) for u in cfg.reachability_urls) + "]",
        "online_check = [" + ", ".join(_toml_str(u) for u in cfg.online_check) + "]",
        *([f"proxy = {_toml_str(cfg.proxy)}"] if cfg.proxy else []),
        f"mirror = {_toml_str(cfg.mirror)}",
    ]
    if cfg.autostart is not None:
        lines.append(f"autostart = {str(cfg.autostart).lower()}")
    if cfg.paused_until > 0:
        when = dt.datetime.fromtimestamp(round(cfg.paused_until)).astimezone()
        lines.append(f"paused_until = {when.isoformat()}")
    for s in cfg.extra_services:
        lines += ["", "[[services]]"]
        if s.key in PRESETS:  # keeps the preset's key, page id and aliases on reload
            lines.append(f"preset = {_toml_str(s.key)}")
        lines += [
            f"name = {_toml_str(s.name)}",
            f"url = {_toml_str(s.url)}",
            f"components = {_toml_selectors(s.components)}",
            f"exclude = {_toml_selectors(s.exclude)}",
        ]
    return "\n".join(lines) + "\n"


def save(cfg: Config, path: Path) -> None:
    write_atomic(path, dumps(cfg).encode("utf-8"))
