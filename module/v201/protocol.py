"""OCPP 2.0.1 for the shared link and queue: the `ocpp2.0.1` subprotocol, the OCA 2.0.1 schemas of the `ocpp`
package, OCPP-J 2.0.1's CALLERROR codes, and every action grouped by the functional block of part 2 it belongs to
(the block plays the role 1.6's feature profiles play for the link: an action of a block not served is answered
NotSupported)."""

from __future__ import annotations

from pathlib import Path

import ocpp

from module.link.protocol import ErrorCodes, ProtocolSpec

ERROR_CODES_201 = ErrorCodes(
    formation="FormatViolation",
    occurrence="OccurrenceConstraintViolation",
    rpc_framework="RpcFrameworkError",
    message_type_not_supported="MessageTypeNotSupported",
)
"""OCPP-J 2.0.1 section 4.3: FormationViolation became FormatViolation, the 1.6 misspelling of Occurrence is gone,
and frames the RPC layer cannot read get RpcFrameworkError / MessageTypeNotSupported."""

BLOCKS_201: dict[str, tuple[str, ...]] = {
    "Security": ("CertificateSigned", "SecurityEventNotification", "SignCertificate"),
    "Provisioning": ("BootNotification", "GetBaseReport", "GetReport", "GetVariables", "Heartbeat", "NotifyReport",
                     "Reset", "SetNetworkProfile", "SetVariables"),
    "Authorization": ("Authorize", "ClearCache"),
    "LocalAuthorizationListManagement": ("GetLocalListVersion", "SendLocalList"),
    "Transactions": ("GetTransactionStatus", "MeterValues", "TransactionEvent"),
    "RemoteControl": ("RequestStartTransaction", "RequestStopTransaction", "TriggerMessage", "UnlockConnector"),
    "Availability": ("ChangeAvailability", "StatusNotification"),
    "Reservation": ("CancelReservation", "ReservationStatusUpdate", "ReserveNow"),
    "TariffAndCost": ("CostUpdated",),
    "SmartCharging": ("ClearChargingProfile", "ClearedChargingLimit", "GetChargingProfiles", "GetCompositeSchedule",
                      "NotifyChargingLimit", "NotifyEVChargingNeeds", "NotifyEVChargingSchedule",
                      "ReportChargingProfiles", "SetChargingProfile"),
    "FirmwareManagement": ("FirmwareStatusNotification", "PublishFirmware", "PublishFirmwareStatusNotification",
                           "UnpublishFirmware", "UpdateFirmware"),
    "ISO15118CertificateManagement": ("DeleteCertificate", "Get15118EVCertificate", "GetCertificateStatus",
                                      "GetInstalledCertificateIds", "InstallCertificate"),
    "Diagnostics": ("ClearVariableMonitoring", "CustomerInformation", "GetLog", "GetMonitoringReport",
                    "LogStatusNotification", "NotifyCustomerInformation", "NotifyEvent", "NotifyMonitoringReport",
                    "SetMonitoringBase", "SetMonitoringLevel", "SetVariableMonitoring"),
    "DisplayMessage": ("ClearDisplayMessage", "GetDisplayMessages", "NotifyDisplayMessages", "SetDisplayMessage"),
    "DataTransfer": ("DataTransfer",),
}
"""Every 2.0.1 action once, by functional block (OCPP 2.0.1 part 2: A Security ... P DataTransfer)."""

OCPP201 = ProtocolSpec(
    version="2.0.1",
    subprotocol="ocpp2.0.1",
    schema_dir=Path(ocpp.__file__).parent / "v201" / "schemas",
    request_suffix="Request",
    response_suffix="Response",
    error_codes=ERROR_CODES_201,
    action_profiles={action: block for block, actions in BLOCKS_201.items() for action in actions},
)
