"""UnlockConnector (F05): an unknown EVSE or connector is UnknownConnector; a connector whose transaction is still
authorized is not unlocked (OngoingAuthorizedTransaction: the driver stops it first); otherwise the EVSE manager
unlocks (Unlocked) or cannot (UnlockFailed, also for an EVSE without a lock)."""

from __future__ import annotations

from typing import Any

from module.link.reply import Reply
from module.v201.availability.change_availability import EvseControl
from module.v201.availability.connectors import CONNECTOR_ID
from module.v201.transactions.transactions import Transactions

ACTION = "UnlockConnector"


async def handle(transactions: Transactions, evses: EvseControl, request: dict[str, Any]) -> Reply:
    evse_id = request["evseId"]
    if evse_id not in transactions.evses or request["connectorId"] != CONNECTOR_ID:
        return Reply({"status": "UnknownConnector"})
    evse = transactions.evses[evse_id]
    if evse.transaction_id is not None and evse.authorized:
        return Reply({"status": "OngoingAuthorizedTransaction"})
    return Reply({"status": "Unlocked" if await evses.force_unlock(evse_id) else "UnlockFailed"})
