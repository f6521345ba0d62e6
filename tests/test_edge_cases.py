"""Regressions from a review: hostile text, bad headers, odd URLs, a poll that raises,
flapping right after a long outage, the one-shot alert after an unannounced outage."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import faultserver as fs
from tray_app.core.levels import Level
from tray_app.core.model import Fetched
from tray_app.core.plaintext import clean
from tray_app.core.policy import (
    Kind,
    Notify,
    PolicyConfig,
    PolicyState,
    QuietRecovery,
    Reading,
    step,
)
from tray_app.core.prefs import Prefs
from tray_app.demo import StatusServer
from tray_app.http import HttpClient, retry_after
from tray_app.monitor import Monitor
from tray_app.session import Session
from tray_app.source import StatuspageSource


def test_a_hostile_tag_prefix_is_cleaned_in_linear_time() -> None:
    started = time.monotonic()
    for limit in (64, 256, 100_000):
        clean("<" + "a" * 100_000, limit)
        clean("<a " + '"' * 50_000, limit)
    assert time.monotonic() - started < 2.0


@pytest.mark.parametrize("value", ["\xb2", "١٢", "9" * 400, "Mon, 99 Foo 2026 99:99:99 GMT"])
def test_odd_retry_after_values_are_ignored_not_raised(value: str) -> None:
    result = retry_after(value, time.time())
    assert result is None or result >= 0


class Exploding:
    base = "http://127.0.0.1:9"
    using_mirror = False

    def fetch(self) -> Fetched:
        raise RuntimeError("bug")

    def hosts(self) -> frozenset[str]:
        return frozenset()


def test_a_poll_that_raises_still_counts_as_a_failure() -> None:
    from tray_app.clock import FakeClock
    from tray_app.poller import Poller

    clock = FakeClock()
    m = Monitor("x", "X", Exploding(), interval=1)  # type: ignore[arg-type]
    poller = Poller([m], lambda _r: None, clock=clock)
    for _ in range(3):
        poller.check_now()
        poller.tick()
        clock.advance(1)
    assert m.state.level is Level.UNKNOWN and "internal error" in m.view().reason
    assert m.next_delay() > 1, "and it backs off"


def _app(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tray_app", *args], env=fs.isolated_env(tmp),
                          capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("url", ["https://[::1", "https://exa mple.com", "https://x\x07.com"])
def test_malformed_urls_are_usage_errors(tmp_path: Path, url: str) -> None:
    result = _app(tmp_path, "check", "--url", url)
    assert result.returncode == 64 and "Traceback" not in result.stderr


def test_a_malformed_url_in_the_config_is_reported_not_fatal(tmp_path: Path) -> None:
    with StatusServer() as server:
        cfg = fs.app_paths(fs.isolated_env(tmp_path)).config
        cfg.parent.mkdir(parents=True)
        cfg.write_text('url = "https://[::1"\n')
        result = _app(tmp_path, "check", "--url", server.url)
    assert result.returncode == 0, result.stderr
    assert "config.toml:1" in result.stderr


@pytest.mark.parametrize("body", [b"", b'{"page": {', b"\x1f\x8b garbage"])
def test_check_on_a_broken_body_is_unknown_not_a_usage_error(tmp_path: Path, body: bytes) -> None:
    with StatusServer(body) as server:
        result = _app(tmp_path, "check", "--url", server.url, "--json")
    assert result.returncode == 3, result.stderr
    assert json.loads(result.stdout)["level"] == "unknown"


def test_a_hostile_page_id_never_steers_the_mirror(tmp_path: Path) -> None:
    source = StatuspageSource("http://127.0.0.1:9", HttpClient())
    for bad in ("attacker.example/x?", "a.b", "x" * 80, "../../etc"):
        source.page_id = bad
        assert source.mirror_base == ""
        assert "attacker.example" not in source.hosts()
    source.page_id = "tymt9n04zgry"
    assert source.mirror_base == "https://tymt9n04zgry.statuspage.io"


def _read(level: Level) -> Reading:
    return Reading("Claude", level, "x")


def test_no_second_pair_right_after_a_long_outage() -> None:
    cfg = PolicyConfig()
    state, notes = PolicyState(), []
    timeline = [Level.OPERATIONAL] + [Level.MAJOR_OUTAGE] * 20 + [Level.OPERATIONAL] * 2 + [
        Level.MAJOR_OUTAGE] * 2 + [Level.OPERATIONAL] * 4
    for i, level in enumerate(timeline):  # a poll every 30 s
        state, effects = step(state, _read(level), i * 30.0, cfg)
        notes += [e.kind for e in effects if isinstance(e, Notify)]
    assert notes == [Kind.DOWN, Kind.RECOVERED], "the relapse a minute later is held back"


def test_the_one_shot_alert_hears_of_a_recovery_nothing_announced() -> None:
    cfg = PolicyConfig(notify=frozenset(Kind) - {Kind.DEGRADED})
    state, quiet = PolicyState(), []
    for i, level in enumerate([Level.OPERATIONAL, Level.DEGRADED, Level.OPERATIONAL,
                               Level.OPERATIONAL]):
        state, effects = step(state, _read(level), i * 60.0, cfg)
        assert not [e for e in effects if isinstance(e, Notify)]
        quiet += [e for e in effects if isinstance(e, QuietRecovery)]
    assert len(quiet) == 1 and quiet[0].note.kind is Kind.RECOVERED
    sent: list[str] = []
    session = Session([], send=lambda t, b: sent.append(t), prefs=Prefs(armed=True))
    from tray_app.poller import Report

    session(Report(_view(), True, (quiet[0],), ()))
    assert sent and sent[0].startswith("Claude is back") and not session.prefs.armed
    session(Report(_view(), True, (quiet[0],), ()))
    assert len(sent) == 1, "not armed any more: a quiet recovery stays quiet"


def _view():  # type: ignore[no-untyped-def]
    from tray_app.monitor import ServiceView

    return ServiceView("claude", "Claude", "https://status.claude.com", Level.OPERATIONAL,
                       "Claude: operational")
