"""GetConfiguration: known keys with their values (secrets never), unknown keys listed apart."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from module.core.profiles.core import CoreServices

from module.config.errors import TooManyKeysError
from module.link.errors import OcppError

ACTION = "GetConfiguration"


async def handle(core: CoreServices, request: dict[str, Any]) -> dict[str, Any]:
    try:
        known, unknown = core.ctx.cfg.get_configuration(request.get("key"))
    except TooManyKeysError as error:
        raise OcppError(error.ocpp_error_code, str(error)) from error
    response: dict[str, Any] = {"configurationKey": known}
    if unknown:
        response["unknownKey"] = unknown
    return response
