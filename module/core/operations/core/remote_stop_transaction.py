"""RemoteStopTransaction: stop the running transaction with that id, reason Remote."""

from __future__ import annotations

from typing import Any

ACTION = "RemoteStopTransaction"


async def handle(cp: Any, payload: dict[str, Any]) -> dict[str, Any]:
    for connector_id, transaction in list(cp.transactions.active.items()):
        if cp.transactions.wire_id(transaction) == payload["transactionId"]:
            try:
                stopped = await cp.charger.stop_transaction(connector_id, "Remote")
            except Exception as error:
                cp.log_command_failure("stop_transaction", error)
                stopped = False
            return {"status": "Accepted" if stopped else "Rejected"}
    return {"status": "Rejected"}
