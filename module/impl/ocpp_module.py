"""The OCPP module's life: configuration at start, the EVerest start-up sequence, and stop / restart.

Start-up follows EVerest's OCPP module: subscribe every EVSE var before ModuleReady; after GlobalReady build the
connector map, wait for every EVSE, push ConnectionTimeOut to auth, apply persisted availability, release the
EVSEs, wait DelayOcppStart, read the boot reason, open the link and boot, then replay early events in order.
"""

from __future__ import annotations

import asyncio
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
from module.core.charge_point import BootInfo, ChargePoint
from module.core.error_mapping import RaisedError
from module.core.meter_values import has_energy
from module.core.timestamps import utc_now
from module.impl import auth_validator, data_transfer, main, ocpp_generic
from module.impl.charger import FrameworkCharger
from module.impl.events import FrameworkEvents
from module.impl.evse_connections import Evse, EvseConnections, WiringError
from module.impl.paths import resolve
from module.link.connection import ConnectFailure
from module.link.link import OcppLink
from module.link.message_log import MessageLog
from module.link.protocol import OCPP16
from module.link.settings import LinkSettings
from module.queue.database import Database

log = logging.getLogger(__name__)

IMPLEMENTED_PROFILES = ("Core", "RemoteTrigger")
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
        self.charger = FrameworkCharger(mod, self.evses)
        self.events = FrameworkEvents(mod, self.evses)
        self.connector_ids: list[int] = []
        self.boot_reason = "PowerUp"
        self._monitored: set[tuple[str, bool]] = set()
        self._error_origins: dict[str, tuple[str, str, str, str]] = {}
        self.failed = asyncio.Event()
        self._reported_failures: set[str] = set()

    # -- configuration ----------------------------------------------------------------------------------------
    def _load_config(self) -> ChargePointConfig:
        options = self.mod.config
        base = resolve(options["ChargePointConfigPath"], must_exist=True)
        user = resolve(options["UserConfigPath"], must_exist=True)
        self.database_path = Path(options["DatabasePath"])
        self.message_log_path = Path(options["MessageLogPath"])
        ensure_folders(self.database_path, self.message_log_path, user.parent)
        return load_config(base, user, number_of_connectors=len(self.evses.evses),
                           implemented_profiles=IMPLEMENTED_PROFILES)

    def monitor_key(self, key: str, generic: bool = False) -> None:
        """Publish `configuration_key` (or the generic `event_data`) whenever the key changes."""
        if (key, generic) in self._monitored or self.config.spec(key) is None:
            return
        self._monitored.add((key, generic))

        async def publish(_key: str, _value: Any) -> None:
            key_value = self.config.key_value(key)
            if key_value is None:
                return
            if generic:
                await self.mod.publish(ocpp_generic.IMPL, "event_data", {
                    "component_variable": {"component": {"name": ""}, "variable": {"name": key}},
                    "event_id": len(self._monitored), "timestamp": utc_now("milliseconds"), "trigger": "Delta",
                    "actual_value": key_value["value"], "event_notification_type": "CustomMonitor"})
            else:
                await self.mod.publish(main.IMPL, "configuration_key", {
                    "key": key, "read_only": key_value["readonly"], "value": key_value["value"]})

        self.config.on_change(key, publish)

    # -- wiring before ModuleReady ----------------------------------------------------------------------------
    def wire(self) -> None:
        self.evses.subscribe()
        self.mod.subscribe_global_errors(lambda event: self._on_error(True, event),
                                         lambda event: self._on_error(False, event))
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
        if raised:
            self.charge_point.on_error(connector_id, RaisedError(
                event.uuid, event.type, event.sub_type, event.message,
                f"{event.origin_module}->{event.origin_impl}"))
        else:
            self.charge_point.on_error_cleared(connector_id, self._raised_uuid(connector_id, event))

    def _raised_uuid(self, connector_id: int, event: ErrorEvent) -> str:
        """A cleared error names its raise by type and origin; find the raise it ends."""
        machine = self.charge_point.notifier.machines[connector_id]
        if event.uuid in machine.errors:
            return event.uuid
        for uuid in machine.errors:
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
            await self.charger.set_connection_timeout(self.config.get("ConnectionTimeOut"))
        except CommandError:
            log.warning("auth did not take ConnectionTimeOut")
        self.charge_point = await self._build_charge_point()
        await self.charge_point.apply_persisted_availability()
        for evse in self.evses.evses:
            await evse.requirement.call("external_ready_to_start_charging", {}, timeout=30)
        await asyncio.sleep(self.mod.config.get("DelayOcppStart", 0) / 1000)
        try:
            self.boot_reason = await self.charger.get_boot_reason()
        except CommandError:
            log.warning("system did not tell the boot reason; assuming PowerUp")
        await self._start_charge_point()

    async def _start_charge_point(self) -> None:
        charge_point = self.charge_point
        # SessionResumed events that arrived before the start decide which open transactions continue.
        for _evse, var, value in self.evses.pending():
            if var == "session_event" and value.get("event") == "SessionResumed":
                charge_point.resumed_sessions.add(value["uuid"])
        await charge_point.start()
        await self.evses.start_delivery(self._deliver)
        for raised, event in self._early_errors:
            self._on_error(raised, event)
        self._early_errors.clear()
        self._started.set()
        await self.security_event("StartupOfTheDevice" if self.boot_reason in ("PowerUp", "Unknown")
                                  else "ResetOrReboot", None)

    async def _build_charge_point(self) -> ChargePoint:
        cfg = self.config
        database = Database.open(self.database_path, cfg.get("ChargePointId"))
        link = OcppLink(await self._link_settings(), OCPP16, message_log=self._message_log())
        link.add_failure_listener(self._connect_failed)
        link.add_connection_listener(lambda connected: connected and self._reported_failures.clear())
        return ChargePoint(cfg, link, database, self.charger, self.events, self.connector_ids,
                           await self._boot_info(), message_queue_resume_delay=self.mod.config.get(
                               "MessageQueueResumeDelay", 0),
                           reset_stop_delay=self.mod.config.get("ResetStopDelay", 0))

    def _connect_failed(self, failure: ConnectFailure) -> None:
        """A refused password or CSMS certificate is a security event, reported once per failing streak."""
        event_type = failure.security_event
        if event_type and event_type not in self._reported_failures:
            self._reported_failures.add(event_type)
            self.charge_point.spawn(self.security_event(event_type, failure.detail))

    def _message_log(self) -> MessageLog | None:
        if not self.config.get("LogMessages"):
            return None
        size = self.config.get("LogRotationMaximumFileSize") or 10 * 1024 * 1024
        count = self.config.get("LogRotationMaximumFileCount") or 5
        formats = self.config.get("LogMessagesFormat") or ["log", "html"]
        return MessageLog(self.message_log_path, max_file_size=size, max_files=count,
                          jsonl=any(f in formats for f in ("log", "console")), html_page="html" in formats)

    async def _link_settings(self) -> LinkSettings:
        cfg = self.config
        profile = cfg.get("SecurityProfile") or 0
        tls: dict[str, Any] = {}
        if profile >= 2:
            security = self.mod.requirement("security")
            verify_file = await security.call("get_verify_file", {"certificate_type": "CSMS"}, timeout=30)
            verify_dir = await security.call("get_verify_location", {"certificate_type": "CSMS"}, timeout=30)
            tls["ca_file"] = Path(verify_file) if verify_file else None
            tls["ca_dir"] = Path(verify_dir) if verify_dir and not verify_file else None
        if profile == 3:
            leaf = await security.call("get_leaf_certificate_info", {"certificate_type": "CSMS", "encoding": "PEM",
                                                                     "include_ocsp": False}, timeout=30)
            info = leaf.get("info") or {}
            if leaf.get("status") == "Accepted" and info.get("key"):
                tls["client_cert"] = Path(info.get("certificate") or info["certificate_single"])
                tls["client_key"] = Path(info["key"])
                tls["client_key_password"] = info.get("password")
        return LinkSettings(
            central_system_uri=cfg.get("CentralSystemURI"), charge_point_id=cfg.get("ChargePointId"),
            security_profile=profile, authorization_key=cfg.get("AuthorizationKey"),
            ping_interval=cfg.get("WebSocketPingInterval") or 0, pong_timeout=cfg.get("WebsocketPongTimeout") or 5,
            retry_backoff_wait_minimum=_configured(cfg.get("RetryBackoffWaitMinimum"), 3),
            retry_backoff_random_range=_configured(cfg.get("RetryBackoffRandomRange"), 10),
            retry_backoff_repeat_times=_configured(cfg.get("RetryBackoffRepeatTimes"), 3), **tls)

    async def _boot_info(self) -> BootInfo:
        cfg = self.config
        info = BootInfo(vendor=cfg.get("ChargePointVendor"), model=cfg.get("ChargePointModel"),
                        charge_point_serial=cfg.get("ChargePointSerialNumber"),
                        charge_box_serial=cfg.get("ChargeBoxSerialNumber"),
                        firmware_version=cfg.get("FirmwareVersion"), iccid=cfg.get("ICCID"), imsi=cfg.get("IMSI"),
                        meter_type=cfg.get("MeterType"), meter_serial=cfg.get("MeterSerialNumber"))
        providers = self.mod.requirements("charger_information")
        if providers:
            try:
                charger = await providers[0].call("get_charger_information", {}, timeout=30)
            except CommandError as error:
                log.warning("charger_information failed (%s): BootNotification uses the configuration", error)
                return info
            info.vendor, info.model = charger["vendor"], charger["model"]
            info.charge_point_serial = charger.get("chargepoint_serial") or info.charge_point_serial
            info.charge_box_serial = charger.get("chargebox_serial") or info.charge_box_serial
            info.firmware_version = charger.get("firmware_version") or info.firmware_version
        return info

    # -- EVSE vars after start --------------------------------------------------------------------------------
    async def _deliver(self, evse: Evse, var: str, value: Any) -> None:
        charge_point = self.charge_point
        if charge_point is None or not charge_point.running:
            return
        if var == "session_event":
            if not isinstance(value, dict) or "event" not in value or "uuid" not in value:
                log.warning("malformed session_event from %s dropped: %.200r", evse.label, value)
                return
            await charge_point.on_session_event(self.evses.ocpp_connector(evse, value.get("connector_id")), value)
        elif var == "powermeter":
            if not has_energy(value):
                log.warning("powermeter reading without energy from %s dropped", evse.label)
                return
            charge_point.on_powermeter(self.evses.ocpp_connector(evse, None), value)
        elif var == "ev_info" and isinstance(value, dict):
            charge_point.on_ev_soc(self.evses.ocpp_connector(evse, None), _value(value.get("soc")))
        elif var == "enforced_limits" and isinstance(value, dict):
            root = value.get("limits_root_side") or {}
            charge_point.on_offered_limits(self.evses.ocpp_connector(evse, None),
                                           _value(root.get("ac_max_current_A")), _value(root.get("total_power_W")))

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

    async def security_event(self, event_type: str, info: str | None) -> None:
        """Security events go to the CSMS durably (transactional lane) and are published as vars."""
        event_type, info = event_type[:50], (info or "")[:255] or None  # SecurityEventNotification limits
        critical = event_type in CRITICAL_SECURITY_EVENTS
        self.events.security_event(event_type, info, critical)
        charge_point = self.charge_point
        if charge_point is None or not charge_point.running or not critical or self.config.get(
                "DisableSecurityEventNotifications"):
            return
        payload: dict[str, Any] = {"type": event_type, "timestamp": utc_now("milliseconds")}
        if info:
            payload["techInfo"] = info
        await charge_point.queue.enqueue_transactional("SecurityEventNotification", payload)


