"""Fetch and parse a Statuspage v2 summary, with conditional requests and the mirror fallback.

A CDN in front of a status page can answer a poller with an HTML challenge or a 403/405 where
the same page on its ``<page id>.statuspage.io`` address answers fine. After
``mirror_after`` such answers in a row, and once a good response has told us the page id, the
source reads the mirror instead, and tries the primary host again after ``mirror_hold``
seconds.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from .core.model import Failure, FailureKind, Fetched, Summary
from .core.statuspage import NotAStatuspage, decode, parse_summary
from .core.urls import SUMMARY_PATH, BadURL, host_of, page_base
from .http import HttpClient, Response, json_get_headers, retry_after

log = logging.getLogger(__name__)

MIRROR_TEMPLATE = "https://{id}.statuspage.io"
_PAGE_ID = re.compile(r"[A-Za-z0-9]{6,32}")  # Statuspage ids, and incident.io's ULIDs


@dataclass
class _Cache:
    etag: str = ""
    last_modified: str = ""
    summary: Summary | None = None


class StatuspageSource:
    def __init__(
        self,
        base_url: str,
        client: HttpClient,
        *,
        page_id: str = "",
        aliases: frozenset[str] = frozenset(),
        mirror_template: str = MIRROR_TEMPLATE,
        mirror_after: int = 2,
        mirror_hold: float = 1800.0,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.base = page_base(base_url)
        self.client = client
        self.page_id = page_id
        self.aliases = aliases
        self.mirror_template = mirror_template
        self.mirror_after = mirror_after
        self.mirror_hold = mirror_hold
        self.clock = clock
        self.wall = wall
        self._cache: dict[str, _Cache] = {}
        self._challenged = 0
        self._mirror_until: float | None = None

    @property
    def mirror_base(self) -> str:
        """The mirror's base URL, or '' when there is no trustworthy page id to build it from."""
        if not _PAGE_ID.fullmatch(self.page_id or ""):
            return ""  # the id comes from the network: it must not steer us to another host
        try:
            return page_base(self.mirror_template.format(id=self.page_id))
        except (BadURL, ValueError, KeyError, IndexError):
            return ""

    @property
    def using_mirror(self) -> bool:
        return self._mirror_until is not None and self.clock() < self._mirror_until

    def hosts(self) -> frozenset[str]:
        """Hosts whose https links may open in a browser: the page, its aliases and mirror."""
        hosts = {host_of(self.base), *self.aliases, "stspg.io"}
        if self.mirror_base:
            hosts.add(host_of(self.mirror_base))
        return frozenset(h for h in hosts if h)

    def fetch(self) -> Fetched:
        if self.using_mirror:
            mirrored = self._fetch(self.mirror_base, via_mirror=True)
            if mirrored.ok:
                return mirrored
            log.info("mirror failed too (%s); back to the primary host", mirrored.failure)
            self._mirror_until = None
        result = self._fetch(self.base)
        if result.ok:
            self._challenged = 0
            return result
        assert result.failure is not None
        if result.failure.kind.challenge_like:
            self._challenged += 1
        else:
            self._challenged = 0
        if self._challenged >= self.mirror_after and self.mirror_base:
            mirrored = self._fetch(self.mirror_base, via_mirror=True)
            if mirrored.ok:
                log.warning(
                    "%s keeps answering with %s; reading %s instead for now",
                    self.base, result.failure.message, self.mirror_base,
                )
                self._mirror_until = self.clock() + self.mirror_hold
                self._challenged = 0
                return mirrored
        return result

    def _fetch(self, base: str, via_mirror: bool = False) -> Fetched:
        url = base + SUMMARY_PATH
        cache = self._cache.setdefault(url, _Cache())
        # (the validators are set only with a summary: before one, the GET is plain)
        headers = json_get_headers(cache.etag, cache.last_modified)
        result = self.client.request(url, headers=headers, aliases=self.aliases)
        if isinstance(result, Failure):
            return Fetched(url, failure=result, via_mirror=via_mirror)
        if result.status == 304 and cache.summary is not None:
            return Fetched(url, summary=cache.summary, not_modified=True, via_mirror=via_mirror)
        failure = self._check(result)
        if failure is not None:
            return Fetched(url, failure=failure, via_mirror=via_mirror)
        try:
            doc = decode(result.body)
        except NotAStatuspage as exc:  # empty, truncated, HTML, too deep: maybe transient
            kind = FailureKind.NOT_JSON if "HTML" in str(exc) else FailureKind.BAD_BODY
            failure = Failure(kind, str(exc), result.status)
            return Fetched(url, failure=failure, via_mirror=via_mirror)
        try:
            summary = parse_summary(doc)
        except NotAStatuspage as exc:  # good JSON of the wrong shape: the wrong URL
            failure = Failure(FailureKind.NOT_STATUSPAGE, str(exc), result.status)
            return Fetched(url, failure=failure, via_mirror=via_mirror)
        cache.etag = result.headers.get("etag", "")
        cache.last_modified = result.headers.get("last-modified", "")
        cache.summary = summary
        if summary.page.id and not via_mirror:
            self.page_id = summary.page.id
        return Fetched(url, summary=summary, via_mirror=via_mirror)

    def _check(self, resp: Response) -> Failure | None:
        status = resp.status
        if status == 200:
            ctype = resp.headers.get("content-type", "").lower()
            if "html" in ctype or "xml" in ctype:
                return Failure(FailureKind.NOT_JSON,
                               "got an HTML page instead of JSON (a login portal or a CDN "
                               "challenge?)", status)
            return None
        wait = retry_after(resp.headers.get("retry-after"), self.wall())
        if status == 429:
            return Failure(FailureKind.RATE_LIMITED, "rate limited by the status page (429)",
                           status, wait)
        if status == 503:
            return Failure(FailureKind.UNAVAILABLE, "the status page is unavailable (503)",
                           status, wait)
        if status == 304:
            return Failure(FailureKind.HTTP, "304 Not Modified with nothing cached", status)
        return Failure(FailureKind.HTTP, f"the status page answered HTTP {status}", status, wait)

    def close(self) -> None:
        self.client.close()
