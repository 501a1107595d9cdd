"""Before a downloaded firmware is installed: running transactions end, every connector goes out of service.

OCPP 1.6 (Update Firmware) recommends waiting until charging sessions have ended and setting the connectors that
are not in use to Unavailable meanwhile; libocpp does the same before it lets the system module install. The
connectors are taken out of service here without touching what the CSMS set with ChangeAvailability (that is
kept on disk): after the reboot they come back as the CSMS left them, and after a failed installation the
connectors taken out here are put back.
"""

from __future__ import annotations

import logging

from module.core.connector_status import Event, Status
from module.core.context import CoreContext, command
from module.v16.transactions import TransactionState

log = logging.getLogger(__name__)


class Installation:
    """One pending installation: waiting for transactions, then asking the system module to install."""

    def __init__(self, ctx: CoreContext) -> None:
        self._ctx = ctx
        self.waiting = False
        self._out_of_service: set[int] = set()

    async def prepare(self) -> None:
        """The firmware is downloaded: take idle connectors out of service now, the others once their
        transactions end; when none runs any more, allow the installation."""
        self.waiting = True
        await self.advance()

    async def advance(self) -> None:
        """Take every connector without a transaction out of service; allow once no transaction runs."""
        if not self.waiting:
            return
        running = self._running()
        for connector_id in self._ctx.connector_ids:
            if connector_id not in running:
                await self._take_out_of_service(connector_id)
        if running:
            log.info("firmware installation waits for the transactions on connectors %s", sorted(running))
            return
        self.waiting = False
        await command("allow_firmware_installation", self._ctx.ports.firmware.allow_firmware_installation(), None)

    async def finish(self) -> None:
        """The update ended here (failed, or installed without a reboot): the connectors serve again."""
        self.waiting = False
        for connector_id in sorted(self._out_of_service):
            await command("set_available", self._ctx.ports.evse.set_available(connector_id, True), False)
            if self._ctx.notifier.state(connector_id) == Status.UNAVAILABLE:
                self._ctx.notifier.handle(connector_id, Event.BECOME_AVAILABLE)
        self._out_of_service.clear()

    def take_over(self, previous: Installation) -> None:
        self.waiting = previous.waiting
        self._out_of_service = set(previous._out_of_service)

    def _running(self) -> set[int]:
        return {transaction.connector_id for transaction in self._ctx.transaction_store.unfinished()
                if transaction.state is TransactionState.ACTIVE}

    async def _take_out_of_service(self, connector_id: int) -> None:
        """Connectors already Unavailable (by the CSMS) are left alone, so finish() does not bring them back."""
        if connector_id in self._out_of_service or self._ctx.notifier.state(connector_id) == Status.UNAVAILABLE:
            return
        self._out_of_service.add(connector_id)
        await command("set_available", self._ctx.ports.evse.set_available(connector_id, False), False)
        self._ctx.notifier.handle(connector_id, Event.CHANGE_AVAILABILITY_TO_UNAVAILABLE)
