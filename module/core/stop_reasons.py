"""EVerest StopTransactionReason values to OCPP 1.6 Reason: ten map one to one, the rest become Other."""

from __future__ import annotations

_SAME_IN_OCPP = {"EmergencyStop", "EVDisconnected", "HardReset", "Local", "PowerLoss", "Reboot", "Remote",
                 "SoftReset", "UnlockCommand", "DeAuthorized"}


def ocpp_stop_reason(everest_reason: str | None) -> str:
    """OCPP's Reason for a TransactionFinished reason; a missing reason means a local stop."""
    if not everest_reason:
        return "Local"
    return everest_reason if everest_reason in _SAME_IN_OCPP else "Other"
