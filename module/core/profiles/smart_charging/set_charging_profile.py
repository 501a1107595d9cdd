"""SetChargingProfile: install a profile on a connector (0: the whole charge point), or refuse it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from module.core.profiles.smart_charging.service import SmartChargingService

ACTION = "SetChargingProfile"


async def handle(service: SmartChargingService, request: dict[str, Any]) -> dict[str, Any]:
    accepted = service.set_profile(request["connectorId"], request["csChargingProfiles"])
    return {"status": "Accepted" if accepted else "Rejected"}
