"""One SQLite file in the user data directory holds the outage history and the state that
survives a restart. The tray, ``watch`` and ``history`` may all have it open at once: every
write is a short transaction on a few rows, every read asks the file, and nothing one process
holds in memory is written over another's.

- **WAL journal.** Readers never wait for a writer. A writer takes the lock with
  ``BEGIN IMMEDIATE`` and waits up to ``busy_timeout`` for another process's transaction.
- **synchronous=FULL.** A commit is on the disk before it returns, so a crash or a power cut
  loses at most the write in flight: one poll's change. (NORMAL would be safe against a crash
  of the app but could lose the last commits to a power cut.) The app writes only when
  something changed, a few times per outage, so the fsync costs nothing that matters.
- **Versioned schema.** ``PRAGMA user_version`` counts the migrations applied. Migrations only
  ever add (tables, columns, indexes), so an older app can keep using a file a newer one made.
- **Earlier versions' JSON files** are imported once, on the first open that finds them, then
  renamed ``*.imported``. A file that can't be parsed is kept aside and skipped.

Errors fall in three kinds, and only the first touches the file:

- *corrupt*: SQLite itself reports "file is not a database" or "database disk image is
  malformed", or ``PRAGMA quick_check`` fails on opening. The file (with its ``-wal`` and
  ``-shm``) is set aside as ``<name>.broken-<time>`` and a fresh one started. If even that
  rename fails, this run keeps its records in memory only (logged); start-up never fails.
- *transient*: anything else SQLite or the OS reports (locked, busy, read-only, disk full,
  I/O error, can't open). Logged once per spell; the write is kept and retried with the next
  one, and reads show what was last read plus the writes still waiting.
- *a bug*: a write that fails any other way is dropped, with its traceback in the log, so it
  can't hold back the writes queued behind it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

from .atomic import keep_aside

log = logging.getLogger(__name__)

T = TypeVar("T")

BUSY_TIMEOUT = 5.0  # seconds to wait for another process's write; theirs last milliseconds
MAX_PENDING = 500  # writes kept for a retry while the file can't be written
COMPANIONS = ("-wal", "-shm")

# Each entry is one schema version: the statements that take the file from the one before.
# Only add entries, and only statements that add things: an older app must still work on it.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE episodes (
            id INTEGER PRIMARY KEY,
            service TEXT NOT NULL,
            start REAL NOT NULL,
            end_at REAL,
            worst TEXT NOT NULL,
            components TEXT NOT NULL DEFAULT '[]',
            incidents TEXT NOT NULL DEFAULT '[]',
            lower_bound INTEGER NOT NULL DEFAULT 0
        )""",
        "CREATE INDEX episodes_by_service ON episodes (service, end_at)",
        "CREATE INDEX episodes_by_start ON episodes (start)",
        # The policy's state per service: an opaque JSON object it encodes and decodes itself.
        "CREATE TABLE service_state (service TEXT PRIMARY KEY, state TEXT NOT NULL)",
        "CREATE TABLE page_ids (service TEXT PRIMARY KEY, page_id TEXT NOT NULL)",
        """CREATE TABLE component_ids (
            service TEXT NOT NULL, name TEXT NOT NULL, id TEXT NOT NULL,
            PRIMARY KEY (service, name)
        )""",
        "CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "CREATE TABLE alerts (id INTEGER PRIMARY KEY, alert TEXT NOT NULL UNIQUE)",
        """CREATE TABLE imports (
            digest TEXT PRIMARY KEY, name TEXT NOT NULL, at REAL NOT NULL
        )""",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)

_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_CORRUPT, _SQLITE_NOTADB = 5, 6, 11, 26
# PERM, ABORT, BUSY, LOCKED, NOMEM, READONLY, INTERRUPT, IOERR, FULL, CANTOPEN, PROTOCOL,
# SCHEMA (changed by another process), NOLFS, AUTH
_TRANSIENT_CODES = frozenset({3, 4, 5, 6, 7, 8, 9, 10, 13, 14, 15, 17, 22, 23})
_CORRUPT_TEXT = ("file is not a database", "database disk image is malformed")


