"""The charge point's one SQLite file: durable commits, named migrations, recovery from a corrupt file.

Every later feature (auth cache, local list, charging profiles, availability) adds its tables through
`register_migrations`, so one file holds all state and one integrity check covers it.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

log = logging.getLogger(__name__)

_MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    applied_at TEXT NOT NULL
)
"""
# One row rewritten by `sync()`: a commit syncs the WAL only when it writes something.
_SYNC_MARK_TABLE = """
CREATE TABLE IF NOT EXISTS sync_mark (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    syncs INTEGER NOT NULL
)
"""


class DatabaseError(Exception):
    """A database operation failed; nothing of it was written."""


class DatabaseFull(DatabaseError):
    """The disk (or the database size limit) is full: the write was refused and nothing was stored."""


def utc_now() -> str:
    """Wall-clock time for people reading the database; never used to schedule anything."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _is_full(exc: sqlite3.Error) -> bool:
    return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "is full" in str(exc)


class Database:
    """One open database file. Writes go through `transaction()`, which is atomic and (by default) fsynced.

    Group commit: writes that need not be durable at once commit with `durable=False` (no fsync); `sync(through)`
    then makes them durable with one fsync. The file is in WAL mode, where a commit is a run of frames appended to
    the log, and a crash keeps a prefix of the commits: the one fsync of a durable commit covers every commit
    before it. Commits are numbered in this process (`last_commit`); at open nothing counts as durable, since the
    previous run may have stopped before its sync."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self.conn = conn
        self.sqlite = sqlite_utils.Database(conn)
        self._synchronous = "FULL"
        self.last_commit = 0
        self._durable_through = -1
        self.syncs = 0
        """fsyncs `sync()` did (tests and benchmarks count them)."""
        conn.execute(_MIGRATIONS_TABLE)
        conn.execute(_SYNC_MARK_TABLE)

    @classmethod
    def open(cls, directory: str | Path, charge_point_id: str) -> Database:
        """Open `directory/<charge_point_id>.db`; a file that cannot be opened or checked is moved aside."""
        if not charge_point_id or any(sep in charge_point_id for sep in ("/", "\\", "\0")) or (
            charge_point_id in (".", "..")
        ):
            raise ValueError(f"ChargePointId {charge_point_id!r} cannot name a database file")
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{charge_point_id}.db"
        conn: sqlite3.Connection | None = None
        try:
            conn = _connect(path)
            _check_integrity(conn)
        except sqlite3.DatabaseError as exc:
            _close_quietly(conn)
            kept = _move_aside(path)
            log.critical(
                "DATABASE %s IS CORRUPT (%s): moved aside to %s, starting with an empty database; "
                "queued messages and stored transactions of the old file are NOT used",
                path, exc, kept,
            )
            conn = _connect(path)
        return cls(path, conn)

    def close(self) -> None:
        self.conn.close()

    # -- writes ---------------------------------------------------------------------------------------

    @contextmanager
    def transaction(self, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """Atomic write. durable=False commits without fsync: kept through a process kill, not power loss.

        Nested use joins the outer transaction. A full disk raises DatabaseFull after rolling back.
        """
        if self.conn.in_transaction:
            yield self.conn
            return
        self._set_synchronous("FULL" if durable else "NORMAL")
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            yield self.conn
            self.conn.execute("COMMIT")
            self.last_commit += 1
            if durable:
                self._durable_through = self.last_commit
        except sqlite3.Error as exc:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            if _is_full(exc):
                raise DatabaseFull(f"database {self.path.name} is full, the write was refused: {exc}") from exc
            raise
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise

    @property
    def durable_through(self) -> int:
        """The number of the latest commit known durable (-1: none since open)."""
        return self._durable_through

    def sync(self, through: int) -> None:
        """Make commit number `through` and those before it durable, unless a durable commit already covers them:
        one fsynced commit (of the sync mark) covers every commit before it."""
        if self._durable_through >= through:
            return
        with self.transaction() as conn:
            conn.execute("INSERT INTO sync_mark (id, syncs) VALUES (1, 1)"
                         " ON CONFLICT (id) DO UPDATE SET syncs = syncs + 1")
        self.syncs += 1

    def _set_synchronous(self, mode: str) -> None:
        if mode != self._synchronous:
            self.conn.execute(f"PRAGMA synchronous={mode}")
            self._synchronous = mode

    # -- migrations -----------------------------------------------------------------------------------

    def register_migrations(self, name: str, statements: Sequence[str]) -> bool:
        """Apply `statements` once, atomically, recorded under `name`; True if applied now.

        A shipped migration is never edited: a change to a table comes as a new name (e.g. "auth_cache_2"),
        registered after the first one. Order of application is the order of registration.
        """
        if self.migration_applied(name):
            return False
        with self.transaction():
            for statement in statements:
                self.conn.execute(statement)
            self.conn.execute(
                "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)", (name, utc_now())
            )
        log.info("database %s: migration %s applied", self.path.name, name)
        return True

    def migration_applied(self, name: str) -> bool:
        row = self.conn.execute("SELECT 1 FROM schema_migrations WHERE name = ?", (name,)).fetchone()
        return row is not None

    def applied_migrations(self) -> list[str]:
        return [row[0] for row in self.conn.execute("SELECT name FROM schema_migrations ORDER BY id")]


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout=5000")
    mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    if mode.lower() != "wal":
        raise sqlite3.DatabaseError(f"cannot switch to WAL (journal mode stays {mode})")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def _check_integrity(conn: sqlite3.Connection) -> None:
    result = [row[0] for row in conn.execute("PRAGMA integrity_check")]
    if result != ["ok"]:
        raise sqlite3.DatabaseError("integrity check failed: " + "; ".join(result[:5]))


def _close_quietly(conn: sqlite3.Connection | None) -> None:
    if conn is not None:
        try:
            conn.close()
        except sqlite3.Error:
            pass


def _move_aside(path: Path) -> Path:
    """Rename the file (and its WAL/SHM companions) with a timestamp, so it stays for analysis."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    kept = path.with_name(f"{path.stem}.corrupt-{stamp}{path.suffix}")
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{path}{suffix}")
        if source.exists():
            source.rename(Path(f"{kept}{suffix}"))
    return kept
