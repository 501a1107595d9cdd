"""UnlockConnector: a running transaction is stopped first (reason UnlockCommand), then the cable released."""

from __future__ import annotations

from typing import Any

ACTION = "UnlockConnector"


async def handle(cp: Any, payload: dict[str, Any]) -> dict[str, Any]:
    connector_id = payload["connectorId"]
    if connector_id not in cp.connector_ids:
        return {"status": "NotSupported"}
    try:
        if connector_id in cp.transactions.active:
            await cp.charger.stop_transaction(connector_id, "UnlockCommand")
        unlocked = await cp.charger.force_unlock(connector_id)
    except Exception as error:
        cp.log_command_failure("force_unlock", error)
        unlocked = False
    return {"status": "Unlocked" if unlocked else "UnlockFailed"}
