"""The real tray on the virtual desktop and a `watch` process share one history: while both run,
one page goes down and comes back, then the other; `history --json` has each outage once.

The tray watches Claude's page; the watch watches Claude's page and a second one ("Other"),
so the Claude outage is seen by both (recorded once) and the Other outage only by the watch
(kept, though the tray writes after it).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests import faultserver as fs
from tests.conftest_desktop import desktop as desktop_fixture  # noqa: F401
from tests.desktop import Desktop
from tests.test_cli_watch import is_note, is_poll, stop
from tests.test_store_processes import watching
from tests.trayapp import running_app
from tray_app.core.levels import Level
from tray_app.demo import StatusServer
from tray_app.icons import level_colour

pytestmark = pytest.mark.desktop


def test_a_tray_and_a_watch_running_together_keep_both_outages(
    desktop: Desktop, tmp_path: Path
) -> None:
    with StatusServer() as claude, StatusServer() as other:
        other.set_level(Level.OPERATIONAL, name="Other")
        config = tmp_path / "watch.toml"
        config.write_text(f'url = "{claude.url}"\ninterval = 1\n\n[[services]]\n'
                          f'url = "{other.url}"\n', encoding="utf-8")
        with running_app(desktop, tmp_path, claude) as app, \
                watching(tmp_path, "watch", "--config", str(config)) as (proc, watch):
            # isolated_env(tmp_path) and running_app(tmp_path) share tmp_path/data.
            watch.until(lambda e: is_poll("operational")(e) and e["service"] == "Other",
                        "the watch's first poll of Other")
            green = level_colour(Level.OPERATIONAL)
            assert desktop.wait_for_colour(green, 12, 60, timeout=15, region="tray"), app.why()

            other.set_level(Level.MAJOR_OUTAGE, name="Other")
            watch.until(lambda e: is_note("down")(e) and e["service"] == "Other", "Other down")
            other.set_level(Level.OPERATIONAL, name="Other")
            watch.until(lambda e: is_note("recovered")(e) and e["service"] == "Other",
                        "Other back")

            claude.set_level(Level.MAJOR_OUTAGE)
            down = desktop.wait_for_notification(
                lambda n: n["summary"].startswith("Claude is down"), 15)
            assert down is not None, app.why()
            watch.until(lambda e: is_note("down")(e) and e["service"] == "Claude",
                        "Claude down in the watch")
            claude.set_level(Level.OPERATIONAL)
            back = desktop.wait_for_notification(
                lambda n: n["summary"].startswith("Claude is back"), 15)
            assert back is not None, app.why()
            watch.until(lambda e: is_note("recovered")(e) and e["service"] == "Claude",
                        "Claude back in the watch")
            assert stop(proc) == 0
            assert desktop.stop_app(app.proc, timeout=10) == 0, app.why()

    result = subprocess.run(
        [sys.executable, "-m", "tray_app", "history", "--json", "--days", "1"],
        env=fs.isolated_env(tmp_path), capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    episodes = json.loads(result.stdout)["episodes"]
    assert sorted((e["service"], e["worst"], e["end"] is not None) for e in episodes) == [
        ("Claude", "major_outage", True), ("Other", "major_outage", True)
    ], episodes
    assert "Traceback" not in (tmp_path / "watch.stderr").read_text()
