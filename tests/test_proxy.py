"""Proxies (tray_app.proxy, the transport's routing, the connectivity check behind a proxy)
against a real HTTP CONNECT proxy on 127.0.0.1 that counts its tunnels.

The status page has a remote-looking name under ``.invalid`` (RFC 6761: it never resolves): the
proxy maps it to the TLS server on 127.0.0.1, so a client that goes through the proxy reads the
page, and one that tries to go direct fails at DNS without leaving the machine. Loopback
addresses are never proxied, which is why the page can't simply be https://127.0.0.1.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import faultserver as fs
from tests.netservers import (
    PROXY_ENV,
    ConnectProxy,
    TestCA,
    TlsFront,
    closed_port,
    poll_failing,
)
from tray_app import config as config_mod
from tray_app.app import make_monitor
from tray_app.config import Config
from tray_app.core.levels import Level
from tray_app.core.model import FailureKind
from tray_app.demo import StatusServer
from tray_app.http import HttpClient
from tray_app.monitor import Monitor
from tray_app.probes import OnlineCheck
from tray_app.proxy import Proxies, ProxyURLError, Route, check_setting, parse_proxy_url

HOST = "status.example.invalid"
WALL = 1_800_000_000.0


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return TestCA(tmp_path_factory.mktemp("ca"))


@pytest.fixture
def page() -> Iterator[StatusServer]:
    with StatusServer() as s:
        yield s


@pytest.fixture
def front(ca: TestCA, page: StatusServer) -> Iterator[TlsFront]:
    with TlsFront(page.port, ca.server_context(HOST), host=HOST) as f:
        yield f


@pytest.fixture
def proxy() -> Iterator[ConnectProxy]:
    with ConnectProxy({HOST: "127.0.0.1"}) as p:
        yield p


@pytest.fixture
def env(ca: TestCA, monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """This process: the test CA through SSL_CERT_FILE, no proxy variables of the runner's."""
    for name in PROXY_ENV:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca.pem))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    return monkeypatch


def needs_fast_dns() -> None:
    if not fs.dns_fails_fast():
        pytest.skip("the local resolver does not answer for .invalid quickly")


def monitor_for(url: str, client: HttpClient) -> Monitor:
    cfg = Config(url=url)
    return make_monitor(cfg.main_service(), cfg, client)


# -- routing ------------------------------------------------------------------------------------


def system(**proxies: str) -> Proxies:
    return Proxies("", system=lambda: proxies, system_bypass=lambda host: False)


def test_https_goes_through_the_https_proxy_or_else_all_proxy() -> None:
    assert system(https="http://p:3128").route("https", "a.example") == Route("http", "p", 3128)
    assert system(all="http://q:8080").route("https", "a.example") == Route("http", "q", 8080)
    assert system(https="p:3128", all="http://q").route("https", "a.example") == Route(
        "http", "p", 3128)  # no scheme means http://, as curl reads it
    assert system(http="http://p:3128").route("https", "a.example") is None
    assert system().route("https", "a.example") is None


@pytest.mark.parametrize("host", ["127.0.0.1", "127.9.9.9", "::1", "localhost"])
def test_loopback_is_never_proxied(host: str) -> None:
    assert system(https="http://p:3128").route("https", host) is None
    assert Proxies("http://p:3128").route("https", host) is None


def test_the_setting_overrides_the_system() -> None:
    sys_proxies = {"https": "http://system:1"}
    chosen = Proxies("https://u:p%40ss@mine:8443", system=lambda: sys_proxies)
    route = chosen.route("https", "a.example")
    assert route == Route("https", "mine", 8443, ("u", "p@ss"))
    assert route is not None and route.url == "https://mine:8443"  # no password in messages
    assert "p@ss" not in repr(route)
    assert Proxies("none", system=lambda: sys_proxies).route("https", "a.example") is None


