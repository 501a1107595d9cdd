"""EVerest `session_event` names to connector status events, as EVerest's OCPP module maps them (section 3a)."""

from __future__ import annotations

from module.core.connector_status import Event, Status

SIMPLE: dict[str, Event] = {
    "ChargingStarted": Event.START_CHARGING,
    "ChargingPausedEV": Event.PAUSE_CHARGING_EV,
    "ChargingPausedEVSE": Event.PAUSE_CHARGING_EVSE,
    "SwitchingPhases": Event.PAUSE_CHARGING_EVSE,
    "Disabled": Event.CHANGE_AVAILABILITY_TO_UNAVAILABLE,
    "ReservationStart": Event.RESERVE_CONNECTOR,
    "ReservationEnd": Event.RESERVATION_END,
}


def session_started_event(state: Status, reason: str | None) -> Event | None:
    """A reserved connector only goes to Preparing when the session started by authorization, not by plug-in."""
    if state == Status.RESERVED and reason != "Authorized":
        return None
    return Event.USAGE_INITIATED


def transaction_started_event(state: Status) -> Event | None:
    """A transaction that consumes the reservation (the car was plugged in first, so the connector stayed
    Reserved) goes through Preparing; the EVSE clears its reservation without a ReservationEnd."""
    return Event.USAGE_INITIATED if state == Status.RESERVED else None


def session_finished_event(state: Status) -> Event | None:
    """The car left: Available, unless the connector is reserved or out of service."""
    if state in (Status.RESERVED, Status.UNAVAILABLE):
        return None
    return Event.BECOME_AVAILABLE