class CorruptDatabase(sqlite3.DatabaseError):
    """``PRAGMA quick_check`` found the file damaged."""


def is_corrupt(exc: BaseException) -> bool:
    """Whether SQLite itself says the file is damaged (never an I/O or locking problem)."""
    if isinstance(exc, CorruptDatabase):
        return True
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB)
    return any(text in str(exc) for text in _CORRUPT_TEXT)


def _is_transient(exc: BaseException) -> bool:
    """Worth retrying later: the file is fine, something in the way isn't (SQLite's own code
    says which; "no such table" is an OperationalError too, but retrying can't fix it)."""
    if isinstance(exc, OSError):
        return True
    if not isinstance(exc, sqlite3.DatabaseError) or is_corrupt(exc):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in _TRANSIENT_CODES
    return isinstance(exc, sqlite3.OperationalError) or type(exc) is sqlite3.DatabaseError


def _is_busy(exc: BaseException) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)


class Write(Protocol):
    """One change, applied inside a transaction. It may run again after a failed attempt, so
    it reads what it needs from the database each time instead of assuming."""

    def apply(self, conn: sqlite3.Connection) -> None: ...


@dataclass(frozen=True)
class Legacy:
    """A JSON file of an earlier version and the function that copies it into the database.
    ``load`` raises ValueError, TypeError, KeyError or AttributeError for a file it can't parse.
    """

    path: Path
    load: Callable[[sqlite3.Connection, bytes], None]


