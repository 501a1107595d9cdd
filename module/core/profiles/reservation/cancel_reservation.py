"""CancelReservation: the charger's reservation module ends the reservation (the EVSE then reports ReservationEnd)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from module.core.profiles.reservation.service import ReservationService

ACTION = "CancelReservation"


async def handle(service: ReservationService, request: dict[str, Any]) -> dict[str, Any]:
    return {"status": await service.cancel(request["reservationId"])}
