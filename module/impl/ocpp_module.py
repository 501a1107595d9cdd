"""The OCPP module's life: configuration at start, the EVerest start-up sequence, and stop / restart.

Start-up follows EVerest's OCPP module: subscribe every EVSE var before ModuleReady; after GlobalReady build the
connector map, wait for every EVSE, push ConnectionTimeOut to auth, apply persisted availability, release the
EVSEs, wait DelayOcppStart, read the boot reason, open the link and boot, then replay early events in order.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from framework.errors import CommandError
from framework.module import ErrorEvent, Module
from module.config.charge_point_config import ChargePointConfig
from module.config.errors import ConfigError
from module.config.loader import ensure_folders, load_config
from module.core.charge_point import ChargePoint
from module.core.context import SchedulePublishing
from module.core.error_mapping import RaisedError
from module.core.ports import Ports
from module.core.profiles import firmware, profile_names
from module.core.profiles import security as security_profile
from module.core.profiles.core.security_events import is_critical, within_limits
from module.core.profiles.core.security_log import SecurityLog
from module.core.profiles.firmware.service import FirmwareService
from module.core.profiles.firmware.statuses import UNSIGNED_REQUEST_ID
from module.core.profiles.security.service import SecurityService
from module.core.profiles.security.tls_rules import tls_rules
from module.core.timestamps import utc_now
from module.impl import auth_validator, data_transfer, main, ocpp_generic
from module.impl.events import FrameworkEvents
from module.impl.evse_connections import Evse, EvseConnections, WiringError
from module.impl.paths import resolve
from module.impl.requirements.auth import AuthModule
from module.impl.requirements.charger_information import boot_info
from module.impl.requirements.data_transfer import DataTransferModule
from module.impl.requirements.energy_sink import EnergySinks
from module.impl.requirements.evse_manager import EvseInputs, EvseManagers
from module.impl.requirements.reservation import ReservationModule
from module.impl.requirements.security import SecurityModule
from module.impl.requirements.system import SystemModule
from module.link.link import OcppLink
from module.link.message_log import MessageLog
from module.link.protocol import OCPP16
from module.link.settings import LinkSettings
from module.queue.database import Database

log = logging.getLogger(__name__)

EXTERNAL_CONNECT = "everest_api/ocpp/cmd/connect"
EXTERNAL_DISCONNECT = "everest_api/ocpp/cmd/disconnect"


class OcppModule:
    def __init__(self, mod: Module) -> None:
        self.mod = mod
        self.evses = EvseConnections(mod.requirements("evse_manager"))
        self.config = self._load_config()
        self.charge_point: ChargePoint | None = None
        self._started = asyncio.Event()
        self._early_errors: list[tuple[bool, ErrorEvent]] = []
        self._early_statuses: list[tuple[str, int, str]] = []
        self._statuses_live = False
        self.system = SystemModule(mod)
        self.auth = AuthModule(mod)
        self.events = FrameworkEvents(mod, self.evses)
        self.security = SecurityModule.of(mod)
        self.ports = Ports(evse=EvseManagers(self.evses), system=self.system, firmware=self.system, auth=self.auth,
                           reservation=ReservationModule(mod, self.evses), data_transfer=DataTransferModule(mod),
                           events=self.events, energy_sink=EnergySinks(mod, self.evses),
                           security=self.security)
        self.evse_inputs = EvseInputs(self.evses)
        self.connector_ids: list[int] = []
        self.boot_reason = "PowerUp"
        self._monitored: set[str] = set()
        self._error_origins: dict[str, tuple[str, str, str, str]] = {}
        self.failed = asyncio.Event()

    # -- configuration ----------------------------------------------------------------------------------------
    def _load_config(self) -> ChargePointConfig:
        options = self.mod.config
        base = resolve(options["ChargePointConfigPath"], must_exist=True)
        user = resolve(options["UserConfigPath"], must_exist=True)
        self.database_path = Path(options["DatabasePath"])
        self.message_log_path = Path(options["MessageLogPath"])
        ensure_folders(self.database_path, self.message_log_path, user.parent)
        return load_config(base, user, number_of_connectors=len(self.evses.evses),
                           implemented_profiles=profile_names())

    def monitor_key(self, key: str) -> None:
        """Publish main's `configuration_key` whenever the key changes."""
        if self._watch(key, f"configuration_key {key}"):
            self.config.on_change(key, lambda _key, _value: self._publish_key(key))

    def monitor_variable(self, component_variable: dict[str, Any]) -> None:
        """Publish ocpp_generic's `event_data` for the monitored component variable whenever its key (the
        variable's name, in 1.6) changes; like EVerest, the request's component variable is echoed."""
        key = component_variable["variable"]["name"]
        if self._watch(key, json.dumps(component_variable, sort_keys=True)):
            self.config.on_change(key, lambda _key, _value: self._publish_event_data(key, component_variable))

    def _watch(self, key: str, subscription: str) -> bool:
        """True for a known key not yet watched under this subscription."""
        if subscription in self._monitored or self.config.spec(key) is None:
            return False
        self._monitored.add(subscription)
        return True

    async def _publish_key(self, key: str) -> None:
        key_value = self.config.key_value(key)
        if key_value is not None:
            await self.mod.publish(main.IMPL, "configuration_key", main.ocpp_key_value(key_value))

    async def _publish_event_data(self, key: str, component_variable: dict[str, Any]) -> None:
        key_value = self.config.key_value(key)
        if key_value is not None:
            await self.mod.publish(ocpp_generic.IMPL, "event_data", {
                "component_variable": component_variable, "event_id": len(self._monitored),
                "timestamp": utc_now("milliseconds"), "trigger": "Alerting", "actual_value": key_value.get("value", ""),
                "event_notification_type": "CustomMonitor"})

    # -- wiring before ModuleReady ----------------------------------------------------------------------------
    def wire(self) -> None:
        self.evses.subscribe()
        self.mod.subscribe_global_errors(lambda event: self._on_error(True, event),
                                         lambda event: self._on_error(False, event))
        self.system.subscribe(self._on_system_status)
        main.implement(self.mod, self)
        auth_validator.implement(self.mod, self)
        data_transfer.implement(self.mod, self)
        ocpp_generic.implement(self.mod, self)
        if self.mod.config.get("EnableExternalWebsocketControl"):
            self.mod.subscribe_external(EXTERNAL_CONNECT, lambda _payload: self._websocket(True))
            self.mod.subscribe_external(EXTERNAL_DISCONNECT, lambda _payload: self._websocket(False))

    async def _websocket(self, connect: bool) -> None:
        if self.charge_point is None:
            return
        if connect:
            await self.charge_point.link.connect()
        else:
            await self.charge_point.link.disconnect()

    # -- errors of every module -------------------------------------------------------------------------------
    def _on_error(self, raised: bool, event: ErrorEvent) -> None:
        if self.charge_point is None:
            self._early_errors.append((raised, event))
            return
        connector_id = self._error_connector(event)
        connectors = self.charge_point.core.connectors
        if raised:
            connectors.on_error(connector_id, RaisedError(
                event.uuid, event.type, event.sub_type, event.message,
                f"{event.origin_module}->{event.origin_impl}"))
        else:
            connectors.on_error_cleared(connector_id, self._raised_uuid(connector_id, event))

    def _raised_uuid(self, connector_id: int, event: ErrorEvent) -> str:
        """A cleared error names its raise by type and origin; find the raise it ends."""
        assert self.charge_point is not None
        raised = self.charge_point.core.connectors.active_errors(connector_id)
        if event.uuid in raised:
            return event.uuid
        for uuid in raised:
            if uuid in self._error_origins and self._error_origins[uuid] == _error_key(event):
                return uuid
        return event.uuid

    def _error_connector(self, event: ErrorEvent) -> int:
        if event.state == "Active":
            self._error_origins[event.uuid] = _error_key(event)
        mapping = event.mapping or {}
        local_connector = mapping.get("connector")
        # The EVSE implementation that raised it, else the EVSE its mapping names, else the only EVSE of that
        # module (one module may provide several EVSEs, so the module id alone is not enough).
        for evse in self.evses.evses:
            if (evse.requirement.module_id, evse.requirement.impl_id) == (event.origin_module, event.origin_impl):
                return self.evses.ocpp_connector(evse, local_connector)
        for evse in self.evses.evses:
            if mapping.get("evse") is not None and evse.evse_id == mapping["evse"]:
                return self.evses.ocpp_connector(evse, local_connector)
        same_module = [evse for evse in self.evses.evses if evse.requirement.module_id == event.origin_module]
        if len(same_module) == 1:
            return self.evses.ocpp_connector(same_module[0], local_connector)
        return 0

    # -- firmware and log statuses of the system module -------------------------------------------------------
    async def _on_system_status(self, var: str, request_id: int, status: str) -> None:
        """To the FirmwareManagement service once the charge point runs; kept in order until then."""
        if not self._statuses_live:
            self._early_statuses.append((var, request_id, status))
            return
        await self._deliver_status(var, request_id, status)

    async def _deliver_status(self, var: str, request_id: int, status: str) -> None:
        """By request id: UpdateFirmware / GetDiagnostics have none (-1) and belong to FirmwareManagement, the
        others to the security extension's SignedUpdateFirmware / GetLog."""
        charge_point = self.charge_point
        if charge_point is None or not charge_point.running:
            log.info("system %s %s dropped: the OCPP side is stopped", var, status)
            return
        if request_id != UNSIGNED_REQUEST_ID:
            security = charge_point.services[security_profile.PROFILE.name]
            assert isinstance(security, SecurityService)
            if var == "firmware_update_status":
                await security.transfers.on_firmware_status(request_id, status)
            else:
                await security.transfers.on_log_status(request_id, status)
            return
        service = charge_point.services.get(firmware.PROFILE.name)
        if not isinstance(service, FirmwareService):
            log.info("system %s %s dropped: FirmwareManagement is not in SupportedFeatureProfiles", var, status)
        elif var == "firmware_update_status":
            await service.on_firmware_status(status)
        else:
            await service.on_log_status(status)

    # -- start-up after GlobalReady ---------------------------------------------------------------------------
    async def on_ready(self) -> None:
        try:
            await self._start_up()
        except (WiringError, CommandError, ConfigError) as error:
            log.critical("OCPP start-up failed: %s", error)
            self.failed.set()

    async def _start_up(self) -> None:
        self.connector_ids = await self.evses.build_connector_map()
        await self.evses.wait_ready()
        try:
            await self.auth.set_connection_timeout(self.config.get("ConnectionTimeOut"))
        except CommandError:
            log.warning("auth did not take ConnectionTimeOut")
        self.charge_point = await self._build_charge_point()
        await self.charge_point.core.availability.apply_persisted()
        for evse in self.evses.evses:
            await evse.requirement.call("external_ready_to_start_charging", {}, timeout=30)
        await asyncio.sleep(self.mod.config.get("DelayOcppStart", 0) / 1000)
        try:
            self.boot_reason = await self.system.get_boot_reason()
        except CommandError:
            log.warning("system did not tell the boot reason; assuming PowerUp")
        await self._start_charge_point()

    async def _start_charge_point(self) -> None:
        charge_point = self.charge_point
        assert charge_point is not None
        # SessionResumed events that arrived before the start decide which open transactions continue.
        for _evse, var, value in self.evses.pending():
            if var == "session_event" and isinstance(value, dict) and value.get("event") == "SessionResumed":
                charge_point.core.transactions.resumed_sessions.add(value["uuid"])
        await charge_point.start(self.boot_reason)
        await self.evses.start_delivery(self._deliver)
        for raised, event in self._early_errors:
            self._on_error(raised, event)
        self._early_errors.clear()
        while self._early_statuses:  # statuses arriving meanwhile join the list, so the order holds
            await self._deliver_status(*self._early_statuses.pop(0))
        self._statuses_live = True
        self._started.set()
        await self.security_event(_boot_security_event(self.boot_reason), None)

    async def _build_charge_point(self) -> ChargePoint:
        cfg = self.config
        database = Database.open(self.database_path, cfg.get("ChargePointId"))
        link = OcppLink(await self._link_settings(), OCPP16, message_log=self._message_log())
        return ChargePoint(cfg, link, database, self.ports, self.connector_ids, await boot_info(self.mod, cfg),
                           message_queue_resume_delay=self.mod.config.get("MessageQueueResumeDelay", 0),
                           reset_stop_delay=self.mod.config.get("ResetStopDelay", 0),
                           schedule_publishing=self._schedule_publishing(), security_log=self._security_log())

    def _schedule_publishing(self) -> SchedulePublishing:
        """The Publish* and RequestCompositeScheduleUnit options; a unit other than W means A, as in EVerest."""
        options = self.mod.config
        defaults = SchedulePublishing()
        return SchedulePublishing(
            interval_s=max(0, int(options.get("PublishChargingScheduleIntervalS", defaults.interval_s))),
            duration_s=max(0, int(options.get("PublishChargingScheduleDurationS", defaults.duration_s))),
            unit="W" if options.get("RequestCompositeScheduleUnit") == "W" else "A")

    def _security_log(self) -> SecurityLog:
        """Beside the message logs, rotated by the same keys; kept whether or not messages are logged."""
        return SecurityLog(self.message_log_path, max_file_size=self._rotation_size(),
                           max_files=self.config.get("LogRotationMaximumFileCount") or 5)

    def _rotation_size(self) -> int:
        return int(self.config.get("LogRotationMaximumFileSize") or 10 * 1024 * 1024)

    def _message_log(self) -> MessageLog | None:
        if not self.config.get("LogMessages"):
            return None
        size = self._rotation_size()
        count = self.config.get("LogRotationMaximumFileCount") or 5
        formats = self.config.get("LogMessagesFormat") or ["log", "html"]
        return MessageLog(self.message_log_path, max_file_size=size, max_files=count,
                          jsonl=any(f in formats for f in ("log", "console")), html_page="html" in formats,
                          on_frame=self.events.ocpp_message if "callback" in formats else None)

    async def _link_settings(self) -> LinkSettings:
        cfg = self.config
        profile = cfg.get("SecurityProfile") or 0
        return LinkSettings(
            central_system_uri=cfg.get("CentralSystemURI"), charge_point_id=cfg.get("ChargePointId"),
            security_profile=profile, authorization_key=cfg.get("AuthorizationKey"),
            ping_interval=cfg.get("WebSocketPingInterval") or 0, pong_timeout=cfg.get("WebsocketPongTimeout") or 5,
            ping_payload=cfg.get("WebsocketPingPayload") or "", host_name=cfg.get("HostName"),
            retry_backoff_wait_minimum=_configured(cfg.get("RetryBackoffWaitMinimum"), 3),
            retry_backoff_random_range=_configured(cfg.get("RetryBackoffRandomRange"), 10),
            retry_backoff_repeat_times=_configured(cfg.get("RetryBackoffRepeatTimes"), 3),
            **tls_rules(cfg), **await self.security.tls_files(profile))

    # -- EVSE vars after start --------------------------------------------------------------------------------
    async def _deliver(self, evse: Evse, var: str, value: Any) -> None:
        charge_point = self.charge_point
        if charge_point is not None and charge_point.running:
            await self.evse_inputs.deliver(charge_point, evse, var, value)

    # -- provided commands ------------------------------------------------------------------------------------
    async def started_charge_point(self, timeout: float = 60.0) -> ChargePoint:
        await asyncio.wait_for(self._started.wait(), timeout)
        assert self.charge_point is not None
        return self.charge_point

    async def stop_ocpp(self) -> bool:
        if self.charge_point is None or not self.charge_point.running:
            return False
        await self.charge_point.stop()
        return True

    async def restart_ocpp(self) -> bool:
        previous = self.charge_point
        if previous is None or previous.running:
            return False
        self.charge_point = await self._build_charge_point()
        self.charge_point.take_over(previous)
        await self.charge_point.start()
        return True

    async def security_event(self, event_type: str, info: str | None, critical: bool | None = None) -> None:
        """Through the core's security events while it runs; before (or after) written to the security log and
        published as a var only. `critical` None: as the whitepaper lists the type."""
        charge_point = self.charge_point
        if charge_point is not None and charge_point.running:
            await charge_point.core.security.report(event_type, info, critical)
            return
        event_type, info = within_limits(event_type, info)
        critical = is_critical(event_type, critical)
        security_log = self._security_log()  # the charge point's own log is closed while it is stopped
        security_log.write(utc_now("milliseconds"), event_type, info, critical)
        security_log.close()
        self.events.security_event(event_type, info, critical)


