"""The key registry: every configuration key declared once. Schemas, README, Get/ChangeConfiguration derive from it."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

Lookup = Callable[[str], Any]
"""Returns the current typed value of another key (None when absent); used by cross-key rules."""


class Kind(StrEnum):
    """How a value is stored in the JSON file and parsed from a ChangeConfiguration string."""

    INT = "integer"
    NUMBER = "number"
    BOOL = "boolean"
    STRING = "string"
    CSV = "CSV string"  # stored as "a,b"; typed value list[str]
    ARRAY = "array"  # stored as a JSON array of strings; reported as CSV
    OBJECT = "object"  # stored as a JSON object; reported and set as JSON text


class Access(StrEnum):
    READ_ONLY = "ReadOnly"
    READ_WRITE = "ReadWrite"
    WRITE_ONLY = "WriteOnly"  # never reported (AuthorizationKey)


SECTIONS = (
    "Internal",
    "Core",
    "FirmwareManagement",
    "LocalAuthListManagement",
    "Reservation",
    "SmartCharging",
    "Security",
    "PnC",
    "CostAndPrice",
    "Custom",
)
REQUIRED_SECTIONS = ("Internal", "Core", "Security")
FEATURE_PROFILES = (
    "Core",
    "FirmwareManagement",
    "LocalAuthListManagement",
    "Reservation",
    "SmartCharging",
    "RemoteTrigger",
)
EXTENSION_PROFILES = ("Security", "PnC", "CostAndPrice")
"""Profile names libocpp's files may list beside the six of OCPP 1.6 (whitepaper, Plug&Charge, California
pricing): accepted in SupportedFeatureProfiles and, as this module implements them through other keys or not at all,
left out of the reported list at start with a warning, as any profile it does not implement."""
ALWAYS_ACTIVE_SECTIONS = ("Internal", "Security")
"""Sections reported regardless of SupportedFeatureProfiles; PnC, CostAndPrice and Custom are active when present."""

MEASURANDS = frozenset(
    {
        "Current.Export",
        "Current.Import",
        "Current.Offered",
        "Energy.Active.Export.Register",
        "Energy.Active.Import.Register",
        "Energy.Reactive.Export.Register",
        "Energy.Reactive.Import.Register",
        "Energy.Active.Export.Interval",
        "Energy.Active.Import.Interval",
        "Energy.Reactive.Export.Interval",
        "Energy.Reactive.Import.Interval",
        "Frequency",
        "Power.Active.Export",
        "Power.Active.Import",
        "Power.Factor",
        "Power.Offered",
        "Power.Reactive.Export",
        "Power.Reactive.Import",
        "RPM",
        "SoC",
        "Temperature",
        "Voltage",
    }
)
PROFILE_PURPOSES = frozenset({"ChargePointMaxProfile", "TxDefaultProfile", "TxProfile"})
LOG_FORMATS = frozenset({"console", "log", "html", "console_detailed", "session_logging", "callback", "security"})
OCPP_VALUE_MAX_LENGTH = 500
INT32_MAX = 2**31 - 1
AUTHORIZATION_KEY_MIN_LENGTH = 8
AUTHORIZATION_KEY_MAX_LENGTH = 40


@dataclass(frozen=True)
class KeySpec:
    """One configuration key: where it lives, its type, who may write it and which values are valid."""

    name: str
    section: str
    kind: Kind
    access: Access
    description: str
    default: Any = None
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    members: frozenset[str] | None = None
    item_pattern: str | None = None
    max_items_key: str | None = None
    reboot: bool = False
    check: Callable[[Any, Lookup], str | None] | None = None
    object_schema: dict[str, Any] | None = None
    effect: str = ""
    """What the key does in this module and when a change takes effect (config/README.md's effect column)."""
    reported_unset: bool = False
    """Reported (without a value) and writable when the configuration files give it no value, as libocpp does for
    keys the CSMS is expected to provide (CpoName)."""

    @property
    def secret(self) -> bool:
        return self.access is Access.WRITE_ONLY

    @property
    def writable(self) -> bool:
        return self.access is not Access.READ_ONLY


def _within_supported_measurands(value: list[str], lookup: Lookup) -> str | None:
    supported = lookup("SupportedMeasurands") or []
    missing = [item for item in value if item not in supported]
    return f"not in SupportedMeasurands: {','.join(missing)}" if missing else None


def _holds_core(value: list[str], _lookup: Lookup) -> str | None:
    return None if "Core" in value else "must contain Core"


def _security_profile(value: int, lookup: Lookup) -> str | None:
    """The upgrade-only rule is the Security profile's (its fallback sets a lower profile back)."""
    if value in (1, 2) and not lookup("AuthorizationKey"):
        return "profiles 1 and 2 need an AuthorizationKey"
    return None


_ROTATION = re.compile(r"^(\d+)\.(RST|RTS|SRT|STR|TRS|TSR|NotApplicable|Unknown)$")


def _phase_rotation(value: list[str], lookup: Lookup) -> str | None:
    connectors = lookup("NumberOfConnectors") or 0
    for item in value:
        match = _ROTATION.match(item)
        if match is None:
            return f"item {item!r} is not <connector>.<RST|RTS|SRT|STR|TRS|TSR|NotApplicable|Unknown>"
        if int(match.group(1)) > connectors:
            return f"item {item!r} names a connector above NumberOfConnectors ({connectors})"
    return None


def _key(name: str, section: str, kind: Kind, access: Access, description: str, **rules: Any) -> KeySpec:
    if kind is Kind.INT:
        rules.setdefault("minimum", 0)
        rules.setdefault("maximum", INT32_MAX)
    return KeySpec(name, section, kind, access, description, **rules)


RO, RW, WO = Access.READ_ONLY, Access.READ_WRITE, Access.WRITE_ONLY
INT, NUM, BOOL, STR, CSV, ARR, OBJ = Kind.INT, Kind.NUMBER, Kind.BOOL, Kind.STRING, Kind.CSV, Kind.ARRAY, Kind.OBJECT

_MEASURAND_LIST = {"members": MEASURANDS, "check": _within_supported_measurands}

_PRICE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "chargingPrice": {
            "type": "object",
            "properties": {
                "kWhPrice": {"type": "number"},
                "hourPrice": {"type": "number"},
                "flatFee": {"type": "number"},
            },
        },
        "priceText": {"type": "string", "minLength": 1},
        "priceTextOffline": {"type": "string", "minLength": 1},
    },
    "required": ["priceText"],
}
_PRICE_TEXT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "priceTexts": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "priceText": {"type": "string", "minLength": 1},
                    "priceTextOffline": {"type": "string", "minLength": 1},
                    "language": {"type": "string", "minLength": 2},
                },
                "required": ["priceText", "language"],
            },
        }
    },
}

