"""The OCPP201 framework module: its options, the requirements it uses (system, security, auth), the provided
interfaces (provided.py), and the 2.0.1 station (module/v201/station.py) started after GlobalReady.

Files: the component config files (DeviceModelConfigPath) give the shipped device model values; what the CSMS or
the station writes goes to DeviceModelDatabasePath, apart from them; queued messages go to
CoreDatabasePath/<ChargePointId>.db. A broken component file or network profile stops the start with one line."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from pathlib import Path

from framework.envelopes import ErrorEvent
from framework.errors import CommandError
from framework.module import Module
from module.core.context import command
from module.core.meter_values import has_energy
from module.impl.evse_connections import Evse, EvseConnections, WiringError
from module.impl.requirements.auth import AuthModule
from module.impl.requirements.evse_manager import EvseManagers
from module.impl.requirements.security import SecurityModule
from module.impl.requirements.system import SystemModule
from module.link.message_log import MessageLog
from module.queue.database import Database
from module.v201.device_model.component_files import ComponentFileError, load_shipped
from module.v201.device_model.device_model import DeviceModel
from module.v201.device_model.variables import VARIABLES, evse_variables
from module.v201.impl import provided
from module.v201.station import NetworkProfileError, Station201, active_network_profile

log = logging.getLogger(__name__)

SHIPPED_CONFIG = Path(__file__).resolve().parents[3] / "config" / "v201"
EXTERNAL_CONNECT = "everest_api/ocpp/cmd/connect"
EXTERNAL_DISCONNECT = "everest_api/ocpp/cmd/disconnect"


def _in(folder: Path, option: str) -> Path:
    path = Path(option).expanduser()
    return path if path.is_absolute() else folder / path


#: where an EVerest session event keeps its details
INOPERATIVE = "evse_manager/Inoperative"
SESSION_DETAILS = {"SessionStarted": "session_started", "TransactionStarted": "transaction_started",
                   "TransactionFinished": "transaction_finished"}


class Events201:
    """The station's reports as the `ocpp` interface's vars on ocpp_generic, shaped as EVerest's OCPP201 module
    publishes them (one connector per EVSE)."""

    def __init__(self, mod: Module) -> None:
        self._mod = mod
        self._tasks: set[asyncio.Future[None]] = set()

    def _publish(self, var: str, value: dict[str, object]) -> None:
        task = asyncio.ensure_future(self._mod.publish(provided.OCPP_GENERIC, var, value))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    def _event(event_type: str, evse_id: int, session_id: str, transaction_id: str) -> dict[str, object]:
        return {"transaction_event": event_type, "evse": {"id": evse_id, "connector_id": 1},
                "session_id": session_id, "transaction_id": transaction_id}

    def transaction_event(self, event_type: str, evse_id: int, session_id: str, transaction_id: str) -> None:
        self._publish("ocpp_transaction_event", self._event(event_type, evse_id, session_id, transaction_id))

    def transaction_event_response(self, event_type: str, evse_id: int, session_id: str, transaction_id: str,
                                   response: dict[str, object]) -> None:
        value: dict[str, object] = {
            "original_transaction_event": self._event(event_type, evse_id, session_id, transaction_id)}
        for ours, theirs in (("total_cost", "totalCost"), ("charging_priority", "chargingPriority")):
            if response.get(theirs) is not None:
                value[ours] = response[theirs]
        self._publish("ocpp_transaction_event_response", value)

    def boot_notification_response(self, response: dict[str, object]) -> None:
        value: dict[str, object] = {"status": response["status"], "current_time": response["currentTime"],
                                    "interval": response["interval"]}
        info = response.get("statusInfo")
        if isinstance(info, dict):
            value["status_info"] = {"reason_code": info.get("reasonCode", ""),
                                    **({"additional_info": info["additionalInfo"]} if "additionalInfo" in info else {})}
        self._publish("boot_notification_response", value)


class EvseManagers201:
    """The station's EvseControl over the evse_manager connections (one connector per EVSE, as EVerest's EVSE
    managers give them to 2.0.1): enable_disable of an EVSE, or of every EVSE for 0."""

    def __init__(self, evses: EvseConnections) -> None:
        self._evses = evses
        self._managers = EvseManagers(evses)

    async def set_available(self, evse_id: int, operative: bool) -> bool:
        connector = 0 if evse_id == 0 else self._evses.ocpp_connector_of(evse_id, 1)
        if connector is None:
            return False
        return await command("enable_disable", self._managers.set_available(connector, operative), False)

    async def stop_transaction(self, evse_id: int, reason: str) -> bool:
        connector = self._evses.ocpp_connector_of(evse_id, 1)
        if connector is None:
            return False
        return await command("stop_transaction", self._managers.stop_transaction(connector, reason), False)

    async def force_unlock(self, evse_id: int) -> bool:
        connector = self._evses.ocpp_connector_of(evse_id, 1)
        if connector is None:
            return False
        return await command("force_unlock", self._managers.force_unlock(connector), False)


class Ocpp201Module:
    def __init__(self, mod: Module) -> None:
        self.mod = mod
        options = mod.config
        self.core_path = Path(options["CoreDatabasePath"])
        self.log_path = Path(options["MessageLogPath"])
        for folder in (self.core_path, self.log_path):
            folder.mkdir(parents=True, exist_ok=True)
        config = Path(options["DeviceModelConfigPath"]).expanduser()
        if not config.is_absolute() and not config.exists():
            config = SHIPPED_CONFIG / config
        model_file = _in(self.core_path, options["DeviceModelDatabasePath"])
        variables = VARIABLES + evse_variables(len(mod.requirements("evse_manager")))
        self.model_db = Database.open(model_file.parent, model_file.stem)
        self.model = DeviceModel(self.model_db, variables, shipped=load_shipped(config, variables))
        active_network_profile(self.model)  # a station that cannot know where to connect does not start
        self.system = SystemModule(mod)
        self.security = SecurityModule.of(mod)
        self.auth = AuthModule(mod)
        self.evses = EvseConnections(mod.requirements("evse_manager"))
        self.evse_ids: list[int] = []
        self.faulted: dict[int, bool] = {}
        self.station: Station201 | None = None
        self._publishing: set[asyncio.Future[None]] = set()
        self.boot_reason = "PowerUp"

    def wire(self) -> None:
        provided.implement(self.mod, self)
        self.evses.subscribe()
        self.mod.subscribe_global_errors(lambda event: self._on_error(True, event),
                                         lambda event: self._on_error(False, event))
        if self.mod.config.get("EnableExternalWebsocketControl"):
            self.mod.subscribe_external(EXTERNAL_CONNECT, lambda _payload: self._websocket(True))
            self.mod.subscribe_external(EXTERNAL_DISCONNECT, lambda _payload: self._websocket(False))

    async def on_ready(self) -> None:
        try:
            self.boot_reason = await self.system.get_boot_reason()
        except CommandError:
            log.warning("system did not tell the boot reason; assuming PowerUp")
        timeout = int(self.model.value_of("TxCtrlr", "EVConnectionTimeOut") or 60)
        await command("set_connection_timeout", self.auth.set_connection_timeout(timeout), None)
        try:
            await self.evses.build_connector_map()
            self.evse_ids = [evse.evse_id for evse in self.evses.evses]
        except (WiringError, CommandError) as error:
            log.critical("EVSEs not usable, the station reports none: %s", error)
        await self.restart_ocpp()
        await self.evses.start_delivery(self._deliver)
        for evse in self.evses.evses:  # as EVerest's OCPP201 module: the EVSEs may charge once OCPP runs
            await command("external_ready_to_start_charging",
                          evse.requirement.call("external_ready_to_start_charging", {}, timeout=30), None)

    async def _on_error(self, raised: bool, event: ErrorEvent) -> None:
        """An EVSE manager's evse_manager/Inoperative makes its connector Faulted until cleared (as the 1.6 module
        maps it); other errors change no status."""
        if event.type != INOPERATIVE:
            return
        for evse in self.evses.evses:
            if (evse.requirement.module_id, evse.requirement.impl_id) == (event.origin_module, event.origin_impl):
                self.faulted[evse.evse_id] = raised
                if self.station is not None and self.station.running and evse.evse_id in self.evse_ids:
                    await self.station.connectors.on_fault(evse.evse_id, raised)

    async def _deliver(self, evse: Evse, var: str, value: object) -> None:
        if self.station is None or not self.station.running:
            return
        if var == "powermeter" and isinstance(value, dict) and has_energy(value):
            self.station.transactions.on_powermeter(evse.evse_id, value)
        elif var == "session_event":
            if isinstance(value, dict) and isinstance(value.get("event"), str):
                kind = value["event"]
                details = value.get(SESSION_DETAILS.get(kind, "")) or {}
                await self.station.on_session_event(evse.evse_id, kind, details, str(value.get("uuid") or ""))
            else:
                log.warning("malformed session_event from %s dropped: %.200r", evse.label, value)

    async def restart_ocpp(self) -> bool:
        if self.station is not None and self.station.running:
            return False
        profile = active_network_profile(self.model)
        tls = await self.security.tls_files(int(profile["connectionData"].get("securityProfile", 0)))
        charge_point_id = self.model.value_of("InternalCtrlr", "ChargePointId") or "cp001"
        station = Station201(self.model, Database.open(self.core_path, charge_point_id), self.system,
                             boot_reason=self.boot_reason, tls=tls, tls_for=self.security.tls_files,
                             message_log=MessageLog(self.log_path), evse_ids=self.evse_ids,
                             evses=EvseManagers201(self.evses), auth=self.auth, events=Events201(self.mod))
        station.link.add_connection_listener(self._connection_changed)
        for evse_id, faulted in self.faulted.items():  # raised before the station existed
            if evse_id in self.evse_ids:
                station.connectors.state(evse_id).faulted = faulted
        self.station = station
        await station.start()
        return True

    async def stop_ocpp(self) -> bool:
        if self.station is None or not self.station.running:
            return False
        await self.station.stop()
        self.station.db.close()
        return True

    def _connection_changed(self, connected: bool) -> None:
        task = asyncio.ensure_future(self.mod.publish(provided.OCPP_GENERIC, "is_connected", connected))
        self._publishing.add(task)
        task.add_done_callback(self._publishing.discard)

    async def _websocket(self, connect: bool) -> None:
        if self.station is not None:
            await (self.station.link.connect() if connect else self.station.link.disconnect())


async def run() -> int:
    mod = await Module.connect()
    try:
        ocpp = Ocpp201Module(mod)
    except (ComponentFileError, NetworkProfileError) as error:
        print(f"OCPP201 configuration error: {error}", file=sys.stderr)
        await mod.close()
        return 1
    ocpp.wire()
    stopping = asyncio.Event()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signal_number, stopping.set)
    await mod.signal_ready(ocpp.on_ready)
    running = asyncio.ensure_future(mod.run_forever())
    waiting = asyncio.ensure_future(stopping.wait())
    await asyncio.wait({running, waiting}, return_when=asyncio.FIRST_COMPLETED)
    for task in (running, waiting):
        task.cancel()
    await ocpp.stop_ocpp()
    ocpp.model_db.close()
    await mod.close()
    return 0


