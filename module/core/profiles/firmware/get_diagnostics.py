"""GetDiagnostics: the system module uploads an archive of the charger's logs; the answer names the file."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from module.core.ports import DiagnosticsUpload
from module.core.profile import Reply

if TYPE_CHECKING:
    from module.core.profiles.firmware.service import FirmwareService

ACTION = "GetDiagnostics"


async def handle(service: FirmwareService, request: dict[str, Any]) -> Reply:
    return await service.get_diagnostics(DiagnosticsUpload(
        location=request["location"], retries=request.get("retries"), retry_interval=request.get("retryInterval"),
        start_time=request.get("startTime"), stop_time=request.get("stopTime")))
