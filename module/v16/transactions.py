"""OCPP 1.6 transactions as the charge point knows them: local placeholder id until the CSMS assigns one.

The queue writes the ids and the stop data here in the same database transaction as the messages, and the
charge point core reads `unfinished()` after a power loss to resume or close what was running.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from module.queue.database import Database, utc_now

MIGRATION = "transactions_1"
_SCHEMA = [
    """
    CREATE TABLE transactions (
        session_id TEXT PRIMARY KEY,
        connector_id INTEGER NOT NULL,
        id_tag TEXT NOT NULL,
        reservation_id INTEGER,
        meter_start INTEGER,
        start_time TEXT,
        placeholder_id INTEGER NOT NULL UNIQUE,
        csms_transaction_id INTEGER,
        id_tag_stop TEXT,
        meter_stop INTEGER,
        stop_time TEXT,
        stop_reason TEXT,
        last_meter_value REAL,
        last_meter_time TEXT,
        state TEXT NOT NULL,
        note TEXT,
        updated_at TEXT NOT NULL
    )
    """,
    "CREATE INDEX transactions_csms_id ON transactions (csms_transaction_id)",
    "CREATE INDEX transactions_state ON transactions (state)",
    "CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
]


class TransactionState(StrEnum):
    ACTIVE = "Active"  # started, StopTransaction not yet queued
    STOPPING = "Stopping"  # StopTransaction queued, not yet confirmed
    FINISHED = "Finished"  # StopTransaction confirmed by the CSMS
    STOP_DROPPED = "StopDropped"  # StopTransaction dropped after its attempts
    DROPPED = "Dropped"  # StartTransaction dropped after its attempts: its messages went with it


@dataclass(frozen=True)
class Transaction:
    session_id: str
    connector_id: int
    id_tag: str
    reservation_id: int | None
    meter_start: int | None
    start_time: str | None
    placeholder_id: int
    csms_transaction_id: int | None
    id_tag_stop: str | None
    meter_stop: int | None
    stop_time: str | None
    stop_reason: str | None
    last_meter_value: float | None
    last_meter_time: str | None
    state: TransactionState
    note: str | None

    @property
    def transaction_id(self) -> int:
        """The id to put on the wire now: the CSMS's once known, else the local (negative) placeholder."""
        return self.csms_transaction_id if self.csms_transaction_id is not None else self.placeholder_id


_FIELDS = [name for name in Transaction.__dataclass_fields__]


class TransactionStore:
    """Reads and writes the transactions table; each method is atomic and joins an outer transaction."""

    def __init__(self, db: Database) -> None:
        self._db = db
        db.register_migrations(MIGRATION, _SCHEMA)

    def open(
        self,
        session_id: str,
        connector_id: int,
        id_tag: str,
        meter_start: int | None,
        start_time: str | None,
        reservation_id: int | None = None,
    ) -> Transaction:
        """Record a new transaction with a fresh negative placeholder id; an existing session is returned as is."""
        existing = self.get(session_id)
        if existing is not None:
            return existing
        with self._db.transaction() as conn:
            placeholder = self._next_placeholder(conn)
            conn.execute(
                "INSERT INTO transactions (session_id, connector_id, id_tag, reservation_id, meter_start,"
                " start_time, placeholder_id, state, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (session_id, connector_id, id_tag, reservation_id, meter_start, start_time, placeholder,
                 TransactionState.ACTIVE, utc_now()),
            )
        found = self.get(session_id)
        assert found is not None
        return found

    def get(self, session_id: str) -> Transaction | None:
        return self._one("session_id = ?", session_id)

    def unfinished(self) -> list[Transaction]:
        """Transactions whose stop the CSMS has not confirmed: what power-loss recovery looks at."""
        return self._many(
            "state IN (?, ?) ORDER BY rowid", TransactionState.ACTIVE, TransactionState.STOPPING
        )

    def record_meter(self, session_id: str, value: float, time: str) -> None:
        """Latest energy register reading, so a PowerLoss stop after a reboot has a sensible meterStop. Without
        fsync: the queue's sync before it sends the MeterValues stored after it covers it too."""
        self._update(session_id, durable=False, last_meter_value=value, last_meter_time=time)

    def record_meters(self, readings: dict[str, tuple[float, str]]) -> None:
        """Several sessions' latest readings in one transaction without fsync (see core's MeterJournal)."""
        with self._db.transaction(durable=False) as conn:
            conn.executemany(
                "UPDATE transactions SET last_meter_value = ?, last_meter_time = ?, updated_at = ?"
                " WHERE session_id = ?",
                [(value, time, utc_now(), session_id) for session_id, (value, time) in readings.items()])

    def record_stop(
        self, session_id: str, meter_stop: int | None, stop_time: str | None, reason: str | None,
        id_tag: str | None = None,
    ) -> None:
        self._update(
            session_id, meter_stop=meter_stop, stop_time=stop_time, stop_reason=reason, id_tag_stop=id_tag,
            state=TransactionState.STOPPING,
        )

    def confirm_start(self, session_id: str, csms_transaction_id: int) -> None:
        self._update(session_id, csms_transaction_id=csms_transaction_id)

    def set_state(self, session_id: str, state: TransactionState, note: str | None = None) -> None:
        changes: dict[str, Any] = {"state": state}
        if note is not None:
            changes["note"] = note
        self._update(session_id, **changes)

    def _next_placeholder(self, conn: Any) -> int:
        row = conn.execute("SELECT value FROM counters WHERE name = 'placeholder_id'").fetchone()
        value = (row[0] if row else 0) - 1
        conn.execute(
            "INSERT INTO counters (name, value) VALUES ('placeholder_id', ?)"
            " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (value,),
        )
        return value

    def _update(self, session_id: str, durable: bool = True, **changes: Any) -> None:
        changes["updated_at"] = utc_now()
        assignments = ", ".join(f"{column} = ?" for column in changes)
        with self._db.transaction(durable) as conn:
            cursor = conn.execute(
                f"UPDATE transactions SET {assignments} WHERE session_id = ?", (*changes.values(), session_id)
            )
        if cursor.rowcount != 1:
            raise KeyError(f"no transaction for session {session_id!r}")

    def _one(self, where: str, *args: Any) -> Transaction | None:
        found = self._many(where + " LIMIT 1", *args)
        return found[0] if found else None

    def _many(self, where: str, *args: Any) -> list[Transaction]:
        rows = self._db.conn.execute(f"SELECT {', '.join(_FIELDS)} FROM transactions WHERE {where}", args)
        return [_transaction(row) for row in rows]


def _transaction(row: tuple[Any, ...]) -> Transaction:
    values = dict(zip(_FIELDS, row, strict=True))
    values["state"] = TransactionState(values["state"])
    return Transaction(**values)