def test_no_proxy_bypasses_both_the_system_and_the_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in PROXY_ENV:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://p:3128")
    monkeypatch.setenv("NO_PROXY", "example.com,.corp.internal")
    for proxies in (Proxies(), Proxies("http://mine:1")):
        assert proxies.route("https", "status.example.com") is None
        assert proxies.route("https", "www.corp.internal") is None
        assert proxies.route("https", "status.claude.com") is not None


@pytest.mark.parametrize(("value", "words"), [
    ("socks5://p:1080", "socks5:// proxies are not supported"),
    ("http://", "names no proxy host"),
    ("http://p:notaport", "is not a proxy URL"),
])
def test_unusable_proxy_urls_say_why(value: str, words: str) -> None:
    with pytest.raises(ProxyURLError, match=words):
        parse_proxy_url(value)


def test_an_unusable_system_proxy_is_skipped_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert system(https="socks5://p:1080").route("https", "a.example") is None
    assert "socks5:// proxies are not supported" in caplog.text


def test_a_password_never_reaches_a_message() -> None:
    with pytest.raises(ProxyURLError) as caught:
        parse_proxy_url("http://user:secret@p:port")
    assert "secret" not in str(caught.value)


# -- the config key -----------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ('proxy = "http://proxy.example.com:3128"', "http://proxy.example.com:3128"),
    ('proxy = "none"', "none"),
    ('proxy = "NONE"', "none"),
])
def test_the_proxy_key_loads_and_is_written_back(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text + "\n")
    cfg, problems = config_mod.load(path)
    assert problems == [] and cfg.proxy == expected
    config_mod.save(cfg, path)
    again, problems = config_mod.load(path)
    assert problems == [] and again.proxy == expected


