"""The in-process core test layer: the real ChargePoint (core + link + queue + SQLite file) against the local
CSMS on loopback, with the charger's modules played by `SimCharger` and time moved by a ManualClock.

A test here runs in milliseconds; tests/e2e keeps what needs processes and MQTT.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from module.clock import Clock
from module.config.loader import load_config
from module.core.charge_point import ChargePoint
from module.core.context import SchedulePublishing
from module.core.inputs import BootInfo, SessionEvent
from module.core.ports import CompositeSchedule, Ports
from module.core.profiles import profile_names
from module.core.timestamps import utc_now
from module.link.link import OcppLink
from module.link.protocol import OCPP16
from module.link.settings import LinkSettings
from module.queue.database import Database
from sim.csms.server import LocalCsms
from tests.config.config_testkit import BASE, write_json
from tests.manual_clock import ManualClock

CP_ID = "CP1"


@dataclass
class SimEvse:
    """One connector's session as an EVSE manager would report it."""

    connector_id: int
    energy_wh: float = 1000.0
    session_id: str | None = None
    charging: bool = False


@dataclass
class SimCharger:
    """Every port of the core, as a small simulated charger: commands are recorded, and a stop_transaction ends
    the session the way an EVSE manager does (TransactionFinished with the reason and the meter reading)."""

    connector_ids: list[int]
    commands: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    published: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    reset_allowed: bool = True
    unlock_works: bool = True
    set_available_works: bool = True
    data_transfer_answer: dict[str, Any] | None = None
    charge_point: ChargePoint | None = None
    evses: dict[int, SimEvse] = field(default_factory=dict)
    limits: dict[int, list[CompositeSchedule]] = field(default_factory=dict)
    """What each connector's energy sink (0: the site's) received, oldest first."""
    _sessions: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    _command_seen: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.evses = {cid: SimEvse(cid) for cid in self.connector_ids}

    def _record(self, name: str, *args: Any) -> None:
        self.commands.append((name, args))
        self._command_seen.set()

    def called(self, name: str) -> list[tuple[Any, ...]]:
        return [args for command, args in self.commands if command == name]

    async def wait_called(self, name: str, count: int = 1) -> list[tuple[Any, ...]]:
        """The calls of command `name`, once there are at least `count`."""
        while len(self.called(name)) < count:
            self._command_seen.clear()
            await asyncio.wait_for(self._command_seen.wait(), 5)
        return self.called(name)

    # -- EvsePort -----------------------------------------------------------------------------------------
    async def stop_transaction(self, connector_id: int, reason: str, id_tag: str | None = None) -> bool:
        self._record("stop_transaction", connector_id, reason, id_tag)
        if not self.evses[connector_id].charging:
            return False
        task = asyncio.ensure_future(self.finish(connector_id, reason))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
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

    async def set_system_time(self, timestamp: str) -> bool:
        self._record("set_system_time", timestamp)
        return True

    # -- AuthPort / DataTransferPort ----------------------------------------------------------------------------
    async def provide_token(self, id_tag: str, connectors: list[int] | None, prevalidated: bool) -> None:
        self._record("provide_token", id_tag, connectors, prevalidated)

    async def set_connection_timeout(self, seconds: int) -> None:
        self._record("set_connection_timeout", seconds)

    async def data_transfer(self, request: dict[str, Any]) -> dict[str, Any] | None:
        self._record("data_transfer", request)
        return self.data_transfer_answer

    # -- EventPort ------------------------------------------------------------------------------------------
    def connection_changed(self, connected: bool) -> None:
        self.published.append(("connection_changed", (connected,)))

    def boot_notification_response(self, response: dict[str, Any]) -> None:
        self.published.append(("boot_notification_response", (response,)))

    def transaction_event(self, *args: Any) -> None:
        self.published.append(("transaction_event", args))

    def transaction_event_response(self, *args: Any) -> None:
        self.published.append(("transaction_event_response", args))

    def validate_result_update(self, *args: Any) -> None:
        self.published.append(("validate_result_update", args))

    def security_event(self, *args: Any) -> None:
        self.published.append(("security_event", args))

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

    async def plug_in(self, connector_id: int) -> None:
        self.evses[connector_id].session_id = f"session-{next(self._sessions)}"
        await self.event(connector_id, "SessionStarted", reason="EVConnected")

    async def start(self, connector_id: int, id_tag: str) -> None:
        """The driver is authorized: the transaction starts and the car charges."""
        evse = self.evses[connector_id]
        evse.charging = True
        await self.event(connector_id, "TransactionStarted", id_tag=id_tag, meter=self.reading(connector_id))
        await self.event(connector_id, "ChargingStarted")

    def draw(self, connector_id: int, wh: float) -> None:
        """The car takes energy; the meter reports it."""
        assert self.charge_point is not None
        self.evses[connector_id].energy_wh += wh
        self.charge_point.core.transactions.on_reading(connector_id, self.reading(connector_id))

    async def finish(self, connector_id: int, reason: str, id_tag: str | None = None) -> None:
        self.evses[connector_id].charging = False
        await self.event(connector_id, "TransactionFinished", reason=reason, id_tag=id_tag,
                         meter=self.reading(connector_id))

    async def unplug(self, connector_id: int) -> None:
        await self.event(connector_id, "SessionFinished")
        self.evses[connector_id].session_id = None

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

    async def call(self, action: str, payload: dict[str, Any]) -> Any:
        """A CALL from the CSMS; returns the charge point's answer."""
        return await self.csms.call(CP_ID, action, payload)


