"""What the Linux-only tests do on Windows and macOS runners (CI=true there too): skip, naming
what they need, rather than fail for programs those systems don't have."""

from __future__ import annotations

import pytest

from tests import conftest_desktop


def _outcome(monkeypatch: pytest.MonkeyPatch, platform: str, ci: str) -> str:
    monkeypatch.setattr(conftest_desktop.sys, "platform", platform)
    monkeypatch.setenv("CI", ci)
    try:
        conftest_desktop.require(["dbus-daemon"], "the logind tests")
    except pytest.skip.Exception as e:
        return f"skip: {e.msg}"
    except pytest.fail.Exception as e:
        return f"fail: {e.msg}"
    return "run"


@pytest.mark.parametrize("platform", ["win32", "darwin"])
def test_off_linux_a_missing_linux_program_skips_and_says_why_in_ci_too(
        monkeypatch: pytest.MonkeyPatch, platform: str) -> None:
    assert _outcome(monkeypatch, platform, "true") == \
        "skip: the logind tests need dbus-daemon: Linux only"


def test_on_linux_ci_fails_for_a_missing_program_and_a_desk_skips(
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert _outcome(monkeypatch, "linux", "true").startswith("fail: ")
    assert _outcome(monkeypatch, "linux", "").startswith("skip: ")


def test_nothing_missing_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conftest_desktop.sys, "platform", "win32")
    conftest_desktop.require([], "anything")
