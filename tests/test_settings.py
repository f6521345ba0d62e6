"""Every setting does what the README says: each documented key, set to a value other than its
default in one file, has its effect on the app that the composition root builds from it.

Adding a key is one line in EFFECTS: the TOML that sets it, and a check on the built app. A key
the README documents without a line here fails ``test_every_documented_key_has_a_check``; a check
that holds on the defaults too (so proves nothing) fails ``test_no_check_holds_on_the_defaults``.
"""

from __future__ import annotations

import io
import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from tray_app import app as app_mod
from tray_app.app import AppPaths, Options, make_monitor, start_session
from tray_app.autostart import XdgAutostart, apply
from tray_app.config import Config, load
from tray_app.controller import TrayController
from tray_app.core.assess import Selector
from tray_app.core.levels import Level
from tray_app.core.policy import Kind, Notify
from tray_app.core.prefs import gate
from tray_app.http import HttpClient
from tray_app.monitor import Monitor

README = Path(__file__).resolve().parent.parent / "README.md"
PAUSE = "2031-05-06T07:08:09+00:00"
PAUSE_EPOCH = 1_935_817_689.0


@dataclass
class Built:
    """What a long-running start builds from the file (nothing started, nothing fetched)."""

    cfg: Config
    problems: list[str]
    running: app_mod.Running
    controller: TrayController
    autostart: XdgAutostart
    client: HttpClient

    @property
    def monitors(self) -> list[Monitor]:
        return self.running.poller.monitors

    @property
    def main(self) -> Monitor:
        return self.monitors[0]

    def probe_urls(self) -> list[str]:
        # reachability = false turns the probe off, which hides the urls it would ask: build
        # the main monitor as the app does with the hint on, from the same loaded file.
        m = make_monitor(self.cfg.main_service(), replace(self.cfg, reachability=True),
                         self.client)
        return list(getattr(m.reach, "urls", []))

    def paused_in_menu(self) -> bool:
        return self.controller.model().badge == "paused"


Check = Callable[[Built], bool]

EFFECTS: dict[str, tuple[str, Check]] = {
    "url": ('url = "https://status.example.com/"',
            lambda b: b.main.source.base == "https://status.example.com"),
    "interval": ("interval = 300", lambda b: b.main.interval == 300),
    "components": ('components = ["API", { id = "k1", name = "Web" }]',
                   lambda b: b.main.watch.include == (Selector(name="API"),
                                                      Selector(name="Web", id="k1"))),
    "notify_on": ('notify_on = ["down", "recovered"]',
                  lambda b: b.running.session.prefs.kinds == {"down", "recovered"}
                  and not {Kind.DEGRADED, Kind.MAINTENANCE} & b.main.policy.notify),
    "recovery_confirmations": ("recovery_confirmations = 5",
                               lambda b: b.main.policy.timing.recovery_confirmations == 5),
    "monitoring_grace": ("monitoring_grace = 1800",
                         lambda b: b.main.policy.timing.monitoring_grace == 1800),
    "stale_after": ("stale_after = 86400", lambda b: b.main.policy.timing.stale_after == 86400),
    "proxy": ('proxy = "http://proxy.example:3128"',
              lambda b: b.running.client.proxy == "http://proxy.example:3128"),
    "models": ('models = ["sonnet", "haiku 4.5"]',
               lambda b: str(b.main.models) == "sonnet, haiku 4.5"),
    "notifications": ("notifications = false",
                      lambda b: not b.running.session.prefs.enabled and b.paused_in_menu()),
    "paused_until": (f"paused_until = {PAUSE}",
                     lambda b: b.running.session.prefs.paused_until == PAUSE_EPOCH
                     and b.paused_in_menu() and not _sent(b, Kind.DOWN, PAUSE_EPOCH - 60)),
    "reachability": ("reachability = false",
                     lambda b: b.main.reach is None),
    "reachability_urls": ('reachability_urls = ["https://claude.ai/status"]',
                          lambda b: b.probe_urls() == ["https://claude.ai/status"]),
    "online_check": ('online_check = ["192.0.2.1:443"]',
                     lambda b: getattr(b.main.online_check, "targets", None)
                     == [("192.0.2.1", 443)]),
    "mirror": ('mirror = "https://{id}.mirror.example"',
               lambda b: getattr(b.main.source, "mirror_template", "")
               == "https://{id}.mirror.example"),
    "autostart": ("autostart = true", lambda b: b.autostart.enabled()),
    "services": ('[[services]]\npreset = "github"\n[[services]]\nname = "My provider"\n'
                 'url = "https://status.provider.example"\ncomponents = ["API"]',
                 lambda b: [m.key for m in b.monitors][1:]
                 == ["github", "status.provider.example"]
                 and b.monitors[2].name == "My provider"
                 and b.monitors[2].watch.include == (Selector(name="API"),)),
}


