"""Which proxy, if any, a request goes through.

The ``proxy`` setting:
- unset (``""``): the system's, as ``urllib.request.getproxies()`` reads it: ``HTTPS_PROXY`` /
  ``ALL_PROXY`` (either case) in the environment, else the Windows registry (Internet Options)
  or macOS System Configuration. PAC files (automatic proxy configuration) are not read.
- ``"none"``: always direct.
- a URL (``http://proxy.example.com:3128``): that proxy, whatever the system says.

Never proxied: loopback hosts, and hosts that ``NO_PROXY`` (or, for the system's proxy, the OS's
bypass list) names. Only ``http://`` and ``https://`` proxies are supported; https requests go
through them in a CONNECT tunnel, so TLS stays end to end and is verified as usual.
Credentials: a proxy URL's own ``user:password@`` goes to that proxy only (Proxy-Authorization);
nothing else (``.netrc``, keyrings) is ever read.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from .core.urls import is_loopback

log = logging.getLogger(__name__)

NONE = "none"
_DEFAULT_PORT = {"http": 80, "https": 443}


class ProxyURLError(ValueError):
    """A proxy URL we can't use; the message says why."""


@dataclass(frozen=True)
class Route:
    """A proxy to go through: where it is and, if the URL had them, its credentials."""

    scheme: str
    host: str
    port: int
    auth: tuple[str, str] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"  # never the credentials


def parse_proxy_url(text: str) -> Route:
    """``http(s)://[user:password@]host[:port]``; a bare ``host:port`` means http://."""
    text = text.strip()
    if "://" not in text:
        text = "http://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ProxyURLError(f"{_hide(text)!r} is not a proxy URL ({exc})") from exc
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORT:
        raise ProxyURLError(f"{scheme}:// proxies are not supported (only http:// and https://)")
    if not parts.hostname:
        raise ProxyURLError(f"{_hide(text)!r} names no proxy host")
    auth = None
    if parts.username is not None:
        auth = (unquote(parts.username), unquote(parts.password or ""))
    return Route(scheme, parts.hostname, port or _DEFAULT_PORT[scheme], auth)


def check_setting(value: str) -> str:
    """The config value, validated: ``""``, ``"none"`` or a usable proxy URL."""
    value = value.strip()
    if value.lower() in ("", NONE):
        return value.lower()
    parse_proxy_url(value)
    return value


def _hide(text: str) -> str:
    """A proxy URL fit for a message or a log: the password replaced."""
    head, sep, rest = text.partition("://")
    if not sep or "@" not in rest.split("/", 1)[0]:
        return text
    userinfo, _, hostpart = rest.partition("@")
    return f"{head}://{userinfo.split(':', 1)[0]}:***@{hostpart}"


def _system_proxies() -> dict[str, str]:
    import urllib.request  # httpx imports it anyway

    return urllib.request.getproxies()


def _system_bypass(host: str) -> bool:
    import urllib.request

    return bool(urllib.request.proxy_bypass(host))


def _env_bypass(host: str) -> bool:
    import urllib.request

    # Undocumented but there since Python 2: what proxy_bypass() itself uses for NO_PROXY.
    return bool(urllib.request.proxy_bypass_environment(host))  # type: ignore[attr-defined]


class Proxies:
    """Chooses the route for each request. The system's settings are read at every request
    (a laptop moves between networks); the bypass answer is kept per host and setting, since on
    Windows and macOS it may look host names up."""

    def __init__(
        self,
        setting: str = "",
        system: Callable[[], Mapping[str, str]] = _system_proxies,
        system_bypass: Callable[[str], bool] = _system_bypass,
        env_bypass: Callable[[str], bool] = _env_bypass,
    ) -> None:
        self.setting = setting.strip()
        self._system = system
        self._system_bypass = system_bypass
        self._env_bypass = env_bypass
        self._bypass: dict[tuple[str, str], bool] = {}
        self._warned: set[str] = set()
        self._lock = threading.Lock()

    def route(self, scheme: str, host: str, port: int | None = None) -> Route | None:
        """The proxy for ``scheme://host:port``, or None to connect directly."""
        if is_loopback(host) or self.setting.lower() == NONE:
            return None
        target = f"{host}:{port}" if port and ":" not in host else host
        if self.setting:
            url, bypass = self.setting, self._env_bypass
        else:
            try:
                proxies = self._system()
            except Exception as exc:  # noqa: BLE001 - unreadable OS settings: go direct
                self._warn("system", f"can't read the system's proxy settings ({exc})")
                return None
            url = proxies.get(scheme.lower()) or proxies.get("all") or ""
            bypass = self._system_bypass
            if not url:
                return None
        if self._bypassed(url, target, bypass):
            return None
        try:
            return parse_proxy_url(url)
        except ProxyURLError as exc:
            self._warn(url, f"ignoring the proxy setting: {exc}")
            return None

    def _bypassed(self, url: str, target: str, bypass: Callable[[str], bool]) -> bool:
        key = (url, target)
        with self._lock:
            known = self._bypass.get(key)
        if known is None:
            try:
                known = bypass(target)
            except Exception:  # noqa: BLE001 - a broken bypass list: use the proxy
                known = False
            with self._lock:
                if len(self._bypass) > 64:
                    self._bypass.clear()
                self._bypass[key] = known
        return known

    def _warn(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning("%s", _hide(message))
