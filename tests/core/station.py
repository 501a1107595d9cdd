"""The in-process core test layer: the real ChargePoint (core + link + queue + SQLite file) against the local
CSMS on loopback, with the charger's modules played by `SimCharger` and time moved by a ManualClock.

A test here runs in milliseconds; tests/e2e keeps what needs processes and MQTT.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from module.clock import Clock
from module.config.loader import load_config
from module.core.charge_point import ChargePoint
from module.core.context import SchedulePublishing
from module.core.inputs import BootInfo, SessionEvent
from module.core.ports import CompositeSchedule, DiagnosticsUpload, FirmwareDownload, Ports, UploadStarted
from module.core.profiles import profile_names
from module.core.profiles.core.security_log import SecurityLog
from module.core.profiles.firmware.service import FirmwareService
from module.core.profiles.firmware.statuses import UNSIGNED_REQUEST_ID
from module.core.profiles.security.service import SecurityService
from module.core.profiles.security.tls_rules import tls_rules
from module.core.timestamps import utc_now
from module.link.link import OcppLink
from module.link.protocol import OCPP16
from module.link.settings import LinkSettings
from module.queue.database import Database
from sim.Auth.reservations import Reservation, admits, check
from sim.csms.server import LocalCsms
from tests.config.config_testkit import BASE, write_json
from tests.core.sim_security import SimSecurity
from tests.manual_clock import ManualClock

CP_ID = "CP1"


@dataclass
class SimEvse:
    """One connector's session as an EVSE manager would report it."""

    connector_id: int
    energy_wh: float = 1000.0
    session_id: str | None = None
    charging: bool = False
    reserved: bool = False
    reservation_id: int | None = None
    """The reservation the next transaction consumes (EVerest's EvseManager keeps it until then)."""
    authorized: str | None = None
    """A token the auth module gave this EVSE before the car came."""
    id_tag: str | None = None
    """The card of the running transaction, and its group as the auth module knows it (from the validation that
    authorized it, or from StartTransaction.conf)."""
    parent_id_tag: str | None = None


