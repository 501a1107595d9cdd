"""GetLocalListVersion: the version of the local list, 0 when it is empty, -1 while it is not in use."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from module.core.profiles.local_auth_list.service import LocalAuthListService

ACTION = "GetLocalListVersion"


async def handle(service: LocalAuthListService, request: dict[str, Any]) -> dict[str, Any]:
    if not service.enabled():
        return {"listVersion": -1}
    local_list = service.list
    return {"listVersion": local_list.version() if local_list.size() else 0}
