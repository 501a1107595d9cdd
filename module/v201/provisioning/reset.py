"""Reset (B11, B12): the whole station, Immediate or OnIdle, through the system module. A station without a
transaction is idle, and this part of the module runs none yet, so OnIdle resets at once as Immediate does; a
reset of one EVSE is not supported (Rejected), as the system interface resets the station only."""

from __future__ import annotations

from typing import Any, Protocol

from module.link.reply import Reply

ACTION = "Reset"


class Resetter(Protocol):
    async def reset_allowed(self) -> bool: ...

    async def reset(self) -> None:
        """Stop the OCPP side and have the system module reset the station."""
        ...


async def handle(station: Resetter, request: dict[str, Any]) -> Reply:
    if request.get("evseId") is not None or not await station.reset_allowed():
        return Reply({"status": "Rejected"})
    return Reply({"status": "Accepted"}, then=station.reset)
