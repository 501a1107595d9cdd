"""What differs between OCPP-J versions, so the link and the queue can serve 1.6 now and 2.0.1 later."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import ocpp


@dataclass(frozen=True)
class ErrorCodes:
    """Wire spellings of the CALLERROR codes the link emits; 2.0.1 renames several of them."""

    not_implemented: str = "NotImplemented"
    not_supported: str = "NotSupported"
    internal: str = "InternalError"
    protocol: str = "ProtocolError"
    security: str = "SecurityError"
    formation: str = "FormationViolation"
    property_constraint: str = "PropertyConstraintViolation"
    occurrence: str = "OccurenceConstraintViolation"
    type_constraint: str = "TypeConstraintViolation"
    generic: str = "GenericError"
    rpc_framework: str = "ProtocolError"
    message_type_not_supported: str = "GenericError"


@dataclass(frozen=True)
class ProtocolSpec:
    """One OCPP version: subprotocol, schema files, error codes, feature profiles."""

    version: str
    subprotocol: str
    schema_dir: Path
    request_suffix: str
    response_suffix: str
    error_codes: ErrorCodes
    action_profiles: dict[str, str] = field(default_factory=dict)

    def request_schema_file(self, action: str) -> Path:
        return self.schema_dir / f"{action}{self.request_suffix}.json"

    def response_schema_file(self, action: str) -> Path:
        return self.schema_dir / f"{action}{self.response_suffix}.json"

    def profile_of(self, action: str) -> str | None:
        """Feature profile an action belongs to (None: not an action of this version)."""
        return self.action_profiles.get(action)


_PROFILES_16: dict[str, tuple[str, ...]] = {
    "Core": (
        "Authorize", "BootNotification", "ChangeAvailability", "ChangeConfiguration", "ClearCache",
        "DataTransfer", "GetConfiguration", "Heartbeat", "MeterValues", "RemoteStartTransaction",
        "RemoteStopTransaction", "Reset", "StartTransaction", "StatusNotification", "StopTransaction",
        "UnlockConnector",
    ),
    "FirmwareManagement": (
        "GetDiagnostics", "DiagnosticsStatusNotification", "FirmwareStatusNotification", "UpdateFirmware",
    ),
    "LocalAuthListManagement": ("GetLocalListVersion", "SendLocalList"),
    "Reservation": ("CancelReservation", "ReserveNow"),
    "SmartCharging": ("ClearChargingProfile", "GetCompositeSchedule", "SetChargingProfile"),
    "RemoteTrigger": ("TriggerMessage",),
    "Security": (
        "CertificateSigned", "DeleteCertificate", "ExtendedTriggerMessage", "GetInstalledCertificateIds",
        "GetLog", "InstallCertificate", "LogStatusNotification", "SecurityEventNotification",
        "SignCertificate", "SignedFirmwareStatusNotification", "SignedUpdateFirmware",
    ),
}

OCPP16 = ProtocolSpec(
    version="1.6",
    subprotocol="ocpp1.6",
    schema_dir=Path(ocpp.__file__).parent / "v16" / "schemas",
    request_suffix="",
    response_suffix="Response",
    error_codes=ErrorCodes(),
    action_profiles={action: profile for profile, actions in _PROFILES_16.items() for action in actions},
)
