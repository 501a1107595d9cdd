"""Connector status machine of OCPP 1.6 (section 4.9 of the spec) with Faulted as an overlay of active faults.

The table follows the transitions a charge point may make; events that make no sense in a state are ignored,
so a late or repeated EVSE event can never produce an impossible StatusNotification.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Status(StrEnum):
    AVAILABLE = "Available"
    PREPARING = "Preparing"
    CHARGING = "Charging"
    SUSPENDED_EVSE = "SuspendedEVSE"
    SUSPENDED_EV = "SuspendedEV"
    FINISHING = "Finishing"
    RESERVED = "Reserved"
    UNAVAILABLE = "Unavailable"
    FAULTED = "Faulted"


class Event(StrEnum):
    USAGE_INITIATED = "UsageInitiated"
    START_CHARGING = "StartCharging"
    PAUSE_CHARGING_EV = "PauseChargingEV"
    PAUSE_CHARGING_EVSE = "PauseChargingEVSE"
    TRANSACTION_STOPPED_AND_USER_ACTION_REQUIRED = "TransactionStoppedAndUserActionRequired"
    BECOME_AVAILABLE = "BecomeAvailable"
    RESERVE_CONNECTOR = "ReserveConnector"
    RESERVATION_END = "ReservationEnd"
    CHANGE_AVAILABILITY_TO_UNAVAILABLE = "ChangeAvailabilityToUnavailable"


S, E = Status, Event
_TRANSITIONS: dict[Status, dict[Event, Status]] = {
    S.AVAILABLE: {
        E.USAGE_INITIATED: S.PREPARING, E.START_CHARGING: S.CHARGING, E.PAUSE_CHARGING_EV: S.SUSPENDED_EV,
        E.PAUSE_CHARGING_EVSE: S.SUSPENDED_EVSE, E.RESERVE_CONNECTOR: S.RESERVED,
        E.CHANGE_AVAILABILITY_TO_UNAVAILABLE: S.UNAVAILABLE,
    },
    S.PREPARING: {
        E.START_CHARGING: S.CHARGING, E.PAUSE_CHARGING_EV: S.SUSPENDED_EV, E.PAUSE_CHARGING_EVSE: S.SUSPENDED_EVSE,
        E.TRANSACTION_STOPPED_AND_USER_ACTION_REQUIRED: S.FINISHING, E.BECOME_AVAILABLE: S.AVAILABLE,
        E.CHANGE_AVAILABILITY_TO_UNAVAILABLE: S.UNAVAILABLE,
    },
    S.CHARGING: {
        E.PAUSE_CHARGING_EV: S.SUSPENDED_EV, E.PAUSE_CHARGING_EVSE: S.SUSPENDED_EVSE,
        E.TRANSACTION_STOPPED_AND_USER_ACTION_REQUIRED: S.FINISHING, E.BECOME_AVAILABLE: S.AVAILABLE,
        E.CHANGE_AVAILABILITY_TO_UNAVAILABLE: S.UNAVAILABLE,
    },
    S.SUSPENDED_EV: {
        E.START_CHARGING: S.CHARGING, E.PAUSE_CHARGING_EVSE: S.SUSPENDED_EVSE,
        E.TRANSACTION_STOPPED_AND_USER_ACTION_REQUIRED: S.FINISHING, E.BECOME_AVAILABLE: S.AVAILABLE,
        E.CHANGE_AVAILABILITY_TO_UNAVAILABLE: S.UNAVAILABLE,
    },
    S.SUSPENDED_EVSE: {
        E.START_CHARGING: S.CHARGING, E.PAUSE_CHARGING_EV: S.SUSPENDED_EV,
        E.TRANSACTION_STOPPED_AND_USER_ACTION_REQUIRED: S.FINISHING, E.BECOME_AVAILABLE: S.AVAILABLE,
        E.CHANGE_AVAILABILITY_TO_UNAVAILABLE: S.UNAVAILABLE,
    },
    S.FINISHING: {
        E.USAGE_INITIATED: S.PREPARING, E.BECOME_AVAILABLE: S.AVAILABLE,
        E.CHANGE_AVAILABILITY_TO_UNAVAILABLE: S.UNAVAILABLE,
    },
    S.RESERVED: {
        E.USAGE_INITIATED: S.PREPARING, E.BECOME_AVAILABLE: S.AVAILABLE, E.RESERVATION_END: S.AVAILABLE,
        E.CHANGE_AVAILABILITY_TO_UNAVAILABLE: S.UNAVAILABLE,
    },
    S.UNAVAILABLE: {
        E.USAGE_INITIATED: S.PREPARING, E.START_CHARGING: S.CHARGING, E.PAUSE_CHARGING_EV: S.SUSPENDED_EV,
        E.PAUSE_CHARGING_EVSE: S.SUSPENDED_EVSE, E.BECOME_AVAILABLE: S.AVAILABLE,
    },
}
# Connector 0 stands for the whole charge point: it is only ever Available, Unavailable or Faulted.
_CONNECTOR_ZERO: dict[Status, dict[Event, Status]] = {
    S.AVAILABLE: {E.CHANGE_AVAILABILITY_TO_UNAVAILABLE: S.UNAVAILABLE},
    S.UNAVAILABLE: {E.BECOME_AVAILABLE: S.AVAILABLE},
}


@dataclass(frozen=True)
class ErrorInfo:
    """An error reported on a connector, already translated to OCPP's StatusNotification fields."""

    uuid: str
    error_code: str = "OtherError"
    info: str | None = None
    vendor_id: str | None = None
    vendor_error_code: str | None = None
    is_fault: bool = False


@dataclass(frozen=True)
class StatusReport:
    """What a StatusNotification for this connector says right now."""

    status: Status
    error_code: str = "NoError"
    info: str | None = None
    vendor_id: str | None = None
    vendor_error_code: str | None = None


@dataclass
class ConnectorStateMachine:
    connector_id: int
    state: Status = Status.AVAILABLE
    errors: dict[str, ErrorInfo] = field(default_factory=dict)
    info: str | None = None

    def handle(self, event: Event, info: str | None = None) -> bool:
        """Apply `event`; True when the underlying state changed."""
        table = _CONNECTOR_ZERO if self.connector_id == 0 else _TRANSITIONS
        target = table.get(self.state, {}).get(event)
        if target is None:
            return False
        self.state, self.info = target, info
        return True

    def raise_error(self, error: ErrorInfo) -> None:
        self.errors[error.uuid] = error

    def clear_error(self, uuid: str) -> bool:
        return self.errors.pop(uuid, None) is not None

    @property
    def faulted(self) -> bool:
        return any(error.is_fault for error in self.errors.values())

    def report(self) -> StatusReport:
        """The reported status: Faulted while a fault is active, else the state, with the newest error's code."""
        status = Status.FAULTED if self.faulted else self.state
        if not self.errors:
            return StatusReport(status, info=self.info)
        latest = list(self.errors.values())[-1]
        return StatusReport(status, latest.error_code, latest.info, latest.vendor_id, latest.vendor_error_code)