CRITICAL_SECURITY_EVENTS = {
    "FirmwareUpdated", "FailedToAuthenticateAtCsms", "CsmsFailedToAuthenticate", "SettingSystemTime",
    "FailedToAuthenticateAtCentralSystem", "CentralSystemFailedToAuthenticate", "InvalidCentralSystemCertificate",
    "StartupOfTheDevice", "ResetOrReboot", "SecurityLogWasCleared", "ReconfigurationOfSecurityParameters",
    "MemoryExhaustion", "InvalidMessages", "AttemptedReplayAttacks", "TamperDetectionActivated",
    "InvalidFirmwareSignature", "InvalidFirmwareSigningCertificate", "InvalidCsmsCertificate",
    "InvalidChargePointCertificate", "InvalidTLSVersion", "InvalidTLSCipherSuite"}


def _error_key(event: ErrorEvent) -> tuple[str, str, str, str]:
    return (event.type, event.sub_type, event.origin_module, event.origin_impl)


def _configured(value: Any, default: Any) -> Any:
    """A key's value, or the default when it is not set (0 is a valid setting, e.g. no random back-off)."""
    return default if value is None else value


def _value(limit: Any) -> float | None:
    """A number from an EVSE var, or None: EnforcedLimits hold numbers or {value, source} pairs, and anything
    else (a malformed SoC) must not reach the meter values, where it would stop the sampling."""
    if isinstance(limit, dict):
        limit = limit.get("value")
    return float(limit) if isinstance(limit, int | float) else None


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