class Database:
    """The shared file (or, with ``path=None``, a private in-memory database). Thread-safe."""

    def __init__(
        self,
        path: Path | None,
        *,
        legacy: Sequence[Legacy] = (),
        busy_timeout: float = BUSY_TIMEOUT,
        factory: type[sqlite3.Connection] = sqlite3.Connection,
    ) -> None:
        self.path = path
        self.legacy = tuple(legacy)
        self.busy_timeout = busy_timeout
        self._factory = factory
        self._lock = threading.RLock()
        self._box: list[sqlite3.Connection | None] = [None]  # the open connection, if any
        self._identity: tuple[int, int] | None = None  # of the file the connection opened
        self._in_memory = path is None
        self._pending: list[Write] = []
        self._trouble: str | None = None
        self._generation = 0  # connections opened so far: a cache key's first part
        self._commits = 0
        self._closer = weakref.finalize(self, _close_box, self._box)

    # -- what the stores use ------------------------------------------------------------------

    @property
    def in_memory(self) -> bool:
        """True when nothing reaches the disk: no path, or the file was damaged and couldn't be
        set aside."""
        return self._in_memory

    def read(self, fn: Callable[[sqlite3.Connection], T]) -> T | None:
        """``fn`` in one read transaction (a consistent snapshot); None if the file can't be
        read right now (logged)."""
        with self._lock:
            for attempt in (1, 2):
                try:
                    conn = self._connection()
                    conn.execute("BEGIN")
                    try:
                        result = fn(conn)
                    finally:
                        _rollback(conn)
                except (sqlite3.Error, OSError) as exc:
                    if attempt == 1 and is_corrupt(exc):
                        self._recover(exc)
                        continue
                    self._failed("read", exc)
                    return None
                self._fine()
                return result
            return None

    def write(self, op: Write) -> bool:
        """Apply ``op`` after any writes still waiting, in one transaction. False when it had
        to wait for a later attempt (logged); it is kept, and tried again with the next write
        or on close."""
        with self._lock:
            self._pending.append(op)
            if self._flush():
                return True
            while len(self._pending) > MAX_PENDING:
                dropped = self._pending.pop(0)
                log.warning("%s: too many writes waiting; dropped the oldest (%r)",
                            self._name, dropped)
            return False

    def pending(self) -> tuple[Write, ...]:
        """Writes that failed and wait for the next attempt, oldest first."""
        with self._lock:
            return tuple(self._pending)

    def changes(self) -> tuple[int, int, int] | None:
        """Changes whenever anyone (another process included) may have changed the data: a
        cache key. None when the file can't be asked."""
        with self._lock:
            try:
                conn = self._connection()
                (version,) = conn.execute("PRAGMA data_version").fetchone()
            except (sqlite3.Error, OSError):
                return None
            return (self._generation, int(version), self._commits)

    def close(self) -> None:
        """Try the writes still waiting once more, then close the connection."""
        with self._lock:
            if self._pending and not self._flush():
                log.error("%s: %d writes could not be saved", self._name, len(self._pending))
            self._pending.clear()
            self._drop()

    # -- transactions -------------------------------------------------------------------------

    def _flush(self) -> bool:
        for attempt in (1, 2):
            try:
                self._apply_pending(self._connection())
            except (sqlite3.Error, OSError) as exc:
                if attempt == 1 and is_corrupt(exc):
                    self._recover(exc)
                    continue
                self._failed("write", exc)
                return False
            self._commits += 1
            self._fine()
            return True
        return False

    def _apply_pending(self, conn: sqlite3.Connection) -> None:
        while self._pending:
            conn.execute("BEGIN IMMEDIATE")
            applied = 0
            try:
                for op in self._pending:
                    op.apply(conn)
                    applied += 1
                conn.execute("COMMIT")
            except Exception as exc:
                _rollback(conn)
                if _is_transient(exc) or is_corrupt(exc) or applied >= len(self._pending):
                    raise
                bad = self._pending.pop(applied)
                log.error("%s: dropped a write that can't be applied: %r", self._name, bad,
                          exc_info=True)
                continue
            self._pending.clear()

    # -- the connection -----------------------------------------------------------------------

    @property
    def _name(self) -> str:
        return str(self.path) if self.path is not None and not self._in_memory else "memory"

    def _connection(self) -> sqlite3.Connection:
        conn = self._box[0]
        if conn is not None and not self._in_memory and self._moved():
            log.info("%s was replaced by another process; opening it again", self.path)
            self._drop()
            conn = None
        if conn is None:
            conn = self._open()
            self._box[0] = conn
            self._generation += 1
        return conn

    def _moved(self) -> bool:
        assert self.path is not None
        try:
            return _identity(self.path) != self._identity
        except OSError:
            return True

    def _open(self) -> sqlite3.Connection:
        if self._in_memory:
            return self._open_memory()
        try:
            return self._open_file()
        except sqlite3.DatabaseError as exc:
            if not is_corrupt(exc):
                raise
            self._set_aside(exc)
        return self._open_memory() if self._in_memory else self._open_file()

    def _open_memory(self) -> sqlite3.Connection:
        conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        _migrate(conn)
        return conn

    def _open_file(self) -> sqlite3.Connection:
        assert self.path is not None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            str(self.path), timeout=self.busy_timeout, isolation_level=None,
            check_same_thread=False, factory=self._factory,
        )
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            problems = [row[0] for row in conn.execute("PRAGMA quick_check(5)")]
            if problems != ["ok"]:
                raise CorruptDatabase("; ".join(str(p) for p in problems))
            _migrate(conn)
            self._import(conn)
            self._identity = _identity(self.path)
        except BaseException:
            conn.close()
            raise
        return conn

    def _drop(self) -> None:
        _close_box(self._box)
        self._identity = None

    def _recover(self, exc: BaseException) -> None:
        """SQLite said the file is damaged while in use: set it aside, unless another process
        already did (then the file at the path is a new one, and we just open it)."""
        opened = self._identity
        self._drop()
        if self._in_memory or self.path is None:
            return
        try:
            same = _identity(self.path) == opened
        except OSError:
            same = False
        if same:
            self._set_aside(exc)

    def _set_aside(self, exc: BaseException) -> None:
        assert self.path is not None
        try:
            moved = keep_aside(self.path, COMPANIONS)
        except OSError as err:
            self._in_memory = True
            log.error("%s is damaged (%s) and can't be moved aside (%s): this run keeps its "
                      "history and state in memory only", self.path, exc, err)
            return
        log.error("%s is damaged (%s): kept it as %s and started a fresh one", self.path, exc,
                  moved)

    # -- importing earlier versions' files ----------------------------------------------------

    def _import(self, conn: sqlite3.Connection) -> None:
        for legacy in self.legacy:
            try:
                data = legacy.path.read_bytes()
            except FileNotFoundError:
                continue
            except OSError as exc:
                log.warning("can't read %s to import it (%s); trying again next time",
                            legacy.path, exc)
                continue
            digest = hashlib.sha256(data).hexdigest()
            conn.execute("BEGIN IMMEDIATE")
            try:
                done = conn.execute("SELECT 1 FROM imports WHERE digest = ?",
                                    (digest,)).fetchone()
                if done is None:
                    legacy.load(conn, data)
                    conn.execute("INSERT INTO imports (digest, name, at) VALUES (?, ?, ?)",
                                 (digest, legacy.path.name, time.time()))
                conn.execute("COMMIT")
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                _rollback(conn)
                _keep_unreadable(legacy.path, exc)
                continue
            except BaseException:
                _rollback(conn)
                raise
            if done is None:
                log.info("imported %s into %s", legacy.path, self.path)
            _rename_imported(legacy.path)

    # -- logging a spell of trouble once ------------------------------------------------------

    def _failed(self, what: str, exc: BaseException) -> None:
        if not _is_busy(exc) and not self._in_memory:
            self._drop()  # an I/O error may leave the connection unusable: open it anew
        text = f"{type(exc).__name__}: {exc}"
        if text != self._trouble:
            retry = ("kept, trying again with the next write" if what == "write"
                     else "showing what was read before")
            log.warning("can't %s %s (%s); %s", what, self._name, text, retry)
            self._trouble = text
        else:
            log.debug("still can't %s %s (%s)", what, self._name, text)

    def _fine(self) -> None:
        if self._trouble is not None:
            log.info("%s works again", self._name)
            self._trouble = None


