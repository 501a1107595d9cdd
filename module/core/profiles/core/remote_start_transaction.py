"""RemoteStartTransaction: the idTag goes to the charger's auth module as a token from the CSMS; a
chargingProfile must be a TxProfile, which the SmartCharging profile (when enabled) attaches to the transaction
the token starts."""

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
    smart_charging = core.ctx.remote_start_profiles
    if profile is not None and (profile.get("chargingProfilePurpose") != "TxProfile" or (
            smart_charging is not None and not smart_charging.acceptable(connector_id, profile))):
        return {"status": "Rejected"}
    reply = await core.remote.remote_start(request["idTag"], connector_id)
    if reply.payload["status"] == "Accepted" and profile is not None and smart_charging is not None:
        # The token reaches the EVSE through the auth module, so its TransactionStarted cannot come before this.
        smart_charging.expect(connector_id, request["idTag"], profile)
    return reply
