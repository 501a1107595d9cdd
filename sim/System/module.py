"""System: the boot reason across restarts, resets recorded, and real firmware and log transfers.

UpdateFirmware: the file is downloaded over FTP, HTTP or HTTPS with the request's attempts (the interface's
`retries` counts every attempt) and interval; a signed update's file is then checked against the signature with
the signing certificate's key (SignatureVerified, or InvalidSignature and nothing installed); then the module
waits for allow_firmware_installation (the OCPP module first takes the connectors out of service) and for the
install time if one was given, "installs" it (a file starting with BAD_FIRMWARE_MARKER fails), records it and
reboots the simulated charger: the next boot reason is FirmwareUpdate and the module exits with the status the
project's manager gives in EV_REBOOT_EXIT_STATUS, so the manager starts every module again (under EVerest's
manager, which has no such restart, it reports Installed without a reboot). A new update while one downloads
cancels it (AcceptedCanceled); while one installs it is Rejected. Upload of logs: a tar.gz of the files
`log_paths` names (a SecurityLog request: of `security_log_path`) goes up by FTP, HTTP PUT or HTTP multipart POST.

Transfers under way are kept in the state file: after a power cut (kill -9) a download or upload starts again
from its first attempt, and an installation that was cut is reported InstallationFailed.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from framework.manager import REBOOT_ENV
from framework.module import Module
from sim.EvseSecurity import pki
from sim.System.logs import archive_logs
from sim.System.transfers import TransferError, download, safe_url, upload

log = logging.getLogger(__name__)

BAD_FIRMWARE_MARKER = b"BAD-FIRMWARE"
Report = Callable[[], Awaitable[None]]
FIRMWARE_JOB, UPLOAD_JOB = "firmware", "upload"


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class SystemState:
    """What the system keeps across restarts: the boot reason of this start and of the next (PowerUp unless a
    reset or an update asked otherwise), reset requests, the transfers under way and the firmware installed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        stored = json.loads(path.read_text()) if path.exists() else {}
        self.boot_reason: str = stored.get("next_boot_reason", "PowerUp")
        self.next_boot_reason = "PowerUp"
        self.resets: list[dict[str, Any]] = stored.get("resets", [])
        self.jobs: dict[str, dict[str, Any]] = stored.get("jobs", {})
        self.installed: list[dict[str, Any]] = stored.get("installed_firmware", [])
        self.save()

    def save(self) -> None:
        """Whole or not at all: a kill -9 while writing leaves the previous state."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(self.path.name + ".tmp")
        partial.write_text(json.dumps({"boot_reason": self.boot_reason, "next_boot_reason": self.next_boot_reason,
                                       "resets": self.resets, "jobs": self.jobs,
                                       "installed_firmware": self.installed}, indent=1))
        partial.replace(self.path)

    def record_reset(self, reset_type: str, scheduled: bool) -> None:
        self.resets.append({"type": reset_type, "scheduled": scheduled, "timestamp": now()})
        self.next_boot_reason = "ScheduledReset" if scheduled else "RemoteReset"
        self.save()

    def set_job(self, name: str, job: dict[str, Any] | None) -> None:
        if job is None:
            self.jobs.pop(name, None)
        else:
            self.jobs[name] = job
        self.save()


class System:
    def __init__(self, mod: Module) -> None:
        self.mod = mod
        config = mod.config
        temp = Path(tempfile.gettempdir())
        self.state = SystemState(Path(config["state_file"] or temp / f"system-{mod.id}.json"))
        self.work_dir = Path(config["work_dir"] or temp / f"system-{mod.id}")
        self.log_paths = [Path(path) for path in config["log_paths"].split(",") if path.strip()]
        self.security_log_paths = [Path(config["security_log_path"])] if config["security_log_path"] else []
        self.http_upload_method = config["http_upload_method"]
        self.timeout = float(config["transfer_timeout_s"])
        self.default_retry_interval = float(config["default_retry_interval_s"])
        self.ca_file = config["ca_file"] or None
        self.rebooting = asyncio.Event()
        reboot = os.environ.get(REBOOT_ENV)
        self.reboot_exit_status = int(reboot) if reboot else None
        """Set by this project's manager, which restarts every module when one exits with it."""
        self._install_allowed = asyncio.Event()
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def register(self) -> None:
        for cmd in ("update_firmware", "allow_firmware_installation", "upload_logs", "is_reset_allowed", "reset",
                    "set_system_time", "get_boot_reason"):
            self.mod.implement("main", cmd, getattr(self, cmd))

    def _run(self, name: str, work: Coroutine[Any, Any, None]) -> None:
        previous = self._tasks.get(name)
        if previous is not None:
            previous.cancel()
        self._tasks[name] = asyncio.get_running_loop().create_task(work, name=name)

    def _running(self, name: str) -> bool:
        task = self._tasks.get(name)
        return task is not None and not task.done()

    async def resume(self) -> None:
        """Take up the transfers a power cut interrupted."""
        firmware = self.state.jobs.get(FIRMWARE_JOB)
        if firmware is not None and firmware.get("installing"):
            log.warning("the firmware installation was cut by a power loss")
            self.state.set_job(FIRMWARE_JOB, None)
            await self._firmware_status(firmware["request"]["request_id"], "InstallationFailed")
        elif firmware is not None:
            log.info("taking up the firmware download from %s again", safe_url(firmware["request"]["location"]))
            self._run(FIRMWARE_JOB, self._update_firmware(firmware["request"]))
        upload_job = self.state.jobs.get(UPLOAD_JOB)
        if upload_job is not None:
            log.info("taking up the log upload %s again", upload_job["file_name"])
            self._run(UPLOAD_JOB, self._upload_logs(upload_job["request"], upload_job["file_name"]))

    # ------------------------------------------------------------ resets, time, boot reason
    def is_reset_allowed(self, args: dict) -> bool:
        return True

    def reset(self, args: dict) -> None:
        log.warning("reset requested: type %s, scheduled %s (simulated: recorded, nothing restarts)",
                    args["type"], args["scheduled"])
        self.state.record_reset(args["type"], bool(args["scheduled"]))

    def set_system_time(self, args: dict) -> bool:
        log.info("system time set to %s (simulated: the host clock is left alone)", args["timestamp"])
        return True

    def get_boot_reason(self, args: dict) -> str:
        return self.state.boot_reason

    # ------------------------------------------------------------ firmware
    def update_firmware(self, args: dict) -> str:
        request = args["firmware_update_request"]
        status = "Accepted"
        if self._running(FIRMWARE_JOB):
            if (self.state.jobs.get(FIRMWARE_JOB) or {}).get("installing"):
                log.info("firmware update from %s refused: another one installs", safe_url(request["location"]))
                return "Rejected"
            log.info("firmware update from %s cancels the one under way", safe_url(request["location"]))
            status = "AcceptedCanceled"
        self.state.set_job(FIRMWARE_JOB, {"request": request})
        self._run(FIRMWARE_JOB, self._update_firmware(request))
        return status

    def allow_firmware_installation(self, args: dict) -> None:
        log.info("firmware installation allowed")
        self._install_allowed.set()

    async def _firmware_status(self, request_id: int, status: str) -> None:
        log.info("firmware update %s: %s", request_id, status)
        await self.mod.publish("main", "firmware_update_status",
                               {"firmware_update_status": status, "request_id": request_id})

    async def _update_firmware(self, request: dict[str, Any]) -> None:
        request_id = request["request_id"]
        self._install_allowed.clear()
        delay = _seconds_until(request.get("retrieve_timestamp"))
        if delay > 0:
            await self._firmware_status(request_id, "DownloadScheduled")
            await asyncio.sleep(delay)
        target = self.work_dir / _file_name(request["location"], "firmware.bin")
        self.work_dir.mkdir(parents=True, exist_ok=True)
        if not await self._attempts(request, lambda: self._firmware_status(request_id, "Downloading"),
                                    lambda: download(request["location"], target, self.timeout, self.ca_file),
                                    lambda: self._firmware_status(request_id, "DownloadFailed")):
            self.state.set_job(FIRMWARE_JOB, None)
            return
        await self._firmware_status(request_id, "Downloaded")
        if request.get("signature") is not None:
            if not _signature_valid(target.read_bytes(), request.get("signing_certificate", ""),
                                    request["signature"]):
                log.warning("%s: the signature does not match the file", target.name)
                self.state.set_job(FIRMWARE_JOB, None)
                await self._firmware_status(request_id, "InvalidSignature")
                return
            await self._firmware_status(request_id, "SignatureVerified")
        await self._install_allowed.wait()
        self.state.set_job(FIRMWARE_JOB, {"request": request, "installing": True})
        delay = _seconds_until(request.get("install_timestamp"))
        if delay > 0:
            await self._firmware_status(request_id, "InstallScheduled")
            await asyncio.sleep(delay)
        await self._firmware_status(request_id, "Installing")
        firmware = target.read_bytes()
        if firmware.startswith(BAD_FIRMWARE_MARKER):
            log.warning("%s is no firmware this charger takes", target.name)
            self.state.set_job(FIRMWARE_JOB, None)
            await self._firmware_status(request_id, "InstallationFailed")
            return
        self.state.installed.append({"location": safe_url(request["location"]), "size": len(firmware),
                                     "sha256": hashlib.sha256(firmware).hexdigest(), "installed_at": now()})
        if self.reboot_exit_status is not None:
            self.state.next_boot_reason = "FirmwareUpdate"
        self.state.set_job(FIRMWARE_JOB, None)
        if self.reboot_exit_status is None:
            # EVerest's manager stops every module when one exits: installed in place, no reboot
            await self._firmware_status(request_id, "Installed")
            log.warning("firmware %s installed (no reboot: the manager cannot restart the modules)", target.name)
            return
        await self._firmware_status(request_id, "InstallRebooting")
        log.warning("firmware %s installed: rebooting", target.name)
        self.rebooting.set()

    # ------------------------------------------------------------ logs
    def upload_logs(self, args: dict) -> dict:
        request = args["upload_logs_request"]
        status = "AcceptedCanceled" if self._running(UPLOAD_JOB) else "Accepted"
        kind = "security-log" if request.get("type") == "SecurityLog" else "diagnostics"
        file_name = f"{kind}-{self.mod.id}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.tar.gz"
        self.state.set_job(UPLOAD_JOB, {"request": request, "file_name": file_name})
        self._run(UPLOAD_JOB, self._upload_logs(request, file_name))
        return {"upload_logs_status": status, "file_name": file_name}

    async def _log_status(self, request_id: int, status: str) -> None:
        log.info("log upload %s: %s", request_id, status)
        await self.mod.publish("main", "log_status", {"log_status": status, "request_id": request_id})

    async def _upload_logs(self, request: dict[str, Any], file_name: str) -> None:
        request_id = request.get("request_id", -1)
        archive = self.work_dir / file_name
        self.work_dir.mkdir(parents=True, exist_ok=True)
        sources = self.security_log_paths if request.get("type") == "SecurityLog" else self.log_paths
        await asyncio.to_thread(archive_logs, sources, archive, request.get("oldest_timestamp"),
                                request.get("latest_timestamp"))
        if await self._attempts(request, lambda: self._log_status(request_id, "Uploading"),
                                lambda: upload(request["location"], archive, self.timeout,
                                               self.http_upload_method, self.ca_file),
                                lambda: self._log_status(request_id, "UploadFailure")):
            await self._log_status(request_id, "Uploaded")
        self.state.set_job(UPLOAD_JOB, None)

    # ------------------------------------------------------------ both
    async def _attempts(self, request: dict[str, Any], started: Report, transfer: Callable[[], object],
                        failed: Report) -> bool:
        """`transfer` (blocking, run in a thread) up to the request's number of attempts, the retry interval
        apart; `started` before and `failed` after each attempt that fails. True once one succeeded."""
        interval = float(request.get("retry_interval_s", self.default_retry_interval))
        for attempt in range(int(request.get("retries") or 1)):
            if attempt:
                await asyncio.sleep(interval)
            await started()
            try:
                await asyncio.to_thread(transfer)
                return True
            except TransferError as error:
                log.warning("attempt %d: %s", attempt + 1, error)
                await failed()
        return False

    async def close(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)


