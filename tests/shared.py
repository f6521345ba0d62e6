"""The team's shared material, beside the checkout as ``../shared``: real captures of status
pages and Claude's incident history.

A clone without it (the GitHub workflow, a laptop) skips the tests that read it. ``.ci/run``
sets ``CST_NEED_SHARED=1``: the project's CI has ``../shared`` beside the checkout, so there a
missing file fails the test instead of letting the archive figures go unchecked.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SAMPLES = SHARED / "statuspage-samples"
ARCHIVE = SAMPLES / "claude-incident-archive" / "claude_all_incidents_archive.json"
REQUIRED = "CST_NEED_SHARED"


def need(path: Path) -> Path:
    """``path`` if it is there; else skip, or fail where it must be there."""
    if path.exists():
        return path
    message = f"{path} is not present (../shared sits beside the checkout)"
    if os.environ.get(REQUIRED, "") == "1":
        pytest.fail(f"{message}; {REQUIRED}=1 requires it", pytrace=False)
    pytest.skip(message)
