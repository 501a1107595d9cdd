"""OCPP 1.6 transactional messages: StartTransaction, MeterValues, StopTransaction, SecurityEventNotification and
the firmware, diagnostics and log status notifications (the security extension's signed ones too).

Until the CSMS answers StartTransaction, a transaction's messages carry a local negative placeholder id; the
answer's transactionId is written into every queued message of the session in the same disk write that removes
the StartTransaction. A StartTransaction dropped after its last attempt takes its session's messages with it
(the CSMS could not relate them to anything).
"""

from __future__ import annotations

import logging
from typing import Any

from module.queue.database import Database
from module.queue.outbox import Outbox, OutboxMessage
from module.v16.transactions import TransactionState, TransactionStore

log = logging.getLogger(__name__)

START = "StartTransaction"
STOP = "StopTransaction"
METER_VALUES = "MeterValues"
_CARRY_TRANSACTION_ID = (METER_VALUES, STOP)


class V16TransactionPolicy:
    """The 1.6 rules over the transactions table (`store`), which the core reads for recovery and ids."""

    transactional_actions = frozenset({START, STOP, METER_VALUES, "SecurityEventNotification",
                                       "FirmwareStatusNotification", "DiagnosticsStatusNotification",
                                       "SignedFirmwareStatusNotification", "LogStatusNotification"})
    """Firmware and diagnostics statuses ride here too (libocpp sends them on the normal lane, dropped while
    offline): a CSMS that never learns DownloadFailed or Installed waits for ever, and these are few."""
    thinnable_action = METER_VALUES

    def __init__(self, db: Database) -> None:
        self.store = TransactionStore(db)

    def on_enqueue(self, action: str, payload: dict[str, Any], session_id: str) -> dict[str, Any] | None:
        if action == START:
            self.store.open(session_id, payload["connectorId"], payload["idTag"], payload.get("meterStart"),
                            payload.get("timestamp"), payload.get("reservationId"))
            return payload
        transaction = self.store.get(session_id)
        if transaction is None:
            raise KeyError(f"{action} for session {session_id!r} without a StartTransaction")
        if transaction.state is TransactionState.DROPPED:
            log.error("%s of session %s dropped: its StartTransaction was dropped", action, session_id)
            return None
        if action in _CARRY_TRANSACTION_ID:
            payload = {**payload, "transactionId": transaction.transaction_id}
        if action == STOP:
            self.store.record_stop(session_id, payload.get("meterStop"), payload.get("timestamp"),
                                   payload.get("reason"), payload.get("idTag"))
        return payload

    def on_delivered(self, message: OutboxMessage, response: dict[str, Any], outbox: Outbox) -> bool:
        session_id = message.session_id
        if session_id is None:
            return False
        if message.action == START:
            transaction_id = response["transactionId"]
            self.store.confirm_start(session_id, transaction_id)
            rewritten = outbox.set_payload_field(session_id, "transactionId", transaction_id,
                                                 _CARRY_TRANSACTION_ID)
            log.info("session %s: transactionId %s, %d queued messages rewritten", session_id, transaction_id,
                     rewritten)
            return rewritten > 0  # nothing rewritten: the queue's window of messages in memory is still right
        if message.action == STOP:
            self.store.set_state(session_id, TransactionState.FINISHED)
        return False

    def durable_confirmation(self, action: str) -> bool:
        # A MeterValues whose removal is lost in a power cut is only sent again; Start and Stop must not be.
        return action != METER_VALUES

    def on_dropped(self, message: OutboxMessage, attempts: int, error: str) -> bool:
        session_id = message.session_id
        if session_id is None:
            return False
        if message.action == START:
            self.store.set_state(session_id, TransactionState.DROPPED,
                                 f"StartTransaction dropped after {attempts} attempts ({error}); "
                                 "its MeterValues/StopTransaction dropped with it")
            return True
        if message.action == STOP:
            self.store.set_state(session_id, TransactionState.STOP_DROPPED,
                                 f"dropped after {attempts} attempts ({error})")
        return False
