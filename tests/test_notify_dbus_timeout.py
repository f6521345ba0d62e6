"""A notification daemon that answers late must not get the notification twice (issue 11).

desktop-notifier gives up waiting for the daemon's reply after its timeout, but the daemon
may have the notification already and show it. Only a definite failure (the Notify call never
went out, or the daemon refused it) may hand the notification to plyer. Both cases run against
a real private D-Bus bus with a slow dbus-fast daemon (tests/fake_notifyd.py), and the app's
real notifier chain in a child process: desktop-notifier first, then plyer over dbus-python.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest_desktop import require
from tests.desktop import private_bus
from tests.fake_notifyd import FakeNotifyd

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 0.5  # desktop-notifier's wait for each phase, in the child
SLOW = 2.0  # how late the daemon answers: well past TIMEOUT

CHILD = """
import json, logging, sys
from tray_app.notifier import DesktopNotifierBackend, Notifier, PlyerBackend

logging.basicConfig(level=logging.DEBUG, format="%(threadName)s %(name)s %(message)s")
backends = [DesktopNotifierBackend(timeout=float(sys.argv[1])), PlyerBackend()]
notifier = Notifier("Claude Status Tray", None, backends)
notifier.send("Claude is down", "Elevated errors on claude.ai")
print(json.dumps({"idle": notifier.flush(30)}), flush=True)
notifier.close(10)
"""


@pytest.fixture(autouse=True)
def _needs() -> None:
    missing = [] if shutil.which("dbus-daemon") else ["dbus-daemon (apt dbus-daemon)"]
    for module, hint in (("dbus", "dbus-python"), ("desktop_notifier", "desktop-notifier")):
        if importlib.util.find_spec(module) is None:
            missing.append(f"python module {module} ({hint})")
    require(missing, "the D-Bus timeout tests")


def _send_one(address: str, tmp_path: Path) -> str:
    """Run the app's notifier chain on ``address`` for one notification; its log."""
    env = {"PATH": "/usr/bin:/bin", "DBUS_SESSION_BUS_ADDRESS": address,
           "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(TIMEOUT)], env=env, cwd=tmp_path,
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == {"idle": True}, done.stderr
    return done.stderr


def test_a_late_reply_to_notify_is_not_sent_again_by_plyer(tmp_path: Path) -> None:
    with private_bus(tmp_path) as address, FakeNotifyd(address, {"Notify": SLOW}) as daemon:
        log = _send_one(address, tmp_path)
        # Room for a second Notify (plyer's) to arrive, had the fallback run.
        daemon.wait_for("Notify", 2, timeout=SLOW + 1)
        notifies = daemon.notifies()
    assert [args[1] for args in notifies] == ["Claude is down"], log
    assert "may have been shown" in log, log
    assert "sent with plyer" not in log, log


def test_a_daemon_stuck_before_notify_still_gets_it_through_plyer(tmp_path: Path) -> None:
    # desktop-notifier asks for the server's information before Notify; stuck there, the
    # notification never went out: a definite failure, so plyer sends it, once.
    delays = {"GetServerInformation": SLOW}
    with private_bus(tmp_path) as address, FakeNotifyd(address, delays) as daemon:
        log = _send_one(address, tmp_path)
        daemon.wait_for("Notify", 2, timeout=1)
        notifies = daemon.notifies()
    assert [args[:2] for args in notifies] == [("Claude Status Tray", "Claude is down")], log
    assert "sent with plyer" in log, log
