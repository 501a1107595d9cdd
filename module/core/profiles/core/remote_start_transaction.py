"""RemoteStartTransaction: the idTag goes to the charger's auth module as a token from the CSMS."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from module.core.profile import Reply

if TYPE_CHECKING:
    from module.core.profiles.core import CoreServices

ACTION = "RemoteStartTransaction"


async def handle(core: CoreServices, request: dict[str, Any]) -> dict[str, Any] | Reply:
    if not core.ctx.registered():
        return {"status": "Rejected"}  # not while the boot is Pending (1.6 section 4.2)
    connector_id = request.get("connectorId")
    if connector_id is not None and connector_id not in core.ctx.connector_ids:
        return {"status": "Rejected"}
    profile = request.get("chargingProfile")
    if profile is not None and profile.get("chargingProfilePurpose") != "TxProfile":
        return {"status": "Rejected"}
    return await core.remote.remote_start(request["idTag"], connector_id)
