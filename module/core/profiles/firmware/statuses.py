"""The system module's firmware and log statuses in OCPP 1.6 terms, and which of them mean work is under way.

The system interface speaks the richer OCPP 2.0.1 / security-extension vocabulary; FirmwareStatusNotification and
DiagnosticsStatusNotification know seven and four values. A status with no 1.6 counterpart (DownloadScheduled,
SignatureVerified, InstallRebooting ...) is a step inside one the CSMS already has, so it is not reported.
"""

from __future__ import annotations

FIRMWARE = "FirmwareStatusNotification"
DIAGNOSTICS = "DiagnosticsStatusNotification"

UNSIGNED_REQUEST_ID = -1
"""The request id of UpdateFirmware / GetDiagnostics; other ids belong to the security extension's
SignedUpdateFirmware and GetLog."""

_FIRMWARE_STATUS = {
    "Downloading": "Downloading", "Downloaded": "Downloaded", "DownloadFailed": "DownloadFailed",
    "Installing": "Installing", "Installed": "Installed", "InstallationFailed": "InstallationFailed",
    "InstallVerificationFailed": "InstallationFailed", "InvalidSignature": "InstallationFailed", "Idle": "Idle",
}
_DIAGNOSTICS_STATUS = {
    "Uploading": "Uploading", "Uploaded": "Uploaded", "UploadFailure": "UploadFailed", "BadMessage": "UploadFailed",
    "NotSupportedOperation": "UploadFailed", "PermissionDenied": "UploadFailed", "Idle": "Idle",
}

BUSY = {FIRMWARE: frozenset({"Downloading", "Downloaded", "Installing"}),
        DIAGNOSTICS: frozenset({"Uploading"})}
"""Statuses of work under way: TriggerMessage reports them; any other last status is reported as Idle."""

INTERRUPTED = {"Downloading": "DownloadFailed", "Downloaded": "InstallationFailed",
               "Installing": "InstallationFailed", "Uploading": "UploadFailed"}
"""The outcome of work a power cut interrupted, when the system module does not take it up again."""

PROTOCOLS = {"ftp": "FTP", "ftps": "FTPS", "http": "HTTP", "https": "HTTPS"}
"""URL schemes as SupportedFileTransferProtocols names them."""


def firmware_status(system_status: str) -> str | None:
    """FirmwareStatus for the system module's FirmwareUpdateStatusEnum; None when 1.6 has no such status."""
    return _FIRMWARE_STATUS.get(system_status)


def diagnostics_status(system_status: str) -> str | None:
    """DiagnosticsStatus for the system module's LogStatusEnum; None when 1.6 has no such status."""
    return _DIAGNOSTICS_STATUS.get(system_status)
