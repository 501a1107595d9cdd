"""ChangeAvailability: Accepted now, Scheduled after the running sessions, or Rejected."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from module.core.context import command

if TYPE_CHECKING:
    from module.core.profiles.core import CoreServices

ACTION = "ChangeAvailability"


async def handle(core: CoreServices, request: dict[str, Any]) -> dict[str, Any]:
    connector_id = request["connectorId"]
    if connector_id != 0 and connector_id not in core.ctx.connector_ids:
        return {"status": "Rejected"}
    status = await command("enable_disable", core.availability.change(connector_id, request["type"] == "Operative"),
                           "Rejected")
    return {"status": status}
