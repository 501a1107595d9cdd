"""Reset: ask the system module, answer, then stop transactions, wait for their confirmations and reset."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from module.core.profiles.core import CoreServices

from module.core.profile import Reply

ACTION = "Reset"


async def handle(core: CoreServices, request: dict[str, Any]) -> dict[str, Any] | Reply:
    reset_type = request["type"]
    if not await core.remote.reset_allowed(reset_type):
        return {"status": "Rejected"}
    return Reply({"status": "Accepted"}, then=lambda: core.remote.reset(reset_type))
