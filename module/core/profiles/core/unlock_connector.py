"""UnlockConnector: the EVSE ends a running transaction (UnlockCommand) and unlocks; NotSupported without a lock."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from module.core.profile import Reply

if TYPE_CHECKING:
    from module.core.profiles.core import CoreServices

ACTION = "UnlockConnector"


async def handle(core: CoreServices, request: dict[str, Any]) -> dict[str, Any] | Reply:
    connector_id = request["connectorId"]
    if connector_id not in core.ctx.connector_ids:
        return {"status": "NotSupported"}
    return await core.remote.unlock(connector_id)
