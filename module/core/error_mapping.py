"""EVerest error types to OCPP 1.6 StatusNotification error fields, as EVerest's OCPP module maps them.

MREC errors (ChargeX "minimum required error codes") carry their CX code; `evse_manager/Inoperative` makes the
connector Faulted; any other error is reported as OtherError without changing the status.
"""

from __future__ import annotations

from dataclasses import dataclass

from module.core.connector_status import ErrorInfo

MREC_VENDOR_ID = "https://chargex.inl.gov"

_MREC: dict[str, tuple[str, str]] = {
    "connector_lock/MREC1ConnectorLockFailure": ("ConnectorLockFailure", "CX001"),
    "evse_board_support/MREC2GroundFailure": ("GroundFailure", "CX002"),
    "evse_board_support/MREC3HighTemperature": ("HighTemperature", "CX003"),
    "evse_board_support/MREC4OverCurrentFailure": ("OverCurrentFailure", "CX004"),
    "evse_board_support/MREC5OverVoltage": ("OverVoltage", "CX005"),
    "evse_board_support/MREC6UnderVoltage": ("UnderVoltage", "CX006"),
    "evse_board_support/MREC8EmergencyStop": ("OtherError", "CX008"),
    "evse_board_support/MREC10InvalidVehicleMode": ("OtherError", "CX010"),
    "evse_board_support/MREC14PilotFault": ("OtherError", "CX014"),
    "evse_board_support/MREC15PowerLoss": ("OtherError", "CX015"),
    "evse_board_support/MREC17EVSEContactorFault": ("OtherError", "CX017"),
    "evse_board_support/MREC18CableOverTempDerate": ("OtherError", "CX018"),
    "evse_board_support/MREC19CableOverTempStop": ("OtherError", "CX019"),
    "evse_board_support/MREC20PartialInsertion": ("OtherError", "CX020"),
    "evse_board_support/MREC23ProximityFault": ("OtherError", "CX023"),
    "evse_board_support/MREC24ConnectorVoltageHigh": ("OtherError", "CX024"),
    "evse_board_support/MREC25BrokenLatch": ("OtherError", "CX025"),
    "evse_board_support/MREC26CutCable": ("OtherError", "CX026"),
    "evse_manager/MREC4OverCurrentFailure": ("OverCurrentFailure", "CX004"),
    "ac_rcd/MREC2GroundFailure": ("GroundFailure", "CX002"),
    "evse_manager/MREC22ResistanceFault": ("OtherError", "CX022"),
    "evse_manager/MREC11CableCheckFault": ("OtherError", "CX011"),
    "evse_manager/MREC5OverVoltage": ("OverVoltage", "CX005"),
    "evse_manager/VoltagePlausibilityFault": ("OtherError", ""),
}
_PLAIN: dict[str, str] = {"powermeter/CommunicationFault": "PowerMeterFailure"}
_FAULTING = {"evse_manager/Inoperative"}


@dataclass(frozen=True)
class RaisedError:
    """The parts of a framework error event the mapping needs (kept free of framework types)."""

    uuid: str
    type: str
    sub_type: str = ""
    message: str = ""
    origin: str = ""


def _cut(text: str | None, limit: int) -> str | None:
    return text[:limit] if text else None


def to_error_info(error: RaisedError) -> ErrorInfo:
    """OCPP fields for one error; lengths cut to StatusNotification's CiString limits."""
    if error.type in _MREC:
        code, vendor_code = _MREC[error.type]
        return ErrorInfo(error.uuid, code, vendor_id=MREC_VENDOR_ID, vendor_error_code=vendor_code or None)
    if error.type in _PLAIN:
        return ErrorInfo(error.uuid, _PLAIN[error.type], info=_cut(error.origin, 50))
    if error.type in _FAULTING:
        return ErrorInfo(error.uuid, "OtherError", info=_cut(f"caused_by:{error.message}", 50), is_fault=True)
    short_type = error.type.split("/", 1)[-1]
    vendor_code = f"{short_type}/{error.sub_type}" if error.sub_type else short_type
    return ErrorInfo(error.uuid, "OtherError", info=_cut(error.origin, 50), vendor_id=_cut(error.message, 255),
                     vendor_error_code=_cut(vendor_code, 50))
