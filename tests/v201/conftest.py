"""A 2.0.1 charging station in process (module/v201/station.py: link, queue, device model, provisioning) on its
SQLite file, its system module played by a recorder, against the local CSMS in 2.0.1 mode."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from module.clock import Clock, monotonic_clock
from module.queue.database import Database
from module.v201.device_model.device_model import DeviceModel
from module.v201.station import Station201
from sim.csms.server import LocalCsms

STATION_ID = "CS201"
BOOT = {"reason": "PowerUp", "chargingStation": {"model": "SimModel", "vendorName": "SimVendor"}}


@dataclass
class RecordingSystem:
    """The system module's side of the SystemPort: records what the station asks."""

    reset_allowed: bool = True
    calls: list[tuple[str, str]] = field(default_factory=list)
    reset_done: asyncio.Event = field(default_factory=asyncio.Event)

    async def is_reset_allowed(self, reset_type: str) -> bool:
        return self.reset_allowed

    async def reset(self, reset_type: str) -> None:
        self.calls.append(("reset", reset_type))
        self.reset_done.set()

    async def set_system_time(self, timestamp: str) -> bool:
        self.calls.append(("set_system_time", timestamp))
        return True


def shipped_for(csms: LocalCsms) -> dict[str, dict[str, str]]:
    profiles = [{"configurationSlot": 1, "connectionData": {
        "ocppCsmsUrl": f"ws://{csms.host}:{csms.port}", "ocppInterface": "Wired0", "ocppTransport": "JSON",
        "ocppVersion": "OCPP20", "securityProfile": 0}}]
    return {"InternalCtrlr/ChargePointId": {"Actual": STATION_ID},
            "InternalCtrlr/NetworkConnectionProfiles": {"Actual": json.dumps(profiles)},
            "OCPPCommCtrlr/RetryBackOffWaitMinimum": {"Actual": "0"},
            "OCPPCommCtrlr/RetryBackOffRandomRange": {"Actual": "0"},
            # the aligned boundaries follow the wall clock, which a test's manual clock does not move with: left
            # on, a clock-aligned sample would fall at a random moment of a test; the tests of it switch it on
            "AlignedDataCtrlr/Interval": {"Actual": "0"}}


@pytest.fixture
async def csms() -> AsyncIterator[LocalCsms]:
    async with LocalCsms(call_timeout=5, ocpp_version="2.0.1") as server:
        yield server


@dataclass
class RecordingEvses:
    """The EVSE managers' commands: each enable_disable recorded in `calls` (`refuse` makes them answer False),
    stop_transaction and force_unlock in `commands`; `has_lock` is what force_unlock answers."""

    calls: list[tuple[int, bool]] = field(default_factory=list)
    commands: list[tuple[str, int, str]] = field(default_factory=list)
    refuse: bool = False
    has_lock: bool = True
    stopped: asyncio.Event = field(default_factory=asyncio.Event)

    async def set_available(self, evse_id: int, operative: bool) -> bool:
        self.calls.append((evse_id, operative))
        return not self.refuse

    async def stop_transaction(self, evse_id: int, reason: str) -> bool:
        self.commands.append(("stop_transaction", evse_id, reason))
        self.stopped.set()
        return True

    async def force_unlock(self, evse_id: int) -> bool:
        self.commands.append(("force_unlock", evse_id, ""))
        return self.has_lock


@dataclass
class RecordingEvents:
    """The vars the module would publish: each transaction event and answer, each boot answer."""

    seen: list[tuple[str, ...]] = field(default_factory=list)
    answered: asyncio.Event = field(default_factory=asyncio.Event)

    def transaction_event(self, event_type: str, evse_id: int, session_id: str, transaction_id: str) -> None:
        self.seen.append(("event", event_type, str(evse_id), session_id))

    def transaction_event_response(self, event_type: str, evse_id: int, session_id: str, transaction_id: str,
                                   response: dict[str, Any]) -> None:
        self.seen.append(("response", event_type, str(evse_id), session_id))
        self.answered.set()

    def boot_notification_response(self, response: dict[str, Any]) -> None:
        self.seen.append(("boot", response["status"]))


@dataclass
class RecordingAuth:
    """The auth module's side of a remote start: the provided tokens."""

    provided: list[tuple[str, list[int] | None, bool, str]] = field(default_factory=list)
    seen: asyncio.Event = field(default_factory=asyncio.Event)

    async def provide_token(self, id_tag: str, connectors: list[int] | None, prevalidated: bool,
                            parent_id_tag: str | None = None, token_type: str = "Central") -> None:
        self.provided.append((id_tag, connectors, prevalidated, token_type))
        self.seen.set()


@asynccontextmanager
async def running_station(tmp_path: Path, csms: LocalCsms, *, accepted: bool = True,
                          system: RecordingSystem | None = None,
                          shipped: dict[str, dict[str, str]] | None = None,
                          evses: RecordingEvses | None = None,
                          auth: RecordingAuth | None = None,
                          clock: Clock = monotonic_clock,
                          events: RecordingEvents | None = None) -> AsyncIterator[Station201]:
    """The station started against `csms` (its values over `shipped`), with EVSEs 1 and 2 when `evses` is given;
    with `accepted`, once its BootNotification was accepted."""
    db = Database.open(tmp_path, STATION_ID)
    station = Station201(DeviceModel(db, shipped={**shipped_for(csms), **(shipped or {})}), db,
                         system or RecordingSystem(), evse_ids=[1, 2] if evses else None, evses=evses,
                         auth=auth, clock=clock, events=events)
    await station.start()
    try:
        if accepted:
            await station.queue.registration.wait_accepted()
        yield station
    finally:
        if station.running:
            await station.stop()
        db.close()


@pytest.fixture
async def station(tmp_path: Path, csms: LocalCsms) -> AsyncIterator[Station201]:
    async with running_station(tmp_path, csms) as started:
        yield started
