"""The outbox table: every queued CALL with its lane, order, attempts and next attempt, read in small windows."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from module.queue.database import Database, utc_now

MIGRATION = "outbox_1"
_SCHEMA = [
    """
    CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        lane TEXT NOT NULL,
        action TEXT NOT NULL,
        payload TEXT NOT NULL,
        session_id TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        retry_delay REAL NOT NULL DEFAULT 0,
        next_attempt_at TEXT,
        last_error TEXT,
        queued_at TEXT NOT NULL
    )
    """,
    "CREATE INDEX outbox_lane ON outbox (lane, seq)",
    "CREATE INDEX outbox_session ON outbox (session_id, action, seq)",
]


class Lane(StrEnum):
    TRANSACTION = "transaction"  # ordered, persisted, retried (OCPP 1.6 section 3.7)
    NORMAL = "normal"  # other CALLs, persisted only while offline with QueueAllMessages


@dataclass
class OutboxMessage:
    seq: int
    lane: Lane
    action: str
    payload: dict[str, Any]
    session_id: str | None
    attempts: int
    retry_delay: float


_COLUMNS = "seq, lane, action, payload, session_id, attempts, retry_delay"


class Outbox:
    """SQL for the outbox; callers group calls in `db.transaction()` where several must happen together."""

    def __init__(self, db: Database) -> None:
        self._db = db
        db.register_migrations(MIGRATION, _SCHEMA)

    def add(self, lane: Lane, action: str, payload: dict[str, Any], session_id: str | None) -> int:
        with self._db.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO outbox (lane, action, payload, session_id, queued_at) VALUES (?, ?, ?, ?, ?)",
                (lane, action, json.dumps(payload, separators=(",", ":")), session_id, utc_now()),
            )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def head(self, lane: Lane, limit: int, after_seq: int = 0) -> list[OutboxMessage]:
        """The next `limit` messages of a lane in order; only this many rows are ever in memory."""
        rows = self._db.conn.execute(
            f"SELECT {_COLUMNS} FROM outbox WHERE lane = ? AND seq > ? ORDER BY seq LIMIT ?",
            (lane, after_seq, limit),
        )
        return [_message(row) for row in rows]

    def count(self, lane: Lane | None = None) -> int:
        if lane is None:
            return self._db.conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
        return self._db.conn.execute("SELECT COUNT(*) FROM outbox WHERE lane = ?", (lane,)).fetchone()[0]

    def remove(self, seq: int) -> None:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM outbox WHERE seq = ?", (seq,))

    def record_failure(self, seq: int, attempts: int, retry_delay: float, error: str) -> None:
        """Write the attempt count and when the next one is due, so a restart continues the same count."""
        next_at = datetime.now(UTC) + timedelta(seconds=retry_delay)
        with self._db.transaction() as conn:
            conn.execute(
                "UPDATE outbox SET attempts = ?, retry_delay = ?, next_attempt_at = ?, last_error = ?"
                " WHERE seq = ?",
                (attempts, retry_delay, next_at.isoformat(timespec="milliseconds"), error[:500], seq),
            )

    def set_payload_field(self, session_id: str, name: str, value: Any, actions: tuple[str, ...]) -> int:
        """Set a top-level payload field in every queued message of the session with one of `actions`."""
        marks = ", ".join("?" for _ in actions)
        with self._db.transaction() as conn:
            cursor = conn.execute(
                f"UPDATE outbox SET payload = json_set(payload, '$.' || ?, ?)"
                f" WHERE session_id = ? AND action IN ({marks})",
                (name, value, session_id, *actions),
            )
        return cursor.rowcount

    def session_messages(self, session_id: str) -> list[OutboxMessage]:
        rows = self._db.conn.execute(
            f"SELECT {_COLUMNS} FROM outbox WHERE session_id = ? ORDER BY seq", (session_id,)
        )
        return [_message(row) for row in rows]

    def oldest_normal(self, limit: int, exclude: int | None) -> list[OutboxMessage]:
        rows = self._db.conn.execute(
            f"SELECT {_COLUMNS} FROM outbox WHERE lane = ? AND seq IS NOT ? ORDER BY seq LIMIT ?",
            (Lane.NORMAL, exclude, limit),
        )
        return [_message(row) for row in rows]

    def intermediate(self, action: str, limit: int, exclude: int | None) -> list[OutboxMessage]:
        """Oldest `action` messages that have an earlier and a later one of the same session queued."""
        rows = self._db.conn.execute(
            f"SELECT {_COLUMNS} FROM outbox AS m WHERE m.lane = ? AND m.action = ?"
            " AND m.seq IS NOT ?"
            " AND EXISTS (SELECT 1 FROM outbox AS a WHERE a.session_id IS m.session_id"
            "   AND a.action = m.action AND a.seq < m.seq)"
            " AND EXISTS (SELECT 1 FROM outbox AS b WHERE b.session_id IS m.session_id"
            "   AND b.action = m.action AND b.seq > m.seq)"
            " ORDER BY m.seq LIMIT ?",
            (Lane.TRANSACTION, action, exclude, limit),
        )
        return [_message(row) for row in rows]

    def remove_many(self, seqs: list[int]) -> None:
        with self._db.transaction() as conn:
            conn.executemany("DELETE FROM outbox WHERE seq = ?", [(seq,) for seq in seqs])


def _message(row: tuple[Any, ...]) -> OutboxMessage:
    seq, lane, action, payload, session_id, attempts, retry_delay = row
    return OutboxMessage(seq, Lane(lane), action, json.loads(payload), session_id, attempts, retry_delay)
