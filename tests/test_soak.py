"""Soak (issue 4, item 9): a compressed run of 5,000 polls that mixes level flips and faults,
through the real Monitor, Poller.tick(), Session and stores, against a real Statuspage server
on 127.0.0.1. RSS growth stays under 2 MB; threads and file descriptors stay flat.

The run itself is bench/soak.py (``python bench/soak.py --polls N`` for a longer one).
``pytest -s`` shows the figures; they are also written to a JSON file under the test's tmp.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tray_app.userdata import DATABASE

BENCH = Path(__file__).resolve().parents[1] / "bench" / "soak.py"
POLLS = 5000
RSS_BUDGET_KIB = 2048

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/self/status").exists(),
                       reason="reads RSS, tasks and fds from /proc/self: Linux only"),
]


def load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("soak_bench", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[spec.name]
        raise
    return module


def test_soak(tmp_path: Path) -> None:
    soak = load_bench()
    try:
        figures = soak.run(polls=POLLS, warmup=500, seed=7, data=tmp_path / "data")
    finally:
        sys.modules.pop("soak_bench", None)
    out = tmp_path / "soak-figures.json"
    out.write_text(json.dumps(figures.as_dict(), indent=2) + "\n", encoding="utf-8")
    print()
    for line in figures.lines():
        print("soak:", line)
    print(f"soak: figures written to {out}")

    assert figures.polls >= POLLS
    # It really was a mixed run: flips, faults, alerts, wakes, episodes.
    assert figures.level_changes >= 50
    assert figures.failed_polls >= POLLS // 10
    assert figures.notifications >= 10
    assert figures.wakes >= 5
    assert figures.history_episodes >= 10
    # ...and it cost nothing that stays.
    assert figures.rss_growth_kib < RSS_BUDGET_KIB, figures.lines()
    assert figures.end.threads == figures.start.threads, figures.lines()
    assert figures.end.tasks == figures.start.tasks, figures.lines()
    assert figures.end.fds == figures.start.fds, figures.lines()
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == [DATABASE]