@dataclass
class SimCharger:
    """Every port of the core, as a small simulated charger: commands are recorded, and a stop_transaction ends
    the session the way an EVSE manager does (TransactionFinished with the reason and the meter reading).

    Its auth and reservation side follows EVerest's Auth and EvseManager, with the sim Auth's rules
    (sim/Auth/reservations.py; a connector is an EVSE, connector 0 any EVSE): a reservation reserves its EVSE
    (ReservationStart), expires on the clock (ReservationEnd) and is used up when its token is authorized; the
    EVSE then clears it silently when the transaction starts, which carries the reservation id. While the
    reservations for any EVSE need every free EVSE, those EVSEs are reserved too."""

    connector_ids: list[int]
    clock: ManualClock
    commands: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    published: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    reset_allowed: bool = True
    reset_failures: int = 0
    """How many reset commands fail before one works."""
    unlock_works: bool = True
    set_available_works: bool = True
    data_transfer_answer: dict[str, Any] | None = None
    reservation_answer: str | None = None
    """When set, the reservation module answers every reserve_now with it."""
    reservations: dict[int, Reservation] = field(default_factory=dict)
    _expiry: dict[int, asyncio.Task[None]] = field(default_factory=dict)
    firmware_answer: str = "Accepted"
    """What the system module answers update_firmware."""
    log_answer: str = "Accepted"
    log_file_name: str | None = "diagnostics-cp1.tar.gz"
    charge_point: ChargePoint | None = None
    evses: dict[int, SimEvse] = field(default_factory=dict)
    limits: dict[int, list[CompositeSchedule]] = field(default_factory=dict)
    """What each connector's energy sink (0: the site's) received, oldest first."""
    _sessions: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    _command_seen: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.evses = {cid: SimEvse(cid) for cid in self.connector_ids}

    def close(self) -> None:
        """Stop what still runs: expiry timers and pending transaction ends."""
        for task in [*self._expiry.values(), *self._tasks]:
            task.cancel()

    def _record(self, name: str, *args: Any) -> None:
        self.commands.append((name, args))
        self._command_seen.set()

    def _publish(self, name: str, *args: Any) -> None:
        self.published.append((name, args))
        self._command_seen.set()

    def called(self, name: str) -> list[tuple[Any, ...]]:
        return [args for command, args in self.commands if command == name]

    async def wait_called(self, name: str, count: int = 1) -> list[tuple[Any, ...]]:
        """The calls of command `name`, once there are at least `count`."""
        while len(self.called(name)) < count:
            self._command_seen.clear()
            await asyncio.wait_for(self._command_seen.wait(), 5)
        return self.called(name)

    async def wait_published(self, name: str, count: int = 1) -> list[tuple[Any, ...]]:
        """What the core reported as `name` (transaction_event_response ...), once it did at least `count` times."""
        while len(seen := [args for event, args in self.published if event == name]) < count:
            self._command_seen.clear()
            await asyncio.wait_for(self._command_seen.wait(), 5)
        return seen

    def _spawn(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- EvsePort -----------------------------------------------------------------------------------------
    async def stop_transaction(self, connector_id: int, reason: str, id_tag: str | None = None) -> bool:
        self._record("stop_transaction", connector_id, reason, id_tag)
        if not self.evses[connector_id].charging:
            return False
        self._spawn(self.finish(connector_id, reason))
        return True

    async def pause_charging(self, connector_id: int) -> bool:
        self._record("pause_charging", connector_id)
        return True

    async def force_unlock(self, connector_id: int) -> bool:
        self._record("force_unlock", connector_id)
        return self.unlock_works

    async def set_available(self, connector_id: int, available: bool) -> bool:
        self._record("set_available", connector_id, available)
        return self.set_available_works

    # -- SystemPort -----------------------------------------------------------------------------------------
    async def is_reset_allowed(self, reset_type: str) -> bool:
        return self.reset_allowed

    async def reset(self, reset_type: str) -> None:
        self._record("reset", reset_type)
        if self.reset_failures:
            self.reset_failures -= 1
            raise RuntimeError("the system module could not reset")

    async def set_system_time(self, timestamp: str) -> bool:
        self._record("set_system_time", timestamp)
        return True

    # -- FirmwarePort, and the system module's status vars -----------------------------------------------------
    async def update_firmware(self, request: FirmwareDownload) -> str:
        self._record("update_firmware", request)
        return self.firmware_answer

    async def allow_firmware_installation(self) -> None:
        self._record("allow_firmware_installation")

    async def upload_logs(self, request: DiagnosticsUpload) -> UploadStarted:
        self._record("upload_logs", request)
        return UploadStarted(self.log_answer, self.log_file_name)

    async def firmware_status(self, status: str, request_id: int = UNSIGNED_REQUEST_ID) -> None:
        """The system module reports a firmware_update_status; routed by request id as the module does."""
        if request_id == UNSIGNED_REQUEST_ID:
            await self._firmware_service().on_firmware_status(status)
        else:
            await self._security_service().transfers.on_firmware_status(request_id, status)

    async def log_status(self, status: str, request_id: int = UNSIGNED_REQUEST_ID) -> None:
        """The system module reports a log_status."""
        if request_id == UNSIGNED_REQUEST_ID:
            await self._firmware_service().on_log_status(status)
        else:
            await self._security_service().transfers.on_log_status(request_id, status)

    def _firmware_service(self) -> FirmwareService:
        assert self.charge_point is not None
        service = self.charge_point.services["FirmwareManagement"]
        assert isinstance(service, FirmwareService)
        return service

    def _security_service(self) -> SecurityService:
        assert self.charge_point is not None
        service = self.charge_point.services["Security"]
        assert isinstance(service, SecurityService)
        return service

    # -- AuthPort / DataTransferPort ----------------------------------------------------------------------------
    async def provide_token(self, id_tag: str, connectors: list[int] | None, prevalidated: bool,
                            parent_id_tag: str | None = None) -> None:
        """The auth module takes the token (a prevalidated one with the parent it came with) for the first of
        `connectors` (any when None) that lets it charge, preferring a plugged-in car."""
        self._record("provide_token", id_tag, connectors, prevalidated, parent_id_tag)
        self._spawn(self._remote_token(id_tag, connectors or self.connector_ids, prevalidated, parent_id_tag))

    async def _remote_token(self, id_tag: str, connectors: list[int], prevalidated: bool,
                            parent_id_tag: str | None) -> None:
        if not prevalidated:
            info = await self._validate(id_tag)
            if info.get("status") != "Accepted":
                return
            parent_id_tag = info.get("parentIdTag")
        usable = [cid for cid in connectors
                  if self._takes_token(cid) and self._may_use(cid, id_tag, parent_id_tag)[0]]
        plugged = [cid for cid in usable if self.evses[cid].session_id is not None]
        if usable:
            await self._authorize((plugged or usable)[0], id_tag, parent_id_tag)

    async def set_connection_timeout(self, seconds: int) -> None:
        self._record("set_connection_timeout", seconds)

    async def data_transfer(self, request: dict[str, Any]) -> dict[str, Any] | None:
        self._record("data_transfer", request)
        return self.data_transfer_answer

    # -- ReservationPort -----------------------------------------------------------------------------------------
    async def reserve_now(self, reservation_id: int, connector_id: int, id_tag: str, expiry_date: str,
                          parent_id_tag: str | None) -> str:
        self._record("reserve_now", reservation_id, connector_id, id_tag, expiry_date, parent_id_tag)
        if self.reservation_answer is not None:
            return self.reservation_answer
        reservation = Reservation(reservation_id, id_tag, expiry_date, connector_id or None, parent_id_tag)
        if reservation.seconds_left() <= 0:
            return "Rejected"
        others = [r for r in self.reservations.values() if r.reservation_id != reservation_id]
        anywhere = [r for r in others if r.evse_id is None]
        free = [cid for cid in self.connector_ids if self._idle(cid) and not any(r.evse_id == cid for r in others)]
        if connector_id == 0:
            if len(free) <= len(anywhere):
                return "Occupied"
        elif connector_id not in free or len(free) - 1 < len(anywhere):
            return "Occupied"
        previous = self._drop(reservation_id)  # the same id again replaces it
        if previous is not None and previous.evse_id not in (None, connector_id):
            await self._release(previous.evse_id)
        self.reservations[reservation_id] = reservation
        self._expiry[reservation_id] = asyncio.ensure_future(self._expire(reservation))
        if connector_id:
            await self._reserve(connector_id, reservation_id)
        await self._hold_for_any()
        return "Accepted"

    async def cancel_reservation(self, reservation_id: int) -> bool:
        self._record("cancel_reservation", reservation_id)
        reservation = self._drop(reservation_id)
        if reservation is None:
            return False
        await self._end(reservation)
        return True

    async def exists_reservation(self, connector_id: int, id_tag: str, parent_id_tag: str | None) -> str:
        self._record("exists_reservation", connector_id, id_tag, parent_id_tag)
        return check(self.reservations.values(), connector_id, id_tag, parent_id_tag)

    async def _expire(self, reservation: Reservation) -> None:
        await self.clock.sleep(reservation.seconds_left())
        self._expiry.pop(reservation.reservation_id, None)
        if self._drop(reservation.reservation_id) is not None:
            await self._end(reservation)

    def _drop(self, reservation_id: int) -> Reservation | None:
        timer = self._expiry.pop(reservation_id, None)
        if timer is not None and timer is not asyncio.current_task():
            timer.cancel()
        return self.reservations.pop(reservation_id, None)

    async def _end(self, reservation: Reservation) -> None:
        """Cancelled or expired: the EVSE gives up its reservation (ReservationEnd)."""
        if reservation.evse_id is not None:
            await self._release(reservation.evse_id)
        await self._hold_for_any()

    async def _reserve(self, connector_id: int, reservation_id: int | None) -> None:
        evse = self.evses[connector_id]
        evse.reservation_id = reservation_id
        if not evse.reserved:
            evse.reserved = True
            await self._evse_event(connector_id, "ReservationStart")

    async def _release(self, connector_id: int) -> None:
        evse = self.evses[connector_id]
        evse.reservation_id = None
        if evse.reserved:
            evse.reserved = False
            await self._evse_event(connector_id, "ReservationEnd")

    async def _hold_for_any(self) -> None:
        """While the reservations for any EVSE need every free EVSE, those EVSEs are reserved (without an id)."""
        anywhere = [r for r in self.reservations.values() if r.evse_id is None]
        free = self._free()
        for cid in free:
            if anywhere and len(anywhere) >= len(free):
                await self._reserve(cid, None)
            else:
                await self._release(cid)

    def _free(self) -> list[int]:
        """Idle connectors without a reservation of their own."""
        own = {r.evse_id for r in self.reservations.values()}
        return [cid for cid in self.connector_ids if self._idle(cid) and cid not in own]

    def _idle(self, connector_id: int) -> bool:
        """No car, no driver: what a reservation can still count on."""
        evse = self.evses[connector_id]
        return evse.session_id is None and self._takes_token(connector_id)

    def _takes_token(self, connector_id: int) -> bool:
        evse = self.evses[connector_id]
        return not evse.charging and evse.authorized is None

    def _may_use(self, connector_id: int, id_tag: str, parent_id_tag: str | None) -> tuple[bool, int | None]:
        """Whether the token may charge on the connector, and the reservation it uses there."""
        allowed, reservation = admits(self.reservations.values(), connector_id, id_tag, parent_id_tag,
                                      len([cid for cid in self._free() if cid != connector_id]))
        return allowed, None if reservation is None else reservation.reservation_id

    # -- EventPort ------------------------------------------------------------------------------------------
    def connection_changed(self, connected: bool) -> None:
        self._publish("connection_changed", connected)

    def boot_notification_response(self, response: dict[str, Any]) -> None:
        self._publish("boot_notification_response", response)

    def transaction_event(self, *args: Any) -> None:
        self._publish("transaction_event", *args)

    def transaction_event_response(self, *args: Any) -> None:
        self._publish("transaction_event_response", *args)

    def validate_result_update(self, connector_id: int, id_tag_info: dict[str, Any]) -> None:
        """As EVerest's Auth module takes it: a parentIdTag from StartTransaction.conf joins the transaction."""
        self._publish("validate_result_update", connector_id, id_tag_info)
        if id_tag_info.get("parentIdTag"):
            self.evses[connector_id].parent_id_tag = id_tag_info["parentIdTag"]

    def security_event(self, *args: Any) -> None:
        self._publish("security_event", *args)

    # -- EnergySinkPort ---------------------------------------------------------------------------------------
    async def set_limits(self, schedule: CompositeSchedule) -> None:
        self.limits.setdefault(schedule.connector_id, []).append(schedule)
        self._record("set_limits", schedule)

    async def publish_schedules(self, schedules: list[CompositeSchedule]) -> None:
        self.published.append(("charging_schedules", (schedules,)))

    def limit(self, connector_id: int) -> float:
        """The limit the connector's sink was last given for now."""
        return self.limits[connector_id][-1].periods[0].limit

    async def wait_limit(self, connector_id: int, limit: float) -> CompositeSchedule:
        """The latest schedule the connector's sink got, once its limit for now is `limit`."""
        while True:
            sent = self.limits.get(connector_id)
            if sent and sent[-1].periods[0].limit == limit:
                return sent[-1]
            self._command_seen.clear()
            await asyncio.wait_for(self._command_seen.wait(), 5)

    # -- the car and the driver -----------------------------------------------------------------------------
    def reading(self, connector_id: int) -> dict[str, Any]:
        return {"timestamp": utc_now(), "energy_Wh_import": {"total": self.evses[connector_id].energy_wh},
                "power_W": {"total": 11000.0}}

    async def event(self, connector_id: int, kind: str, **details: Any) -> None:
        evse = self.evses[connector_id]
        assert self.charge_point is not None and evse.session_id is not None
        await self.charge_point.on_session_event(connector_id, SessionEvent(
            kind=kind, session_id=evse.session_id, timestamp=utc_now(), **details))

    async def _evse_event(self, connector_id: int, kind: str) -> None:
        """An event outside a session (ReservationStart / ReservationEnd)."""
        assert self.charge_point is not None
        await self.charge_point.on_session_event(connector_id, SessionEvent(
            kind=kind, session_id=self.evses[connector_id].session_id or "", timestamp=utc_now()))

    async def plug_in(self, connector_id: int) -> None:
        """The car plugs in; a driver the auth module authorized before starts charging now."""
        evse = self.evses[connector_id]
        if evse.session_id is None:
            evse.session_id = f"session-{next(self._sessions)}"
            await self.event(connector_id, "SessionStarted", reason="EVConnected")
        if evse.authorized is not None:
            await self.start(connector_id, evse.authorized)

    async def start(self, connector_id: int, id_tag: str) -> None:
        """The driver is authorized: the transaction starts (consuming the EVSE's reservation) and the car
        charges."""
        evse = self.evses[connector_id]
        evse.charging, evse.authorized, evse.id_tag = True, None, id_tag
        reservation_id, evse.reservation_id, evse.reserved = evse.reservation_id, None, False
        await self.event(connector_id, "TransactionStarted", id_tag=id_tag, meter=self.reading(connector_id),
                         reservation_id=reservation_id)
        await self.event(connector_id, "ChargingStarted")
        await self._hold_for_any()

    async def swipe(self, connector_id: int, id_tag: str) -> bool:
        """A card at the connector's reader, as the auth module (EVerest's Auth) handles it: the card of the running
        transaction stops it at once; any other card is validated by the OCPP module (its auth_validator) and then
        stops the running transaction when it has the transaction's parentIdTag (reason Local, the card's idTag on
        StopTransaction), or on a connector without one is let through by the reservations. False when refused."""
        evse = self.evses[connector_id]
        if evse.charging and id_tag == evse.id_tag:
            await self.finish(connector_id, "Local", id_tag)
            return True
        info = await self._validate(id_tag)
        if info.get("status") != "Accepted":
            return False
        if evse.charging:
            if not info.get("parentIdTag") or info["parentIdTag"] != evse.parent_id_tag:
                return False
            await self.finish(connector_id, "Local", id_tag)
            return True
        if not self._takes_token(connector_id):
            return False
        return await self._authorize(connector_id, id_tag, info.get("parentIdTag"))

    async def _validate(self, id_tag: str) -> dict[str, Any]:
        assert self.charge_point is not None
        return await self.charge_point.core.authorization.validate(id_tag)

    async def _authorize(self, connector_id: int, id_tag: str, parent_id_tag: str | None) -> bool:
        """Authorize the EVSE if the reservations let the token charge there; the reservation it uses is consumed
        now (the EVSE keeps its id for the transaction)."""
        allowed, reservation_id = self._may_use(connector_id, id_tag, parent_id_tag)
        if not allowed:
            return False
        evse = self.evses[connector_id]
        evse.authorized, evse.parent_id_tag = id_tag, parent_id_tag
        if reservation_id is not None:
            self._drop(reservation_id)
            evse.reservation_id = reservation_id
            await self._hold_for_any()
        if evse.session_id is None:
            evse.session_id = f"session-{next(self._sessions)}"
            await self.event(connector_id, "SessionStarted", reason="Authorized")
        else:
            await self.start(connector_id, id_tag)
        return True

    def draw(self, connector_id: int, wh: float) -> None:
        """The car takes energy; the meter reports it."""
        assert self.charge_point is not None
        self.evses[connector_id].energy_wh += wh
        self.charge_point.core.transactions.on_reading(connector_id, self.reading(connector_id))

    async def finish(self, connector_id: int, reason: str, id_tag: str | None = None) -> None:
        evse = self.evses[connector_id]
        evse.charging, evse.id_tag, evse.parent_id_tag = False, None, None
        await self.event(connector_id, "TransactionFinished", reason=reason, id_tag=id_tag,
                         meter=self.reading(connector_id))

    async def unplug(self, connector_id: int) -> None:
        await self.event(connector_id, "SessionFinished")
        self.evses[connector_id].session_id = None
        await self._hold_for_any()

    async def session(self, connector_id: int, id_tag: str, wh: float) -> None:
        """Plug in, start, charge `wh`, stop locally, unplug."""
        await self.plug_in(connector_id)
        await self.start(connector_id, id_tag)
        self.draw(connector_id, wh)
        await self.finish(connector_id, "Local", id_tag)
        await self.unplug(connector_id)


@dataclass
class Station:
    charge_point: ChargePoint
    charger: SimCharger
    csms: LocalCsms
    clock: ManualClock
    security: SimSecurity

    async def call(self, action: str, payload: dict[str, Any]) -> Any:
        """A CALL from the CSMS; returns the charge point's answer."""
        return await self.csms.call(CP_ID, action, payload)

    async def go_offline(self) -> None:
        """The CSMS goes away: the socket is closed and new handshakes are refused until `go_online`."""
        self.csms.refuse_connections = True
        await self.csms.drop()
        await self.charge_point.link.wait_disconnected()

    async def go_online(self) -> None:
        """The CSMS takes handshakes again; returns once the charge point is connected."""
        self.csms.refuse_connections = False
        await self.charge_point.link.wait_connected()


ON_CHANGE_ONLY = SchedulePublishing(interval_s=0)
"""Composite schedules only when something changed, so no timer of their own runs on the manual clock."""


def build_charge_point(tmp_path: Path, csms_url: str, clock: Clock, *, connectors: int = 2,
                       config: dict[str, Any] | None = None,
                       schedule_publishing: SchedulePublishing = ON_CHANGE_ONLY,
                       security: SimSecurity | None = None) -> tuple[ChargePoint, SimCharger]:
    """The charge point `CP_ID` over the SQLite file in `tmp_path`, its ports played by a SimCharger and its
    certificate store by `security` (a fresh one in `tmp_path` when None); `config` overlays the base
    ocpp-config.json (section -> key -> value). The link's TLS files are set by `station`."""
    overlay: dict[str, dict[str, Any]] = {"Internal": {"ChargePointId": CP_ID,
                                                       "CentralSystemURI": csms_url.removesuffix("/")},
                                          # the aligned boundaries follow the wall clock, which the manual clock
                                          # does not move with: left on, a clock-aligned sample would fall at a
                                          # random moment of a test (near a quarter hour); its tests switch it on
                                          "Core": {"ClockAlignedDataInterval": 0}}
    for section, keys in (config or {}).items():
        overlay.setdefault(section, {}).update(keys)
    user = write_json(tmp_path / "user-config.json", overlay)
    connector_ids = list(range(1, connectors + 1))
    cfg = load_config(BASE, user, number_of_connectors=connectors, implemented_profiles=profile_names())
    link = OcppLink(LinkSettings(central_system_uri=cfg.get("CentralSystemURI"), charge_point_id=CP_ID,
                                 security_profile=cfg.get("SecurityProfile") or 0,
                                 authorization_key=cfg.get("AuthorizationKey"),
                                 retry_backoff_wait_minimum=0, retry_backoff_random_range=0, **tls_rules(cfg)),
                    OCPP16, clock=clock)
    charger = SimCharger(connector_ids, clock)
    ports = Ports(evse=charger, system=charger, firmware=charger, auth=charger, reservation=charger,
                  data_transfer=charger, events=charger, energy_sink=charger,
                  security=(security or SimSecurity(tmp_path / "certs", CP_ID)).port)
    charge_point = ChargePoint(cfg, link, Database.open(tmp_path, CP_ID), ports, connector_ids,
                               BootInfo(vendor="SimVendor", model="SimModel"), clock=clock,
                               schedule_publishing=schedule_publishing,
                               security_log=SecurityLog(tmp_path / "logs", max_file_size=1 << 20, max_files=2))
    charger.charge_point = charge_point
    return charge_point, charger


@asynccontextmanager
async def station(tmp_path: Path, csms: LocalCsms, *, connectors: int = 2, config: dict[str, Any] | None = None,
                  boot: bool = True, boot_reason: str = "PowerUp",
                  schedule_publishing: SchedulePublishing = ON_CHANGE_ONLY,
                  security: SimSecurity | None = None) -> AsyncIterator[Station]:
    """A started charge point with `connectors` connectors and a manual clock; with `boot` it returns once the
    CSMS accepted the BootNotification and every connector's first StatusNotification arrived. `boot_reason` is
    what the system module says about this start; `security` the certificate store (a fresh one by default),
    whose TLS files the link gets for SecurityProfile 2 and 3, as the module gives them at start."""
    clock = ManualClock()
    security = security or SimSecurity(tmp_path / "certs", CP_ID)
    charge_point, charger = build_charge_point(tmp_path, csms.url, clock, connectors=connectors, config=config,
                                               schedule_publishing=schedule_publishing, security=security)
    charge_point.link.update_settings(**await security.port.tls_files(charge_point.link.settings.security_profile))
    mark = csms.mark()
    await charge_point.start(boot_reason)
    if boot:
        await csms.wait_for("StatusNotification", lambda p: p["connectorId"] == connectors, after_index=mark)
    try:
        yield Station(charge_point, charger, csms, clock, security)
    finally:
        charger.close()
        if charge_point.running:
            await charge_point.stop()
