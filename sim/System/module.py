"""System: resets are recorded, never executed; firmware and log transfers are simulated step by step.

A location containing "fail" makes the simulated transfer fail (after its retries), so failure paths can be shown.
"""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from framework.module import Module

log = logging.getLogger(__name__)


class BootState:
    """The boot reason of this start, and the one the next start will report (PowerUp unless a reset was asked)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        stored = json.loads(path.read_text()) if path.exists() else {}
        self.boot_reason = stored.get("next_boot_reason", "PowerUp")
        self.resets: list[dict] = stored.get("resets", [])
        self._save("PowerUp")

    def _save(self, next_reason: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps({"boot_reason": self.boot_reason, "next_boot_reason": next_reason,
                                         "resets": self.resets}, indent=1))

    def record_reset(self, reset_type: str, scheduled: bool) -> None:
        self.resets.append({"type": reset_type, "scheduled": scheduled,
                            "timestamp": datetime.now(UTC).isoformat()})
        self._save("ScheduledReset" if scheduled else "RemoteReset")


class System:
    def __init__(self, mod: Module) -> None:
        self.mod = mod
        state_file = mod.config["state_file"] or str(Path(tempfile.gettempdir()) / f"system-{mod.id}.json")
        self.boot = BootState(Path(state_file))
        self.step_s = float(mod.config["transfer_step_s"])
        self._install_allowed = asyncio.Event()
        self._tasks: set[asyncio.Task] = set()

    def register(self) -> None:
        for cmd in ("update_firmware", "allow_firmware_installation", "upload_logs", "is_reset_allowed", "reset",
                    "set_system_time", "get_boot_reason"):
            self.mod.implement("main", cmd, getattr(self, cmd))

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def is_reset_allowed(self, args: dict) -> bool:
        return True

    def reset(self, args: dict) -> None:
        log.warning("reset requested: type %s, scheduled %s (simulated: recorded, nothing restarts)",
                    args["type"], args["scheduled"])
        self.boot.record_reset(args["type"], bool(args["scheduled"]))

    def set_system_time(self, args: dict) -> bool:
        log.info("system time set to %s (simulated: the host clock is left alone)", args["timestamp"])
        return True

    def get_boot_reason(self, args: dict) -> str:
        return self.boot.boot_reason

    # ------------------------------------------------------------ firmware
    def update_firmware(self, args: dict) -> str:
        request = args["firmware_update_request"]
        self._install_allowed.clear()
        self._spawn(self._firmware(request))
        return "Accepted"

    def allow_firmware_installation(self, args: dict) -> None:
        log.info("firmware installation allowed")
        self._install_allowed.set()

    async def _firmware_status(self, request_id: int, status: str) -> None:
        log.info("firmware update %s: %s", request_id, status)
        await self.mod.publish("main", "firmware_update_status",
                               {"firmware_update_status": status, "request_id": request_id})

    async def _wait_until(self, timestamp: str | None) -> float:
        if not timestamp:
            return 0.0
        at = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
        return max(0.0, (at - datetime.now(UTC)).total_seconds())

    async def _firmware(self, request: dict) -> None:
        request_id = request["request_id"]
        signed = "signature" in request
        delay = await self._wait_until(request.get("retrieve_timestamp"))
        if delay > 0:
            await self._firmware_status(request_id, "DownloadScheduled")
            await asyncio.sleep(delay)
        for attempt in range(int(request.get("retries") or 1)):
            if attempt:
                await asyncio.sleep(float(request.get("retry_interval_s") or self.step_s))
            await self._firmware_status(request_id, "Downloading")
            await asyncio.sleep(self.step_s)
            if "fail" not in request["location"]:
                break
            await self._firmware_status(request_id, "DownloadFailed")
        else:
            return
        await self._firmware_status(request_id, "Downloaded")
        if signed:
            await self._firmware_status(request_id, "SignatureVerified")
        delay = await self._wait_until(request.get("install_timestamp"))
        if delay > 0:
            await self._firmware_status(request_id, "InstallScheduled")
            await asyncio.sleep(delay)
        if signed:
            # the OCPP module first makes every connector unavailable, then allows the installation
            await self._install_allowed.wait()
        await self._firmware_status(request_id, "Installing")
        await asyncio.sleep(self.step_s)
        if signed:
            await self._firmware_status(request_id, "InstallRebooting")
        await self._firmware_status(request_id, "Installed")

    # ------------------------------------------------------------ logs
    def upload_logs(self, args: dict) -> dict:
        request = args["upload_logs_request"]
        file_name = f"{self.mod.id}-{request.get('type', 'log')}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.log"
        self._spawn(self._upload(request))
        return {"upload_logs_status": "Accepted", "file_name": file_name}

    async def _log_status(self, request_id: int, status: str) -> None:
        log.info("log upload %s: %s", request_id, status)
        await self.mod.publish("main", "log_status", {"log_status": status, "request_id": request_id})

    async def _upload(self, request: dict) -> None:
        request_id = request.get("request_id", -1)
        for attempt in range(int(request.get("retries") or 1)):
            if attempt:
                await asyncio.sleep(float(request.get("retry_interval_s") or self.step_s))
            await self._log_status(request_id, "Uploading")
            await asyncio.sleep(self.step_s)
            if "fail" not in request["location"]:
                await self._log_status(request_id, "Uploaded")
                return
        await self._log_status(request_id, "UploadFailure")

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


async def main() -> None:
    mod = await Module.connect()
    system = System(mod)
    system.register()
    log.info("boot reason %s", system.boot.boot_reason)
    await mod.signal_ready()
    try:
        await mod.run_forever()
    finally:
        await system.close()
        await mod.close()
