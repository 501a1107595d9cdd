"""ChangeAvailability: Accepted now, Scheduled after the running sessions, or Rejected."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from module.core.profiles.core import CoreServices

ACTION = "ChangeAvailability"
log = logging.getLogger(__name__)


async def handle(core: CoreServices, request: dict[str, Any]) -> dict[str, Any]:
    connector_id = request["connectorId"]
    if connector_id != 0 and connector_id not in core.ctx.connector_ids:
        return {"status": "Rejected"}
    try:
        status = await core.availability.change(connector_id, request["type"] == "Operative")
    except Exception as error:
        log.warning("command enable_disable failed: %s: %s", type(error).__name__, error)
        status = "Rejected"
    return {"status": status}
