"""The user's settings: a TOML file in the platform's config directory, overridden by flags.

A broken file never stops the program: one line names the file, the line and the problem, the
defaults (or the other, valid keys) apply, and the file is left untouched. The file is written
only when the user changes a setting from the menu, and then atomically.
"""

from __future__ import annotations

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
    extra_services: tuple[ServiceConfig, ...] = ()
    reachability: bool = True
    reachability_urls: tuple[str, ...] = DEFAULT_REACHABILITY
    online_check: tuple[str, ...] = field(default_factory=_default_online_check)
    mirror: str = "https://{id}.statuspage.io"
    proxy: str = ""  # "" the system's proxy settings, "none", or a proxy URL
    notifications: bool = True
    paused_until: float = 0.0
    autostart: bool = False
    source_path: Path | None = field(default=None, compare=False)
    problems: tuple[str, ...] = field(default=(), compare=False)

    def policy(self) -> PolicyConfig:
        return PolicyConfig(
            notify_degraded="degraded" in self.notify_on,
            notify_maintenance="maintenance" in self.notify_on,
            recovery_confirmations=self.recovery_confirmations,
        )

    def main_service(self) -> ServiceConfig:
        """The first service: the top-level url, with the preset's defaults for known pages."""
        preset: Preset | None = preset_for_url(self.url)
        if preset is not None:
            exclude = () if self.components else preset.watch.exclude
            return ServiceConfig(preset.name, self.url, self.components, exclude,
                                 preset.page_id, preset.aliases, preset.key)
        return ServiceConfig("", self.url, self.components, key="main")

    def services(self) -> tuple[ServiceConfig, ...]:
        return (self.main_service(), *self.extra_services)


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
    known = set(Config.__dataclass_fields__) | {"services", "notifications_paused_until"}
    for key in data:
        if key not in known:
            problems.append(f"{where}:{_line_of(text, key)}: unknown setting {key!r} ignored")
    return replace(Config(source_path=path), **values), problems


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
    if key == "interval":
        if (isinstance(value, bool) or not isinstance(value, int | float) or value <= 0
                or not math.isfinite(value)):
            raise ConfigError("must be a positive number of seconds")
        return {"interval": float(value)}
    if key == "components":
        return {"components": _selectors(value)}
    if key == "notify_on":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"must be a list drawn from {sorted(ALL_KINDS)}")
        unknown = set(value) - ALL_KINDS
        if unknown:
            raise ConfigError(f"has unknown kinds {sorted(unknown)} (known: {sorted(ALL_KINDS)})")
        return {"notify_on": frozenset(value)}
    if key == "recovery_confirmations":
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 20:
            raise ConfigError("must be a whole number from 1 to 20")
        return {"recovery_confirmations": value}
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
    if key in ("paused_until", "notifications_paused_until"):
        if (isinstance(value, bool) or not isinstance(value, int | float)
                or not math.isfinite(value)):
            raise ConfigError("must be a number (epoch seconds)")
        return {"paused_until": float(value)}
    if key == "services":
        return {"extra_services": _services(value)}
    return {}


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
        name = item.get("name", preset.name if preset else "")
        components = _selectors(item.get("components", []))
        exclude = _selectors(item.get("exclude", [])) if "exclude" in item else (
            preset.watch.exclude if preset and not components else ()
        )
        out.append(ServiceConfig(
            str(name), url, components, exclude,
            preset.page_id if preset else "", preset.aliases if preset else frozenset(),
            preset.key if preset else f"service{len(out) + 1}",
        ))
    return tuple(out)


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
        f"notifications = {str(cfg.notifications).lower()}",
        f"reachability = {str(cfg.reachability).lower()}",
        "reachability_urls = [" + ", ".join(_toml_str(u) for u in cfg.reachability_urls) + "]",
        "online_check = [" + ", ".join(_toml_str(u) for u in cfg.online_check) + "]",
        *([f"proxy = {_toml_str(cfg.proxy)}"] if cfg.proxy else []),
        f"mirror = {_toml_str(cfg.mirror)}",
        f"autostart = {str(cfg.autostart).lower()}",
    ]
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
