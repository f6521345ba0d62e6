"""Which certificates the app trusts, and the TLS sessions it keeps for resumption.

TLS is always verified; only the set of trusted roots depends on the machine:

1. ``SSL_CERT_FILE`` and/or ``SSL_CERT_DIR`` set: exactly the certificates they name, on every
   platform (as curl and OpenSSL read them). A company that inspects TLS hands out its CA this
   way. A path that can't be loaded is reported and the next rule applies.
2. Windows and macOS: the OS verifies every handshake, through ``truststore`` (as pip does), so
   roots installed by an administrator or an MDM profile count.
3. Linux and other Unix: the system bundle, loaded once: OpenSSL's default paths when they hold
   certificates, else the first distribution bundle that exists (the list truststore uses).
   ``truststore`` does the same on Linux but reloads a bundle file before every handshake
   (18-20 ms of CPU for a 144-certificate file, measured; Fedora and Arch name one), and the app
   opens a new connection for most polls: that alone would be over a second of CPU per hour.
4. certifi's bundle, when none of these gives a usable context.

Resumption: a saved session lets the next connection skip the certificate exchange (about half
of a full handshake's bytes). truststore on Windows and macOS re-checks the certificate chain
after every handshake, and a resumed handshake carries no certificates, so it would reject
every resumed connection: there, and only there, sessions are not offered.
"""

from __future__ import annotations

import logging
import os
import re
import ssl
import sys
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

log = logging.getLogger(__name__)

# Alpine, Arch, Fedora, OpenWRT, RHEL 9+, BSD; Fedora 44+; older Fedora/RHEL; Debian/Ubuntu;
# SUSE (the candidates of truststore's _openssl.py, after certifi-system-store).
DISTRO_BUNDLES = (
    "/etc/ssl/cert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/pki/tls/cert.pem",
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/ssl/ca-bundle.pem",
)
_HASHED = re.compile(r"^[0-9a-fA-F]{8}\.[0-9]$")


@dataclass(frozen=True)
class Trust:
    context: ssl.SSLContext
    source: str  # where the roots come from, for logs and --verbose
    resumable: bool  # saved sessions may be offered to new connections
    note: str = ""  # a problem with the user's own setting, shown with TLS failures


def load_trust(environ: Mapping[str, str] | None = None, platform: str | None = None) -> Trust:
    env = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    note = ""
    cafile, capath = env.get("SSL_CERT_FILE", "").strip(), env.get("SSL_CERT_DIR", "").strip()
    if cafile or capath:
        named = " and ".join(f"{k}={v}" for k, v in
                             (("SSL_CERT_FILE", cafile), ("SSL_CERT_DIR", capath)) if v)
        try:
            ctx = _context(cafile or None, capath or None)
            if cafile or _has_hashed_certs(capath):
                return Trust(ctx, named, True)
            note = f"{named} holds no certificates"
        except (OSError, ssl.SSLError, ValueError) as exc:
            note = f"{named} can't be loaded ({exc})"
        log.warning("%s; using the system's certificates instead", note)
    trust = _system(platform)
    return Trust(trust.context, trust.source, trust.resumable, note)


def _context(cafile: str | None = None, capath: str | None = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=cafile, capath=capath)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def _system(platform: str) -> Trust:
    if platform in ("win32", "darwin"):
        try:
            import truststore

            ctx: ssl.SSLContext = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            return Trust(ctx, "the system's trust store (truststore)", False)
        except Exception as exc:  # noqa: BLE001 - an old OS or a broken install: use certifi
            log.warning("can't use the system's trust store (%s); using certifi", exc)
            return _certifi()
    # OpenSSL's compiled-in paths, named explicitly: its default lookup would read
    # SSL_CERT_FILE/SSL_CERT_DIR again, and we only get here when those are unset or broken.
    defaults = ssl.get_default_verify_paths()
    cafile = defaults.openssl_cafile if os.path.isfile(defaults.openssl_cafile) else None
    capath = defaults.openssl_capath if _has_hashed_certs(defaults.openssl_capath) else None
    try:
        if cafile or capath:
            return Trust(_context(cafile, capath), " and ".join(p for p in (cafile, capath) if p),
                         True)
        for bundle in DISTRO_BUNDLES:
            if os.path.isfile(bundle):
                return Trust(_context(cafile=bundle), bundle, True)
    except (OSError, ssl.SSLError) as exc:
        log.warning("can't load the system's certificates (%s); using certifi", exc)
    return _certifi()


def _certifi() -> Trust:
    import certifi

    return Trust(_context(cafile=certifi.where()), "certifi", True)


def _has_hashed_certs(capath: str | None) -> bool:
    if not capath or not os.path.isdir(capath):
        return False
    try:
        return any(_HASHED.match(name) for name in os.listdir(capath))
    except OSError:
        return False


class Sessions:
    """The last TLS session of each (host, port), offered to the next connection there.

    A handful of hosts at most (the page, its mirror, the reachability hosts); the oldest is
    dropped past ``limit``.
    """

    def __init__(self, limit: int = 16) -> None:
        self._saved: OrderedDict[tuple[str, int], ssl.SSLSession] = OrderedDict()
        self._lock = threading.Lock()
        self._limit = limit
        self.offered = 0
        self.resumed = 0

    def get(self, key: tuple[str, int]) -> ssl.SSLSession | None:
        with self._lock:
            return self._saved.get(key)

    def put(self, key: tuple[str, int], session: ssl.SSLSession | None) -> None:
        if session is None:
            return
        with self._lock:
            self._saved[key] = session
            self._saved.move_to_end(key)
            while len(self._saved) > self._limit:
                self._saved.popitem(last=False)

    def drop(self, key: tuple[str, int]) -> None:
        with self._lock:
            self._saved.pop(key, None)

    def count(self, offered: bool, resumed: bool) -> None:
        with self._lock:
            self.offered += offered
            self.resumed += resumed
