"""DataTransfer from the CSMS: handed to the module that provides data_transfer, if any."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from module.core.profiles.core import CoreServices

ACTION = "DataTransfer"


async def handle(core: CoreServices, request: dict[str, Any]) -> dict[str, Any]:
    return await core.remote.data_transfer_from_csms(request)
