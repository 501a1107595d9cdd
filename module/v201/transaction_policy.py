"""OCPP 2.0.1 transactional messages for the shared queue.

TransactionEvent carries a charger-made transactionId and its own seqNo, so nothing queued waits for an id from
the CSMS (1.6's placeholder rewriting has no counterpart) and no message of a transaction may be dropped to make
room: the CSMS checks the seqNo for gaps. Security events and the firmware / log statuses ride the same durable,
ordered lane, as in the 1.6 module. The transaction store with seqNo kept across restarts is part 2's.
"""

from __future__ import annotations

from typing import Any

from module.queue.outbox import Outbox, OutboxMessage

TRANSACTION_EVENT = "TransactionEvent"


class V201TransactionPolicy:
    transactional_actions = frozenset({TRANSACTION_EVENT, "SecurityEventNotification", "FirmwareStatusNotification",
                                       "LogStatusNotification"})
    thinnable_action: str | None = None
    """None: a dropped TransactionEvent would leave a seqNo gap the CSMS cannot tell from a loss."""

    def on_enqueue(self, action: str, payload: dict[str, Any], session_id: str) -> dict[str, Any] | None:
        return payload

    def on_delivered(self, message: OutboxMessage, response: dict[str, Any], outbox: Outbox) -> bool:
        return False

    def durable_confirmation(self, action: str) -> bool:
        # every TransactionEvent counts (seqNo): none may be sent twice after a power cut
        return True

    def on_dropped(self, message: OutboxMessage, attempts: int, error: str) -> bool:
        return False
