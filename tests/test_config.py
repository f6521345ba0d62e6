"""The settings file: read it, survive a broken one without touching it, write it atomically."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tray_app.config import (
    ALL_KINDS,
    Config,
    ServiceConfig,
    dumps,
    from_dict,
    load,
    save,
)
from tray_app.core.assess import Selector
from tray_app.core.policy import Kind
from tray_app.core.presets import CLAUDE, PRESETS

GOOD = """\
# my settings
url = "https://status.claude.com/api/v2/summary.json"
interval = 90
components = ["Claude Code", { id = "k8w3r06qmzrp", name = "Claude API" }, "id:rwppv331jlwc"]
notify_on = ["down", "recovered", "startup"]
recovery_confirmations = 3
notifications = false
autostart = true

[[services]]
preset = "github"

[[services]]
name = "Example"
url = "https://status.example.com"
components = ["API"]
"""


def write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "config.toml"
    if isinstance(text, str):
        text = text.encode("utf-8")
    path.write_bytes(text)
    return path


def test_a_missing_file_means_defaults_and_no_complaint(tmp_path: Path) -> None:
    cfg, problems = load(tmp_path / "nope.toml")
    assert problems == []
    assert cfg == Config()
    assert not (tmp_path / "nope.toml").exists()


def test_defaults() -> None:
    cfg = Config()
    assert cfg.url == "https://status.claude.com"
    assert cfg.interval == 60.0
    assert cfg.recovery_confirmations == 2
    assert cfg.notify_on == ALL_KINDS
    main = cfg.main_service()
    assert main.key == "claude" and main.page_id == "tymt9n04zgry"
    assert main.watch == CLAUDE.watch  # Claude for Government left out by default


def test_load_a_good_file(tmp_path: Path) -> None:
    cfg, problems = load(write(tmp_path, GOOD))
    assert problems == []
    assert cfg.url == "https://status.claude.com"
    assert cfg.interval == 90.0
    assert cfg.components == (
        Selector(name="Claude Code"),
        Selector(name="Claude API", id="k8w3r06qmzrp"),
        Selector(id="rwppv331jlwc"),
    )
    assert cfg.notify_on == {"down", "recovered", "startup"}
    assert cfg.recovery_confirmations == 3
    assert (cfg.notifications, cfg.autostart) == (False, True)
    assert cfg.source_path == tmp_path / "config.toml"
    policy = cfg.policy()
    assert not {Kind.DEGRADED, Kind.MAINTENANCE} & policy.notify
    assert policy.timing.recovery_confirmations == 3
    github, example = cfg.extra_services
    assert (github.key, github.url) == ("github", PRESETS["github"].url)
    assert (example.name, example.url, example.components) == (
        "Example", "https://status.example.com", (Selector(name="API"),)
    )
    # With components chosen, the preset's exclusion gives way to the user's choice.
    assert cfg.main_service().watch.exclude == ()


BROKEN = [
    ("unclosed-string", 'url = "https://status.claude.com"\ninterval = 60\nname = "oops\n', 3),
    ("missing-value", "interval = 60\n\ncomponents =\n", 3),
    ("duplicate-key", "interval = 60\ninterval = 70\n", 2),
    ("bad-table", 'url = "https://status.claude.com"\n[[services\n', 2),
]


@pytest.mark.parametrize(("text", "line"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_a_broken_file_runs_on_defaults_and_is_left_untouched(
    tmp_path: Path, text: str, line: int
) -> None:
    path = write(tmp_path, text)
    before = path.read_bytes()
    stat = path.stat()
    cfg, problems = load(path)
    assert cfg == Config()
    assert len(problems) == 1
    (message,) = problems
    assert message.startswith(f"{path}:{line}: ")
    assert "\n" not in message
    assert path.read_bytes() == before
    assert path.stat().st_mtime_ns == stat.st_mtime_ns
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]


@pytest.mark.parametrize(
    ("raw", "says"),
    [(b"\xff\xfeu\x00r\x00l\x00", "can't read it"), (b"url = \"\xc3\x28\"\n", "")],
    ids=["utf16", "bad-utf8"],
)
def test_an_unreadable_file_runs_on_defaults(tmp_path: Path, raw: bytes, says: str) -> None:
    path = write(tmp_path, raw)
    cfg, problems = load(path)
    assert cfg == Config()
    assert len(problems) == 1 and str(path) in problems[0] and says in problems[0]
    assert path.read_bytes() == raw


WRONG = [
    ("interval", 'interval = "fast"', "positive number"),
    ("interval", "interval = -5", "positive number"),
    ("interval", "interval = nan", "positive number"),
    ("interval", "interval = inf", "positive number"),
    ("interval", "interval = true", "positive number"),
    ("recovery_confirmations", "recovery_confirmations = 0", "1 to 20"),
    ("recovery_confirmations", "recovery_confirmations = 2.5", "1 to 20"),
    ("notify_on", 'notify_on = ["down", "sometimes"]', "unknown kinds"),
    ("notify_on", 'notify_on = "down"', "list drawn from"),
    ("components", "components = 5", "list of component names"),
    ("components", "components = [1, 2]", "names (strings)"),
    ("url", 'url = "http://status.claude.com"', "plain http"),
    ("url", "url = 42", "must be a string"),
    ("notifications", 'notifications = "yes"', "true or false"),
    ("paused_until", "paused_until = nan", "date and time"),
    ("paused_until", "paused_until = 08:00:00", "date and time"),
    ("mirror", 'mirror = "https://mirror.example"', "{id}"),
    ("services", 'services = "github"', "array of tables"),
]


@pytest.mark.parametrize(("key", "line", "says"), WRONG, ids=[w[1] for w in WRONG])
def test_a_wrong_typed_key_is_named_with_its_line_and_the_rest_kept(
    tmp_path: Path, key: str, line: str, says: str
) -> None:
    text = f'# settings\nurl = "https://status.example.com"\n{line}\nautostart = true\n'
    if key == "url":
        text = f"# settings\ninterval = 45\n{line}\nautostart = true\n"
    path = write(tmp_path, text)
    cfg, problems = load(path)
    assert len(problems) == 1, problems
    (message,) = problems
    assert message.startswith(f"{path}:3: {key} ")
    assert says in message
    assert cfg.autostart is True  # the other keys are kept
    if key == "url":
        assert cfg.url == Config().url and cfg.interval == 45.0
    else:
        assert cfg.url == "https://status.example.com"
        field = {"services": "extra_services"}.get(key, key)
        assert getattr(cfg, field) == getattr(Config(), field)
    assert path.read_text("utf-8") == text


def test_an_unknown_key_is_reported_and_ignored(tmp_path: Path) -> None:
    # The blank line matters: the line number must not be found across it.
    path = write(tmp_path, "interval = 45\n\ncolour = \"red\"\n")
    cfg, problems = load(path)
    assert cfg.interval == 45.0
    assert problems == [f"{path}:3: unknown setting 'colour' ignored"]


def test_from_dict_without_a_file() -> None:
    cfg, problems = from_dict({"interval": 0})
    assert cfg.interval == 60.0
    assert problems and problems[0].startswith("config:1: interval ")


FULL = Config(
    url="https://status.claude.com",
    interval=45.5,
    components=(
        Selector(name="Claude Code", id="yyzkbfz2thpt"),
        Selector(name="claude.ai"),
        Selector(id="k8w3r06qmzrp"),
        Selector(name='Quote " and \\ backslash', id="q1"),
        Selector(name="Emoji \U0001f600, bell \x07, tab\t, nel \x85, rlo \u202e", id="e2"),
    ),
    notify_on=frozenset({"down", "recovered", "summary"}),
    recovery_confirmations=4,
    extra_services=(
        ServiceConfig(PRESETS["github"].name, PRESETS["github"].url, key="github"),
        ServiceConfig(
            "Example", "https://status.example.com", (Selector(name="API", id="a1"),),
            (Selector(name="Legacy"),), key="status.example.com",
        ),
        ServiceConfig(PRESETS["openai"].name, PRESETS["openai"].url, key="openai"),
    ),
    reachability=False,
    reachability_urls=("https://claude.ai",),
    online_check=("1.1.1.1:443",),
    mirror="https://{id}.statuspage.io",
    notifications=False,
    autostart=True,
)


def test_dumps_load_round_trip(tmp_path: Path) -> None:
    path = write(tmp_path, dumps(FULL))
    cfg, problems = load(path)
    assert problems == []
    assert cfg == FULL
    assert dumps(cfg) == dumps(FULL)


def test_defaults_round_trip(tmp_path: Path) -> None:
    cfg, problems = load(write(tmp_path, dumps(Config())))
    assert problems == []
    assert cfg == Config()


def test_save_is_atomic_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "config.toml"
    save(FULL, path)  # creates the folder
    assert path.read_text("utf-8") == dumps(FULL)
    old_inode = os.stat(path).st_ino
    save(Config(), path)
    assert path.read_text("utf-8") == dumps(Config())
    assert os.stat(path).st_ino != old_inode  # replaced by rename, not rewritten in place
    assert [p.name for p in path.parent.iterdir()] == ["config.toml"]
    assert load(path) == (Config(source_path=path), [])


def test_a_failed_save_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config.toml"
    save(FULL, path)

    def boom(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        save(Config(), path)
    assert path.read_text("utf-8") == dumps(FULL)
    assert [p.name for p in tmp_path.iterdir()] == ["config.toml"]
