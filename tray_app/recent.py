"""The page's recent incidents (``/api/v2/incidents.json``, the newest 50), for the typical time
to fix: read only while something is open, at most once an hour per page, with a conditional
GET, through the same bounded client as the summary. A failure keeps the last good copy and is
tried again at the next hour (or after ``Retry-After``, whichever is later)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from .core.incidents import History, parse_incidents
from .core.statuspage import NotAStatuspage, decode
from .core.urls import INCIDENTS_PATH
from .http import HttpClient, Response, json_get_headers, retry_after

log = logging.getLogger(__name__)

MIN_GAP = 3600.0


class RecentIncidents:
    def __init__(self, base: Callable[[], str], client: HttpClient, *, min_gap: float = MIN_GAP,
                 clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time,
                 aliases: frozenset[str] = frozenset()) -> None:
        self._base = base  # the page's base URL now (the mirror's while the source uses it)
        self.client = client
        self.min_gap = min_gap
        self.clock = clock
        self.wall = wall
        self.aliases = aliases
        self.history: History | None = None
        self._next: float | None = None
        self._etag = ""
        self._modified = ""

    def refresh(self, needed: bool) -> None:
        """Read the list again if something is open and the last read is old enough."""
        if not needed or (self._next is not None and self.clock() < self._next):
            return
        self._next = self.clock() + self.min_gap
        # (the validators are set only with a history: before one, the GET is plain)
        headers = json_get_headers(self._etag, self._modified)
        url = self._base() + INCIDENTS_PATH
        result = self.client.request(url, headers=headers, aliases=self.aliases)
        if not isinstance(result, Response):
            log.info("recent incidents: %s", result.message)
            if result.retry_after:
                self._next = max(self._next, self.clock() + result.retry_after)
            return
        if result.status == 304 and self.history is not None:
            return
        if result.status != 200:
            wait = retry_after(result.headers.get("retry-after"), self.wall())
            if wait:
                self._next = max(self._next, self.clock() + min(wait, 6 * self.min_gap))
            log.info("recent incidents: HTTP %s from %s", result.status, url)
            return
        try:
            history = parse_incidents(decode(result.body))
        except NotAStatuspage as exc:
            log.info("recent incidents: %s", exc)
            return
        if history.problems:
            log.info("recent incidents: %s", "; ".join(history.problems[:3]))
        self.history = history
        self._etag = result.headers.get("etag", "")
        self._modified = result.headers.get("last-modified", "")
