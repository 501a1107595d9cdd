"""RemoteStopTransaction: the EVSE running that transaction stops it with reason Remote."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from module.core.profiles.core import CoreServices

ACTION = "RemoteStopTransaction"


async def handle(core: CoreServices, request: dict[str, Any]) -> dict[str, Any]:
    if not core.ctx.registered():
        return {"status": "Rejected"}  # not while the boot is Pending (1.6 section 4.2)
    stopped = await core.remote.remote_stop(request["transactionId"])
    return {"status": "Accepted" if stopped else "Rejected"}
