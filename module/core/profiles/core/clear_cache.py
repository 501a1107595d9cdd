"""ClearCache: empties the authorization cache."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from module.core.profiles.core import CoreServices

ACTION = "ClearCache"


async def handle(core: CoreServices, request: dict[str, Any]) -> dict[str, Any]:
    core.authorization.cache.clear()
    return {"status": "Accepted"}
