"""Where the app keeps what it records: one SQLite file in the user data directory, and the
JSON files of earlier versions that it imports the first time it finds them."""

from __future__ import annotations

from pathlib import Path

from . import history, state
from .store import Database, Legacy

DATABASE = "store.sqlite3"
DEMO_DATABASE = "demo.sqlite3"  # ``--demo`` keeps its made-up outages apart from real ones


def open_database(folder: Path, *, demo: bool = False) -> Database:
    """The database in ``folder``. Nothing is opened until the first read or write, and no
    error is raised from here: the stores log and retry."""
    if demo:
        return Database(folder / DEMO_DATABASE,
                        legacy=(Legacy(folder / "demo-history.json", history.import_json),))
    return Database(folder / DATABASE, legacy=(
        Legacy(folder / "history.json", history.import_json),
        Legacy(folder / "state.json", state.import_json),
    ))
