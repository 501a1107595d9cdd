"""The security extension's transfers: GetLog (diagnostics or security log) and SignedUpdateFirmware, run by the
system module with the CSMS's request id, and their LogStatusNotification / SignedFirmwareStatusNotification.

A signing certificate that does not chain to an installed manufacturer root is refused before anything is
downloaded (InvalidCertificate, and an InvalidFirmwareSigningCertificate security event). The system module
checks the downloaded file against the signature; InvalidSignature is reported and raises an
InvalidFirmwareSignature event. Whether a second update may cancel a running one (AcceptedCanceled) or is
refused (Rejected, e.g. while installing) is the system module's answer, passed on as it is. Once the file is
downloaded the connectors go out of service as for UpdateFirmware (firmware/installation.py) and the system
module is allowed to install; it installs only a file whose signature it verified.
"""

from __future__ import annotations

import logging

from module.core.context import CoreContext, command
from module.core.inputs import SessionEvent
from module.core.ports import DiagnosticsUpload, FirmwareDownload, UploadStarted
from module.core.profile import Reply
from module.core.profiles.core.security_events import SecurityEventService
from module.core.profiles.firmware.installation import Installation
from module.core.profiles.firmware.service import FILE_NAME_MAX, TransferStatuses, location_supported
from module.core.profiles.firmware.statuses import LOG, LOG_STATUSES, SIGNED_FIRMWARE, SIGNED_FIRMWARE_STATUSES

log = logging.getLogger(__name__)

UPDATE_ANSWERS = frozenset({"Accepted", "Rejected", "AcceptedCanceled", "InvalidCertificate", "RevokedCertificate"})
"""UpdateFirmwareStatusEnumType of SignedUpdateFirmware.conf."""
LOG_ANSWERS = frozenset({"Accepted", "Rejected", "AcceptedCanceled"})
"""LogStatusEnumType of GetLog.conf."""
_FINISHED_HERE = frozenset({"Installed", "InstallationFailed", "InstallVerificationFailed", "InvalidSignature",
                            "DownloadFailed", "Idle"})


class SignedTransfers:
    def __init__(self, ctx: CoreContext, events: SecurityEventService) -> None:
        self._ctx = ctx
        self._events = events
        self.statuses = TransferStatuses(ctx, (SIGNED_FIRMWARE, LOG))
        self.installation = Installation(ctx)

    async def start(self) -> None:
        """After a reboot for a signed update: Installed, with its request id."""
        if self._ctx.boot_reason is None:
            return
        last = self.statuses.last(SIGNED_FIRMWARE)
        if self._ctx.boot_reason == "FirmwareUpdate" and last is not None and \
                self.statuses.table.latest_firmware_action() == SIGNED_FIRMWARE:
            await self.statuses.report(SIGNED_FIRMWARE, "Installed", last[1])
        self.statuses.resume()

    async def stop(self) -> None:
        await self.statuses.stop()

    async def on_session_event(self, event: SessionEvent) -> None:
        if event.kind == "TransactionFinished":
            await self.installation.advance()

    def take_over(self, previous: SignedTransfers) -> None:
        self.installation.take_over(previous.installation)

    # -- CSMS operations ------------------------------------------------------------------------------------
    async def get_log(self, request: DiagnosticsUpload) -> Reply:
        """Rejected for a protocol outside SupportedFileTransferProtocols; else the system module's answer and
        the name of the file it uploads."""
        if not location_supported(self._ctx.cfg, request.location):
            return Reply({"status": "Rejected"})
        started = await command("upload_logs", self._ctx.ports.firmware.upload_logs(request),
                                UploadStarted("Rejected"))
        status = started.status if started.status in LOG_ANSWERS else "Rejected"
        if status == "Rejected" or not started.file_name:
            return Reply({"status": status})
        return Reply({"status": status, "filename": started.file_name[:FILE_NAME_MAX]})

    async def signed_update_firmware(self, request: FirmwareDownload) -> Reply:
        """The signing certificate is checked first; then the system module decides (and its answer is given)."""
        verdict = await command("verify_certificate", self._ctx.ports.security.verify_firmware_signing_certificate(
            request.signing_certificate or ""), "Unknown")
        if verdict != "Valid":
            log.warning("SignedUpdateFirmware %s refused: signing certificate %s", request.request_id, verdict)
            return Reply({"status": "InvalidCertificate"}, then=lambda: self._events.report(
                "InvalidFirmwareSigningCertificate", f"SignedUpdateFirmware {request.request_id}: {verdict}"))
        if not location_supported(self._ctx.cfg, request.location):
            return Reply({"status": "Accepted"},
                         then=lambda: self.statuses.report(SIGNED_FIRMWARE, "DownloadFailed", request.request_id))
        answer = await command("update_firmware", self._ctx.ports.firmware.update_firmware(request), "Rejected")
        return Reply({"status": answer if answer in UPDATE_ANSWERS else "Rejected"})

    async def trigger(self, action: str) -> None:
        await self.statuses.trigger(action)

    # -- the system module's statuses -----------------------------------------------------------------------
    async def on_firmware_status(self, request_id: int, status: str) -> None:
        if status not in SIGNED_FIRMWARE_STATUSES:
            return
        await self.statuses.report(SIGNED_FIRMWARE, status, request_id)
        if status == "InvalidSignature":
            await self._events.report("InvalidFirmwareSignature",
                                      f"SignedUpdateFirmware {request_id}: the firmware's signature is invalid")
        if status == "Downloaded":
            await self.installation.prepare()
        elif status in _FINISHED_HERE:
            await self.installation.finish()

    async def on_log_status(self, request_id: int, status: str) -> None:
        if status in LOG_STATUSES:
            await self.statuses.report(LOG, status, request_id)
