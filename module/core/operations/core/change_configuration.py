"""ChangeConfiguration: the registry decides; the new value is on disk before this answer goes out."""

from __future__ import annotations

from typing import Any

ACTION = "ChangeConfiguration"


async def handle(cp: Any, payload: dict[str, Any]) -> dict[str, Any]:
    return {"status": cp.cfg.change_configuration(payload["key"], payload["value"])}