INTL, CORE = "Internal", "Core"
KEYS: tuple[KeySpec, ...] = (
    # --- Internal: libocpp-specific settings of this charge point ---
    _key("ChargePointId", INTL, STR, RO, "Identity: last URL segment, database name, Basic auth user.",
         required=True, min_length=1),
    _key("CentralSystemURI", INTL, STR, RO, "CSMS address host[:port]/path; scheme follows SecurityProfile.",
         required=True, min_length=1),
    _key("ChargeBoxSerialNumber", INTL, STR, RO, "BootNotification chargeBoxSerialNumber.",
         required=True, min_length=1, max_length=25),
    _key("ChargePointModel", INTL, STR, RO, "BootNotification chargePointModel.", required=True, min_length=1,
         max_length=20),
    _key("ChargePointSerialNumber", INTL, STR, RO, "BootNotification chargePointSerialNumber.", min_length=1,
         max_length=25),
    _key("ChargePointVendor", INTL, STR, RO, "BootNotification chargePointVendor.", required=True, min_length=1,
         max_length=20),
    _key("FirmwareVersion", INTL, STR, RO, "BootNotification firmwareVersion.", required=True, min_length=1,
         max_length=50),
    _key("ICCID", INTL, STR, RO, "BootNotification iccid (modem SIM).", min_length=1, max_length=20),
    _key("IMSI", INTL, STR, RO, "BootNotification imsi (modem subscriber).", min_length=1, max_length=20),
    _key("MeterSerialNumber", INTL, STR, RO, "BootNotification meterSerialNumber.", min_length=1, max_length=25),
    _key("MeterType", INTL, STR, RO, "BootNotification meterType.", min_length=1, max_length=25),
    _key("HostName", INTL, STR, RO, "Extra User-Host header sent in the websocket handshake.", min_length=1),
    _key("IFace", INTL, STR, RO, "Network interface the websocket binds to.", min_length=1),
    _key("SupportedCiphers12", INTL, ARR, RO, "OpenSSL cipher list for TLS 1.2.",
         default=["ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384", "AES128-GCM-SHA256",
                  "AES256-GCM-SHA384"]),
    _key("SupportedCiphers13", INTL, ARR, RO, "TLS 1.3 cipher suites; kept for file compatibility, no effect: "
         "Python's ssl cannot restrict TLS 1.3 suites, OpenSSL's defaults apply.",
         default=["TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256"]),
    _key("UseTPM", INTL, BOOL, RO, "CSMS client key lives in a TPM.", default=False),
    _key("UseTPMSeccLeafCertificate", INTL, BOOL, RO, "SECC leaf key lives in a TPM.", default=False),
    _key("UseSslDefaultVerifyPaths", INTL, BOOL, RO, "Also trust the system CA paths for the CSMS certificate.",
         default=True),
    _key("VerifyCsmsCommonName", INTL, BOOL, RO, "Check that the CSMS certificate CN matches its host name.",
         default=True),
    _key("VerifyCsmsAllowWildcards", INTL, BOOL, RW, "Accept wildcard CNs in the CSMS certificate (next connect).",
         default=False),
    _key("RetryBackoffRandomRange", INTL, INT, RW, "Random part of the reconnect back-off, seconds.", default=10),
    _key("RetryBackoffRepeatTimes", INTL, INT, RW, "How often the reconnect back-off doubles.", default=3),
    _key("RetryBackoffWaitMinimum", INTL, INT, RW, "First reconnect back-off, seconds.", default=3),
    _key("WebsocketPingPayload", INTL, STR, RO, "Payload of websocket pings.", default="hello there", max_length=125),
    _key("WebsocketPongTimeout", INTL, INT, RO, "Seconds to wait for a pong before reconnecting.", default=5,
         minimum=1),
    _key("AuthorizeConnectorZeroOnConnectorOne", INTL, BOOL, RO,
         "With a single connector, a token for connector 0 authorizes connector 1.", default=True),
    _key("LogMessages", INTL, BOOL, RO, "Write the OCPP message log.", default=True),
    _key("LogMessagesRaw", INTL, BOOL, RO, "Also log frames before parsing them.", default=False),
    _key("LogMessagesFormat", INTL, ARR, RO, "Message log outputs.", default=["log", "html", "session_logging",
                                                                          "security"], members=LOG_FORMATS),
    _key("LogRotation", INTL, BOOL, RO, "Rotate the message log.", default=False),
    _key("LogRotationDateSuffix", INTL, BOOL, RO, "Rotated logs get a date suffix instead of .0, .1.", default=False),
    _key("LogRotationMaximumFileSize", INTL, INT, RO, "Rotate after this many bytes; 0 = never.", default=0),
    _key("LogRotationMaximumFileCount", INTL, INT, RO, "Rotated files kept; 0 = rotation off.", default=0),
    _key("SupportedChargingProfilePurposeTypes", INTL, ARR, RO, "Purposes SetChargingProfile accepts.",
         default=sorted(PROFILE_PURPOSES), members=PROFILE_PURPOSES),
    _key("IgnoredProfilePurposesOffline", INTL, CSV, RW, "Purposes left out of the composite schedule while offline.",
         members=PROFILE_PURPOSES),
    _key("MaxCompositeScheduleDuration", INTL, INT, RO, "GetCompositeSchedule durations are capped to this, seconds.",
         default=31536000),
    _key("CompositeScheduleDefaultLimitAmps", INTL, NUM, RW, "Limit filled into schedule gaps, A.", default=48,
         minimum=0),
    _key("CompositeScheduleDefaultLimitWatts", INTL, NUM, RW, "Limit filled into schedule gaps, W.", default=33120,
         minimum=0),
    _key("CompositeScheduleDefaultNumberPhases", INTL, INT, RW, "Phases assumed in schedule gaps.", default=3,
         minimum=1, maximum=3),
    _key("SupplyVoltage", INTL, NUM, RW, "Voltage used to convert between A and W.", default=230, minimum=0),
    _key("OcspRequestInterval", INTL, INT, RO, "Seconds between OCSP refreshes of the CSO sub-CA certificates.",
         default=604800, minimum=86400),
    _key("SeccLeafSubjectCommonName", INTL, STR, RW, "CN (SECC id) of the SECC leaf certificate request.",
         min_length=7, max_length=64),
    _key("SeccLeafSubjectCountry", INTL, STR, RW, "Country of the SECC leaf certificate request.", min_length=2,
         max_length=2),
    _key("SeccLeafSubjectOrganization", INTL, STR, RW, "Organization of the SECC leaf certificate request.",
         max_length=64),
    _key("ConnectorEvseIds", INTL, CSV, RO, "EVSE ids (ISO 15118 EVSEID) of connectors 1..n.",
         min_length=7, max_length=1000, item_pattern=r"^.{7,37}$"),
    _key("AllowChargingProfileWithoutStartSchedule", INTL, BOOL, RW,
         "Absolute/Recurring profiles without startSchedule start now instead of being rejected."),
    _key("WaitForStopTransactionsOnResetTimeout", INTL, INT, RW, "Reset waits this long for StopTransaction.conf, s.",
         default=60),
    _key("QueueAllMessages", INTL, BOOL, RO, "Keep non-transactional messages queued while offline.", default=False),
    _key("MessageTypesDiscardForQueueing", INTL, CSV, RO, "Actions never queued even with QueueAllMessages.",
         item_pattern=r"^[A-Za-z]+$"),
    _key("MessageQueueSizeThreshold", INTL, INT, RO, "Queued messages kept before the drop policy applies.",
         default=2000, minimum=1),
    _key("SupportedMeasurands", INTL, CSV, RO, "Measurands the meters deliver; bounds the *Data keys.",
         default="Energy.Active.Import.Register,Energy.Active.Export.Register,Power.Active.Import,Voltage,"
                 "Current.Import,Frequency,Current.Offered,Power.Offered,SoC,Temperature",
         members=MEASURANDS),
    _key("MaxMessageSize", INTL, INT, RO, "Largest frame sent; StopTransaction transactionData is thinned to fit.",
         default=65000, minimum=32000),
    _key("TLSKeylogFile", INTL, STR, RO, "Where TLS session keys go when EnableTLSKeylog is set.",
         default="/tmp/ocpp_tls_keylog.txt"),
    _key("EnableTLSKeylog", INTL, BOOL, RO, "Write TLS session keys (debugging only).", default=False),
    _key("StopTransactionIfUnlockNotSupported", INTL, BOOL, RO,
         "UnlockConnector stops the transaction even when unlocking is not supported.", default=False),
    _key("MeterPublicKeys", INTL, ARR, RO, "Signed-meter-value public keys, one per connector."),
    _key("AuthorizationCacheMaxEntries", INTL, INT, RO,
         "Most idTags in the authorization cache; when full, invalid entries go first, then the least recently used.",
         default=1000, minimum=1),
    # --- Core profile (OCPP 1.6 section 9.1) ---
    _key("AllowOfflineTxForUnknownId", CORE, BOOL, RW, "Offline, unknown ids may start a transaction."),
    _key("AuthorizationCacheEnabled", CORE, BOOL, RW, "Use the authorization cache."),
    _key("AuthorizeRemoteTxRequests", CORE, BOOL, RW, "RemoteStartTransaction ids are authorized first.",
         required=True),
    _key("BlinkRepeat", CORE, INT, RO, "Lighting blinks when signalling."),
    _key("ClockAlignedDataInterval", CORE, INT, RW, "Clock-aligned meter value interval, s; 0 = off.", required=True),
    _key("ConnectionTimeOut", CORE, INT, RW, "Seconds to plug in after authorization.", required=True),
    _key("ConnectorPhaseRotation", CORE, CSV, RW, "Phase rotation per connector, e.g. 0.RST,1.RST.", required=True,
         check=_phase_rotation, max_items_key="ConnectorPhaseRotationMaxLength"),
    _key("ConnectorPhaseRotationMaxLength", CORE, INT, RO, "Most items in ConnectorPhaseRotation."),
    _key("GetConfigurationMaxKeys", CORE, INT, RO, "Most keys one GetConfiguration may list.", required=True,
         minimum=1),
    _key("HeartbeatInterval", CORE, INT, RW, "Seconds between Heartbeats; BootNotification.conf overrides it.",
         required=True),
    _key("LightIntensity", CORE, INT, RO, "Lighting intensity, percent.", maximum=100),
    _key("LocalAuthorizeOffline", CORE, BOOL, RW, "Offline, start for ids in the cache or local list.",
         required=True),
    _key("LocalPreAuthorize", CORE, BOOL, RW, "Online, start at once for locally known ids.", required=True),
    _key("MaxEnergyOnInvalidId", CORE, INT, RW, "Wh delivered before stopping a transaction with an invalid id."),
    _key("MeterValuesAlignedData", CORE, CSV, RW, "Measurands of clock-aligned MeterValues.", required=True,
         max_items_key="MeterValuesAlignedDataMaxLength", **_MEASURAND_LIST),
    _key("MeterValuesAlignedDataMaxLength", CORE, INT, RO, "Most items in MeterValuesAlignedData."),
    _key("MeterValuesSampledData", CORE, CSV, RW, "Measurands of sampled MeterValues.", required=True,
         max_items_key="MeterValuesSampledDataMaxLength", **_MEASURAND_LIST),
    _key("MeterValuesSampledDataMaxLength", CORE, INT, RO, "Most items in MeterValuesSampledData."),
    _key("MeterValueSampleInterval", CORE, INT, RW, "Sampled meter value interval in a transaction, s; 0 = off.",
         required=True),
    _key("MinimumStatusDuration", CORE, INT, RW, "A status must hold this long before it is reported, s."),
    _key("NumberOfConnectors", CORE, INT, RO, "Connectors of this charge point (set from the EVSE count).",
         required=True),
    _key("ResetRetries", CORE, INT, RW, "Reset attempts after a failed reset.", required=True),
    _key("StopTransactionOnEVSideDisconnect", CORE, BOOL, RO, "Unplugging at the EV stops the transaction.",
         default=True),
    _key("StopTransactionOnInvalidId", CORE, BOOL, RW, "Stop when StartTransaction.conf says the id is invalid.",
         required=True),
    _key("StopTxnAlignedData", CORE, CSV, RW, "Clock-aligned measurands in StopTransaction transactionData.",
         required=True, max_items_key="StopTxnAlignedDataMaxLength", **_MEASURAND_LIST),
    _key("StopTxnAlignedDataMaxLength", CORE, INT, RO, "Most items in StopTxnAlignedData."),
    _key("StopTxnSampledData", CORE, CSV, RW, "Sampled measurands in StopTransaction transactionData.",
         required=True, max_items_key="StopTxnSampledDataMaxLength", **_MEASURAND_LIST),
    _key("StopTxnSampledDataMaxLength", CORE, INT, RO, "Most items in StopTxnSampledData."),
    _key("SupportedFeatureProfiles", CORE, CSV, RO, "Feature profiles this charge point implements.", required=True,
         members=frozenset(FEATURE_PROFILES + EXTENSION_PROFILES), check=_holds_core,
         max_items_key="SupportedFeatureProfilesMaxLength"),
    _key("SupportedFeatureProfilesMaxLength", CORE, INT, RO, "Most items in SupportedFeatureProfiles."),
    _key("TransactionMessageAttempts", CORE, INT, RW, "Attempts for a transaction message the CSMS fails.",
         required=True),
    _key("TransactionMessageRetryInterval", CORE, INT, RW, "Seconds between those attempts (times attempt number).",
         required=True),
    _key("UnlockConnectorOnEVSideDisconnect", CORE, BOOL, RW, "Unlock the connector when the EV unplugs.",
         required=True),
    _key("WebSocketPingInterval", CORE, INT, RW, "Seconds between websocket pings; 0 = off."),
    # --- other feature profiles (OCPP 1.6 sections 9.2-9.4) ---
    _key("SupportedFileTransferProtocols", "FirmwareManagement", CSV, RO, "Protocols for firmware and diagnostics.",
         members=frozenset({"FTP", "FTPS", "HTTP", "HTTPS"})),
    _key("LocalAuthListEnabled", "LocalAuthListManagement", BOOL, RW, "Use the local authorization list.",
         required=True),
    _key("LocalAuthListMaxLength", "LocalAuthListManagement", INT, RO, "Most entries in the local list.",
         required=True),
    _key("SendLocalListMaxLength", "LocalAuthListManagement", INT, RO, "Most entries in one SendLocalList.",
         required=True),
    _key("ReserveConnectorZeroSupported", "Reservation", BOOL, RO, "Reservations of connector 0 are possible."),
    _key("ChargeProfileMaxStackLevel", "SmartCharging", INT, RO, "Highest stackLevel of a charging profile.",
         required=True),
    _key("ChargingScheduleAllowedChargingRateUnit", "SmartCharging", CSV, RO, "Units a schedule may use.",
         required=True, default="Current,Power", members=frozenset({"Current", "Power"})),
    _key("ChargingScheduleMaxPeriods", "SmartCharging", INT, RO, "Most periods in one schedule.", required=True,
         default=1440),
    _key("ConnectorSwitch3to1PhaseSupported", "SmartCharging", BOOL, RO, "Can switch from 3 to 1 phase in a tx."),
    _key("MaxChargingProfilesInstalled", "SmartCharging", INT, RO, "Most charging profiles installed at once.",
         required=True, default=500),
    # --- Security whitepaper (edition 2) ---
    _key("AdditionalRootCertificateCheck", "Security", BOOL, RO, "Root certificate replacement needs a fallback."),
    _key("AuthorizationKey", "Security", STR, WO, "Basic auth password (SecurityProfile 1/2); hex is decoded.",
         min_length=AUTHORIZATION_KEY_MIN_LENGTH, max_length=AUTHORIZATION_KEY_MAX_LENGTH),
    _key("CertificateSignedMaxChainSize", "Security", INT, RO, "Largest CertificateSigned chain, bytes.",
         maximum=10000),
    _key("CertificateStoreMaxLength", "Security", INT, RO, "Most installed root certificates."),
    _key("CpoName", "Security", STR, RW, "Organization name put in the CSR of the CSMS client certificate.",
         max_length=64, reported_unset=True),
    _key("SecurityProfile", "Security", INT, RW, "0 none, 1 Basic auth, 2 TLS + Basic auth, 3 mutual TLS.",
         required=True, default=0, maximum=3, check=_security_profile),
    _key("DisableSecurityEventNotifications", "Security", BOOL, RW, "Do not send SecurityEventNotification.",
         default=False),
    # --- ISO 15118 Plug&Charge with OCPP 1.6 (application note) ---
    _key("ISO15118CertificateManagementEnabled", "PnC", BOOL, RO, "Handle ISO 15118 certificate requests.",
         default=False),
    _key("ISO15118PnCEnabled", "PnC", BOOL, RO, "Plug&Charge enabled.", required=True),
    _key("CentralContractValidationAllowed", "PnC", BOOL, RO, "The CSMS may validate contract certificates."),
    _key("CertSigningWaitMinimum", "PnC", INT, RW, "Seconds before retrying a SignCertificate."),
    _key("CertSigningRepeatTimes", "PnC", INT, RW, "SignCertificate retries."),
    _key("ContractValidationOffline", "PnC", BOOL, RO, "Validate contract certificates locally when offline.",
         required=True),
    # --- California pricing (application note) ---
    _key("CustomDisplayCostAndPrice", "CostAndPrice", BOOL, RO, "Show cost and price.", required=True),
    _key("NumberOfDecimalsForCostValues", "CostAndPrice", INT, RO, "Decimals of cost values."),
    _key("DefaultPrice", "CostAndPrice", OBJ, RO, "Price used offline; JSON object.", object_schema=_PRICE_SCHEMA),
    _key("DefaultPriceText", "CostAndPrice", OBJ, RO, "Price texts per language; JSON object.",
         object_schema=_PRICE_TEXT_SCHEMA),
    _key("TimeOffset", "CostAndPrice", STR, RO, "Local time offset for display, e.g. +01:00.", min_length=1,
         max_length=10),
    _key("NextTimeOffsetTransitionDateTime", "CostAndPrice", STR, RO, "When the offset changes next.",
         min_length=1, max_length=40),
    _key("TimeOffsetNextTransition", "CostAndPrice", STR, RO, "Offset after the next transition.", min_length=1,
         max_length=40),
    _key("CustomIdleFeeAfterStop", "CostAndPrice", BOOL, RO, "Idle fee keeps running after the stop."),
    _key("SupportedLanguages", "CostAndPrice", CSV, RO, "Languages of price texts."),
    _key("CustomMultiLanguageMessages", "CostAndPrice", BOOL, RO, "Price messages come in several languages."),
    _key("Language", "CostAndPrice", STR, RO, "Default language of price texts.", min_length=1),
    _key("WaitForSetUserPriceTimeout", "CostAndPrice", INT, RO, "Milliseconds to wait for a user price.",
         maximum=30000),
)


