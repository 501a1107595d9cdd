"""ChangeAvailability: take connectors (0 = all) in or out of service; Scheduled while a session runs."""

from __future__ import annotations

from typing import Any

ACTION = "ChangeAvailability"


async def handle(cp: Any, payload: dict[str, Any]) -> dict[str, Any]:
    connector_id = payload["connectorId"]
    if connector_id != 0 and connector_id not in cp.connector_ids:
        return {"status": "Rejected"}
    try:
        status = await cp.change_availability(connector_id, payload["type"] == "Operative")
    except Exception as error:
        cp.log_command_failure("enable_disable", error)
        status = "Rejected"
    return {"status": status}
