"""UnlockConnector: a running transaction stops first (UnlockCommand), then the connector is unlocked."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from module.core.profiles.core import CoreServices

ACTION = "UnlockConnector"


async def handle(core: CoreServices, request: dict[str, Any]) -> dict[str, Any]:
    connector_id = request["connectorId"]
    if connector_id not in core.ctx.connector_ids:
        return {"status": "NotSupported"}
    unlocked = await core.remote.unlock(connector_id)
    return {"status": "Unlocked" if unlocked else "UnlockFailed"}
