"""FirmwareManagement: the firmware and diagnostics transfers the system module runs, and their statuses.

Every status goes out on the queue's transactional lane, so none is lost offline or in a power cut, in order
(see module/v16/transaction_policy.py). The last status of each kind is kept in table `firmware_status`, with
the request id of the security extension's kinds: (Extended)TriggerMessage reports it while work is under way,
and after a power cut it tells what was interrupted. `TransferStatuses` does this for the security extension's
GetLog and SignedUpdateFirmware too (module/core/profiles/security/signed_transfers.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any
from urllib.parse import urlsplit

from module.config.charge_point_config import ChargePointConfig
from module.core.context import CoreContext, command
from module.core.inputs import SessionEvent
from module.core.ports import DiagnosticsUpload, FirmwareDownload, UploadStarted
from module.core.profile import Reply, ServiceBase
from module.core.profiles.firmware.installation import Installation
from module.core.profiles.firmware.statuses import (
    BUSY,
    DIAGNOSTICS,
    FIRMWARE,
    INTERRUPTED,
    PROTOCOLS,
    SIGNED_FIRMWARE,
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
_SCHEMA_2 = ["ALTER TABLE firmware_status ADD COLUMN request_id INTEGER"]
_FIRMWARE_ACTIONS = (FIRMWARE, SIGNED_FIRMWARE)


class StatusTable:
    """The last status sent per action (FirmwareStatusNotification, SignedFirmwareStatusNotification ...), with the
    request id of the security extension's notifications."""

    def __init__(self, db: Database) -> None:
        db.register_migrations("firmware_status_1", _SCHEMA)
        db.register_migrations("firmware_status_2", _SCHEMA_2)
        self._db = db

    def get(self, action: str) -> tuple[str, int | None] | None:
        row = self._db.conn.execute("SELECT status, request_id FROM firmware_status WHERE action = ?",
                                    (action,)).fetchone()
        return (str(row[0]), row[1]) if row else None

    def set(self, action: str, status: str, request_id: int | None) -> None:
        with self._db.transaction() as conn:
            conn.execute("INSERT INTO firmware_status (action, status, updated_at, request_id) VALUES (?, ?, ?, ?)"
                         " ON CONFLICT (action) DO UPDATE SET status = excluded.status,"
                         " updated_at = excluded.updated_at, request_id = excluded.request_id",
                         (action, status, utc_now(), request_id))

    def latest_firmware_action(self) -> str | None:
        """Which of UpdateFirmware and SignedUpdateFirmware reported last: after a reboot for a firmware update,
        the one that installed it."""
        row = self._db.conn.execute(
            "SELECT action FROM firmware_status WHERE action IN (?, ?) ORDER BY updated_at DESC LIMIT 1",
            _FIRMWARE_ACTIONS).fetchone()
        return str(row[0]) if row else None


def location_supported(cfg: ChargePointConfig, location: str) -> bool:
    """The location's protocol is one of SupportedFileTransferProtocols (any, when the key is not set)."""
    supported = cfg.get("SupportedFileTransferProtocols")
    if supported is None:
        return True
    protocol = PROTOCOLS.get(urlsplit(location).scheme.lower())
    if protocol not in supported:
        log.warning("%s: protocol not in SupportedFileTransferProtocols %s", location, ",".join(supported))
        return False
    return True