def _seconds_until(timestamp: str | None) -> float:
    if not timestamp:
        return 0.0
    at = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    return max(0.0, (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp() - datetime.now(UTC).timestamp())


def _signature_valid(firmware: bytes, certificate_pem: str, signature: str) -> bool:
    """The base64 SHA-256 signature of the file, made with the signing certificate's key (the base64 text may be
    wrapped in lines, as a PEM-style signature file is)."""
    try:
        certificate = pki.load_chain(certificate_pem)[0]
        return pki.verify_signature(firmware, certificate, base64.b64decode("".join(signature.split()),
                                                                            validate=True))
    except (ValueError, IndexError):
        return False


def _file_name(url: str, default: str) -> str:
    return PurePosixPath(unquote(urlsplit(url).path)).name or default


async def main() -> int:
    """Runs until stopped (0) or until an installed firmware reboots the charger (EV_REBOOT_EXIT_STATUS)."""
    mod = await Module.connect()
    system = System(mod)
    system.register()
    log.info("boot reason %s", system.state.boot_reason)
    await mod.signal_ready(system.resume)
    running = asyncio.ensure_future(mod.run_forever())
    rebooting = asyncio.ensure_future(system.rebooting.wait())
    try:
        await asyncio.wait({running, rebooting}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in (running, rebooting):
            waiting.cancel()
        await system.close()
        await mod.close()
    return system.reboot_exit_status if system.rebooting.is_set() and system.reboot_exit_status else 0

