"""RemoteStartTransaction: the idTag goes to the charger's auth module as a token from the CSMS."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from module.core.profiles.core import CoreServices

ACTION = "RemoteStartTransaction"


async def handle(core: CoreServices, request: dict[str, Any]) -> dict[str, Any]:
    if not core.ctx.registered():
        return {"status": "Rejected"}  # not while the boot is Pending (1.6 section 4.2)
    connector_id = request.get("connectorId")
    connectors = core.ctx.connector_ids
    if connector_id is not None and (connector_id not in connectors or not core.remote.can_start(connector_id)):
        return {"status": "Rejected"}
    if connector_id is None and not any(core.remote.can_start(cid) for cid in connectors):
        return {"status": "Rejected"}
    profile = request.get("chargingProfile")
    if profile is not None and profile.get("chargingProfilePurpose") != "TxProfile":
        return {"status": "Rejected"}
    started = await core.remote.remote_start(request["idTag"], connector_id)
    return {"status": "Accepted" if started else "Rejected"}
