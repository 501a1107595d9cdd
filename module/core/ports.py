"""What the charge point core needs from the charger, one small port per concern, and what it reports.

module/impl fills each port with commands of one required module; the core never knows they become MQTT
commands and vars, and tests drive it with plain objects. A new profile adds its own port here instead of
growing an existing one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, Protocol


class EvsePort(Protocol):
    """The EVSE managers: sessions, power and connectors (connector ids are OCPP's, 0 = the whole station)."""

    async def stop_transaction(self, connector_id: int, reason: str, id_tag: str | None = None) -> bool: ...

    async def pause_charging(self, connector_id: int) -> bool: ...

    async def force_unlock(self, connector_id: int) -> bool: ...

    async def set_available(self, connector_id: int, available: bool) -> bool:
        """Enable or disable a connector on behalf of the CSMS; connector 0 means the whole charge point."""
        ...


class SystemPort(Protocol):
    """The system module: reset and the clock."""

    async def is_reset_allowed(self, reset_type: str) -> bool: ...

    async def reset(self, reset_type: str) -> None: ...

    async def set_system_time(self, timestamp: str) -> bool: ...


@dataclass(frozen=True)
class FirmwareDownload:
    """UpdateFirmware, or the security extension's SignedUpdateFirmware, as the core hands it on: `retries` counts
    the attempts after the first, as in OCPP. A signed update carries the CSMS's request id, the signing
    certificate (PEM) and the signature (base64) the system module checks the downloaded file against."""

    location: str
    retrieve_date: str
    retries: int | None = None
    retry_interval: int | None = None
    request_id: int | None = None
    install_date: str | None = None
    signing_certificate: str | None = None
    signature: str | None = None


@dataclass(frozen=True)
class DiagnosticsUpload:
    """GetDiagnostics, or the security extension's GetLog (with its request id and a log type: DiagnosticsLog or
    SecurityLog), as the core hands it on: `retries` as in FirmwareDownload, the log window as sent."""

    location: str
    retries: int | None = None
    retry_interval: int | None = None
    start_time: str | None = None
    stop_time: str | None = None
    request_id: int | None = None
    log_type: str = "DiagnosticsLog"


@dataclass(frozen=True)
class UploadStarted:
    """The system module's answer to a log upload: Accepted, Rejected or AcceptedCanceled (a running upload was
    cancelled for this one), and the name of the file it uploads."""

    status: str
    file_name: str | None = None


class FirmwarePort(Protocol):
    """The system module's file transfers: firmware download and installation, diagnostics upload."""

    async def update_firmware(self, request: FirmwareDownload) -> str:
        """The system module's answer: Accepted, Rejected, AcceptedCanceled (a running update was cancelled for
        this one), InvalidCertificate or RevokedCertificate."""
        ...

    async def allow_firmware_installation(self) -> None:
        """The connectors are out of service: a downloaded firmware may be installed now."""
        ...

    async def upload_logs(self, request: DiagnosticsUpload) -> UploadStarted:
        ...


class AuthPort(Protocol):
    """The charger's authorization module."""

    async def provide_token(self, id_tag: str, connectors: list[int] | None, prevalidated: bool,
                            parent_id_tag: str | None = None) -> None:
        """Hand a RemoteStartTransaction token to the charger's authorization module; `parent_id_tag` when
        already known, so that a prevalidated token can use a reservation of its group."""
        ...

    async def set_connection_timeout(self, seconds: int) -> None: ...


class ReservationPort(Protocol):
    """The charger's reservation module (EVerest's Auth provides it): it keeps the reservations and their expiry,
    reserves the EVSE, and the EVSE reports ReservationStart / ReservationEnd as session events."""

    async def reserve_now(self, reservation_id: int, connector_id: int, id_tag: str, expiry_date: str,
                          parent_id_tag: str | None) -> str:
        """Accepted, Faulted, Occupied, Rejected or Unavailable; connector 0 reserves any one connector."""
        ...

    async def cancel_reservation(self, reservation_id: int) -> bool:
        """False when no reservation has that id."""
        ...

    async def exists_reservation(self, connector_id: int, id_tag: str, parent_id_tag: str | None) -> str:
        """How the reservations of a connector treat a token: NotReserved, ReservedForToken,
        ReservedForOtherToken or ReservedForOtherTokenAndHasParentToken (a token of the reservation's group may
        use it, so its parentIdTag decides)."""
        ...


class DataTransferPort(Protocol):
    async def data_transfer(self, request: dict[str, Any]) -> dict[str, Any] | None:
        """Forward a CSMS DataTransfer; None when no module handles data transfers."""
        ...


class SecurityPort(Protocol):
    """The charger's certificate store (EVerest's evse_security). Certificate types and hash data are OCPP 1.6's
    (CentralSystemRootCertificate, ManufacturerRootCertificate; hashAlgorithm, issuerNameHash ...); the adapter
    translates them."""

    async def tls_files(self, security_profile: int) -> dict[str, Any]:
        """What the link needs for `security_profile`, as LinkSettings fields (ca_file / ca_dir, and for 3
        client_cert, client_key, client_key_password); empty below 2."""
        ...

    async def csms_root_installed(self) -> bool: ...

    async def client_certificate_valid(self) -> bool:
        """A charge point certificate (and its key) that is valid now is installed: SecurityProfile 3 can work."""
        ...

    async def install_ca_certificate(self, certificate_type: str, certificate: str) -> str:
        """Accepted, Rejected or Failed, as InstallCertificate answers."""
        ...

    async def delete_certificate(self, hash_data: dict[str, Any]) -> str:
        """Accepted, Failed or NotFound, as DeleteCertificate answers."""
        ...

    async def signed_by_csms_root(self, certificate: str) -> bool:
        """The certificate (PEM) is signed by an installed CSMS root (AdditionalRootCertificateCheck)."""
        ...

    async def verify_firmware_signing_certificate(self, certificate: str) -> str:
        """evse_security's verdict on a firmware signing certificate (PEM) against the installed manufacturer
        roots: Valid, or why not (Expired, IssuerNotFound, InvalidSignature, InvalidChain, Unknown)."""
        ...

    async def installed_certificates(self, certificate_type: str) -> list[dict[str, Any]]:
        """The certificateHashData of every installed root of that type."""
        ...

    async def certificate_signing_request(self, organization: str, common_name: str, country: str) -> str | None:
        """A PEM CSR for a new charge point certificate (the store keeps the new key); None when none was made."""
        ...

    async def install_client_certificate(self, chain: str) -> str:
        """Install a signed charge point certificate chain (PEM, leaf first) for the key of the last CSR:
        Accepted, or evse_security's reason (InvalidSignature, InvalidCertificateChain, Expired ...)."""
        ...

    async def client_certificate_days_left(self) -> int:
        """Days until the charge point certificate expires; 0 when there is none."""
        ...


class EventPort(Protocol):
    """What the core reports to the rest of the charger (published as vars of the provided interfaces)."""

    def connection_changed(self, connected: bool) -> None: ...

    def boot_notification_response(self, response: dict[str, Any]) -> None: ...

    def transaction_event(self, event: str, connector_id: int, session_id: str,
                          transaction_id: int | None) -> None:
        """`event` is Started, Updated or Ended, as the ocpp interface's ocpp_transaction_event has it."""
        ...

    def transaction_event_response(self, event: str, connector_id: int, session_id: str,
                                   transaction_id: int | None, id_tag_info: dict[str, Any] | None) -> None:
        """The CSMS answered the message behind `event` (Started: StartTransaction, Ended: StopTransaction)."""
        ...

    def validate_result_update(self, connector_id: int, id_tag_info: dict[str, Any]) -> None: ...

    def security_event(self, event_type: str, info: str | None, critical: bool) -> None: ...


class SchedulePeriod(NamedTuple):
    """One period of a composite schedule: from `start_period` seconds after the schedule's start until the next
    period's start (the last one until the end of the schedule). A tuple: a day of them for 128 connectors is
    made on every recompute."""

    start_period: int
    limit: float
    """In the schedule's unit, to one decimal (as OCPP carries limits)."""
    number_phases: int


@dataclass(frozen=True)
class CompositeSchedule:
    """The limit a connector (0 = the whole site) may draw from `start` on, for `duration` seconds."""

    connector_id: int
    start: datetime
    duration: int
    unit: str
    """"A" or "W"."""
    periods: tuple[SchedulePeriod, ...]
    min_charging_rate: float | None = None
    sources: tuple[tuple[int, int | None], ...] = ()
    """Per period of a connector's schedule: the stackLevel of the charging profile in force at its start and the
    numberPhases that profile's period names (None: it names none, or no profile is in force), as EVerest's
    charging_schedules var reports them; empty for the site's."""


class EnergySinkPort(Protocol):
    """The charger's energy sinks (EVerest's evse_energy_sink connections): where the SmartCharging profile's
    composite schedules become limits on the EVSEs."""

    async def set_limits(self, schedule: CompositeSchedule) -> None:
        """Limit the connector's EVSE (connector 0: the site) to `schedule`; a connector without a sink is left
        alone."""
        ...

    async def publish_schedules(self, schedules: list[CompositeSchedule]) -> None:
        """Tell the rest of the charger every connector's composite schedule (the ocpp interface's
        charging_schedules)."""
        ...


@dataclass(frozen=True)
class Ports:
    """Every port the core uses, handed over once at assembly."""

    evse: EvsePort
    system: SystemPort
    firmware: FirmwarePort
    auth: AuthPort
    reservation: ReservationPort
    data_transfer: DataTransferPort
    events: EventPort
    energy_sink: EnergySinkPort
    security: SecurityPort
