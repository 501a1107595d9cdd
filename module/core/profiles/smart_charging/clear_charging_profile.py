"""ClearChargingProfile: by id, or by any combination of connector, purpose and stackLevel."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from module.core.profiles.smart_charging.service import SmartChargingService

ACTION = "ClearChargingProfile"


async def handle(service: SmartChargingService, request: dict[str, Any]) -> dict[str, Any]:
    cleared = service.clear(request.get("id"), request.get("connectorId"), request.get("chargingProfilePurpose"),
                            request.get("stackLevel"))
    return {"status": "Accepted" if cleared else "Unknown"}
