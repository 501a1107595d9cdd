"""Operative / Inoperative per connector, as the CSMS set it (ChangeAvailability), kept across reboots."""

from __future__ import annotations

from collections.abc import Callable

from module.core.connector_status import Event, Status
from module.core.context import CoreContext
from module.core.inputs import SessionEvent
from module.core.profile import ServiceBase
from module.queue.database import Database

ActiveTransaction = Callable[[int], bool]
"""Whether a transaction runs on a connector."""

_SCHEMA = [
    "CREATE TABLE connector_availability (connector_id INTEGER PRIMARY KEY, operative INTEGER NOT NULL,"
    " scheduled INTEGER)",
]


class AvailabilityTable:
    """Operative / Inoperative per connector (0 = the whole charge point), plus a change waiting for a session end.

    Kept on disk so that a charge point taken out of service by the CSMS stays out of service after a reboot.
    """

    def __init__(self, db: Database) -> None:
        db.register_migrations("core_availability", _SCHEMA)
        self._db = db

    def operative(self, connector_id: int) -> bool:
        row = self._db.conn.execute("SELECT operative FROM connector_availability WHERE connector_id = ?",
                                    (connector_id,)).fetchone()
        return bool(row[0]) if row else True

    def scheduled(self) -> dict[int, bool]:
        rows = self._db.conn.execute(
            "SELECT connector_id, scheduled FROM connector_availability WHERE scheduled IS NOT NULL")
        return {connector_id: bool(scheduled) for connector_id, scheduled in rows}

    def set(self, connector_id: int, operative: bool) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO connector_availability (connector_id, operative, scheduled) VALUES (?, ?, NULL)"
                " ON CONFLICT (connector_id) DO UPDATE SET operative = excluded.operative, scheduled = NULL",
                (connector_id, int(operative)))

    def schedule(self, connector_id: int, operative: bool) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO connector_availability (connector_id, operative, scheduled) VALUES (?, 1, ?)"
                " ON CONFLICT (connector_id) DO UPDATE SET scheduled = excluded.scheduled",
                (connector_id, int(operative)))


class AvailabilityService(ServiceBase):
    """ChangeAvailability now, or Scheduled until the running sessions end."""

    def __init__(self, ctx: CoreContext, active_transaction: ActiveTransaction) -> None:
        self._ctx = ctx
        self._notifier = ctx.notifier
        self._has_transaction = active_transaction
        self.table = AvailabilityTable(ctx.db)

    async def on_session_event(self, connector_id: int, event: SessionEvent) -> None:
        if event.kind == "Enabled":
            if self._notifier.state(connector_id) == Status.UNAVAILABLE and self.table.operative(connector_id):
                self._notifier.handle(connector_id, Event.BECOME_AVAILABLE)
        elif event.kind in ("TransactionFinished", "SessionFinished"):
            # A change Scheduled during the session applies now: Finishing -> Unavailable, without reporting
            # Available in between.
            await self._apply_scheduled(connector_id)

    async def apply_persisted(self) -> None:
        """Connectors the CSMS took out of service stay out of service after a restart."""
        for connector_id in [0, *self._ctx.connector_ids]:
            if not self.table.operative(connector_id):
                await self._apply(connector_id, operative=False)

    def busy(self, connector_id: int) -> bool:
        """A transaction runs or a session is being prepared: availability changes must wait."""
        return self._has_transaction(connector_id) or self._notifier.state(connector_id) == Status.PREPARING

    async def change(self, connector_id: int, operative: bool) -> str:
        """ChangeAvailability: Accepted, Scheduled (after the running session) or Rejected."""
        targets = self._ctx.connector_ids if connector_id == 0 else [connector_id]
        busy = [cid for cid in targets if self.busy(cid)]
        if busy and not operative:
            for cid in busy:
                self.table.schedule(cid, operative)
            for cid in targets:
                if cid not in busy:
                    await self._apply(cid, operative)
            if connector_id == 0:
                # The charge point itself takes no new session from now on, so connector 0 reports Unavailable at
                # once (as EVerest's module does); the busy connectors follow when their sessions end.
                self.table.set(0, operative)
                self._notifier.handle(0, Event.CHANGE_AVAILABILITY_TO_UNAVAILABLE)
            return "Scheduled"
        accepted = await self._apply(connector_id, operative)
        return "Accepted" if accepted else "Rejected"

    async def _apply(self, connector_id: int, operative: bool) -> bool:
        self.table.set(connector_id, operative)
        accepted = await self._ctx.ports.evse.set_available(connector_id, operative)
        event = Event.BECOME_AVAILABLE if operative else Event.CHANGE_AVAILABILITY_TO_UNAVAILABLE
        for cid in [0, *self._ctx.connector_ids] if connector_id == 0 else [connector_id]:
            if not operative or (self.table.operative(cid) and self.table.operative(0)):
                if operative and self._notifier.state(cid) != Status.UNAVAILABLE:
                    continue
                self._notifier.handle(cid, event)
        return accepted

    async def _apply_scheduled(self, connector_id: int) -> None:
        scheduled = self.table.scheduled()
        for cid in (connector_id, 0):
            if cid in scheduled and not any(self.busy(other) for other in
                                            (self._ctx.connector_ids if cid == 0 else [cid])):
                await self._apply(cid, scheduled[cid])
