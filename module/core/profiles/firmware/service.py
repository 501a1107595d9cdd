"""FirmwareManagement: the firmware and diagnostics transfers the system module runs, and their statuses.

Every status goes out on the queue's transactional lane, so none is lost offline or in a power cut, in order
(see module/v16/transaction_policy.py). The last status of each kind is kept in table `firmware_status`:
TriggerMessage reports it while work is under way, and after a power cut it tells what was interrupted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from urllib.parse import urlsplit

from module.core.context import CoreContext, command
from module.core.inputs import SessionEvent
from module.core.ports import DiagnosticsUpload, FirmwareDownload
from module.core.profile import Reply, ServiceBase
from module.core.profiles.firmware.installation import Installation
from module.core.profiles.firmware.statuses import (
    BUSY,
    DIAGNOSTICS,
    FIRMWARE,
    INTERRUPTED,
    PROTOCOLS,
    UNSIGNED_REQUEST_ID,
    diagnostics_status,
    firmware_status,
)
from module.core.timestamps import utc_now
from module.queue.database import Database

log = logging.getLogger(__name__)

RESUME_GRACE_S = 60.0
"""After a power cut, how long the system module has to report on an interrupted transfer (resuming it)
before the interruption is reported as a failure: the CSMS must not wait for ever."""

FILE_NAME_MAX = 255
"""GetDiagnostics.conf fileName"""

_FINISHED_HERE = frozenset({"Installed", "InstallationFailed", "DownloadFailed", "Idle"})
"""Firmware statuses after which no installation follows without a reboot."""

_SCHEMA = ["CREATE TABLE firmware_status (action TEXT PRIMARY KEY, status TEXT NOT NULL, updated_at TEXT NOT NULL)"]


class StatusTable:
    """The last status sent per action (FirmwareStatusNotification, DiagnosticsStatusNotification)."""

    def __init__(self, db: Database) -> None:
        db.register_migrations("firmware_status_1", _SCHEMA)
        self._db = db

    def get(self, action: str) -> str | None:
        row = self._db.conn.execute("SELECT status FROM firmware_status WHERE action = ?", (action,)).fetchone()
        return str(row[0]) if row else None

    def set(self, action: str, status: str) -> None:
        with self._db.transaction() as conn:
            conn.execute("INSERT INTO firmware_status (action, status, updated_at) VALUES (?, ?, ?)"
                         " ON CONFLICT (action) DO UPDATE SET status = excluded.status,"
                         " updated_at = excluded.updated_at", (action, status, utc_now()))


class FirmwareService(ServiceBase):
    def __init__(self, ctx: CoreContext) -> None:
        self._ctx = ctx
        self.statuses = StatusTable(ctx.db)
        self.installation = Installation(ctx)
        self._reported: set[str] = set()
        self._interrupted: asyncio.Task[None] | None = None

    # -- lifecycle ------------------------------------------------------------------------------------------
    async def start(self) -> None:
        """After a reboot for a firmware update: Installed. After a power cut during a transfer: its failure,
        unless the system module takes the transfer up again within RESUME_GRACE_S."""
        if self._ctx.boot_reason is None:
            return
        if self._ctx.boot_reason == "FirmwareUpdate":
            await self._report(FIRMWARE, "Installed")
        interrupted = {action: status for action in (FIRMWARE, DIAGNOSTICS)
                       if (status := self.statuses.get(action)) in INTERRUPTED}
        if interrupted:
            self._interrupted = asyncio.create_task(self._report_interrupted(interrupted),
                                                    name="interrupted-transfers")

    async def stop(self) -> None:
        if self._interrupted is not None:
            self._interrupted.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._interrupted

    async def on_session_event(self, connector_id: int, event: SessionEvent) -> None:
        if event.kind == "TransactionFinished":
            await self.installation.advance()

    def take_over(self, previous: FirmwareService) -> None:
        self.installation.take_over(previous.installation)

    # -- CSMS operations ------------------------------------------------------------------------------------
    def update_firmware(self, request: FirmwareDownload) -> Reply:
        """UpdateFirmware: answered at once (the answer carries nothing), then handed to the system module."""
        return Reply({}, then=lambda: self._start_download(request))

    async def get_diagnostics(self, request: DiagnosticsUpload) -> Reply:
        """GetDiagnostics: the system module names the file it will upload; no name when it uploads none."""
        if not self.supports(request.location):
            return Reply({}, then=lambda: self._report(DIAGNOSTICS, "UploadFailed"))
        file_name = await command("upload_logs", self._ctx.ports.firmware.upload_logs(request), None)
        return Reply({"fileName": file_name[:FILE_NAME_MAX]} if file_name else {})

    def supports(self, location: str) -> bool:
        """The location's protocol is one of SupportedFileTransferProtocols (any, when the key is not set)."""
        supported = self._ctx.cfg.get("SupportedFileTransferProtocols")
        if supported is None:
            return True
        protocol = PROTOCOLS.get(urlsplit(location).scheme.lower())
        if protocol not in supported:
            log.warning("%s: protocol not in SupportedFileTransferProtocols %s", location, ",".join(supported))
            return False
        return True

    async def trigger(self, action: str) -> None:
        """TriggerMessage: the status of the transfer under way, Idle when none is. While the boot is Pending
        the transactional lane waits for Accepted, but what the CSMS asked for must go out now: sent directly."""
        status = self.statuses.get(action)
        payload = {"status": status if status in BUSY[action] else "Idle"}
        if self._ctx.registered():
            await self._ctx.queue.enqueue_transactional(action, payload)
        else:
            await self._ctx.send(action, payload, triggered=True)

    # -- the system module's statuses -----------------------------------------------------------------------
    async def on_firmware_status(self, request_id: int, system_status: str) -> None:
        status = firmware_status(system_status) if request_id == UNSIGNED_REQUEST_ID else None
        if status is None:
            return
        await self._report(FIRMWARE, status)
        if status == "Downloaded":
            await self.installation.prepare()
        elif status in _FINISHED_HERE:
            await self.installation.finish()

    async def on_log_status(self, request_id: int, system_status: str) -> None:
        status = diagnostics_status(system_status) if request_id == UNSIGNED_REQUEST_ID else None
        if status is not None:
            await self._report(DIAGNOSTICS, status)

    # -- internals ------------------------------------------------------------------------------------------
    async def _start_download(self, request: FirmwareDownload) -> None:
        if not self.supports(request.location):
            await self._report(FIRMWARE, "DownloadFailed")
            return
        if not await command("update_firmware", self._ctx.ports.firmware.update_firmware(request), False):
            log.warning("the system module did not take the firmware update from %s", request.location)

    async def _report(self, action: str, status: str) -> None:
        self._reported.add(action)
        await self._ctx.queue.enqueue_transactional(action, {"status": status})
        self.statuses.set(action, status)

    async def _report_interrupted(self, interrupted: dict[str, str]) -> None:
        await self._ctx.clock.sleep(RESUME_GRACE_S)
        for action, status in interrupted.items():
            if action not in self._reported:
                log.warning("%s: the %s transfer was cut by a power loss and not taken up again", action, status)
                await self._report(action, INTERRUPTED[status])
