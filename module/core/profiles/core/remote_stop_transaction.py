"""RemoteStopTransaction: the EVSE running that transaction stops it with reason Remote."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from module.core.profiles.core import CoreServices

ACTION = "RemoteStopTransaction"


async def handle(core: CoreServices, request: dict[str, Any]) -> dict[str, Any]:
    stopped = await core.remote.remote_stop(request["transactionId"])
    return {"status": "Accepted" if stopped else "Rejected"}
