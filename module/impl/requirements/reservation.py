"""The reservation requirement (EVerest's Auth provides it): the core's ReservationPort.

OCPP connectors become EVSE ids here, and connector 0 a reservation without one (any EVSE), as EVerest's OCPP
module asks for them.
"""

from __future__ import annotations

from typing import Any

from framework.module import Module
from module.impl.evse_connections import EvseConnections
from module.impl.requirements.command import call


class ReservationModule:
    def __init__(self, mod: Module, evses: EvseConnections) -> None:
        self._reservation = mod.requirement("reservation")
        self._evses = evses

    def _evse_id(self, connector_id: int) -> int:
        evse, _local = self._evses.evse_of(connector_id)
        return evse.evse_id

    async def reserve_now(self, reservation_id: int, connector_id: int, id_tag: str, expiry_date: str,
                          parent_id_tag: str | None) -> str:
        request: dict[str, Any] = {"reservation_id": reservation_id, "id_token": id_tag, "expiry_time": expiry_date}
        if connector_id:
            request["evse_id"] = self._evse_id(connector_id)
        if parent_id_tag:
            request["parent_id_token"] = parent_id_tag
        return str(await call(self._reservation, "reserve_now", {"request": request}))

    async def cancel_reservation(self, reservation_id: int) -> bool:
        return bool(await call(self._reservation, "cancel_reservation", {"reservation_id": reservation_id}))

    async def exists_reservation(self, connector_id: int, id_tag: str, parent_id_tag: str | None) -> str:
        request: dict[str, Any] = {"id_token": id_tag, "evse_id": self._evse_id(connector_id)}
        if parent_id_tag:
            request["group_id_token"] = parent_id_tag
        return str(await call(self._reservation, "exists_reservation", {"request": request}))
