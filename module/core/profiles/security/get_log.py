"""GetLog: the system module uploads the diagnostics or the security log; the answer names the file."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from module.core.ports import DiagnosticsUpload
from module.core.profile import Reply

if TYPE_CHECKING:
    from module.core.profiles.security.service import SecurityService

ACTION = "GetLog"


async def handle(service: SecurityService, request: dict[str, Any]) -> Reply:
    window = request["log"]
    return await service.transfers.get_log(DiagnosticsUpload(
        location=window["remoteLocation"], retries=request.get("retries"),
        retry_interval=request.get("retryInterval"), start_time=window.get("oldestTimestamp"),
        stop_time=window.get("latestTimestamp"), request_id=request["requestId"], log_type=request["logType"]))
