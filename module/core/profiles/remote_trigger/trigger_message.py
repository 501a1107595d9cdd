"""TriggerMessage: answer first, then send the requested message."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from module.core.profile import Reply

if TYPE_CHECKING:
    from module.core.profiles.remote_trigger.service import RemoteTriggerService

ACTION = "TriggerMessage"


async def handle(service: RemoteTriggerService, request: dict[str, Any]) -> Reply:
    return service.trigger(request["requestedMessage"], request.get("connectorId"))
