"""The system module's firmware and log statuses in OCPP 1.6 terms, and which of them mean work is under way.

The system interface speaks the richer OCPP 2.0.1 / security-extension vocabulary; FirmwareStatusNotification and
DiagnosticsStatusNotification know seven and four values. A status with no 1.6 counterpart (DownloadScheduled,
SignatureVerified, InstallRebooting ...) is a step inside one the CSMS already has, so it is not reported. The
security extension's SignedFirmwareStatusNotification and LogStatusNotification know the system's values as they
are (but LogStatusEnum's AcceptedCanceled, which is an answer, not a status).
"""

from __future__ import annotations

FIRMWARE = "FirmwareStatusNotification"
DIAGNOSTICS = "DiagnosticsStatusNotification"
SIGNED_FIRMWARE = "SignedFirmwareStatusNotification"
LOG = "LogStatusNotification"

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

SIGNED_FIRMWARE_STATUSES = frozenset({
    "Downloaded", "DownloadFailed", "Downloading", "DownloadScheduled", "DownloadPaused", "Idle",
    "InstallationFailed", "Installing", "Installed", "InstallRebooting", "InstallScheduled",
    "InstallVerificationFailed", "InvalidSignature", "SignatureVerified"})
"""FirmwareStatusEnumType of SignedFirmwareStatusNotification: the system interface's values, one for one."""
LOG_STATUSES = frozenset({"BadMessage", "Idle", "NotSupportedOperation", "PermissionDenied", "Uploaded",
                          "UploadFailure", "Uploading"})
"""UploadLogStatusEnumType of LogStatusNotification."""

_INSTALLING = frozenset({"Downloaded", "SignatureVerified", "InstallScheduled", "Installing", "InstallRebooting"})
BUSY = {FIRMWARE: frozenset({"Downloading", "Downloaded", "Installing"}),
        DIAGNOSTICS: frozenset({"Uploading"}),
        SIGNED_FIRMWARE: frozenset({"Downloading", "DownloadScheduled", "DownloadPaused"}) | _INSTALLING,
        LOG: frozenset({"Uploading"})}
"""Statuses of work under way: (Extended)TriggerMessage reports them; any other last status is reported as Idle."""

INTERRUPTED = {
    FIRMWARE: {"Downloading": "DownloadFailed", "Downloaded": "InstallationFailed",
               "Installing": "InstallationFailed"},
    DIAGNOSTICS: {"Uploading": "UploadFailed"},
    SIGNED_FIRMWARE: {"Downloading": "DownloadFailed", "DownloadScheduled": "DownloadFailed",
                      "DownloadPaused": "DownloadFailed", **dict.fromkeys(_INSTALLING, "InstallationFailed")},
    LOG: {"Uploading": "UploadFailure"},
}
"""Per action, the outcome of work a power cut interrupted, when the system module does not take it up again."""

PROTOCOLS = {"ftp": "FTP", "ftps": "FTPS", "http": "HTTP", "https": "HTTPS"}
"""URL schemes as SupportedFileTransferProtocols names them."""


def firmware_status(system_status: str) -> str | None:
    """FirmwareStatus for the system module's FirmwareUpdateStatusEnum; None when 1.6 has no such status."""
    return _FIRMWARE_STATUS.get(system_status)


def diagnostics_status(system_status: str) -> str | None:
    """DiagnosticsStatus for the system module's LogStatusEnum; None when 1.6 has no such status."""
    return _DIAGNOSTICS_STATUS.get(system_status)
