"""ChangeConfiguration: the key registry decides (Accepted, Rejected, RebootRequired, NotSupported), except for
the keys another profile owns (ctx.configuration_changes: the Security profile's SecurityProfile and
AuthorizationKey), which that profile answers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from module.core.profile import Reply

if TYPE_CHECKING:
    from module.core.profiles.core import CoreServices

ACTION = "ChangeConfiguration"


async def handle(core: CoreServices, request: dict[str, Any]) -> dict[str, Any] | Reply:
    owner = core.ctx.configuration_changes.get(core.ctx.cfg.canonical(request["key"]))
    if owner is not None:
        answer: dict[str, Any] | Reply = await owner(request["value"])
        return answer
    return {"status": core.ctx.cfg.change_configuration(request["key"], request["value"])}
