"""Issue 12 on the virtual desktop: the tray's menu shows how long such an incident typically
takes, which models it is about (with the Models submenu), and the next scheduled maintenance.
The screenshot it leaves in artifacts/ is the README's docs/tray-menu-retry.png."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.desktop import Desktop, wait_until
from tests.trayapp import click_menu, running_app
from tray_app.core.levels import Level
from tray_app.core.timeline import iso
from tray_app.demo import StatusServer
from tray_app.icons import level_colour

pytestmark = pytest.mark.desktop

FIXTURES = Path(__file__).parent / "fixtures"


def page(now: float) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((FIXTURES / "summary-major_outage.json").read_text("utf-8"))
    inc = doc["incidents"][0]
    inc.update(name="Elevated errors on Claude Opus 4.8", started_at=iso(now),
               created_at=iso(now), updated_at=iso(now))
    start = now + 86400
    doc["scheduled_maintenances"] = [{
        "id": "mnt1", "name": "Database upgrade", "status": "scheduled", "impact": "maintenance",
        "scheduled_for": iso(start), "scheduled_until": iso(start + 3600),
        "updated_at": iso(now), "shortlink": "https://stspg.io/mnt1", "incident_updates": [],
        "components": [{"id": "k8w3r06qmzrp", "name": "Claude API (api.anthropic.com)"}],
    }]
    return doc


def test_the_menu_says_when_to_retry_which_models_and_the_next_maintenance(
    desktop: Desktop, tmp_path: Path
) -> None:
    server = StatusServer(page(time.time()))
    server.set_incidents(json.loads((FIXTURES / "incidents-history-critical.json").read_text(
        "utf-8")))
    with server, running_app(desktop, tmp_path, server, "--models", "opus") as app:
        red = level_colour(Level.MAJOR_OUTAGE)
        assert desktop.wait_for_colour(red, 12, 60, timeout=15, region="tray"), app.why()
        assert wait_until(lambda: any(t.startswith("– Typically") for t in app.labels()), 10), (
            app.labels())
        labels = app.labels()
        at = labels.index(next(t for t in labels if t.startswith("✕ Elevated errors on Claude")))
        assert labels[at + 1] == "– Affects: Opus 4.8"
        assert labels[at + 2] == "– Typically: of similar incidents,"
        assert labels[at + 3].startswith("– half were fixed within ")
        assert any(t.startswith("Maintenance ") and t.endswith(
            ": Claude API (api.anthropic.com)") for t in labels), labels
        models = app.entry("Models")
        assert models is not None
        checked = {c["text"]: c["checked"] for c in models["children"]}
        assert checked["Every model"] is False and checked["Opus (every version)"] is True
        assert checked.get("Opus 4.8") is False
        # The screenshot with the Models submenu open, then "Every model" clears the filter.
        click_menu(app, "Models", "Every model", screenshot="tray-menu-retry.png")
        assert wait_until(lambda: ((app.entry("Models") or {}).get("children") or [{}])[0].get(
            "checked") is True, 5), app.labels()
        assert server.incidents_requests == 1  # once, while the incident is open
