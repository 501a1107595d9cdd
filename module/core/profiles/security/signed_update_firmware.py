"""SignedUpdateFirmware: the signing certificate checked against the manufacturer roots, then the system module
downloads, verifies and installs the firmware."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from module.core.ports import FirmwareDownload
from module.core.profile import Reply

if TYPE_CHECKING:
    from module.core.profiles.security.service import SecurityService

ACTION = "SignedUpdateFirmware"


async def handle(service: SecurityService, request: dict[str, Any]) -> Reply:
    firmware = request["firmware"]
    return await service.transfers.signed_update_firmware(FirmwareDownload(
        location=firmware["location"], retrieve_date=firmware["retrieveDateTime"],
        install_date=firmware.get("installDateTime"), signing_certificate=firmware["signingCertificate"],
        signature=firmware["signature"], retries=request.get("retries"), retry_interval=request.get("retryInterval"),
        request_id=request["requestId"]))
