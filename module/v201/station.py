"""The OCPP 2.0.1 charging station in process: the shared link and queue with the 2.0.1 spec and policy, the
device model, one service per functional block (provisioning, authorization, transactions, remote control,
availability, meter values), the heartbeat and the CSMS's time. Knows no framework: the system module, the EVSE
managers, the auth module and the charger's other modules are ports (the system one is module.core.ports.SystemPort,
as in the 1.6 core); the module wires them.

Where it connects comes from the device model: the NetworkConnectionProfiles slot NetworkConfigurationPriority
names first (ocppCsmsUrl, securityProfile), InternalCtrlr.ChargePointId, SecurityCtrlr.BasicAuthPassword."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, Protocol

from module.clock import Clock, monotonic_clock
from module.core.clock_aligned import run_clock_aligned
from module.core.context import command
from module.core.ports import SystemPort
from module.link.errors import CallTimeout, OcppError
from module.link.link import OcppLink
from module.link.message_log import MessageLog
from module.link.reply import Reply
from module.link.settings import LinkSettings
from module.queue.database import Database
from module.queue.message_queue import MessageQueue, Offline, QueueSettings
from module.v201.authorization import authorization
from module.v201.authorization.authorization import Authorization
from module.v201.availability import change_availability
from module.v201.availability.change_availability import Availability, EvseControl
from module.v201.availability.connectors import Connectors
from module.v201.device_model.device_model import DeviceModel
from module.v201.protocol import OCPP201
from module.v201.provisioning import get_base_report, get_variables, reset, set_network_profile, set_variables
from module.v201.remote_control import request_transactions, trigger_message, unlock_connector
from module.v201.remote_control.request_transactions import TokenProvider
from module.v201.transaction_policy import V201TransactionPolicy
from module.v201.transactions.transactions import TransactionEvents, Transactions

log = logging.getLogger(__name__)

TlsFiles = Callable[[int], Awaitable[dict[str, Any]]]
"""The LinkSettings TLS fields for a security profile (the certificate store's files)."""
RESET_TYPE = "NotSpecified"
PASSWORD = ("SecurityCtrlr", "BasicAuthPassword")
"""The system interface's reset type for a 2.0.1 Reset (which names none)."""


class NetworkProfileError(ValueError):
    """NetworkConnectionProfiles holds no usable profile; the message says why."""


def link_settings(model: DeviceModel, tls: dict[str, Any] | None = None) -> LinkSettings:
    profile = active_network_profile(model)
    data = profile["connectionData"]
    return LinkSettings(
        charge_point_id=model.value_of("InternalCtrlr", "ChargePointId") or "", **profile_settings(profile),
        authorization_key=model.value_of("SecurityCtrlr", "BasicAuthPassword"),
        call_timeout=float(data.get("messageTimeout") or model.value_of("OCPPCommCtrlr", "MessageTimeout", "Default")
                           or 30),
        ping_interval=float(model.value_of("OCPPCommCtrlr", "WebSocketPingInterval") or 0),
        retry_backoff_wait_minimum=float(model.value_of("OCPPCommCtrlr", "RetryBackOffWaitMinimum") or 3),
        retry_backoff_random_range=float(model.value_of("OCPPCommCtrlr", "RetryBackOffRandomRange") or 10),
        retry_backoff_repeat_times=int(model.value_of("OCPPCommCtrlr", "RetryBackOffRepeatTimes") or 3),
        **(tls or {}))


def network_profiles(model: DeviceModel) -> list[dict[str, Any]]:
    """The usable profiles of the slots NetworkConfigurationPriority names, in its order."""
    try:
        profiles = json.loads(model.value_of("InternalCtrlr", "NetworkConnectionProfiles") or "[]")
    except ValueError as error:
        raise NetworkProfileError(f"InternalCtrlr.NetworkConnectionProfiles is not JSON: {error}") from None
    priority = (model.value_of("OCPPCommCtrlr", "NetworkConfigurationPriority") or "").split(",")
    by_slot = {str(p.get("configurationSlot")): p for p in profiles if isinstance(p, dict)}
    usable = [by_slot[slot.strip()] for slot in priority if slot.strip() in by_slot]
    usable = [p for p in usable if isinstance(p.get("connectionData"), dict) and p["connectionData"].get("ocppCsmsUrl")]
    if not usable:
        raise NetworkProfileError("no NetworkConnectionProfiles slot named in NetworkConfigurationPriority has an "
                                  "ocppCsmsUrl")
    return usable


def active_network_profile(model: DeviceModel) -> dict[str, Any]:
    """The profile of the first usable slot in NetworkConfigurationPriority."""
    return network_profiles(model)[0]


def profile_settings(profile: dict[str, Any]) -> dict[str, Any]:
    """The LinkSettings fields a network connection profile sets."""
    data = profile["connectionData"]
    return {"central_system_uri": data["ocppCsmsUrl"], "security_profile": int(data.get("securityProfile", 0))}


class StationEvents(TransactionEvents, Protocol):
    """What the station reports to the charger's other modules (the `ocpp` interface's vars)."""

    def boot_notification_response(self, response: dict[str, Any]) -> None: ...


class NoEvses:
    """The EVSE control of a station without EVSE managers (provisioning only): nothing to enable or disable."""

    async def set_available(self, evse_id: int, operative: bool) -> bool:
        return True

    async def stop_transaction(self, evse_id: int, reason: str) -> bool:
        return False

    async def force_unlock(self, evse_id: int) -> bool:
        return False


class Station201:
    def __init__(self, model: DeviceModel, db: Database, system: SystemPort, *, boot_reason: str = "PowerUp",
                 tls: dict[str, Any] | None = None, tls_for: TlsFiles | None = None,
                 message_log: MessageLog | None = None, clock: Clock = monotonic_clock,
                 evse_ids: list[int] | None = None, evses: EvseControl | None = None,
                 auth: TokenProvider | None = None, events: StationEvents | None = None) -> None:
        self.model = model
        self.db = db
        self._system = system
        self.boot_reason = boot_reason
        self._clock = clock
        self.link = OcppLink(link_settings(model, tls), OCPP201, message_log=message_log, clock=clock)
        attempts = model.value_of("OCPPCommCtrlr", "MessageAttempts", "TransactionEvent")
        interval = model.value_of("OCPPCommCtrlr", "MessageAttemptInterval", "TransactionEvent")
        settings = QueueSettings(transaction_message_attempts=int(attempts or 3),
                                 transaction_message_retry_interval=float(interval or 60))
        self.queue = MessageQueue(db, self.link, settings, V201TransactionPolicy(
            db, on_response=lambda payload, response: self.transactions.on_response(payload, response)),
                                  boot_payload=self.boot_payload, on_boot_accepted=self._boot_accepted, clock=clock)
        self.link.register_handler(get_variables.ACTION, partial(get_variables.handle, model))
        self.link.register_handler(set_variables.ACTION, self._set_variables)
        self.link.register_handler(get_base_report.ACTION, partial(get_base_report.handle, model, self.queue.send))
        self.link.register_handler(reset.ACTION, partial(reset.handle, self))
        self.link.register_handler(set_network_profile.ACTION, lambda request: set_network_profile.handle(
            model, self.link.settings.security_profile, request))
        self.connectors = Connectors(evse_ids or [], db, self._send_triggered,
                                     lambda: self.queue.registration.accepted)
        control = evses or NoEvses()
        self.availability = Availability(self.connectors, control)
        self.transactions = Transactions(model, db, self.queue, evse_ids or [], online=lambda: self.link.connected,
                                         clock=clock, listener=events, stop=control.stop_transaction)
        self._events = events
        self.authorization = Authorization(model, db, self.queue, online=lambda: self.link.connected)
        for action, handler in ((authorization.SEND_LOCAL_LIST, self.authorization.send_local_list),
                                (authorization.GET_LOCAL_LIST_VERSION, self.authorization.get_local_list_version),
                                (authorization.CLEAR_CACHE, self.authorization.clear_cache)):
            self.link.register_handler(action, handler)
        if auth is not None:
            self.link.register_handler(request_transactions.START_ACTION, partial(
                request_transactions.handle_start, model, self.connectors, self.transactions, auth))
        self.link.register_handler(request_transactions.STOP_ACTION, partial(
            request_transactions.handle_stop, self.transactions, control))
        self.link.register_handler(unlock_connector.ACTION, partial(unlock_connector.handle, self.transactions,
                                                                    control))
        self.link.register_handler(change_availability.ACTION, partial(change_availability.handle, self.availability))
        self.link.register_handler(trigger_message.ACTION, partial(
            trigger_message.handle, self.connectors, lambda: self.queue.registration.accepted, self._heartbeat_now,
            self._boot_now))
        self._tls_for = tls_for
        self._failures = 0
        self._profile_index = 0
        self._switching: asyncio.Task[None] | None = None
        self.link.add_failure_listener(self._connect_failed)
        self.link.add_connection_listener(self._connection_changed)
        self._record_security_profile()
        self._heartbeat: asyncio.Task[None] | None = None
        self._reporting: set[asyncio.Future[None]] = set()
        self._offline_since: float | None = None
        self._aligned: asyncio.Task[None] | None = None
        self.running = False

    def boot_payload(self) -> dict[str, Any]:
        station: dict[str, Any] = {"model": self.model.value_of("InternalCtrlr", "ChargePointModel"),
                                   "vendorName": self.model.value_of("InternalCtrlr", "ChargePointVendor")}
        for field, variable in (("serialNumber", "ChargeBoxSerialNumber"), ("firmwareVersion", "FirmwareVersion")):
            value = self.model.value_of("InternalCtrlr", variable)
            if value:
                station[field] = value
        return {"reason": self.boot_reason, "chargingStation": station}

    async def start(self) -> None:
        await self.availability.apply_persisted()
        await self.queue.start()
        await self.transactions.end_interrupted()
        await self.link.start()
        self._heartbeat = asyncio.create_task(self._heartbeat_loop(), name="heartbeat-201")
        self._aligned = asyncio.create_task(run_clock_aligned(
            lambda: int(self.model.value_of("AlignedDataCtrlr", "Interval") or 0),
            self.transactions.on_clock_boundary, clock=self._clock), name="aligned-201")
        self.running = True

    async def stop(self) -> None:
        self.running = False
        await self.transactions.stop()
        for task in (self._heartbeat, self._switching, self._aligned, *self._reporting):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.queue.stop()
        await self.link.stop()

    # -- SetVariables: a new BasicAuthPassword is used at once (A09) ----------------------------------------
    def _set_variables(self, request: dict[str, Any]) -> Reply:
        answer = set_variables.handle(self.model, request)
        password_set = any(result["attributeStatus"] == "Accepted" and
                           (result["component"]["name"], result["variable"]["name"]) == PASSWORD
                           for result in answer["setVariableResult"])
        if not password_set:
            return Reply(answer)
        self.link.update_settings(authorization_key=self.model.value_of(*PASSWORD))
        return Reply(answer, then=self._reconnect_with_password)

    async def _reconnect_with_password(self) -> None:
        if self.link.settings.security_profile in (1, 2):
            await self.link.reconnect()

    # -- network connection profiles (B10) ------------------------------------------------------------------
    def _connection_changed(self, connected: bool) -> None:
        if not connected:
            self._offline_since = self._clock.monotonic()
            return
        self._failures = 0
        if self.queue.registration.accepted and self._offline_since is not None:
            offline_s = self._clock.monotonic() - self._offline_since
            threshold = int(self.model.value_of("OCPPCommCtrlr", "OfflineThreshold") or 0)
            self._report_all(every=offline_s > threshold)
        self._offline_since = None

    def _connect_failed(self, failure: Any) -> None:
        """After NetworkProfileConnectionAttempts failed attempts, the next slot of NetworkConfigurationPriority
        (round robin), its TLS files fetched first."""
        self._failures += 1
        attempts = int(self.model.value_of("OCPPCommCtrlr", "NetworkProfileConnectionAttempts") or 3)
        if self._failures < attempts or (self._switching is not None and not self._switching.done()):
            return
        self._failures = 0
        self._switching = asyncio.ensure_future(self._next_profile())

    async def _next_profile(self) -> None:
        profiles = network_profiles(self.model)
        self._profile_index = (self._profile_index + 1) % len(profiles)
        profile = profiles[self._profile_index]
        settings = profile_settings(profile)
        tls = await self._tls_for(settings["security_profile"]) if self._tls_for is not None else {}
        log.warning("falling back to network profile slot %s (%s)", profile.get("configurationSlot"),
                    settings["central_system_uri"])
        self.link.update_settings(**settings, **tls)
        self._record_security_profile()

    def _record_security_profile(self) -> None:
        spec = self.model.find({"name": "SecurityCtrlr"}, {"name": "SecurityProfile"})
        if not isinstance(spec, str):
            self.model.write(spec, str(self.link.settings.security_profile))

    # -- connectors (block G) --------------------------------------------------------------------------------
    async def on_session_event(self, evse_id: int, kind: str, details: dict[str, Any] | None = None,
                               session_id: str = "") -> None:
        """An EVSE manager's session event (EVerest's names; `details` its session_started / transaction_started /
        transaction_finished part): transaction, connector status, scheduled availability."""
        if evse_id not in self.connectors.evse_ids:
            log.warning("session event %s of unknown EVSE %s dropped", kind, evse_id)
            return
        await self.transactions.on_session_event(evse_id, kind, details or {}, session_id)
        await self.connectors.on_session_event(evse_id, kind)
        if kind in ("TransactionFinished", "SessionFinished"):
            await self.availability.on_transaction_finished(evse_id)

    def _report_all(self, every: bool = False) -> None:
        """Every connector's status not yet known to the CSMS (`every`: all of them), in the background (the caller
        is a link or queue callback)."""
        task = asyncio.ensure_future(self.connectors.report_all(every=every))
        self._reporting.add(task)
        task.add_done_callback(self._reporting.discard)

    async def _send_triggered(self, action: str, payload: dict[str, Any], triggered: bool) -> Any:
        return await self.queue.send(action, payload, triggered=triggered)

    # -- registration and liveness -------------------------------------------------------------------------
    async def _boot_accepted(self, response: dict[str, Any]) -> None:
        if self._events is not None:
            self._events.boot_notification_response(response)
        interval = int(response.get("interval") or 0)
        spec = self.model.find({"name": "OCPPCommCtrlr"}, {"name": "HeartbeatInterval"})
        if interval > 0 and not isinstance(spec, str):
            self.model.write(spec, str(interval))
        await self._set_time(response["currentTime"])
        self._report_all()

    async def _boot_now(self) -> None:
        """A BootNotification the CSMS asked for while Pending; Accepted registers the station."""
        try:
            response = await self.queue.send("BootNotification", self.boot_payload(), triggered=True)
        except (Offline, OcppError, CallTimeout) as error:
            log.info("triggered BootNotification not answered: %s", error)
            return
        if response.get("status") == "Accepted" and not self.queue.registration.accepted:
            await self.queue.registration.accept(response)

    async def _heartbeat_now(self) -> None:
        try:
            answer = await self.queue.send("Heartbeat", {}, triggered=True)
        except (Offline, OcppError, CallTimeout) as error:
            log.info("triggered Heartbeat not answered: %s", error)
            return
        await self._set_time(answer["currentTime"])

    async def _heartbeat_loop(self) -> None:
        await self.queue.registration.wait_accepted()
        while True:
            await self._clock.sleep(float(self.model.value_of("OCPPCommCtrlr", "HeartbeatInterval") or 300))
            try:
                answer = await self.queue.send("Heartbeat", {})
            except (Offline, OcppError, CallTimeout) as error:
                log.info("Heartbeat not answered: %s", error)
                continue
            await self._set_time(answer["currentTime"])

    async def _set_time(self, timestamp: str) -> None:
        await command("set_system_time", self._system.set_system_time(timestamp), False)
        clock = self.model.find({"name": "ClockCtrlr"}, {"name": "DateTime"})
        if not isinstance(clock, str):
            self.model.write(clock, timestamp)

    # -- Reset -------------------------------------------------------------------------------------------------
    async def reset_allowed(self) -> bool:
        return await command("is_reset_allowed", self._system.is_reset_allowed(RESET_TYPE), False)

    async def reset(self) -> None:
        await self.stop()
        await command("reset", self._system.reset(RESET_TYPE), None)
