"""Running the real tray app on the virtual desktop, and driving its menu by clicks."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.dbusmenu import SniMenu
from tests.desktop import Desktop, Window, wait_until
from tray_app.demo import StatusServer

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"


@dataclass
class App:
    proc: subprocess.Popen[bytes]
    server: StatusServer
    menu_dump: Path
    log: Path
    desktop: Desktop
    env: dict[str, str]

    def entries(self) -> list[dict[str, Any]]:
        try:
            return list(json.loads(self.menu_dump.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return []

    def labels(self) -> list[str]:
        return [e["text"] for e in self.entries()]

    def entry(self, *path: str) -> dict[str, Any] | None:
        level = self.entries()
        found = None
        for name in path:
            found = next((e for e in level if e["text"] == name), None)
            if found is None:
                return None
            level = found["children"]
        return found

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def why(self) -> str:
        return f"app log:\n{self.log_text()[-3000:]}"

    @property
    def data_dir(self) -> Path:
        return Path(self.env["XDG_DATA_HOME"]) / "claude-status-tray"

    @property
    def config_dir(self) -> Path:
        return Path(self.env["XDG_CONFIG_HOME"]) / "claude-status-tray"


@contextmanager
def running_app(
    desktop: Desktop, tmp: Path, server: StatusServer, *args: str, backend: str | None = None,
    via_config: bool = False,
) -> Iterator[App]:
    """Start the app on ``server``'s page, with its own config and data folders (each app a
    fresh user). ``via_config`` names the page in config.toml instead of with --url."""
    env = dict(desktop.env)
    env["XDG_CONFIG_HOME"] = str(tmp / "config")
    env["XDG_DATA_HOME"] = str(tmp / "data")
    page = ["--url", server.url, "--interval", "1"]
    if via_config:
        cfg = tmp / "config" / "claude-status-tray" / "config.toml"
        cfg.parent.mkdir(parents=True, exist_ok=True)
        cfg.write_text(f'url = "{server.url}"\ninterval = 1\n')
        page = []
    env.pop("PYSTRAY_BACKEND", None)  # the app's own choice of backend is under test too
    if backend:
        env["PYSTRAY_BACKEND"] = backend
    env["CST_MENU_DUMP"] = str(tmp / "menu.json")
    env["PYTHONPATH"] = str(ROOT)
    env["BROWSER"] = "true"  # "open" actions run `true URL`: no browser in the test desktop
    log = tmp / "app.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tray_app", *page, "-v", *args],
            env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp,
        )
    app = App(proc, server, tmp / "menu.json", log, desktop, env)
    try:
        yield app
    finally:
        desktop.stop_app(proc)
        wait_until(lambda: not desktop.tray_icons(), 3.0)


def _visible(entries: list[dict[str, Any]]) -> list[str]:
    return [e["text"] for e in entries if e["text"] != "---"]


def _new_menu(desktop: Desktop, before: set[int], timeout: float = 3.0) -> Window:
    menu = wait_until(lambda: next((w for w in desktop.menus() if w.id not in before), None),
                      timeout)
    assert menu is not None, "a (sub)menu opened"
    return desktop.wait_menu_items(menu, dark=200, timeout=timeout)[0]


def click_menu(app: App, *path: str, screenshot: str | None = None) -> None:
    """Click through ``path`` (submenus first) by label: with the mouse on an XEMBED tray,
    over dbusmenu on a StatusNotifier host (`sni_click`)."""
    if app.desktop.host == "sni":
        sni_click(app, *path)
        return
    desktop = app.desktop
    icons = desktop.tray_icons()
    assert icons, "the icon is docked"
    menu = desktop.open_menu(at=icons[0].center)
    level = app.entries()
    for depth, name in enumerate(path):
        labels = _visible(level)
        assert name in labels, f"{name!r} not in {labels}"
        # Disabled labels are drawn in grey: a lenient threshold counts them as items too.
        menu, items = desktop.wait_menu_items(menu, len(labels), dark=200)
        assert len(items) == len(labels), f"{len(items)} items seen, the menu has {labels}"
        entry = next(e for e in level if e["text"] == name)
        before = {w.id for w in desktop.menus()}
        if screenshot and depth == len(path) - 1:
            ARTIFACTS.mkdir(exist_ok=True)
            desktop.screenshot(ARTIFACTS / screenshot)
        desktop.click(*items[labels.index(name)])
        if entry["children"]:
            menu = _new_menu(desktop, before)
            level = entry["children"]
    wait_until(lambda: not desktop.menus(), 3.0)


def sni_menu(app: App) -> SniMenu:
    items = app.desktop.sni_items()
    assert len(items) == 1, f"one item registered with the watcher: {items}"
    return SniMenu(app.desktop.bus_address, items[0].split("/", 1)[0])


def sni_click(app: App, *path: str) -> None:
    """Click through ``path`` as the StatusNotifier host would: the labels the item exports
    over dbusmenu must match the app's menu at every level, then "clicked" goes to the entry.
    """
    menu = sni_menu(app)
    node, level = menu.layout(), app.entries()
    for name in path:
        exported = [c.label for c in node.shown()]
        assert exported == _visible(level), "the host sees the app's menu"
        assert name in exported, f"{name!r} not in {exported}"
        node = next(c for c in node.shown() if c.label == name)
        level = next(e for e in level if e["text"] == name)["children"]
    menu.click(*path)
