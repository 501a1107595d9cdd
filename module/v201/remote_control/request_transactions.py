"""RequestStartTransaction (F01, F02) and RequestStopTransaction (F03).

A remote start is answered first and then its idToken goes to the charger's auth module as a provided token
(prevalidated unless AuthCtrlr.AuthorizeRemoteStart asks for an Authorize); the transaction it starts carries the
remoteStartId (and triggerReason RemoteStart where the token authorized it).  An EVSE that is Unavailable, Faulted
or already in a transaction refuses it.  A remote stop ends the named transaction through its EVSE manager (reason
Remote); an unknown transactionId is Rejected."""

from __future__ import annotations

from typing import Any, Protocol

from module.link.reply import Reply
from module.v201.availability.change_availability import EvseControl
from module.v201.availability.connectors import Connectors
from module.v201.device_model.device_model import DeviceModel
from module.v201.transactions.transactions import Transactions

START_ACTION = "RequestStartTransaction"
STOP_ACTION = "RequestStopTransaction"


class TokenProvider(Protocol):
    async def provide_token(self, id_tag: str, connectors: list[int] | None, prevalidated: bool,
                            parent_id_tag: str | None = None, token_type: str = "Central") -> None: ...


async def handle_start(model: DeviceModel, connectors: Connectors, transactions: Transactions,
                       auth: TokenProvider, request: dict[str, Any]) -> Reply:
    evse_id, token = request.get("evseId"), request["idToken"]
    candidates = [evse_id] if evse_id is not None else connectors.evse_ids
    free = [e for e in candidates if e in connectors.evse_ids and connectors.status(e) in ("Available", "Occupied")
            and transactions.evses[e].transaction_id is None]
    if not free:
        return Reply({"status": "Rejected"})
    transactions.expect_remote_start(token["idToken"], request["remoteStartId"])
    prevalidated = (model.value_of("AuthCtrlr", "AuthorizeRemoteStart") or "false") != "true"

    async def provide() -> None:
        await auth.provide_token(token["idToken"], [evse_id] if evse_id is not None else None, prevalidated,
                                 token_type=token.get("type", "Central"))
    return Reply({"status": "Accepted"}, then=provide)


async def handle_stop(transactions: Transactions, evses: EvseControl, request: dict[str, Any]) -> Reply:
    evse_id = transactions.evse_of(request["transactionId"])
    if evse_id is None or not await evses.stop_transaction(evse_id, "Remote"):
        return Reply({"status": "Rejected"})
    return Reply({"status": "Accepted"})
