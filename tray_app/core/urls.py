"""URL rules: https for remote pages, plain http only on loopback, safe links to open."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit, urlunsplit

SUMMARY_PATH = "/api/v2/summary.json"
INCIDENTS_PATH = "/api/v2/incidents.json"


class BadURL(ValueError):
    """A URL the app refuses; the message says why, in one line."""


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def page_base(url: str) -> str:
    """Normalise what a user typed into a page's base URL (scheme://host[:port][/prefix]).

    A pasted ``.../api/v2/summary.json`` (or any ``/api/v2/...`` path) is cut back to the base.
    """
    raw = url.strip()
    if "://" not in raw:
        raise BadURL(f"{url!r} is not a URL: give the status page's address, e.g. "
                     "https://status.claude.com")
    if any(ch.isspace() or not ch.isprintable() for ch in raw):
        raise BadURL(f"{url!r}: a URL can't contain spaces or control characters")
    try:
        parts = urlsplit(raw)
        parts.hostname  # noqa: B018 - raises on a malformed host such as "[::1"
    except ValueError as exc:
        raise BadURL(f"{url!r} is not a valid URL: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise BadURL(f"{url!r}: only https:// status pages are supported (got {scheme}://)")
    host = parts.hostname or ""
    if not host:
        raise BadURL(f"{url!r} has no host name")
    if scheme == "http" and not is_loopback(host):
        raise BadURL(
            f"{url!r}: plain http is refused for remote pages; use https:// "
            "(http is allowed only for 127.0.0.1, ::1 and localhost)"
        )
    if parts.username or parts.password:
        raise BadURL(f"{url!r}: credentials in the URL are not allowed")
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as exc:
        raise BadURL(f"{url!r}: bad port") from exc
    path = parts.path
    cut = path.find("/api/v2")
    if cut >= 0:
        path = path[:cut]
    return urlunsplit((scheme, parts.netloc.lower(), path.rstrip("/"), "", ""))


def summary_url(base: str) -> str:
    return page_base(base) + SUMMARY_PATH


def host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def origin(url: str) -> tuple[str, str, int | None]:
    try:
        parts = urlsplit(url)
        port = parts.port
        host = (parts.hostname or "").lower()
    except ValueError:
        return "", "", -1
    return parts.scheme.lower(), host, port


def redirect_allowed(current: str, target: str, aliases: frozenset[str] = frozenset()) -> str:
    """Return '' when following ``current`` -> ``target`` is allowed, else the reason.

    Redirects go to https only, on the same host or a known alias of it (status.anthropic.com
    moved to status.claude.com). A loopback page may redirect within its own origin over http.
    """
    scheme, host, _ = origin(target)
    if origin(current) == origin(target) and is_loopback(host):
        return ""
    if scheme != "https":
        return f"refused a redirect to plain {scheme or 'unknown'}:// ({target[:120]})"
    if host != host_of(current) and host not in aliases:
        return f"refused a redirect to another host ({host}); point --url there if you trust it"
    return ""


def safe_link(url: str, allowed_hosts: frozenset[str]) -> bool:
    """Only https links to the status page's own hosts (or its shortlink host) ever open."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    return (
        parts.scheme == "https"
        and bool(host)
        and not parts.username
        and not parts.password
        and host in allowed_hosts
        and all(ch.isprintable() and not ch.isspace() for ch in url.strip())
    )
