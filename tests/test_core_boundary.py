"""The pure core imports only the standard library: no HTTP, no tray, no notifier, no Pillow."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CORE_DIR = Path(__file__).resolve().parents[1] / "tray_app" / "core"
# Every module in the core package, so a new one is checked without editing this list.
CORE = sorted(f"tray_app.core.{p.stem}" for p in CORE_DIR.glob("*.py") if p.stem != "__init__")
FORBIDDEN = ["httpx", "pystray", "plyer", "PIL", "desktop_notifier"]

PROBE = """
import importlib, json, sys
for name in sys.argv[1].split(","):
    importlib.import_module(name)
loaded = sorted({m.split(".")[0] for m in sys.modules})
print(json.dumps({"loaded": loaded}))
"""


def probe(modules: list[str]) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, ",".join(modules)],
        capture_output=True, text=True, timeout=60, check=True,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_the_core_loads_no_adapter_library() -> None:
    result = probe(CORE)
    loaded = set(result["loaded"])  # type: ignore[call-overload]
    assert "tray_app" in loaded and len(CORE) >= 11, CORE
    assert not loaded & set(FORBIDDEN), sorted(loaded & set(FORBIDDEN))


def test_the_probe_would_notice() -> None:
    # The same check on an adapter (the HTTP source) does see its library.
    result = probe(["tray_app.source"])
    assert "httpx" in set(result["loaded"])  # type: ignore[call-overload]
