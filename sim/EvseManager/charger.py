"""The EVSE's charging logic: session and transaction life cycle, publishing EVerest's session events in order.

It follows EVerest's EvseManager (Charger.cpp) for AC basic charging: a session starts at plug-in or at the first
authorization, the transaction starts when both are there, the PWM (power ready for the car) only comes once the
transaction runs and the external ready signal was given, and the session ends when the car leaves.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sim.EvseManager.powermeter import PowerMeter, rfc3339_now

log = logging.getLogger(__name__)

Emit = Callable[[str, Any], Awaitable[None]]

DEFAULT_SOURCE = {"enable_source": "Unspecified", "enable_state": "Unassigned", "enable_priority": 10000}


@dataclass
class EvseSettings:
    evse_id: int = 1
    connector_id: int = 1
    connector_type: str = "cType2"
    max_current_A: float = 32.0
    phases: int = 3
    external_ready: bool = True
    battery_capacity_Wh: float = 60000.0
    initial_soc: float = 30.0
    connector_lock: bool = True


@dataclass
class Car:
    """What the EVSE sees of the car: plug, CP state and the current it wants."""

    plugged: bool = False
    wants_power: bool = False
    current_A: float = 0.0
    phases: int = 3
    regulated: bool = True
    soc: float = 30.0


@dataclass
class Session:
    uuid: str
    authorized: bool = False
    token: dict | None = None
    validation: dict | None = None
    transaction: bool = False
    cancelled: bool = False  # stopped from outside: no new authorization until the car leaves
    charge_state: str | None = None  # Prepare | Charging | PausedEV | PausedEVSE while the transaction runs
    paused_by_evse: bool = False
    history: list[str] = field(default_factory=list)


class Charger:
    """All inputs (car, commands) are async methods run on one event loop, so events come out in order."""

    def __init__(self, settings: EvseSettings, meter: PowerMeter, emit: Emit) -> None:
        self.settings = settings
        self.meter = meter
        self._emit = emit
        self.car = Car(soc=settings.initial_soc)
        self.session: Session | None = None
        self.started = False
        self.ready_to_charge = not settings.external_ready
        self.enabled = True
        self.reservation_id: int | None = None
        self.active_source: dict = dict(DEFAULT_SOURCE)
        self._sources: dict[str, dict] = {}
        self.unlock_requests: list[int] = []
        self.pnc_configuration: dict = {}
        self.max_current_A = settings.max_current_A
        self._power_ready = asyncio.Event()
        self.fault: Callable[[str], Awaitable[Any]] | None = None
        """Raises the EVSE's error when the hardware fails (the module sets it to its raise_error)."""

    # ------------------------------------------------------------ publishing
    async def _event(self, name: str, **payload: Any) -> None:
        event = {"uuid": self.session.uuid if self.session else "", "timestamp": rfc3339_now(),
                 "connector_id": self.settings.connector_id, "event": name, **payload}
        if self.session:
            self.session.history.append(name)
        log.info("session event %s", name)
        await self._emit("session_event", event)

    async def start(self) -> None:
        """Called once the system is up: initial state, then whatever the car did before."""
        self.started = True
        await self._emit("waiting_for_external_ready", not self.ready_to_charge)
        await self._emit("ready", self.ready_to_charge)
        await self._event("Enabled", source=dict(self.active_source))
        if self.car.plugged:
            await self._begin_on_plug()

    # ------------------------------------------------------------ car side
    async def car_plugged_in(self) -> None:
        if self.car.plugged:
            return
        self.car.plugged = True
        log.info("car plugged in")
        if self.started and self.enabled:
            await self._begin_on_plug()

    async def _begin_on_plug(self) -> None:
        if self.session is None:
            await self._start_session("EVConnected")
        if self.session.authorized and not self.session.transaction:
            await self._start_transaction()
        elif not self.session.authorized:
            await self._event("AuthRequired")

    async def car_unplugged(self) -> None:
        if not self.car.plugged:
            return
        self.car.plugged = False
        self.car.wants_power = False
        log.info("car unplugged")
        if self.session is None:
            return
        if self.session.transaction:
            await self._finish_transaction("EVDisconnected", None)
        await self._stop_session()

    async def car_demand(self, current_A: float, phases: int, regulated: bool) -> None:
        car = self.car
        car.wants_power, car.current_A, car.phases, car.regulated = True, current_A, phases, regulated
        await self._update_charging()

    async def car_stop_demand(self) -> None:
        self.car.wants_power = False
        await self._update_charging()

    async def car_diode_fail(self) -> None:
        """The control pilot's diode failed: no energy flows and the EVSE is out of order until it restarts
        (EVerest's board support reports DiodeFault and its EVSE manager becomes Inoperative)."""
        self.car.wants_power = False
        await self._update_charging()
        if self.fault is not None:
            await self.fault("control pilot diode fault")

    async def wait_power_ready(self) -> None:
        await self._power_ready.wait()

    def car_soc(self, soc: float) -> None:
        self.car.soc = max(0.0, min(100.0, soc))

    # ------------------------------------------------------------ session / transaction
    async def _start_session(self, reason: str, id_tag: dict | None = None) -> None:
        self.session = Session(uuid=str(uuid.uuid4()))
        payload: dict[str, Any] = {"reason": reason, "meter_value": self.meter.reading()}
        if id_tag is not None:
            payload["id_tag"] = id_tag
        if self.reservation_id is not None and self.reservation_id >= 0:
            payload["reservation_id"] = self.reservation_id
        await self._event("SessionStarted", session_started=payload)

    async def _stop_session(self) -> None:
        await self._event("SessionFinished", session_finished={"meter_value": self.meter.reading()})
        self.session = None
        self._power_ready.clear()

    async def _start_transaction(self) -> None:
        session = self.session
        session.transaction = True
        session.charge_state = None
        started: dict[str, Any] = {"id_tag": session.token, "meter_value": self.meter.reading()}
        reservation = self.reservation_id
        if reservation is not None and reservation >= 0:
            started["reservation_id"] = reservation
        # The transaction uses the reservation up; as EVerest's EvseManager, without a ReservationEnd, so that
        # OCPP 1.6 goes from Reserved to Preparing rather than to Available.
        self.reservation_id = None
        await self._event("TransactionStarted", transaction_started=started)
        await self._update_charging()

    async def _finish_transaction(self, reason: str, id_tag: dict | None) -> None:
        session = self.session
        self._power_ready.clear()
        self.meter.set_currents(0.0, 3)
        await self._event("ChargingFinished")
        finished: dict[str, Any] = {"meter_value": self.meter.reading(), "reason": reason}
        if id_tag is not None:
            finished["id_tag"] = id_tag
        session.transaction = False
        session.charge_state = None
        session.paused_by_evse = False
        await self._event("TransactionFinished", transaction_finished=finished)

    def _offered_current(self) -> float:
        car = self.car
        return car.current_A if not car.regulated else min(car.current_A, self.max_current_A)

    async def _update_charging(self) -> None:
        """Bring PWM, power and the charging state in line with the inputs; publish a state change."""
        session = self.session
        if session is None or not session.transaction or not self.ready_to_charge:
            self._power_ready.clear()
            self.meter.set_currents(0.0, 3)
            return
        if session.paused_by_evse:
            self._power_ready.clear()
            state = "PausedEVSE"
        else:
            self._power_ready.set()
            if self.car.wants_power and self.car.soc < 100.0:
                state = "Charging"
            else:
                state = "Prepare" if session.charge_state in (None, "Prepare") else "PausedEV"
        if state == "Charging":
            self.meter.set_currents(self._offered_current(), min(self.car.phases, self.settings.phases))
        else:
            self.meter.set_currents(0.0, 3)
        if state == session.charge_state:
            return
        previous, session.charge_state = session.charge_state, state
        if previous is None:
            await self._event("PrepareCharging")
        if state == "Charging":
            await self._event("ChargingStarted")
        elif state == "PausedEV":
            await self._event("ChargingPausedEV")
        elif state == "PausedEVSE":
            await self._event("ChargingPausedEVSE", charging_paused_evse={"reasons": ["UserPause"]})

    async def tick(self) -> dict:
        """Once a second: the meter reading; the car's battery fills and a full car stops drawing."""
        before = self.meter.total_Wh
        reading = self.meter.reading()
        capacity = self.settings.battery_capacity_Wh
        if capacity > 0 and self.car.plugged:
            self.car.soc = min(100.0, self.car.soc + (self.meter.total_Wh - before) / capacity * 100.0)
            if self.car.soc >= 100.0 and self.session and self.session.charge_state == "Charging":
                await self._update_charging()
        return reading

    # ------------------------------------------------------------ commands
    async def authorize_response(self, provided_token: dict, validation_result: dict) -> None:
        status = validation_result.get("authorization_status")
        if status != "Accepted":
            log.info("authorization %s reported for this EVSE: nothing to do", status)
            return
        session = self.session
        if session is not None and (session.cancelled or session.transaction):
            log.warning("ignoring an authorization: the session's transaction was stopped or still runs")
            return
        if session is None:
            await self._start_session("Authorized", provided_token)
            session = self.session
        session.token, session.validation = provided_token, validation_result
        if validation_result.get("reservation_id") is not None:
            # the reservation the auth module matched, also one for any EVSE: the transaction reports it
            self.reservation_id = validation_result["reservation_id"]
        await self._event("Authorized")
        session.authorized = True
        if self.car.plugged and self.started and self.enabled:
            await self._start_transaction()

    async def withdraw_authorization(self) -> None:
        """EVerest's deauthorize: only before the transaction; a plugged car without auth gets PluginTimeout."""
        session = self.session
        if session is None or session.transaction:
            return
        await self._event("Deauthorized")
        if not session.authorized:
            await self._event("PluginTimeout")
            return
        session.authorized = False
        await self.cancel_reservation()  # the authorized driver used the reservation up without charging
        if not self.car.plugged:
            await self._stop_session()

    async def stop_transaction(self, request: dict) -> bool:
        session = self.session
        if session is None or not session.transaction:
            return False
        session.cancelled = True
        session.authorized = False
        await self._finish_transaction(request["reason"], request.get("id_tag"))
        return True

    async def pause_charging(self) -> bool:
        session = self.session
        if session is None or not session.transaction:
            return False
        if not session.paused_by_evse:
            session.paused_by_evse = True
            await self._update_charging()
        return True

    async def resume_charging(self) -> bool:
        session = self.session
        if session is None or not session.transaction or not session.paused_by_evse:
            return False
        session.paused_by_evse = False
        session.charge_state = "PausedEV" if session.charge_state == "PausedEVSE" else session.charge_state
        await self._update_charging()
        return True

    async def external_ready_to_start_charging(self) -> bool:
        if not self.settings.external_ready:
            log.warning("external_ready_to_start_charging ignored: the module is not configured to wait for it")
            return False
        if not self.ready_to_charge:
            self.ready_to_charge = True
            await self._emit("waiting_for_external_ready", False)
            await self._emit("ready", True)
            await self._update_charging()
        return True

    async def limit_current(self, amps: float | None) -> bool:
        """An external cap on the current offered to the car (None lifts it); True when the offer changed."""
        hardware = self.settings.max_current_A
        offered = hardware if amps is None else max(0.0, min(hardware, amps))
        if offered == self.max_current_A:
            return False
        log.info("current offered to the car: %.1f A (hardware %.1f A)", offered, hardware)
        self.max_current_A = offered
        await self._update_charging()
        return True

    async def enable_disable(self, connector_id: int, cmd_source: dict) -> bool:
        """Priority table as in EVerest: the set (non-Unassigned) entry of highest priority (lowest number) wins."""
        previous = self.active_source
        self._sources[cmd_source["enable_source"]] = dict(cmd_source)
        assigned = [s for s in self._sources.values() if s["enable_state"] != "Unassigned"]
        self.active_source = min(assigned, key=lambda s: s["enable_priority"]) if assigned else dict(DEFAULT_SOURCE)
        is_enabled = self.active_source["enable_state"] != "Disable"
        changed = (previous["enable_state"] != self.active_source["enable_state"]
                   and "Disable" in (previous["enable_state"], self.active_source["enable_state"]))
        self.enabled = is_enabled
        if changed:
            await self._event("Enabled" if is_enabled else "Disabled", source=dict(self.active_source))
            if is_enabled and self.car.plugged and self.started:
                await self._begin_on_plug()
        return is_enabled

    async def reserve(self, reservation_id: int) -> bool:
        if not self.enabled or self.session is not None:
            return False
        was_reserved = self.reservation_id is not None
        self.reservation_id = reservation_id
        if not was_reserved:
            await self._event("ReservationStart")
        return True

    async def cancel_reservation(self) -> None:
        if self.reservation_id is None:
            return
        self.reservation_id = None
        await self._event("ReservationEnd")

    async def force_unlock(self, connector_id: int) -> bool:
        """As EVerest's EVSE manager: without a lock (fixed cable) false and the session goes on; with one, a
        running transaction ends (UnlockCommand) and the connector is unlocked."""
        if not self.settings.connector_lock:
            log.info("connector %s has no lock to release", connector_id)
            return False
        await self.stop_transaction({"reason": "UnlockCommand"})
        log.info("connector %s unlocked on request", connector_id)
        self.unlock_requests.append(connector_id)
        return True
