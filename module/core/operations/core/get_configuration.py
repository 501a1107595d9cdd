"""GetConfiguration: every reported key, or the listed ones plus unknownKey; too many keys is a CALLERROR."""

from __future__ import annotations

from typing import Any

from module.config.errors import TooManyKeysError
from module.link.errors import OcppError

ACTION = "GetConfiguration"


async def handle(cp: Any, payload: dict[str, Any]) -> dict[str, Any]:
    try:
        known, unknown = cp.cfg.get_configuration(payload.get("key"))
    except TooManyKeysError as error:
        raise OcppError(error.ocpp_error_code, str(error)) from error
    response: dict[str, Any] = {"configurationKey": known}
    if unknown:
        response["unknownKey"] = unknown
    return response
