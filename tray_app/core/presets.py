"""Known Statuspage v2 pages: Claude first, and a few other popular services."""

from __future__ import annotations

from dataclasses import dataclass

from .assess import Selector, Watch
from .urls import host_of


@dataclass(frozen=True)
class Preset:
    key: str
    name: str
    url: str
    page_id: str = ""
    aliases: frozenset[str] = frozenset()
    watch: Watch = Watch()


CLAUDE = Preset(
    key="claude",
    name="Claude",
    url="https://status.claude.com",
    page_id="tymt9n04zgry",
    aliases=frozenset({"status.claude.com", "status.anthropic.com", "tymt9n04zgry.statuspage.io"}),
    # Ordinary users don't use Claude for Government, but it turns the page-wide indicator
    # like any other component, so the preset leaves it out (by id: names change).
    watch=Watch(exclude=(Selector(name="Claude for Government", id="0scnb50nvy53"),)),
)

PRESETS: dict[str, Preset] = {
    p.key: p
    for p in (
        CLAUDE,
        Preset("github", "GitHub", "https://www.githubstatus.com"),
        Preset("openai", "OpenAI", "https://status.openai.com"),
        Preset("cloudflare", "Cloudflare", "https://www.cloudflarestatus.com"),
        Preset("atlassian", "Atlassian", "https://status.atlassian.com"),
        Preset("discord", "Discord", "https://discordstatus.com"),
        Preset("npm", "npm", "https://status.npmjs.org"),
        Preset("vercel", "Vercel", "https://www.vercel-status.com"),
        Preset("dropbox", "Dropbox", "https://status.dropbox.com"),
    )
}


def preset_for_url(url: str) -> Preset | None:
    host = host_of(url)
    for preset in PRESETS.values():
        if host == host_of(preset.url) or host in preset.aliases:
            return preset
    return None