def _boot_security_event(boot_reason: str) -> str:
    """The critical security event of this start, as libocpp reports it."""
    if boot_reason == "FirmwareUpdate":
        return "FirmwareUpdated"
    return "StartupOfTheDevice" if boot_reason in ("PowerUp", "Unknown") else "ResetOrReboot"


def _error_key(event: ErrorEvent) -> tuple[str, str, str, str]:
    return (event.type, event.sub_type, event.origin_module, event.origin_impl)


def _configured(value: Any, default: Any) -> Any:
    """A key's value, or the default when it is not set (0 is a valid setting, e.g. no random back-off)."""
    return default if value is None else value


async def run() -> int:
    mod = await Module.connect()
    try:
        ocpp = OcppModule(mod)
    except ConfigError as error:
        print(f"OCPP configuration error: {error}", file=sys.stderr)
        await mod.close()
        return 1
    ocpp.wire()
    stopping = asyncio.Event()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signal_number, stopping.set)
    await mod.signal_ready(ocpp.on_ready)
    waits = [asyncio.ensure_future(event.wait()) for event in (ocpp.failed, stopping)]
    running = asyncio.ensure_future(mod.run_forever())
    await asyncio.wait({running, *waits}, return_when=asyncio.FIRST_COMPLETED)
    for waiting in (running, *waits):
        waiting.cancel()
    if stopping.is_set():
        # An orderly stop closes the websocket and the database rather than leaving both to the kernel.
        await ocpp.stop_ocpp()
    await mod.close()
    return 1 if ocpp.failed.is_set() else 0
