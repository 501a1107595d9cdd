"""Block G's connector status (G01): each EVSE's connector is Available, Occupied, Reserved, Unavailable or Faulted,
derived from the EVSE manager's session events and the CSMS's availability, and reported with StatusNotification
when it changes (and once for every connector after each accepted BootNotification).

The modules behind EVerest's evse_manager give one connector per EVSE to 2.0.1 (connector 1).  A status that could
not be sent (offline) is sent again with the next report, so the CSMS always ends up with the current one; after a
connection loss longer than OfflineThreshold every connector's status is sent again (B51), after a shorter one only
the changed ones (B52)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from module.core.profiles.core.availability import AvailabilityTable
from module.core.timestamps import utc_now
from module.queue.database import Database

log = logging.getLogger(__name__)

CONNECTOR_ID = 1
Send = Callable[[str, dict[str, Any], bool], Awaitable[Any]]
"""(action, payload, triggered): the queue's normal lane; a triggered message may go out while Pending."""


@dataclass
class ConnectorState:
    plugged: bool = False
    transaction: bool = False
    reserved: bool = False
    faulted: bool = False
    evse_enabled: bool = True
    reported: str | None = None


class Connectors:
    """Status of every EVSE's connector; `availability` keeps the CSMS's Operative / Inoperative per EVSE (0 is the
    whole station) across restarts."""

    def __init__(self, evse_ids: list[int], db: Database, send: Send, registered: Callable[[], bool]) -> None:
        self.evse_ids = evse_ids
        self.availability = AvailabilityTable(db)
        self._send = send
        self._registered = registered
        self._states = {evse_id: ConnectorState() for evse_id in evse_ids}

    def state(self, evse_id: int) -> ConnectorState:
        return self._states[evse_id]

    def status(self, evse_id: int) -> str:
        state = self._states[evse_id]
        if state.faulted:
            return "Faulted"
        operative = self.availability.operative(evse_id) and self.availability.operative(0)
        if not operative or not state.evse_enabled:
            return "Unavailable"
        if state.plugged or state.transaction:
            return "Occupied"
        return "Reserved" if state.reserved else "Available"

    async def on_session_event(self, evse_id: int, kind: str) -> None:
        """EVerest's session event names; the ones that change nothing here are ignored."""
        state = self._states[evse_id]
        changes = {"SessionStarted": ("plugged", True), "SessionFinished": ("plugged", False),
                   "TransactionStarted": ("transaction", True), "TransactionFinished": ("transaction", False),
                   "ReservationStart": ("reserved", True), "ReservationEnd": ("reserved", False),
                   "Enabled": ("evse_enabled", True), "Disabled": ("evse_enabled", False)}
        if kind not in changes:
            return
        field, value = changes[kind]
        setattr(state, field, value)
        await self.report(evse_id)

    async def on_fault(self, evse_id: int, faulted: bool) -> None:
        self._states[evse_id].faulted = faulted
        await self.report(evse_id)

    async def report(self, evse_id: int, *, triggered: bool = False) -> None:
        """StatusNotification for the connector when its status changed since the last one sent, or always when the
        CSMS asked for it (TriggerMessage)."""
        state, status = self._states[evse_id], self.status(evse_id)
        if (status == state.reported or not self._registered()) and not triggered:
            return  # before the boot is accepted, the first report after it sends every status
        payload = {"timestamp": utc_now("milliseconds"), "connectorStatus": status, "evseId": evse_id,
                   "connectorId": CONNECTOR_ID}
        try:
            await self._send("StatusNotification", payload, triggered)
        except Exception as error:  # offline, refused or timed out: the next report sends the current status
            log.info("StatusNotification of EVSE %s (%s) not delivered: %s", evse_id, status, error)
            state.reported = None
            return
        state.reported = status

    async def report_all(self, *, every: bool = False) -> None:
        """The statuses the CSMS does not know yet; `every` status after an offline time longer than
        OCPPCommCtrlr.OfflineThreshold (B51: the CSMS may have lost track)."""
        for evse_id in self.evse_ids:
            if every:
                self._states[evse_id].reported = None
            await self.report(evse_id)