class TransferStatuses:
    """The status notifications of one pair of transfers (a firmware and a log action): sent on the transactional
    lane and recorded; the last one reported on trigger while work is under way; and after a power cut, work
    that was under way reported failed unless the system module takes it up again within RESUME_GRACE_S."""

    def __init__(self, ctx: CoreContext, actions: tuple[str, str]) -> None:
        self._ctx = ctx
        self._actions = actions
        self.table = StatusTable(ctx.db)
        self._reported: set[str] = set()
        self._interrupted: asyncio.Task[None] | None = None

    def last(self, action: str) -> tuple[str, int | None] | None:
        return self.table.get(action)

    def resume(self) -> None:
        interrupted = {action: last for action in self._actions
                       if (last := self.table.get(action)) is not None and last[0] in INTERRUPTED[action]}
        if interrupted:
            self._interrupted = asyncio.create_task(self._report_interrupted(interrupted),
                                                    name="interrupted-transfers")

    async def stop(self) -> None:
        if self._interrupted is not None:
            self._interrupted.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._interrupted

    async def report(self, action: str, status: str, request_id: int | None = None) -> None:
        self._reported.add(action)
        payload: dict[str, Any] = {"status": status}
        if request_id is not None:
            payload["requestId"] = request_id
        await self._ctx.queue.enqueue_transactional(action, payload)
        self.table.set(action, status, request_id)

    async def trigger(self, action: str) -> None:
        """The status of the transfer under way (with its request id), Idle when none is. While the boot is
        Pending the transactional lane waits for Accepted, but what the CSMS asked for must go out now: sent
        directly."""
        last = self.table.get(action)
        payload: dict[str, Any] = {"status": "Idle"}
        if last is not None and last[0] in BUSY[action]:
            payload["status"] = last[0]
            if last[1] is not None:
                payload["requestId"] = last[1]
        if self._ctx.registered():
            await self._ctx.queue.enqueue_transactional(action, payload)
        else:
            await self._ctx.send(action, payload, triggered=True)

    async def _report_interrupted(self, interrupted: dict[str, tuple[str, int | None]]) -> None:
        await self._ctx.clock.sleep(RESUME_GRACE_S)
        for action, (status, request_id) in interrupted.items():
            if action not in self._reported:
                log.warning("%s: the %s transfer was cut by a power loss and not taken up again", action, status)
                await self.report(action, INTERRUPTED[action][status], request_id)


class FirmwareService(ServiceBase):
    def __init__(self, ctx: CoreContext) -> None:
        self._ctx = ctx
        self.statuses = TransferStatuses(ctx, (FIRMWARE, DIAGNOSTICS))
        self.installation = Installation(ctx)

    # -- lifecycle ------------------------------------------------------------------------------------------
    async def start(self) -> None:
        """After a reboot for an UpdateFirmware: Installed. After a power cut during a transfer: its failure,
        unless the system module takes the transfer up again within RESUME_GRACE_S."""
        if self._ctx.boot_reason is None:
            return
        if self._ctx.boot_reason == "FirmwareUpdate" and \
                self.statuses.table.latest_firmware_action() != SIGNED_FIRMWARE:
            await self.statuses.report(FIRMWARE, "Installed")
        self.statuses.resume()

    async def stop(self) -> None:
        await self.statuses.stop()

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
        if not location_supported(self._ctx.cfg, request.location):
            return Reply({}, then=lambda: self.statuses.report(DIAGNOSTICS, "UploadFailed"))
        started = await command("upload_logs", self._ctx.ports.firmware.upload_logs(request),
                                UploadStarted("Rejected"))
        if started.status not in ("Accepted", "AcceptedCanceled") or not started.file_name:
            return Reply({})
        return Reply({"fileName": started.file_name[:FILE_NAME_MAX]})

    async def trigger(self, action: str) -> None:
        await self.statuses.trigger(action)

    # -- the system module's statuses -----------------------------------------------------------------------
    async def on_firmware_status(self, system_status: str) -> None:
        status = firmware_status(system_status)
        if status is None:
            return
        await self.statuses.report(FIRMWARE, status)
        if status == "Downloaded":
            await self.installation.prepare()
        elif status in _FINISHED_HERE:
            await self.installation.finish()

    async def on_log_status(self, system_status: str) -> None:
        status = diagnostics_status(system_status)
        if status is not None:
            await self.statuses.report(DIAGNOSTICS, status)

    # -- internals ------------------------------------------------------------------------------------------
    async def _start_download(self, request: FirmwareDownload) -> None:
        if not location_supported(self._ctx.cfg, request.location):
            await self.statuses.report(FIRMWARE, "DownloadFailed")
            return
        answer = await command("update_firmware", self._ctx.ports.firmware.update_firmware(request), "Rejected")
        if answer not in ("Accepted", "AcceptedCanceled"):
            log.warning("the system module did not take the firmware update from %s: %s", request.location,
                        answer)
