"""TriggerMessage (F06) for the messages this part of the module sends: StatusNotification (one connector, F06.FR.12
asks for evse with connectorId), Heartbeat, and BootNotification (Rejected once the boot was accepted, F06.FR.17).
Others are NotImplemented, as the spec answers for a message the station does not offer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from module.link.reply import Reply
from module.v201.availability.connectors import CONNECTOR_ID, Connectors

ACTION = "TriggerMessage"


async def handle(connectors: Connectors, boot_accepted: Callable[[], bool], heartbeat: Callable[[], Awaitable[None]],
                 boot: Callable[[], Awaitable[None]], request: dict[str, Any]) -> Reply:
    requested, evse = request["requestedMessage"], request.get("evse")
    if requested == "StatusNotification":
        if evse is None or evse["id"] not in connectors.evse_ids \
                or evse.get("connectorId", CONNECTOR_ID) != CONNECTOR_ID:
            return Reply({"status": "Rejected"})
        evse_id = evse["id"]

        async def report() -> None:
            await connectors.report(evse_id, triggered=True)
        return Reply({"status": "Accepted"}, then=report)
    if requested == "Heartbeat":
        return Reply({"status": "Accepted"}, then=heartbeat)
    if requested == "BootNotification":
        if boot_accepted():
            return Reply({"status": "Rejected"})
        return Reply({"status": "Accepted"}, then=boot)
    return Reply({"status": "NotImplemented"})
