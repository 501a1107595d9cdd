"""The system requirement: the core's SystemPort and FirmwarePort, its status vars, and the boot reason."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from framework.module import Module
from module.core.ports import DiagnosticsUpload, FirmwareDownload, UploadStarted
from module.core.profiles.firmware.statuses import UNSIGNED_REQUEST_ID
from module.impl.requirements.command import call

StatusSink = Callable[[str, int, str], Awaitable[None] | None]
"""(var name, request_id, status) of a `firmware_update_status` or `log_status` var."""

STATUS_VARS = ("firmware_update_status", "log_status")
"""The status vars; each value holds its status in the field of the var's name."""


def attempts(retries: int | None) -> int | None:
    """The system interface counts attempts (at least one); OCPP's retries do not count the first."""
    return None if retries is None else max(retries, 0) + 1


class SystemModule:
    def __init__(self, mod: Module) -> None:
        self._system = mod.requirement("system")

    def subscribe(self, sink: StatusSink) -> None:
        """Firmware and log statuses, in arrival order per var (subscribed before ModuleReady)."""
        for var in STATUS_VARS:
            self._system.subscribe(var, lambda value, var=var: sink(var, int(value["request_id"]), str(value[var])))

    # -- SystemPort -------------------------------------------------------------------------------------------
    async def is_reset_allowed(self, reset_type: str) -> bool:
        return bool(await call(self._system, "is_reset_allowed", {"type": reset_type}))

    async def reset(self, reset_type: str) -> None:
        await call(self._system, "reset", {"type": reset_type, "scheduled": False})

    async def set_system_time(self, timestamp: str) -> bool:
        return bool(await call(self._system, "set_system_time", {"timestamp": timestamp}))

    async def get_boot_reason(self) -> str:
        return str(await call(self._system, "get_boot_reason", {}))

    # -- FirmwarePort -----------------------------------------------------------------------------------------
    async def update_firmware(self, request: FirmwareDownload) -> str:
        update: dict[str, Any] = _present(
            request_id=UNSIGNED_REQUEST_ID if request.request_id is None else request.request_id,
            location=request.location, retrieve_timestamp=request.retrieve_date,
            install_timestamp=request.install_date, signing_certificate=request.signing_certificate,
            signature=request.signature, retries=attempts(request.retries), retry_interval_s=request.retry_interval)
        return str(await call(self._system, "update_firmware", {"firmware_update_request": update}))

    async def allow_firmware_installation(self) -> None:
        await call(self._system, "allow_firmware_installation", {})

    async def upload_logs(self, request: DiagnosticsUpload) -> UploadStarted:
        upload = _present(request_id=UNSIGNED_REQUEST_ID if request.request_id is None else request.request_id,
                          location=request.location, type=request.log_type, retries=attempts(request.retries),
                          retry_interval_s=request.retry_interval, oldest_timestamp=request.start_time,
                          latest_timestamp=request.stop_time)
        answer = await call(self._system, "upload_logs", {"upload_logs_request": upload})
        return UploadStarted(str(answer.get("upload_logs_status")), answer.get("file_name") or None)


def _present(**fields: Any) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not None}
