"""``claude-status-tray check`` end to end, as a process, against a status page on 127.0.0.1.

Every run gets its own XDG directories and HOME under tmp_path: the user's real config, data,
logs and cache are never touched.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import faultserver as fs
from tray_app.core.levels import Level
from tray_app.demo import COMPONENTS, Fault, StatusServer

EX_USAGE = 64
NAMES = [name for _, name in COMPONENTS]
CLAUDE_AI, CLAUDE_CODE = "rwppv331jlwc", "yyzkbfz2thpt"
CHECK_KEYS = {"url", "level", "description", "checked_at", "components", "incidents", "error"}


@pytest.fixture
def server() -> Iterator[StatusServer]:
    with StatusServer() as s:
        yield s


def run(tmp_path: Path, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tray_app", *args],
        env=fs.isolated_env(tmp_path), capture_output=True, text=True, timeout=timeout,
        stdin=subprocess.DEVNULL, check=False,
    )


def check_json(tmp_path: Path, url: str, *extra: str) -> tuple[int, dict[str, Any]]:
    proc = run(tmp_path, "check", "--url", url, "--json", *extra)
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 1, proc.stdout  # exactly one JSON object, on one line
    doc = json.loads(lines[0])
    assert isinstance(doc, dict)
    return proc.returncode, doc


def test_json_has_the_documented_shape(tmp_path: Path, server: StatusServer) -> None:
    before = time.time()
    code, doc = check_json(tmp_path, server.url)
    assert code == 0
    assert CHECK_KEYS <= set(doc)
    assert doc["url"] == server.url
    assert doc["level"] == "operational"
    assert doc["description"] == "All Systems Operational"
    assert doc["error"] is None
    assert doc["incidents"] == []
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", doc["checked_at"])
    stamp = time.mktime(time.strptime(doc["checked_at"], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
    assert before - 2 <= stamp <= time.time() + 2
    assert [c["name"] for c in doc["components"]] == NAMES
    for component in doc["components"]:
        assert {"name", "level", "status"} <= set(component)
        assert (component["level"], component["status"]) == ("operational", "operational")
    assert server.requests == 1


@pytest.mark.parametrize(
    ("level", "code"),
    [
        (Level.OPERATIONAL, 0),
        (Level.MAINTENANCE, 1),
        (Level.DEGRADED, 1),
        (Level.PARTIAL_OUTAGE, 2),
        (Level.MAJOR_OUTAGE, 2),
    ],
    ids=lambda v: v.value if isinstance(v, Level) else str(v),
)
def test_exit_code_follows_the_level(
    tmp_path: Path, server: StatusServer, level: Level, code: int
) -> None:
    affected = ("0qbwn08sd68x",) if level is Level.MAINTENANCE else (CLAUDE_CODE,)
    server.set_level(level, affected=affected)
    got, doc = check_json(tmp_path, server.url)
    assert (got, doc["level"]) == (code, level.value)
    assert doc["error"] is None
    if level is Level.OPERATIONAL:
        assert doc["incidents"] == []
        return
    assert len(doc["incidents"]) == 1
    incident = doc["incidents"][0]
    assert {"name", "status", "impact", "url"} <= set(incident)
    assert incident["url"].startswith("https://stspg.io/")
    assert any(c["level"] == level.value for c in doc["components"])


def test_a_page_that_cannot_be_reached_is_unknown_with_the_error(tmp_path: Path) -> None:
    with fs.refused_port() as port:
        url = f"http://127.0.0.1:{port}"
        code, doc = check_json(tmp_path, url)
    assert code == 3
    assert doc["level"] == "unknown"
    assert doc["error"] and "refused" in doc["error"]
    assert doc["components"] == [] and doc["incidents"] == []


def test_a_503_is_unknown_not_an_outage(tmp_path: Path, server: StatusServer) -> None:
    server.fault = fs.retry_later(503, 60)
    code, doc = check_json(tmp_path, server.url)
    assert code == 3
    assert doc["level"] == "unknown" and "503" in doc["error"]


def test_the_one_line_summary(tmp_path: Path, server: StatusServer) -> None:
    server.set_level(Level.DEGRADED)
    proc = run(tmp_path, "check", "--url", server.url)
    assert proc.returncode == 1
    assert proc.stdout.count("\n") == 1
    assert "degraded" in proc.stdout and "Elevated errors on Claude Code" in proc.stdout


def test_waybar_output(tmp_path: Path, server: StatusServer) -> None:
    server.set_level(Level.MAJOR_OUTAGE)
    proc = run(tmp_path, "check", "--url", server.url, "--waybar")
    assert proc.returncode == 2
    doc = json.loads(proc.stdout)
    assert {"text", "tooltip", "class", "percentage"} <= set(doc)
    assert doc["class"] == "major_outage"
    assert doc["percentage"] == 0
    assert "major outage" in doc["text"]
    assert "Elevated errors across Claude.ai" in doc["tooltip"]


# -- components -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("names", "code", "watched"),
    [
        ("claude code", 0, ["Claude Code"]),
        ("CLAUDE CODE", 0, ["Claude Code"]),
        ("Claude.AI", 2, ["claude.ai"]),
        ("claude code, claude.ai", 2, ["claude.ai", "Claude Code"]),
    ],
)
def test_components_are_matched_without_regard_to_case(
    tmp_path: Path, server: StatusServer, names: str, code: int, watched: list[str]
) -> None:
    # claude.ai is in a partial outage; Claude Code is fine.
    server.set_level(Level.PARTIAL_OUTAGE, affected=(CLAUDE_AI,))
    got, doc = check_json(tmp_path, server.url, "--components", names)
    assert got == code
    assert [c["name"] for c in doc["components"]] == watched
    if code == 0:
        assert doc["level"] == "operational" and doc["incidents"] == []


def test_an_unknown_component_is_unknown_and_lists_the_page_names(
    tmp_path: Path, server: StatusServer
) -> None:
    code, doc = check_json(tmp_path, server.url, "--components", "Claude Teleport")
    assert code == 3
    assert doc["level"] == "unknown"
    text = doc["description"]
    assert "Claude Teleport" in text
    for name in NAMES:
        assert name in text


@pytest.mark.parametrize("fmt", [[], ["--waybar"]], ids=["one-line", "waybar"])
def test_an_unknown_component_in_the_text_outputs_lists_the_page_names(
    tmp_path: Path, server: StatusServer, fmt: list[str]
) -> None:
    proc = run(tmp_path, "check", "--url", server.url, "--components", "Claude Teleport", *fmt)
    assert proc.returncode == 3
    text = json.loads(proc.stdout)["tooltip"] if fmt else proc.stdout
    assert "Claude Teleport" in text
    assert all(name in text for name in NAMES)
    assert "waiting for the first check" not in text


# -- usage errors and bad input: 64, one line, no traceback ----------------------------------------


def _assert_usage_error(proc: subprocess.CompletedProcess[str], words: str) -> None:
    assert proc.returncode == EX_USAGE, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    errors = [line for line in lines if "error:" in line]
    assert len(errors) == 1, proc.stderr  # one line says what is wrong ...
    assert all(line.startswith(("usage:", " ")) for line in lines if line not in errors)
    assert re.search(words, errors[0], re.IGNORECASE), errors[0]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["check", "--url", "ftp://x"], r"https://"),
        (["check", "--url", "http://example.com"], r"plain http.*https://"),
        (["check", "--url", "status.claude.com"], r"not a URL"),
        (["check", "--components", " , "], r"component"),
        (["check", "--bogus"], r"unrecognized arguments: --bogus"),
        (["watch", "--interval", "abc"], r"'abc' is not a number"),
        (["watch", "--interval", "-5"], r"positive"),
        (["history", "--days", "0"], r"days"),
    ],
    ids=["ftp", "remote-http", "no-scheme", "empty-components", "unknown-flag",
         "interval-abc", "interval-negative", "days-zero"],
)
def test_usage_errors_exit_64_with_one_line(tmp_path: Path, args: list[str], words: str) -> None:
    _assert_usage_error(run(tmp_path, *args), words)


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        (fs.ok(b'{"hello": "world"}'), r"not a Statuspage.*expected"),
        (fs.ok(b"[1, 2, 3]"), r"not a Statuspage.*array"),
        (fs.respond(404, b"<h1>Not Found</h1>", "text/html"), r"not a Statuspage.*404"),
    ],
    ids=["json-object", "json-array", "404"],
)
def test_a_page_that_is_not_a_statuspage_exits_64(
    tmp_path: Path, server: StatusServer, fault: Fault, words: str
) -> None:
    server.fault = fault
    for extra in ([], ["--json"]):
        _assert_usage_error(run(tmp_path, "check", "--url", server.url, *extra), words)


def test_a_statuspage_with_wrong_types_is_unknown_exit_3_naming_them(
    tmp_path: Path, server: StatusServer
) -> None:
    # Issue 11: this was "not a Statuspage" (64) with "has neither 'status' nor 'components'
    # (keys: components, incidents, page, status)".
    server.fault = fs.ok(b'{"page": {"id": "x", "name": "Claude"}, "status": "x", '
                         b'"components": {"a": {"status": "operational"}}, "incidents": []}')
    says = "'status' is a string, not an object; 'components' is an object, not a list"
    code, doc = check_json(tmp_path, server.url)
    assert code == 3 and doc["level"] == "unknown"
    assert says in doc["headline"] or says in json.dumps(doc["reasons"])
    proc = run(tmp_path, "check", "--url", server.url)
    assert proc.returncode == 3 and says in proc.stdout
    assert "neither" not in proc.stdout + proc.stderr


# -- configuration --------------------------------------------------------------------------------


def test_the_config_file_is_read_from_the_isolated_config_dir(
    tmp_path: Path, server: StatusServer
) -> None:
    server.set_level(Level.DEGRADED)
    paths = fs.app_paths(fs.isolated_env(tmp_path))
    config = paths.config
    config.parent.mkdir(parents=True)
    config.write_text(f'url = "{server.url}"\ncomponents = ["claude code"]\n')
    code, doc = check_json(tmp_path, server.url.replace("127.0.0.1", "localhost"))
    assert doc["url"].startswith("http://localhost:")  # the flag wins over the file
    code, doc = run_json_without_url(tmp_path)
    assert (code, doc["url"], doc["level"]) == (1, server.url, "degraded")
    assert [c["name"] for c in doc["components"]] == ["Claude Code"]
    assert config.read_text().startswith('url = "')  # left as it was
    assert paths.logs.is_dir() and paths.logs.is_relative_to(tmp_path)  # logs: isolated too


def run_json_without_url(tmp_path: Path) -> tuple[int, dict[str, Any]]:
    proc = run(tmp_path, "check", "--json")
    assert "Traceback" not in proc.stderr
    return proc.returncode, json.loads(proc.stdout)
