"""ReserveNow: the reservation goes to the charger's reservation module (EVerest's Auth)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from module.core.profiles.reservation.service import ReservationService

ACTION = "ReserveNow"


async def handle(service: ReservationService, request: dict[str, Any]) -> dict[str, Any]:
    status = await service.reserve(request["reservationId"], request["connectorId"], request["idTag"],
                                   request["expiryDate"], request.get("parentIdTag"))
    return {"status": status}
