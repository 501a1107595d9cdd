"""ChangeAvailability (G03 for an EVSE, G04 for the whole station): Operative or Inoperative, persisted, carried out
by the EVSE managers (enable_disable).  An EVSE with a running transaction becomes Inoperative only when the
transaction ends: Scheduled; the station-wide change is Scheduled when any EVSE has one, and the idle EVSEs go
Unavailable at once."""

from __future__ import annotations

from typing import Any, Protocol

from module.link.reply import Reply
from module.v201.availability.connectors import CONNECTOR_ID, Connectors

ACTION = "ChangeAvailability"
STATION = 0


class EvseControl(Protocol):
    async def set_available(self, evse_id: int, operative: bool) -> bool:
        """Enable or disable one EVSE (0: every EVSE); False when the EVSE manager refused."""
        ...

    async def stop_transaction(self, evse_id: int, reason: str) -> bool:
        """End the EVSE's transaction (EVerest's StopTransactionReason); False when it has none."""
        ...

    async def force_unlock(self, evse_id: int) -> bool:
        """Unlock the EVSE's connector; False when it cannot (no lock)."""
        ...


class Availability:
    def __init__(self, connectors: Connectors, evses: EvseControl) -> None:
        self.connectors = connectors
        self._evses = evses

    def busy(self, evse_id: int) -> bool:
        return self.connectors.state(evse_id).transaction

    async def change(self, evse_id: int, operative: bool) -> str:
        targets = self.connectors.evse_ids if evse_id == STATION else [evse_id]
        busy = [e for e in targets if self.busy(e)]
        table = self.connectors.availability
        if busy and not operative:
            for target in busy:
                table.schedule(target, operative)
            if evse_id == STATION:
                table.schedule(STATION, operative)
            for target in targets:
                if target not in busy:
                    await self._apply(target, operative)
            return "Scheduled"
        if evse_id == STATION:
            table.set(STATION, operative)
            for target in targets:
                table.set(target, operative)
        return "Accepted" if await self._apply(evse_id, operative) else "Rejected"

    async def _apply(self, evse_id: int, operative: bool) -> bool:
        self.connectors.availability.set(evse_id, operative)
        accepted = await self._evses.set_available(evse_id, operative)
        await self.connectors.report_all()
        return accepted

    async def on_transaction_finished(self, evse_id: int) -> None:
        """A change Scheduled during the transaction applies now; the station-wide one once no EVSE is busy."""
        scheduled = self.connectors.availability.scheduled()
        if evse_id in scheduled:
            await self._apply(evse_id, scheduled[evse_id])
        if STATION in scheduled and not any(self.busy(e) for e in self.connectors.evse_ids):
            await self._apply(STATION, scheduled[STATION])

    async def apply_persisted(self) -> None:
        """EVSEs the CSMS took out of service stay out of service after a restart."""
        for evse_id in [STATION, *self.connectors.evse_ids]:
            if not self.connectors.availability.operative(evse_id):
                await self._evses.set_available(evse_id, False)


async def handle(availability: Availability, request: dict[str, Any]) -> Reply:
    operative = request["operationalStatus"] == "Operative"
    evse = request.get("evse")
    if evse is None:
        return Reply({"status": await availability.change(STATION, operative)})
    if evse["id"] not in availability.connectors.evse_ids or evse.get("connectorId", CONNECTOR_ID) != CONNECTOR_ID:
        return Reply({"status": "Rejected", "statusInfo": {"reasonCode": "UnknownEvse"}})
    return Reply({"status": await availability.change(evse["id"], operative)})
