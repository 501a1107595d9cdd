"""RemoteStartTransaction: the idTag goes to the charger's auth module as a token from the CSMS; a
chargingProfile must be a TxProfile, which the SmartCharging profile (when enabled) attaches to the transaction
the token starts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from module.core.profiles.core import CoreServices

ACTION = "RemoteStartTransaction"


async def handle(core: CoreServices, request: dict[str, Any]) -> dict[str, Any]:
    connector_id = request.get("connectorId")
    connectors = core.ctx.connector_ids
    if connector_id is not None and (connector_id not in connectors or not core.remote.can_start(connector_id)):
        return {"status": "Rejected"}
    if connector_id is None and not any(core.remote.can_start(cid) for cid in connectors):
        return {"status": "Rejected"}
    profile = request.get("chargingProfile")
    smart_charging = core.ctx.remote_start_profiles
    if profile is not None and (profile.get("chargingProfilePurpose") != "TxProfile" or (
            smart_charging is not None and not smart_charging.acceptable(connector_id, profile))):
        return {"status": "Rejected"}
    started = await core.remote.remote_start(request["idTag"], connector_id)
    if started and profile is not None and smart_charging is not None:
        # The token reaches the EVSE through the auth module, so its TransactionStarted cannot come before this.
        smart_charging.expect(connector_id, request["idTag"], profile)
    return {"status": "Accepted" if started else "Rejected"}
