"""The CSMS acting on the charger: remote start and stop, unlock, reset, and DataTransfer both ways."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from module.clock import wait_for
from module.core.connector_status import Status
from module.core.context import CoreContext, command
from module.core.profile import Reply, ServiceBase
from module.core.profiles.core.sessions import TransactionService
from module.link.errors import CallErrorReceived, CallTimeout, InvalidPayload, LinkDown
from module.queue.message_queue import Offline

log = logging.getLogger(__name__)

RESET_RETRY_S = 5.0
"""Between the attempts of a reset the system module failed."""

_CANNOT_START = {Status.UNAVAILABLE, Status.FAULTED, Status.FINISHING}
_FREE_FOR_TOKEN = {"NotReserved", "ReservedForToken"}
_GROUP_DECIDES = "ReservedForOtherTokenAndHasParentToken"

Validate = Callable[[str], Awaitable[dict[str, Any]]]
"""idTagInfo of a token: local list, cache or Authorize.req (AuthorizationService.validate)."""


class RemoteControlService(ServiceBase):
    def __init__(self, ctx: CoreContext, transactions: TransactionService, validate: Validate) -> None:
        self._ctx = ctx
        self._transactions = transactions
        self._validate = validate

    # -- RemoteStartTransaction / RemoteStopTransaction / UnlockConnector -------------------------------------
    def can_start(self, connector_id: int) -> bool:
        """No transaction runs and the connector is neither out of service, faulted nor finishing."""
        return (not self._transactions.running(connector_id)
                and self._ctx.notifier.status(connector_id) not in _CANNOT_START)

    async def remote_start(self, id_tag: str, connector_id: int | None) -> Reply:
        """Accepted when a connector can take the token: free, or Reserved for it (the reservation module says,
        as libocpp asks it). A token the reservation's group may use is accepted and its parentIdTag checked
        after the answer, as an authorization of a remote start comes after its answer too; Rejected when every
        free connector is reserved for another token."""
        candidates = [connector_id] if connector_id is not None else self._ctx.connector_ids
        checks = {cid: await self._reservation_check(cid, id_tag) for cid in candidates if self.can_start(cid)}
        if any(check in _FREE_FOR_TOKEN for check in checks.values()):
            prevalidated = not self._ctx.cfg.get("AuthorizeRemoteTxRequests")
            started = await self._provide(id_tag, connector_id, prevalidated)
            return Reply({"status": "Accepted" if started else "Rejected"})
        group = [cid for cid, check in checks.items() if check == _GROUP_DECIDES]
        if group:
            return Reply({"status": "Accepted"}, then=lambda: self._start_for_group(id_tag, connector_id, group))
        return Reply({"status": "Rejected"})

    async def _reservation_check(self, connector_id: int, id_tag: str, parent_id_tag: str | None = None) -> str:
        """NotReserved unless the connector is Reserved; then the reservation module's exists_reservation (a
        failing module leaves the reservation standing)."""
        if self._ctx.notifier.state(connector_id) != Status.RESERVED:
            return "NotReserved"
        return await command("exists_reservation", self._ctx.ports.reservation.exists_reservation(
            connector_id, id_tag, parent_id_tag), "ReservedForOtherToken")

    async def _start_for_group(self, id_tag: str, connector_id: int | None, reserved: list[int]) -> None:
        """The token's parentIdTag (local list, cache, else the CSMS) decides; the token then goes to the auth
        module as validated, with its parent, so that the reservation of its group lets it start."""
        info = await self._validate(id_tag)
        parent = info.get("parentIdTag") if info.get("status") == "Accepted" else None
        if parent:
            for cid in reserved:
                if await self._reservation_check(cid, id_tag, parent) == "ReservedForToken":
                    await self._provide(id_tag, connector_id, True, parent)
                    return
        log.info("remote start not passed on: connector %s is reserved for another group", reserved)

    async def _provide(self, id_tag: str, connector_id: int | None, prevalidated: bool,
                       parent_id_tag: str | None = None) -> bool:
        """The idTag goes to the charger's auth module as a token from the CSMS."""
        async def provide() -> bool:
            await self._ctx.ports.auth.provide_token(id_tag, [connector_id] if connector_id else None, prevalidated,
                                                     parent_id_tag)
            return True
        return await command("provide_token", provide(), False)

    async def remote_stop(self, transaction_id: int) -> bool:
        for connector_id, transaction in list(self._transactions.manager.active.items()):
            if self._transactions.manager.wire_id(transaction) == transaction_id:
                return await command("stop_transaction",
                                     self._ctx.ports.evse.stop_transaction(connector_id, "Remote"), False)
        return False

    async def unlock(self, connector_id: int) -> Reply:
        """UnlockConnector.  `force_unlock` answers false when the EVSE has no connector lock (a fixed cable):
        NotSupported, and a running transaction goes on unless StopTransactionIfUnlockNotSupported says to end it
        (after the answer, as libocpp does).  An EVSE with a lock ends the transaction itself (UnlockCommand)
        before unlocking; it is also asked to stop it here, for EVSE managers that do not.  A command that fails
        or times out is UnlockFailed."""
        evse = self._ctx.ports.evse
        unlocked = await command("force_unlock", evse.force_unlock(connector_id), None)
        if unlocked is None:
            return Reply({"status": "UnlockFailed"})
        if unlocked:
            await self._stop_for_unlock(connector_id)
            return Reply({"status": "Unlocked"})
        if self._ctx.cfg.get("StopTransactionIfUnlockNotSupported") and self._transactions.running(connector_id):
            return Reply({"status": "NotSupported"}, then=lambda: self._stop_for_unlock(connector_id))
        return Reply({"status": "NotSupported"})

    async def _stop_for_unlock(self, connector_id: int) -> None:
        if self._transactions.running(connector_id):
            await command("stop_transaction",
                          self._ctx.ports.evse.stop_transaction(connector_id, "UnlockCommand"), False)

    # -- Reset --------------------------------------------------------------------------------------------------
    async def reset_allowed(self, reset_type: str) -> bool:
        return await command("is_reset_allowed", self._ctx.ports.system.is_reset_allowed(reset_type), False)

    async def reset(self, reset_type: str) -> None:
        """Stop every transaction, wait for their StopTransaction confirmations (bounded), stop OCPP, reset."""
        reason = "HardReset" if reset_type == "Hard" else "SoftReset"
        manager = self._transactions.manager
        waits = []
        for connector_id, transaction in list(manager.active.items()):
            waits.append(manager.stopped[transaction.session_id].wait())
            await command("stop_transaction", self._ctx.ports.evse.stop_transaction(connector_id, reason), False)
        if waits:
            timeout = self._ctx.cfg.get("WaitForStopTransactionsOnResetTimeout")
            try:
                await wait_for(self._ctx.clock, asyncio.gather(*waits), timeout)
            except TimeoutError:
                log.warning("reset goes ahead without every StopTransaction confirmed (waited %s s)", timeout)
        if self._ctx.reset_stop_delay:
            await self._ctx.clock.sleep(self._ctx.reset_stop_delay)
        await self._ctx.stop_charge_point()
        await self._reset_system(reset_type)

    async def _reset_system(self, reset_type: str) -> None:
        """The system module's reset command; one that fails is tried again ResetRetries times, RESET_RETRY_S
        apart (OCPP 1.6: the number of times to retry an unsuccessful reset)."""
        retries = self._ctx.cfg.get("ResetRetries") or 0
        for attempt in range(retries + 1):
            if attempt:
                await self._ctx.clock.sleep(RESET_RETRY_S)
            try:
                await self._ctx.ports.system.reset(reset_type)
                return
            except Exception as error:
                log.warning("reset attempt %d of %d failed: %s: %s", attempt + 1, retries + 1,
                            type(error).__name__, error)
        log.critical("the system module did not reset the charger after %d attempts", retries + 1)

    # -- DataTransfer -------------------------------------------------------------------------------------------
    async def data_transfer_from_csms(self, payload: dict[str, Any]) -> dict[str, Any]:
        request = {"vendor_id": payload["vendorId"]}
        if payload.get("messageId") is not None:
            request["message_id"] = payload["messageId"]
        if payload.get("data") is not None:
            request["data"] = payload["data"]
        answer = await command("data_transfer", self._ctx.ports.data_transfer.data_transfer(request),
                               {"status": "Rejected"})
        if answer is None:
            return {"status": "UnknownVendorId"}
        response = {"status": answer.get("status", "Rejected")}
        if answer.get("data") is not None:
            response["data"] = answer["data"]
        return response

    async def data_transfer_to_csms(self, vendor_id: str, message_id: str | None, data: str | None
                                    ) -> dict[str, Any]:
        """A DataTransfer the charger's modules send: Offline when it could not go out, Rejected when the CSMS
        answered with a CALLERROR, a broken answer or not in time (as EVerest's OCPP module reports them)."""
        payload = {"vendorId": vendor_id}
        if message_id is not None:
            payload["messageId"] = message_id
        if data is not None:
            payload["data"] = data
        try:
            response = await self._ctx.queue.send("DataTransfer", payload)
        except (Offline, LinkDown) as error:
            log.info("DataTransfer to the CSMS not sent: %s", error)
            return {"status": "Offline"}
        except (CallErrorReceived, CallTimeout, InvalidPayload) as error:
            log.info("DataTransfer to the CSMS not answered: %s", error)
            return {"status": "Rejected"}
        result = {"status": response["status"]}
        if response.get("data") is not None:
            result["data"] = response["data"]
        return result
