"""ExtendedTriggerMessage: answer first, then send the requested message (TriggerMessage's rules)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from module.core.profile import Reply

if TYPE_CHECKING:
    from module.core.profiles.security.service import SecurityService

ACTION = "ExtendedTriggerMessage"


async def handle(service: SecurityService, request: dict[str, Any]) -> Reply:
    return service.extended_trigger(request["requestedMessage"], request.get("connectorId"))
