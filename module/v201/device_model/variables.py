"""Every variable the 2.0.1 module knows, in one registry (as module/config/keys.py is for the 1.6 keys).

A variable lives on a component (name, optional instance, optional EVSE / connector) and has attributes
(Actual, and for some Target / MinSet / MaxSet), each with its mutability; its characteristics (data type, unit,
limits, values list) say which values it takes. Names, data types and defaults are those of OCPP 2.0.1 part 2,
appendix 3 (the standardized components and variables) for what provisioning and the blocks built here need.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class DataType(StrEnum):
    STRING = "string"
    DECIMAL = "decimal"
    INTEGER = "integer"
    DATE_TIME = "dateTime"
    BOOLEAN = "boolean"
    OPTION_LIST = "OptionList"
    SEQUENCE_LIST = "SequenceList"
    MEMBER_LIST = "MemberList"


class Mutability(StrEnum):
    READ_ONLY = "ReadOnly"
    WRITE_ONLY = "WriteOnly"
    READ_WRITE = "ReadWrite"


ATTRIBUTE_TYPES = ("Actual", "Target", "MinSet", "MaxSet")


@dataclass(frozen=True)
class ComponentRef:
    name: str
    instance: str | None = None
    evse: int | None = None
    connector: int | None = None


@dataclass(frozen=True)
class VariableSpec:
    component: ComponentRef
    name: str
    data_type: DataType
    default: str | None = None
    mutability: Mutability = Mutability.READ_WRITE
    instance: str | None = None
    unit: str | None = None
    min_limit: float | None = None
    max_limit: float | None = None
    values_list: tuple[str, ...] = ()
    max_length: int | None = None
    attributes: tuple[str, ...] = ("Actual",)
    persistent: bool = True
    reboot_required: bool = False
    """A change takes effect after a reset: SetVariables answers RebootRequired (the value is stored)."""


def _var(component: str, name: str, data_type: DataType, default: str | None = None, **rules: object) -> VariableSpec:
    return VariableSpec(ComponentRef(component), name, data_type, default, **rules)  # type: ignore[arg-type]


RO, WO = Mutability.READ_ONLY, Mutability.WRITE_ONLY
INT, DEC, BOOL, STR = DataType.INTEGER, DataType.DECIMAL, DataType.BOOLEAN, DataType.STRING
OPTIONS, SEQUENCE, MEMBERS, TIME = DataType.OPTION_LIST, DataType.SEQUENCE_LIST, DataType.MEMBER_LIST, \
    DataType.DATE_TIME
MEASURANDS = ("Current.Import", "Current.Offered", "Energy.Active.Import.Register", "Frequency", "Power.Active.Import",
              "Power.Offered", "SoC", "Voltage")
TX_POINTS = ("ParkingBayOccupancy", "EVConnected", "Authorized", "DataSigned", "PowerPathClosed", "EnergyTransfer")

VARIABLES: tuple[VariableSpec, ...] = (
    # InternalCtrlr: the station's identity and where it connects (EVerest's layout; not standardized by OCPP)
    _var("InternalCtrlr", "ChargePointId", STR, "cp001", mutability=RO, max_length=48),
    _var("InternalCtrlr", "NetworkConnectionProfiles", STR,
         '[{"configurationSlot": 1, "connectionData": {"ocppCsmsUrl": "ws://127.0.0.1:9000", "ocppInterface": '
         '"Wired0", "ocppTransport": "JSON", "ocppVersion": "OCPP20", "securityProfile": 0, "messageTimeout": 30}}]',
         max_length=2500),
    _var("InternalCtrlr", "ChargeBoxSerialNumber", STR, None, mutability=RO, max_length=25),
    _var("InternalCtrlr", "ChargePointModel", STR, "SimModel", mutability=RO, max_length=20),
    _var("InternalCtrlr", "ChargePointVendor", STR, "SimVendor", mutability=RO, max_length=20),
    _var("InternalCtrlr", "FirmwareVersion", STR, None, mutability=RO, max_length=50),
    # OCPPCommCtrlr
    _var("OCPPCommCtrlr", "HeartbeatInterval", INT, "300", unit="s", min_limit=1),
    _var("OCPPCommCtrlr", "MessageTimeout", INT, "30", instance="Default", unit="s", min_limit=1),
    _var("OCPPCommCtrlr", "NetworkConfigurationPriority", SEQUENCE, "1", values_list=tuple(map(str, range(10))),
         reboot_required=True),
    _var("OCPPCommCtrlr", "NetworkProfileConnectionAttempts", INT, "3", min_limit=1),
    _var("OCPPCommCtrlr", "OfflineThreshold", INT, "60", unit="s"),
    _var("OCPPCommCtrlr", "MessageAttempts", INT, "3", instance="TransactionEvent", min_limit=1),
    _var("OCPPCommCtrlr", "MessageAttemptInterval", INT, "60", instance="TransactionEvent", unit="s"),
    # read-only until the module acts on them (a writable variable that changes nothing would mislead the CSMS):
    # ResetRetries, UnlockOnEVSideDisconnect (the EVSE manager decides), Identity and OrganizationName (no
    # certificate signing in 2.0.1 yet), LimitChangeSignificance (no 2.0.1 smart charging yet)
    _var("OCPPCommCtrlr", "ResetRetries", INT, "1", mutability=RO),
    _var("OCPPCommCtrlr", "RetryBackOffRandomRange", INT, "10", unit="s"),
    _var("OCPPCommCtrlr", "RetryBackOffRepeatTimes", INT, "3"),
    _var("OCPPCommCtrlr", "RetryBackOffWaitMinimum", INT, "3", unit="s"),
    _var("OCPPCommCtrlr", "WebSocketPingInterval", INT, "0", unit="s"),
    _var("OCPPCommCtrlr", "FileTransferProtocols", MEMBERS, "FTP,FTPS,HTTP,HTTPS", mutability=RO,
         values_list=("FTP", "FTPS", "HTTP", "HTTPS", "SFTP")),
    _var("OCPPCommCtrlr", "UnlockOnEVSideDisconnect", BOOL, "true", mutability=RO),
    # DeviceDataCtrlr: the limits of GetReport / GetVariables / SetVariables
    _var("DeviceDataCtrlr", "ItemsPerMessage", INT, "100", instance="GetReport", mutability=RO, min_limit=1),
    _var("DeviceDataCtrlr", "ItemsPerMessage", INT, "50", instance="GetVariables", mutability=RO, min_limit=1),
    _var("DeviceDataCtrlr", "ItemsPerMessage", INT, "50", instance="SetVariables", mutability=RO, min_limit=1),
    _var("DeviceDataCtrlr", "BytesPerMessage", INT, "65000", instance="GetReport", mutability=RO, min_limit=1),
    _var("DeviceDataCtrlr", "BytesPerMessage", INT, "65000", instance="GetVariables", mutability=RO, min_limit=1),
    _var("DeviceDataCtrlr", "BytesPerMessage", INT, "65000", instance="SetVariables", mutability=RO, min_limit=1),
    # SecurityCtrlr
    _var("SecurityCtrlr", "SecurityProfile", INT, "0", mutability=RO, min_limit=0, max_limit=3),
    _var("SecurityCtrlr", "BasicAuthPassword", STR, None, mutability=WO, max_length=40),
    _var("SecurityCtrlr", "Identity", STR, None, mutability=RO, max_length=48),
    _var("SecurityCtrlr", "OrganizationName", STR, None, mutability=RO),
    _var("SecurityCtrlr", "CertificateEntries", INT, "0", mutability=RO),
    # AuthCtrlr
    _var("AuthCtrlr", "Enabled", BOOL, "true"),
    _var("AuthCtrlr", "AuthorizeRemoteStart", BOOL, "true"),
    _var("AuthCtrlr", "LocalAuthorizeOffline", BOOL, "true"),
    _var("AuthCtrlr", "LocalPreAuthorize", BOOL, "false"),
    _var("AuthCtrlr", "OfflineTxForUnknownIdEnabled", BOOL, "false"),
    # AuthCacheCtrlr, LocalAuthListCtrlr
    _var("AuthCacheCtrlr", "Enabled", BOOL, "true"),
    _var("AuthCacheCtrlr", "LifeTime", INT, "86400", unit="s", min_limit=1),
    _var("LocalAuthListCtrlr", "Enabled", BOOL, "true"),
    _var("LocalAuthListCtrlr", "Entries", INT, "0", mutability=RO, max_limit=10000),
    _var("LocalAuthListCtrlr", "ItemsPerMessage", INT, "250", mutability=RO, min_limit=1),
    _var("LocalAuthListCtrlr", "BytesPerMessage", INT, "65000", mutability=RO, min_limit=1),
    # TxCtrlr
    _var("TxCtrlr", "EVConnectionTimeOut", INT, "60", unit="s"),
    # the EVSE manager ends a transaction when the EV unplugs; the module cannot keep it open
    _var("TxCtrlr", "StopTxOnEVSideDisconnect", BOOL, "true", mutability=RO),
    _var("TxCtrlr", "StopTxOnInvalidId", BOOL, "true"),
    _var("TxCtrlr", "TxStartPoint", MEMBERS, "PowerPathClosed", values_list=TX_POINTS),
    _var("TxCtrlr", "TxStopPoint", MEMBERS, "EVConnected,Authorized", values_list=TX_POINTS),
    # SampledDataCtrlr, AlignedDataCtrlr
    _var("SampledDataCtrlr", "TxUpdatedInterval", INT, "60", unit="s"),
    _var("SampledDataCtrlr", "TxUpdatedMeasurands", MEMBERS, "Energy.Active.Import.Register",
         values_list=MEASURANDS),
    _var("SampledDataCtrlr", "TxEndedMeasurands", MEMBERS, "Energy.Active.Import.Register", values_list=MEASURANDS),
    _var("SampledDataCtrlr", "TxEndedInterval", INT, "0", unit="s"),
    _var("AlignedDataCtrlr", "Interval", INT, "900", unit="s"),
    _var("AlignedDataCtrlr", "Measurands", MEMBERS, "Energy.Active.Import.Register", values_list=MEASURANDS),
    # ChargingStation
    _var("ChargingStation", "AvailabilityState", OPTIONS, "Available", mutability=RO,
         values_list=("Available", "Occupied", "Reserved", "Unavailable", "Faulted")),
    _var("ChargingStation", "Available", BOOL, "true", mutability=RO),
    _var("ChargingStation", "SupplyPhases", INT, "3", mutability=RO, min_limit=0, max_limit=3),
    # ClockCtrlr
    _var("ClockCtrlr", "DateTime", TIME, None, mutability=RO, persistent=False),
    # SmartChargingCtrlr
    _var("SmartChargingCtrlr", "LimitChangeSignificance", DEC, "1.0", mutability=RO, unit="Percent", min_limit=0,
         max_limit=100),
    _var("SmartChargingCtrlr", "EntriesChargingProfiles", INT, "0", mutability=RO),
)


def evse_variables(evse_count: int, connectors_per_evse: int = 1) -> tuple[VariableSpec, ...]:
    """The EVSE and Connector components of a station wired to `evse_count` EVSEs (the evse_manager
    connections), each with its availability and power variables."""
    specs: list[VariableSpec] = []
    for evse in range(1, evse_count + 1):
        component = ComponentRef("EVSE", evse=evse)
        specs += [
            VariableSpec(component, "Available", BOOL, "true", mutability=RO),
            VariableSpec(component, "AvailabilityState", OPTIONS, "Available", mutability=RO,
                         values_list=("Available", "Occupied", "Reserved", "Unavailable", "Faulted")),
            VariableSpec(component, "Power", DEC, "0", mutability=RO, unit="W", attributes=("Actual", "MaxSet"),
                         persistent=False),
            VariableSpec(component, "SupplyPhases", INT, "3", mutability=RO, min_limit=0, max_limit=3),
        ]
        for connector in range(1, connectors_per_evse + 1):
            socket = ComponentRef("Connector", evse=evse, connector=connector)
            specs += [
                VariableSpec(socket, "Available", BOOL, "true", mutability=RO),
                VariableSpec(socket, "AvailabilityState", OPTIONS, "Available", mutability=RO,
                             values_list=("Available", "Occupied", "Reserved", "Unavailable", "Faulted")),
                VariableSpec(socket, "ConnectorType", STR, "cType2", mutability=RO),
            ]
    return tuple(specs)
