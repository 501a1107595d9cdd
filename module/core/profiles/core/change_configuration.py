"""ChangeConfiguration: the key registry decides (Accepted, Rejected, RebootRequired, NotSupported)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from module.core.profiles.core import CoreServices

ACTION = "ChangeConfiguration"


async def handle(core: CoreServices, request: dict[str, Any]) -> dict[str, Any]:
    return {"status": core.ctx.cfg.change_configuration(request["key"], request["value"])}
