"""ClearCache: empty the authorization cache."""

from __future__ import annotations

from typing import Any

ACTION = "ClearCache"


async def handle(cp: Any, payload: dict[str, Any]) -> dict[str, Any]:
    cp.auth_cache.clear()
    return {"status": "Accepted"}
