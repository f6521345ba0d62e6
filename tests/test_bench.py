"""The footprint benchmark (bench/run.py) runs and prints every figure and every budget.

Timings are never asserted here: benchmarks stay out of the suite's pass/fail (issue 7). The
benchmark needs the virtual desktop, so this test skips (fails in CI) like the ``desktop``
fixture when its programs are missing. ``--quick`` takes about 20 s.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest_desktop import require
from tests.desktop import missing_requirements

pytestmark = pytest.mark.desktop

ROOT = Path(__file__).resolve().parent.parent

FIGURES = [
    # idle memory
    "idle_rss_floor_mb", "idle_pss_floor_mb", "idle_uss_floor_mb", "idle_rss_tray_start_mb",
    "idle_rss_tray_mb", "idle_pss_tray_mb", "idle_uss_tray_mb", "idle_threads_tray",
    "idle_rss_ratio", "idle_rss_watch_start_mb", "idle_rss_watch_mb", "idle_pss_watch_mb",
    # idle CPU and wake-ups
    "cpu_window_s", "cpu_polls_in_window", "cpu_per_poll_ms", "cpu_per_poll_default_ms",
    "cpu_idle_baseline_s_per_hour", "cpu_s_per_hour_default", "cpu_s_per_hour_default_direct",
    "wakeups_poll_thread_per_hour", "wakeups_process_per_hour_default",
    "wakeups_process_idle_per_hour", "ui_menu_rebuilds_per_poll_default",
    # network
    "net_page_small_bytes", "net_page_real_bytes",
    "net_small_conditional_per_poll_bytes", "net_small_conditional_per_hour_kb",
    "net_small_unconditional_per_poll_bytes", "net_small_unconditional_per_hour_kb",
    "net_real_conditional_per_poll_bytes", "net_real_conditional_per_hour_kb",
    "net_real_unconditional_per_poll_bytes", "net_real_unconditional_per_hour_kb",
    "net_real_conditional_with_hint_per_poll_bytes", "net_tray_conditional_per_poll_bytes",
    # over TLS, a new (resumed) connection per poll
    "net_tls_per_poll_bytes", "net_tls_per_hour_kb", "net_tls_handshake_bytes",
    "net_tls_request_bytes", "net_tls_response_bytes", "net_tls_resumed_pct",
    "net_tls_full_handshake_bytes", "net_tls_per_poll_without_resumption_bytes",
    # start-up (the frozen ones read n/a when there is no build)
    "startup_import_httpx_s", "startup_check_s", "startup_check_ratio", "startup_tray_icon_s",
    "startup_check_frozen_s", "startup_tray_icon_frozen_s",
    # detection latency
    "detect_latency_s", "detect_poll_wait_s", "detect_processing_ms", "detect_processing_max_ms",
    # import time
    "import_check_total_ms", "import_httpx_total_ms",
    *(f"import_top_{i:02d}" for i in range(1, 11)),
]
BUDGETS = ["idle_rss", "idle_cpu", "network", "check_startup", "tls"]


def test_quick_run_prints_every_figure_and_budget() -> None:
    require(missing_requirements(), "the benchmark")
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick"],
        cwd=ROOT, capture_output=True, text=True, timeout=180, check=False,
        stdin=subprocess.DEVNULL,
    )
    why = f"stdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr[-4000:]}"
    assert result.returncode == 0, why
    lines = result.stdout.splitlines()
    printed = {line.split(":", 1)[0] for line in lines if ": " in line}
    assert [name for name in FIGURES if name not in printed] == [], why
    for name in BUDGETS:
        verdicts = [ln for ln in lines if ln.startswith(f"budget_{name}: ")]
        assert len(verdicts) == 1, why
        assert verdicts[0].split()[1] in ("PASS", "MISS"), why
