"""What a status page says, as plain immutable data (no I/O, no third-party imports)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from .levels import Level


@dataclass(frozen=True)
class PageInfo:
    id: str
    name: str
    url: str
    time_zone: str = ""
    updated_at: str = ""


@dataclass(frozen=True)
class Component:
    id: str
    name: str
    status: str
    level: Level
    is_group: bool = False
    group_id: str = ""
    children: tuple[str, ...] = ()
    problem: str = ""


@dataclass(frozen=True)
class Incident:
    """An unresolved incident, or an active scheduled maintenance."""

    id: str
    name: str
    status: str
    impact: str
    level: Level
    component_ids: tuple[str, ...]
    url: str = ""
    started_at: str = ""
    is_maintenance: bool = False
    problem: str = ""
    updated_at: str = ""  # the newest update's time: how long since the page said anything
    monitoring_since: str = ""  # when its current monitoring spell began (newest such update)
    bodies: tuple[str, ...] = ()  # the updates' text, newest first (for model names)
    ends_at: str = ""  # scheduled maintenances: the planned end

    @property
    def recovering(self) -> bool:
        return self.status == "monitoring"


@dataclass(frozen=True)
class Summary:
    """A parsed ``/api/v2/summary.json``. ``problems`` lists every part that could not be read."""

    page: PageInfo
    indicator: str
    indicator_level: Level
    description: str
    components: tuple[Component, ...]
    incidents: tuple[Incident, ...]
    maintenances: tuple[Incident, ...] = ()
    upcoming: tuple[Incident, ...] = ()
    problems: tuple[str, ...] = ()

    def component(self, component_id: str) -> Component | None:
        for c in self.components:
            if c.id == component_id:
                return c
        return None


class FailureKind(enum.Enum):
    """Why a poll produced no status. None of these is ever evidence of an outage."""

    DNS = "dns"
    CONNECT = "connect"
    TLS = "tls"
    TIMEOUT = "timeout"
    HTTP = "http"  # 4xx/5xx other than the two below
    RATE_LIMITED = "rate_limited"  # 429
    UNAVAILABLE = "unavailable"  # 503
    NOT_JSON = "not_json"  # HTML challenge, captive portal, proxy page
    BAD_BODY = "bad_body"  # empty, truncated, corrupt or too deeply nested
    NOT_STATUSPAGE = "not_statuspage"  # valid JSON, but not a Statuspage summary
    TOO_LARGE = "too_large"
    REDIRECT = "redirect"  # loop, or to plain http
    OFFLINE = "offline"  # decided by the connectivity check, not by the fetch
    OTHER = "other"

    @property
    def challenge_like(self) -> bool:
        """Answers a CDN gives a poller it distrusts; worth trying the mirror for."""
        return self in (FailureKind.NOT_JSON, FailureKind.HTTP)


@dataclass(frozen=True)
class Failure:
    kind: FailureKind
    message: str
    status_code: int | None = None
    retry_after: float | None = None


@dataclass(frozen=True)
class Fetched:
    """One poll's outcome: a summary (possibly reused on 304) or a failure."""

    url: str
    summary: Summary | None = None
    failure: Failure | None = None
    not_modified: bool = False
    via_mirror: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.summary is not None
