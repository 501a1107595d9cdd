"""RemoteStartTransaction: the idTag goes to the charger's auth module as a token from the CSMS."""

from __future__ import annotations

import logging
from typing import Any

from module.core.connector_status import Status

ACTION = "RemoteStartTransaction"
log = logging.getLogger(__name__)

_CANNOT_START = {Status.UNAVAILABLE, Status.FAULTED, Status.FINISHING}


def _free(cp: Any, connector_id: int) -> bool:
    return connector_id not in cp.transactions.active and cp.notifier.status(connector_id) not in _CANNOT_START


async def handle(cp: Any, payload: dict[str, Any]) -> dict[str, Any]:
    connector_id = payload.get("connectorId")
    if connector_id is not None and (connector_id not in cp.connector_ids or not _free(cp, connector_id)):
        return {"status": "Rejected"}
    if connector_id is None and not any(_free(cp, cid) for cid in cp.connector_ids):
        return {"status": "Rejected"}
    profile = payload.get("chargingProfile")
    if profile is not None:
        if profile.get("chargingProfilePurpose") != "TxProfile":
            return {"status": "Rejected"}
        cp.remote_start_profiles[connector_id or 0] = profile
    prevalidated = not cp.cfg.get("AuthorizeRemoteTxRequests")
    try:
        await cp.charger.provide_token(payload["idTag"], [connector_id] if connector_id else None, prevalidated)
    except Exception as error:
        cp.log_command_failure("provided_token", error)
        return {"status": "Rejected"}
    return {"status": "Accepted"}