def _sent(b: Built, kind: Kind, now: float) -> bool:
    allowed, _ = gate(b.running.session.prefs, Notify(kind, "t", "b", Level.MAJOR_OUTAGE), now)
    return allowed


def documented_keys() -> set[str]:
    """The keys of the README's configuration example (commented-out ones too)."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Configuration"):]
    block = section[section.index("```toml"):section.index("```", section.index("```toml") + 3)]
    keys = set(re.findall(r"^#?\s*([a-z_]+)\s*=", block, re.MULTILINE))
    keys |= set(re.findall(r"^\[\[([a-z_]+)\]\]", block, re.MULTILINE))
    return keys - {"preset", "name"}  # keys of a [[services]] table, covered by "services"


def config_text(keys: list[str]) -> str:
    top = [EFFECTS[k][0] for k in keys if not EFFECTS[k][0].startswith("[[")]
    tables = [EFFECTS[k][0] for k in keys if EFFECTS[k][0].startswith("[[")]
    return "\n".join(["# every key, none at its default", *top, *tables]) + "\n"


@pytest.fixture
def build(tmp_path: Path) -> Iterator[Callable[[str], Built]]:
    made: list[Built] = []

    def make(text: str) -> Built:
        home = tmp_path / f"run{len(made)}"
        paths = AppPaths(config=home / "config.toml", data=home / "data", logs=home / "logs")
        paths.config.parent.mkdir(parents=True)
        paths.config.write_text(text, encoding="utf-8")
        autostart = XdgAutostart(config_home=home / "xdg", argv=["claude-status-tray"])
        running, cfg, problems = start_session(Options(), paths, io.StringIO(), notify=False,
                                               autostart=autostart)
        controller = TrayController(running.session, running.poller, cfg,
                                    config_path=paths.config, autostart=autostart)
        built = Built(cfg, problems, running, controller, autostart, HttpClient())
        made.append(built)
        return built

    yield make
    for b in made:
        b.running.close()
        b.client.close()


def test_every_documented_key_has_a_check() -> None:
    assert documented_keys() - set(EFFECTS) == set()
    assert {"url", "notify_on", "reachability", "paused_until", "autostart"} <= documented_keys()


def test_a_config_with_every_key_has_every_effect(build: Callable[[str], Built]) -> None:
    b = build(config_text(list(EFFECTS)))
    assert b.problems == [] and b.cfg.notes == ()
    failed = [key for key, (_, check) in EFFECTS.items() if not check(b)]
    assert failed == []


@pytest.mark.parametrize("key", list(EFFECTS))
def test_each_key_alone_has_its_effect(build: Callable[[str], Built], key: str) -> None:
    b = build(config_text([key]))
    assert b.problems == []
    assert EFFECTS[key][1](b)


def test_no_check_holds_on_the_defaults(build: Callable[[str], Built]) -> None:
    b = build("")
    holds = [key for key, (_, check) in EFFECTS.items() if check(b)]
    assert holds == []


# -- autostart ---------------------------------------------------------------------------------


class FlakyAutostart:
    def __init__(self, on: bool = False, fail: bool = False) -> None:
        self.on, self.fail, self.writes = on, fail, 0

    def enabled(self) -> bool:
        return self.on

    def set(self, on: bool) -> None:
        if self.fail:
            raise PermissionError("HKCU is read-only here")
        self.writes += 1
        self.on = on


@pytest.mark.parametrize(
    ("before", "want", "after", "writes"),
    [(False, True, True, 1), (True, True, True, 0), (True, False, False, 1),
     (False, False, False, 0), (True, None, True, 0), (False, None, False, 0)],
)
def test_autostart_is_made_to_match_at_start_and_only_written_when_it_differs(
    before: bool, want: bool | None, after: bool, writes: int
) -> None:
    auto = FlakyAutostart(on=before)
    apply(auto, want)
    apply(auto, want)  # a second start: nothing more to do
    assert (auto.on, auto.writes) == (after, writes)


def test_a_failing_autostart_is_logged_and_the_app_starts(
    build: Callable[[str], Built], caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    auto = FlakyAutostart(fail=True)
    with caplog.at_level(logging.WARNING):
        assert apply(auto, True).startswith("failed")
    assert "can't turn start at login on" in caplog.text
    # And the real entry, in a folder that can't be created.
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the folder should be")
    assert apply(XdgAutostart(config_home=blocked, argv=["x"]), True).startswith("failed")


def test_autostart_false_removes_the_login_item_at_start(build: Callable[[str], Built],
                                                         tmp_path: Path) -> None:
    b = build("autostart = true\n")
    assert b.autostart.enabled()
    entry = b.autostart.path
    paths = AppPaths(config=tmp_path / "off.toml", data=tmp_path / "d", logs=tmp_path / "l")
    paths.config.write_text("autostart = false\n")
    running, _, _ = start_session(Options(), paths, io.StringIO(), notify=False,
                                  autostart=XdgAutostart(config_home=entry.parent.parent,
                                                         argv=["x"]))
    running.close()
    assert not entry.exists()


def test_demo_never_touches_the_login_item(tmp_path: Path) -> None:
    auto = FlakyAutostart()
    paths = AppPaths(config=tmp_path / "c.toml", data=tmp_path / "d", logs=tmp_path / "l")
    paths.config.write_text("autostart = true\n")
    running, _, _ = start_session(Options(demo=True), paths, io.StringIO(), notify=False,
                                  autostart=auto)
    running.close()
    assert auto.writes == 0


# -- paused_until --------------------------------------------------------------------------------


def test_the_menu_resume_clears_the_pause_in_the_file(build: Callable[[str], Built]) -> None:
    b = build(f"paused_until = {PAUSE}\n")
    b.controller.on_action("resume")
    assert not b.paused_in_menu()
    cfg, problems = load(b.controller.config_path)  # type: ignore[arg-type]
    assert problems == [] and cfg.paused_until == 0
    b.controller.on_action("pause_1h")
    cfg, _ = load(b.controller.config_path)  # type: ignore[arg-type]
    assert cfg.paused_until == 0  # a file without a pause isn't rewritten for one


def test_a_pause_in_the_file_is_kept_in_agreement_with_the_menu(
    build: Callable[[str], Built],
) -> None:
    b = build(f"paused_until = {PAUSE}\n")
    b.controller.on_action("pause_1h")
    cfg, _ = load(b.controller.config_path)  # type: ignore[arg-type]
    assert cfg.paused_until == round(b.running.session.prefs.paused_until)
    assert abs(cfg.paused_until - (time.time() + 3600)) < 60


@pytest.mark.parametrize(
    ("value", "epoch"),
    [(PAUSE, PAUSE_EPOCH), ("1935817689", PAUSE_EPOCH), ("1935817689.5", PAUSE_EPOCH + 0.5)],
    ids=["offset-datetime", "epoch", "epoch-fraction"],
)
def test_paused_until_takes_a_date_or_epoch_seconds(tmp_path: Path, value: str,
                                                    epoch: float) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f"paused_until = {value}\n")
    cfg, problems = load(path)
    assert problems == [] and cfg.paused_until == epoch


# -- notify_on and the reachability hint ---------------------------------------------------------


OLD_README = """\
notify_on = ["startup", "down", "degraded", "maintenance", "recovered", "summary"]
reachability = true                 # the "unreachable from here" hint
"""


def test_the_readme_example_keeps_the_hint_notifying(tmp_path: Path) -> None:
    text = README.read_text(encoding="utf-8")
    line = next(ln for ln in text.splitlines() if ln.startswith("notify_on = "))
    path = tmp_path / "config.toml"
    path.write_text(line + "\nreachability = true\n")
    cfg, problems = load(path)
    assert problems == [] and cfg.notes == ()
    assert "unreachable" in cfg.notify_on


def test_turning_the_hint_on_without_its_notification_is_said_at_start(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(OLD_README)
    cfg, problems = load(path)
    assert problems == []  # a legitimate choice, not a broken file
    (note,) = cfg.notes
    assert note.startswith(f"{path}:1: notify_on leaves out \"unreachable\"")
    err = io.StringIO()
    app_mod.resolve_config(Options(config_path=path), AppPaths(path, tmp_path, tmp_path), err)
    assert err.getvalue().startswith("note: ")


# -- services ------------------------------------------------------------------------------------


REPEATED = """\
url = "https://status.claude.com"
components = ["Claude Code"]