ON_CHANGE_ONLY = SchedulePublishing(interval_s=0)
"""Composite schedules only when something changed, so no timer of their own runs on the manual clock."""


def build_charge_point(tmp_path: Path, csms_url: str, clock: Clock, *, connectors: int = 2,
                       config: dict[str, Any] | None = None,
                       schedule_publishing: SchedulePublishing = ON_CHANGE_ONLY) -> tuple[ChargePoint, SimCharger]:
    """The charge point `CP_ID` over the SQLite file in `tmp_path`, its ports played by a SimCharger; `config`
    overlays the base ocpp-config.json (section -> key -> value)."""
    overlay: dict[str, dict[str, Any]] = {"Internal": {"ChargePointId": CP_ID,
                                                       "CentralSystemURI": csms_url.removesuffix("/")}}
    for section, keys in (config or {}).items():
        overlay.setdefault(section, {}).update(keys)
    user = write_json(tmp_path / "user-config.json", overlay)
    connector_ids = list(range(1, connectors + 1))
    cfg = load_config(BASE, user, number_of_connectors=connectors, implemented_profiles=profile_names())
    link = OcppLink(LinkSettings(central_system_uri=cfg.get("CentralSystemURI"), charge_point_id=CP_ID,
                                 retry_backoff_wait_minimum=0, retry_backoff_random_range=0), OCPP16, clock=clock)
    charger = SimCharger(connector_ids)
    ports = Ports(evse=charger, system=charger, auth=charger, data_transfer=charger, events=charger,
                  energy_sink=charger)
    charge_point = ChargePoint(cfg, link, Database.open(tmp_path, CP_ID), ports, connector_ids,
                               BootInfo(vendor="SimVendor", model="SimModel"), clock=clock,
                               schedule_publishing=schedule_publishing)
    charger.charge_point = charge_point
    return charge_point, charger


@asynccontextmanager
async def station(tmp_path: Path, csms: LocalCsms, *, connectors: int = 2, config: dict[str, Any] | None = None,
                  boot: bool = True, schedule_publishing: SchedulePublishing = ON_CHANGE_ONLY
                  ) -> AsyncIterator[Station]:
    """A started charge point with `connectors` connectors and a manual clock; with `boot` it returns once the
    CSMS accepted the BootNotification and every connector's first StatusNotification arrived."""
    clock = ManualClock()
    charge_point, charger = build_charge_point(tmp_path, csms.url, clock, connectors=connectors, config=config,
                                               schedule_publishing=schedule_publishing)
    mark = csms.mark()
    await charge_point.start()
    if boot:
        await csms.wait_for("StatusNotification", lambda p: p["connectorId"] == connectors, after_index=mark)
    try:
        yield Station(charge_point, charger, csms, clock)
    finally:
        if charge_point.running:
            await charge_point.stop()