NO_EFFECT = "kept for file compatibility, no effect"
_PNC = f"{NO_EFFECT} (ISO 15118 Plug&Charge is not implemented)"
_PRICING = f"{NO_EFFECT} (the California pricing display is not implemented)"
_SMART = "SmartCharging profile: the next composite schedule"
EFFECTS: dict[str, str] = {
    # Internal
    "ChargePointId": "identity: URL path, Basic auth user, database file",
    "CentralSystemURI": "where the link connects; a change (module interface) reconnects at once",
    "HostName": "sent as the User-Host header of the websocket handshake",
    "IFace": f"{NO_EFFECT} (the websocket uses the route the system chooses)",
    "SupportedCiphers12": "the TLS 1.2 cipher list of the next TLS connection",
    "SupportedCiphers13": NO_EFFECT,
    "UseTPM": f"{NO_EFFECT} (keys are files of the certificate store)",
    "UseTPMSeccLeafCertificate": _PNC,
    "UseSslDefaultVerifyPaths": "the system trust store is used besides the installed CSMS roots",
    "VerifyCsmsCommonName": "the CSMS certificate must name the host (next TLS connection)",
    "VerifyCsmsAllowWildcards": "a wildcard name may match the host (next TLS connection)",
    "RetryBackoffRandomRange": "the next reconnect back-off",
    "RetryBackoffRepeatTimes": "the next reconnect back-off",
    "RetryBackoffWaitMinimum": "the next reconnect back-off",
    "WebsocketPingPayload": "the data of every websocket ping",
    "WebsocketPongTimeout": "a ping without pong within this time drops the connection",
    "AuthorizeConnectorZeroOnConnectorOne": NO_EFFECT,
    "LogMessages": "writes the message log (messages.jsonl / .html) in MessageLogPath",
    "LogMessagesRaw": f"{NO_EFFECT} (every frame is logged as it was sent or received)",
    "LogMessagesFormat": "log / console: messages.jsonl, html: messages.html, callback: the ocpp_message var",
    "LogRotation": f"{NO_EFFECT} (rotation follows LogRotationMaximumFileSize / Count)",
    "LogRotationDateSuffix": f"{NO_EFFECT} (rotated files are numbered)",
    "LogRotationMaximumFileSize": "message and security logs rotate past this size",
    "LogRotationMaximumFileCount": "rotated message and security logs kept",
    "QueueAllMessages": "other CALLs are queued while offline too",
    "MessageTypesDiscardForQueueing": "these actions are never queued, even with QueueAllMessages",
    "MessageQueueSizeThreshold": "past this many queued messages, queued normal CALLs go first, then intermediate "
                                 "MeterValues",
    "MaxMessageSize": "a longer StopTransaction has its transactionData thinned to fit",
    "TLSKeylogFile": NO_EFFECT,
    "EnableTLSKeylog": f"{NO_EFFECT} (TLS session keys are never written)",
    "StopTransactionIfUnlockNotSupported": (
        "UnlockConnector answered NotSupported (an EVSE without a connector lock) still ends the running "
        "transaction (UnlockCommand), after the answer"),
    "MeterPublicKeys": (
        "filled from each EVSE's powermeter_public_key_ocmf and kept in the user config; GetConfiguration "
        "reports it as MeterPublicKey[connector] (Eichrecht)"),
    "OcspRequestInterval": _PNC,
    "ConnectorEvseIds": _PNC,
    "SeccLeafSubjectCommonName": "Security: the next SignCertificate CSR",
    "SeccLeafSubjectCountry": "Security: the next SignCertificate CSR",
    "SeccLeafSubjectOrganization": "Security: the next SignCertificate CSR",
    "IgnoredProfilePurposesOffline": _SMART,
    "CompositeScheduleDefaultLimitAmps": _SMART,
    "CompositeScheduleDefaultLimitWatts": _SMART,
    "CompositeScheduleDefaultNumberPhases": _SMART,
    "SupplyVoltage": _SMART,
    "AllowChargingProfileWithoutStartSchedule": "SmartCharging profile: the next SetChargingProfile",
    "WaitForStopTransactionsOnResetTimeout": "the next Reset",
    # Core
    "AllowOfflineTxForUnknownId": "the next authorization",
    "AuthorizationCacheEnabled": "the next authorization",
    "AuthorizeRemoteTxRequests": "the next RemoteStartTransaction",
    "BlinkRepeat": f"{NO_EFFECT} (no lighting is driven)",
    "LightIntensity": f"{NO_EFFECT} (no lighting is driven)",
    "ClockAlignedDataInterval": "at once: the aligned timer restarts",
    "ConnectionTimeOut": "at once: handed to the auth module",
    "ConnectorPhaseRotation": "informational: stored and reported, as OCPP 1.6 defines it",
    "HeartbeatInterval": "at once",
    "LocalAuthorizeOffline": "the next authorization",
    "LocalPreAuthorize": "the next authorization",
    "MaxEnergyOnInvalidId": "the next idTag the CSMS refuses in a running transaction",
    "MeterValuesAlignedData": "the next clock-aligned sample",
    "MeterValuesSampledData": "the next sample",
    "MeterValueSampleInterval": "the next sample",
    "MinimumStatusDuration": "the next status change",
    "ResetRetries": "the next Reset",
    "StopTransactionOnEVSideDisconnect": "reported only: the EVSE manager decides what an EV-side unplug does",
    "StopTransactionOnInvalidId": "the next idTag the CSMS refuses in a running transaction",
    "StopTxnAlignedData": "the next clock-aligned sample",
    "StopTxnSampledData": "the next sample",
    "TransactionMessageAttempts": "at once (queue)",
    "TransactionMessageRetryInterval": "at once (queue)",
    "UnlockConnectorOnEVSideDisconnect": "the next EV-side unplug",
    "WebSocketPingInterval": "at once",
    "LocalAuthListEnabled": "at once",
    # Security
    "AuthorizationKey": "reconnects with it at once under profiles 1 and 2",
    "CpoName": "the next SignCertificate CSR",
    "SecurityProfile": "an accepted upgrade reconnects at once; a failed one falls back",
    "DisableSecurityEventNotifications": "the next security event",
    "CertSigningWaitMinimum": "the next SignCertificate",
    "CertSigningRepeatTimes": "the next SignCertificate",
    "ISO15118CertificateManagementEnabled": _PNC,
    "ISO15118PnCEnabled": _PNC,
    "CentralContractValidationAllowed": _PNC,
    "ContractValidationOffline": _PNC,
    # CostAndPrice
    **dict.fromkeys(("CustomDisplayCostAndPrice", "NumberOfDecimalsForCostValues", "DefaultPrice", "DefaultPriceText",
                     "TimeOffset", "NextTimeOffsetTransitionDateTime", "TimeOffsetNextTransition",
                     "CustomIdleFeeAfterStop", "SupportedLanguages", "CustomMultiLanguageMessages", "Language",
                     "WaitForSetUserPriceTimeout"), _PRICING),
}
"""Keys without an entry are fixed values the module reads (bounds, supported lists, identities)."""
KEYS = tuple(replace(spec, effect=EFFECTS.get(spec.name, "")) for spec in KEYS)

KEYS_BY_NAME: dict[str, KeySpec] = {spec.name: spec for spec in KEYS}


def custom_key(name: str, value: Any) -> KeySpec:
    """A vendor key from the Custom section: typed by its JSON value, read-only (no vendor schema is read)."""
    if isinstance(value, bool):
        kind = BOOL
    elif isinstance(value, int):
        kind = INT
    elif isinstance(value, float):
        kind = NUM
    elif isinstance(value, list):
        kind = ARR
    elif isinstance(value, dict):
        kind = OBJ
    else:
        kind = STR
    return KeySpec(name, "Custom", kind, RO, "Vendor key from the Custom section.")
