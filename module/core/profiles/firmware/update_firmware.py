"""UpdateFirmware: answered at once, then the system module downloads (and later installs) the firmware."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from module.core.ports import FirmwareDownload
from module.core.profile import Reply

if TYPE_CHECKING:
    from module.core.profiles.firmware.service import FirmwareService

ACTION = "UpdateFirmware"


async def handle(service: FirmwareService, request: dict[str, Any]) -> Reply:
    return service.update_firmware(FirmwareDownload(
        location=request["location"], retrieve_date=request["retrieveDate"], retries=request.get("retries"),
        retry_interval=request.get("retryInterval")))