def test_a_bad_proxy_key_is_reported_and_the_system_setting_used(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('interval = 90\nproxy = "socks5://p:1080"\n')
    cfg, problems = config_mod.load(path)
    assert cfg.proxy == "" and cfg.interval == 90
    assert len(problems) == 1 and ":2: proxy" in problems[0] and "socks5" in problems[0]
    assert check_setting(" none ") == "none"


# -- through a real proxy, in process ------------------------------------------------------------


def test_https_proxy_from_the_environment_carries_the_poll(
    env: pytest.MonkeyPatch, front: TlsFront, proxy: ConnectProxy, page: StatusServer
) -> None:
    env.setenv("HTTPS_PROXY", proxy.url)
    page.set_level(Level.DEGRADED)
    client = HttpClient()
    try:
        monitor = monitor_for(front.url, client)
        fetched, _ = monitor.poll(WALL)
    finally:
        client.close()
    assert fetched.ok, fetched.failure
    assert monitor.view().level is Level.DEGRADED
    assert proxy.tunnels == 1
    assert proxy.connects[0][0] == f"CONNECT {HOST}:{front.port}"


def test_the_proxy_setting_carries_the_poll_without_any_environment(
    env: pytest.MonkeyPatch, front: TlsFront, proxy: ConnectProxy
) -> None:
    client = HttpClient(proxy=proxy.url)
    try:
        monitor = monitor_for(front.url, client)
        assert monitor.poll(WALL)[0].ok
    finally:
        client.close()
    assert monitor.view().level is Level.OPERATIONAL and proxy.tunnels == 1


@pytest.mark.parametrize("how", ["no_proxy", "setting-none"])
def test_no_proxy_and_none_go_direct(
    env: pytest.MonkeyPatch, front: TlsFront, proxy: ConnectProxy, how: str
) -> None:
    needs_fast_dns()
    env.setenv("HTTPS_PROXY", proxy.url)
    if how == "no_proxy":
        env.setenv("NO_PROXY", ".example.invalid")
    client = HttpClient(proxy="none" if how == "setting-none" else "")
    try:
        monitor = monitor_for(front.url, client)
        fetched = poll_failing(monitor, WALL)
    finally:
        client.close()
    # Direct: the name doesn't resolve here (only the proxy knows it), and the proxy saw nothing.
    assert fetched.failure is not None and fetched.failure.kind is FailureKind.DNS
    assert proxy.connects == [] and proxy.tunnels == 0
    view = monitor.view()
    assert view.level is Level.UNKNOWN and not view.offline  # the stand-in says we're online


def test_an_https_proxy_carries_tls_inside_tls(
    env: pytest.MonkeyPatch, ca: TestCA, front: TlsFront, page: StatusServer
) -> None:
    page.set_level(Level.MAINTENANCE)
    with ConnectProxy({HOST: "127.0.0.1"}, tls=ca.server_context("127.0.0.1")) as proxy:
        assert proxy.url.startswith("https://")
        client = HttpClient(proxy=proxy.url)
        try:
            monitor = monitor_for(front.url, client)
            fetched, _ = monitor.poll(WALL)
        finally:
            client.close()
        assert fetched.ok, fetched.failure
        assert proxy.tunnels == 1
    assert monitor.view().level is Level.MAINTENANCE


def test_proxy_credentials_from_the_url_go_to_the_proxy_only(
    env: pytest.MonkeyPatch, front: TlsFront, page: StatusServer
) -> None:
    recorder = fs.Recorder()
    page.fault = recorder
    with ConnectProxy({HOST: "127.0.0.1"}, credentials=("ann", "p@ss word")) as proxy:
        for url, ok in ((proxy.url, False), (f"http://ann:p%40ss%20word@127.0.0.1:{proxy.port}",
                                             True)):
            client = HttpClient(proxy=url)
            try:
                monitor = monitor_for(front.url, client)
                fetched = poll_failing(monitor, WALL, 1 if ok else 3)
            finally:
                client.close()
            assert fetched.ok is ok, fetched.failure
            if not ok:
                assert fetched.failure is not None
                assert "user name and password" in fetched.failure.message
                assert monitor.view().level is Level.UNKNOWN
                assert not monitor.view().offline
        assert proxy.tunnels == 1
    assert monitor.view().level is Level.OPERATIONAL
    assert recorder.seen and not {"proxy-authorization", "authorization"} & set(recorder.last)


# -- the connectivity check behind a proxy -------------------------------------------------------


def test_the_connectivity_check_asks_the_proxy(proxy: ConnectProxy, tmp_path: Path) -> None:
    no_route = tmp_path / "route"
    no_route.write_text("Iface\tDestination\tGateway\tFlags\n")  # no default route at all
    dead = f"127.0.0.1:{closed_port()}"
    direct = OnlineCheck([dead], timeout=1, route_file=no_route)
    assert direct() is False  # what a proxy-only network looks like to a direct check
    via = parse_proxy_url(proxy.url)
    assert OnlineCheck([dead], timeout=1, route_file=no_route, proxy=lambda: via)() is True
    # The proxy refuses the target (403 for a non-loopback address here): still an answer.
    assert OnlineCheck(["1.1.1.1:443"], timeout=1, proxy=lambda: via)() is True
    assert proxy.connects[-1][0] == "CONNECT 1.1.1.1:443"
    gone = Route("http", "127.0.0.1", closed_port())
    assert OnlineCheck([dead], timeout=1, proxy=lambda: gone)() is False


def test_a_page_down_behind_the_proxy_is_not_offline(
    env: pytest.MonkeyPatch, ca: TestCA, page: StatusServer
) -> None:
    env.setenv("CST_ONLINE_CHECK", f"127.0.0.1:{closed_port()}")  # direct checks fail
    with ConnectProxy({HOST: "127.0.0.1"}) as proxy:
        where = proxy.url
        env.setenv("HTTPS_PROXY", where)
        client = HttpClient()
        try:
            monitor = monitor_for(f"https://{HOST}:{closed_port()}", client)
            fetched = poll_failing(monitor, WALL)
        finally:
            client.close()
    assert fetched.failure is not None and fetched.failure.kind is FailureKind.CONNECT
    assert "502" in fetched.failure.message and where in fetched.failure.message
    view = monitor.view()
    assert view.level is Level.UNKNOWN and not view.offline
    assert "offline" not in view.reason and "502" in view.reason


# -- `check` as a process ------------------------------------------------------------------------


def run_check(tmp_path: Path, env: dict[str, str], url: str, *extra: str
              ) -> tuple[int, dict[str, Any]]:
    proc = subprocess.run(
        [sys.executable, "-m", "tray_app", "check", "--json", "--url", url, *extra],
        env=env, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
        check=False, cwd=tmp_path,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    doc = json.loads(proc.stdout.splitlines()[0])
    assert isinstance(doc, dict)
    return proc.returncode, doc


@pytest.fixture
def app_env(tmp_path: Path, ca: TestCA) -> dict[str, str]:
    """A `check` process: its own home (with a .netrc that must never be read), the test CA,
    no proxy, and a connectivity check that fails when made directly."""
    env = ca.env(fs.isolated_env(tmp_path))
    (tmp_path / ".netrc").write_text(f"machine {HOST} login ann password hunter2\n")
    (tmp_path / ".netrc").chmod(0o600)
    env["CST_ONLINE_CHECK"] = f"127.0.0.1:{closed_port()}"
    return env


def test_check_reads_the_page_through_https_proxy(
    tmp_path: Path, app_env: dict[str, str], front: TlsFront, proxy: ConnectProxy,
    page: StatusServer,
) -> None:
    recorder = fs.Recorder()
    page.fault = recorder
    page.set_level(Level.MAJOR_OUTAGE)
    code, doc = run_check(tmp_path, app_env | {"HTTPS_PROXY": proxy.url}, front.url)
    assert (code, doc["level"], doc["error"]) == (2, "major_outage", None), doc
    assert proxy.tunnels == 1
    assert not {"authorization", "proxy-authorization", "cookie"} & set(recorder.last)


def test_check_through_the_proxy_key_of_the_config(
    tmp_path: Path, app_env: dict[str, str], front: TlsFront, proxy: ConnectProxy
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'proxy = "{proxy.url}"\n')
    code, doc = run_check(tmp_path, app_env, front.url, "--config", str(config))
    assert (code, doc["level"]) == (0, "operational"), doc
    assert proxy.tunnels == 1


def test_check_behind_a_proxy_whose_page_is_down_is_not_offline(
    tmp_path: Path, app_env: dict[str, str], proxy: ConnectProxy
) -> None:
    code, doc = run_check(tmp_path, app_env | {"HTTPS_PROXY": proxy.url},
                          f"https://{HOST}:{closed_port()}")
    assert (code, doc["level"]) == (3, "unknown"), doc
    assert "offline" not in doc["error"] and "proxy" in doc["error"], doc


@pytest.mark.parametrize("how", ["NO_PROXY", "proxy-none"])
def test_check_bypasses_the_proxy(
    tmp_path: Path, app_env: dict[str, str], front: TlsFront, proxy: ConnectProxy, how: str
) -> None:
    needs_fast_dns()
    # The suite's connectivity stand-in (conftest's listening socket): online, so the DNS
    # failure is what the user reads.
    env = app_env | {"HTTPS_PROXY": proxy.url, "CST_ONLINE_CHECK": os.environ["CST_ONLINE_CHECK"]}
    extra: tuple[str, ...] = ()
    if how == "NO_PROXY":
        env["NO_PROXY"] = HOST
    else:
        config = tmp_path / "config.toml"
        config.write_text('proxy = "none"\n')
        extra = ("--config", str(config))
    code, doc = run_check(tmp_path, env, front.url, *extra)
    assert (code, doc["level"]) == (3, "unknown"), doc
    assert "DNS" in doc["error"] and proxy.connects == []