[[services]]
preset = "github"
components = ["Git Operations"]

[[services]]
url = "https://www.githubstatus.com/api/v2/summary.json"
components = ["API Requests"]

[[services]]
preset = "claude"

[[services]]
url = "https://status.example.com"
"""


def test_a_page_listed_twice_is_watched_once_with_a_warning(build: Callable[[str], Built],
                                                            tmp_path: Path) -> None:
    b = build(REPEATED)
    assert [m.key for m in b.monitors] == ["claude", "github", "status.example.com"]
    github = b.monitors[1]
    assert github.watch.include == (Selector(name="Git Operations"),
                                    Selector(name="API Requests"))
    # The repeated claude watches everything (minus the preset's exclusion): so does the merge.
    assert b.main.watch.include == ()
    assert [p.split(": ", 1)[1] for p in b.problems] == [
        "[[services]] #2 (https://www.githubstatus.com) is the same page as [[services]] #1; "
        "watching it once, with the components of both",
        "[[services]] #3 (https://status.claude.com) is the same page as the main url; "
        "watching it once, with the components of both",
    ]
    config = b.controller.config_path
    assert [p.split(": ", 1)[0] for p in b.problems] == [f"{config}:8", f"{config}:12"]


def test_one_notification_for_a_page_listed_twice(build: Callable[[str], Built]) -> None:
    b = build('[[services]]\npreset = "github"\n[[services]]\npreset = "github"\n')
    assert [m.key for m in b.monitors].count("github") == 1


def test_service_keys_come_from_the_address_not_the_order(tmp_path: Path) -> None:
    a = '[[services]]\nurl = "https://status.a.example"\n'
    c = '[[services]]\nurl = "https://c.example/status/"\n'
    first, second = tmp_path / "1.toml", tmp_path / "2.toml"
    first.write_text(a + c)
    second.write_text(c + a)
    keys_1 = {s.url: s.key for s in load(first)[0].services()}
    keys_2 = {s.url: s.key for s in load(second)[0].services()}
    assert keys_1 == keys_2 == {
        "https://status.claude.com": "claude",
        "https://status.a.example": "status.a.example",
        "https://c.example/status": "c.example/status",
    }


def test_a_known_page_by_its_address_gets_its_preset(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[[services]]\nurl = "https://status.anthropic.com"\n'
                    'name = "Anthropic"\n[[services]]\nurl = "https://www.githubstatus.com"\n')
    cfg, problems = load(path)
    assert [s.key for s in cfg.services()] == ["claude", "github"]
    assert len(problems) == 1 and "the same page as the main url" in problems[0]