def _migrate(conn: sqlite3.Connection) -> None:
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    if version >= SCHEMA_VERSION:
        if version > SCHEMA_VERSION:
            log.info("the database is from a newer version (schema %d, this app knows %d); "
                     "using it as it is", version, SCHEMA_VERSION)
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        (version,) = conn.execute("PRAGMA user_version").fetchone()  # another process may
        for statements in MIGRATIONS[version:]:                      # have just done it
            for statement in statements:
                conn.execute(statement)
        if version < SCHEMA_VERSION:
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")
        conn.execute("COMMIT")
    except BaseException:
        _rollback(conn)
        raise


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")


def _close_box(box: list[sqlite3.Connection | None]) -> None:
    conn, box[0] = box[0], None
    if conn is not None:
        with contextlib.suppress(sqlite3.Error):
            conn.close()


def _identity(path: Path) -> tuple[int, int]:
    st = os.stat(path)
    return (st.st_dev, st.st_ino)


def _keep_unreadable(path: Path, exc: BaseException) -> None:
    try:
        moved = keep_aside(path)
    except OSError as err:
        log.warning("%s can't be imported (%s) nor moved aside (%s); skipped", path, exc, err)
        return
    log.warning("%s can't be imported (%s); kept it as %s", path, exc, moved)


def _rename_imported(path: Path) -> None:
    target = path.with_name(f"{path.name}.imported")
    if target.exists():
        target = path.with_name(f"{path.name}.imported-{time.strftime('%Y%m%d-%H%M%S')}")
    try:
        os.replace(path, target)
    except FileNotFoundError:
        pass  # another process imported it at the same moment and renamed it first
    except OSError as exc:
        log.warning("imported %s but can't rename it (%s); it won't be imported twice", path,
                    exc)
