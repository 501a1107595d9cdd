"""OCPP 2.0.1 transactional messages for the shared queue.

TransactionEvent carries a charger-made transactionId and its own seqNo, so nothing queued waits for an id from
the CSMS (1.6's placeholder rewriting has no counterpart) and no message of a transaction may be dropped to make
room: the CSMS checks the seqNo for gaps. Security events and the firmware / log statuses ride the same durable,
ordered lane, as in the 1.6 module.

Each TransactionEvent gets its seqNo here, in the same disk write that queues it (the queue calls `on_enqueue`
inside its transaction), from a counter per transaction kept in SQLite: a kill between numbering and queueing
cannot happen, so the numbers of a transaction have no gaps across restarts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from module.queue.database import Database
from module.queue.outbox import Outbox, OutboxMessage

TRANSACTION_EVENT = "TransactionEvent"


_SCHEMA = ["CREATE TABLE transaction_seq_201 (transaction_id TEXT PRIMARY KEY, next_seq INTEGER NOT NULL)"]


class V201TransactionPolicy:
    transactional_actions = frozenset({TRANSACTION_EVENT, "SecurityEventNotification", "FirmwareStatusNotification",
                                       "LogStatusNotification"})
    thinnable_action: str | None = None
    """None: a dropped TransactionEvent would leave a seqNo gap the CSMS cannot tell from a loss."""

    def __init__(self, db: Database | None = None,
                 on_response: Callable[[dict[str, Any], dict[str, Any]], None] | None = None) -> None:
        """`on_response(payload, response)` hears the CSMS's answer to each TransactionEvent."""
        self._db = db
        self._on_response = on_response
        if db is not None:
            db.register_migrations("transaction_seq_201", _SCHEMA)

    def on_enqueue(self, action: str, payload: dict[str, Any], session_id: str) -> dict[str, Any] | None:
        """A TransactionEvent (queued with its transactionId as session) gets the transaction's next seqNo; the
        counter goes once the Ended event is numbered."""
        if action != TRANSACTION_EVENT or self._db is None:
            return payload
        conn = self._db.conn
        row = conn.execute("SELECT next_seq FROM transaction_seq_201 WHERE transaction_id = ?",
                           (session_id,)).fetchone()
        seq_no = row[0] if row else 0
        if payload.get("eventType") == "Ended":
            conn.execute("DELETE FROM transaction_seq_201 WHERE transaction_id = ?", (session_id,))
        else:
            conn.execute("INSERT INTO transaction_seq_201 (transaction_id, next_seq) VALUES (?, ?) ON CONFLICT "
                         "(transaction_id) DO UPDATE SET next_seq = excluded.next_seq", (session_id, seq_no + 1))
        return {**payload, "seqNo": seq_no}

    def on_delivered(self, message: OutboxMessage, response: dict[str, Any], outbox: Outbox) -> bool:
        if message.action == TRANSACTION_EVENT and self._on_response is not None:
            self._on_response(message.payload, response)
        return False

    def durable_confirmation(self, action: str) -> bool:
        # every TransactionEvent counts (seqNo): none may be sent twice after a power cut
        return True

    def on_dropped(self, message: OutboxMessage, attempts: int, error: str) -> bool:
        return False
