"""The OCPP 1.6 charge point: boot and heartbeat, connector states, authorization, transactions, meter values and
the CSMS's requests, assembled over the link, the queue and the configuration.

Everything here is plain asyncio: the charger is reached through `ChargerPort` and reported to through
`EventPort`, which module/impl fills with framework commands and vars.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from module.config.charge_point_config import ChargePointConfig
from module.core.authorization import AuthorizationSettings, Authorizer, validation_result
from module.core.clock_aligned import run_clock_aligned
from module.core.connector_status import Event, Status
from module.core.error_mapping import RaisedError, to_error_info
from module.core.meter_values import Measurement, energy_wh, has_energy
from module.core.ports import ChargerPort, EventPort
from module.core.session_events import IGNORED, SIMPLE, session_finished_event, session_started_event
from module.core.status_notifier import StatusNotifier
from module.core.stores import AuthCacheTable, AvailabilityTable, LocalAuthListTable
from module.core.timestamps import utc_now
from module.core.transactions import MeterSettings, TransactionManager
from module.link.errors import CallErrorReceived, CallTimeout, InvalidPayload, LinkDown
from module.link.link import OcppLink
from module.link.protocol import OCPP16
from module.queue.database import Database
from module.queue.message_queue import MessageQueue, Offline, QueueSettings
from module.queue.transactions import TransactionState

log = logging.getLogger(__name__)

NOT_DELIVERED = (Offline, LinkDown, CallTimeout, CallErrorReceived, InvalidPayload)


@dataclass
class BootInfo:
    """The BootNotification fields; module/impl fills them from charger_information or the configuration."""

    vendor: str
    model: str
    charge_point_serial: str | None = None
    charge_box_serial: str | None = None
    firmware_version: str | None = None
    iccid: str | None = None
    imsi: str | None = None
    meter_type: str | None = None
    meter_serial: str | None = None

    def payload(self) -> dict[str, Any]:
        fields = {"chargePointVendor": self.vendor, "chargePointModel": self.model,
                  "chargePointSerialNumber": self.charge_point_serial, "chargeBoxSerialNumber": self.charge_box_serial,
                  "firmwareVersion": self.firmware_version, "iccid": self.iccid, "imsi": self.imsi,
                  "meterType": self.meter_type, "meterSerialNumber": self.meter_serial}
        return {key: value for key, value in fields.items() if value}


# Keys that may change at run time, and the queue / link setting each one feeds.
QUEUE_KEYS = {"TransactionMessageAttempts": "transaction_message_attempts",
              "TransactionMessageRetryInterval": "transaction_message_retry_interval"}
LINK_KEYS = {"WebSocketPingInterval": "ping_interval", "AuthorizationKey": "authorization_key",
             "RetryBackoffWaitMinimum": "retry_backoff_wait_minimum",
             "RetryBackoffRandomRange": "retry_backoff_random_range",
             "RetryBackoffRepeatTimes": "retry_backoff_repeat_times"}


def queue_settings(cfg: ChargePointConfig, resume_delay: float) -> QueueSettings:
    return QueueSettings(
        transaction_message_attempts=cfg.get("TransactionMessageAttempts"),
        transaction_message_retry_interval=cfg.get("TransactionMessageRetryInterval"),
        queue_all_messages=bool(cfg.get("QueueAllMessages")),
        message_queue_size_threshold=cfg.get("MessageQueueSizeThreshold"),
        message_queue_resume_delay=resume_delay,
    )


class ChargePoint:
    def __init__(self, cfg: ChargePointConfig, link: OcppLink, db: Database, charger: ChargerPort,
                 events: EventPort, connector_ids: list[int], boot_info: BootInfo, *,
                 message_queue_resume_delay: float = 0.0, reset_stop_delay: float = 0.0,
                 on_reset: Callable[[], Awaitable[None]] | None = None) -> None:
        self.cfg = cfg
        self.link = link
        self.charger = charger
        self.events = events
        self.connector_ids = connector_ids
        self.boot_info = boot_info
        self.reset_stop_delay = reset_stop_delay
        self.on_reset = on_reset
        self.db = db
        self.queue = MessageQueue(db, link, queue_settings(cfg, message_queue_resume_delay), OCPP16,
                                  boot_payload=lambda: self.boot_info.payload(), on_boot_accepted=self._boot_accepted)
        self.store = self.queue.transactions
        self.auth_cache = AuthCacheTable(db)
        self.local_list = LocalAuthListTable(db)
        self.availability = AvailabilityTable(db)
        self.notifier = StatusNotifier(connector_ids, self._send_status,
                                       minimum_duration=lambda: self._key("MinimumStatusDuration", 0),
                                       enabled=lambda: self.queue.registration.accepted)
        self.authorizer = Authorizer(self._auth_settings, self.auth_cache, self.local_list,
                                     online=lambda: self.link.connected and self.queue.registration.accepted,
                                     send_authorize=self._send_authorize)
        self.transactions = TransactionManager(
            self.queue, self.store, charger, events, self._meter_settings,
            stop_on_invalid_id=lambda: bool(self._key("StopTransactionOnInvalidId", True)),
            remember_id_tag=self.authorizer.remember)
        self.queue.on_transactional_result("StartTransaction", self.transactions.on_start_result)
        self.queue.on_transactional_result("StopTransaction", self.transactions.on_stop_result)
        self.resumed_sessions: set[str] = set()
        self.remote_start_profiles: dict[int, dict[str, Any]] = {}
        self._tasks: list[asyncio.Task] = []
        self._spawned: set[asyncio.Task] = set()
        self._heartbeat_changed = asyncio.Event()
        self._aligned_changed = asyncio.Event()
        self._sessions: dict[int, str] = {}
        self.running = False
        self._register_operations()
        link.add_connection_listener(self._connection_changed)
        # Hooks on the shared configuration; stop() removes them, so a restarted charge point does not leave
        # the old link and queue listening.
        self._unsubscribe = [
            cfg.on_change("HeartbeatInterval", lambda *_: self._heartbeat_changed.set()),
            cfg.on_change("ClockAlignedDataInterval", lambda *_: self._aligned_changed.set()),
            cfg.on_change("ConnectionTimeOut", lambda _key, value: self.charger.set_connection_timeout(value)),
            *(cfg.on_change(key, lambda _key, value, setting=setting: self.queue.update_settings(**{setting: value}))
              for key, setting in QUEUE_KEYS.items()),
            *(cfg.on_change(key, lambda _key, value, setting=setting: self.link.update_settings(**{setting: value}))
              for key, setting in LINK_KEYS.items()),
        ]

    # -- configuration views ----------------------------------------------------------------------------------
    def _key(self, name: str, default: Any) -> Any:
        value = self.cfg.get(name)
        return default if value is None else value

    def _auth_settings(self) -> AuthorizationSettings:
        return AuthorizationSettings(
            local_pre_authorize=bool(self._key("LocalPreAuthorize", False)),
            local_authorize_offline=bool(self._key("LocalAuthorizeOffline", False)),
            allow_offline_tx_for_unknown_id=bool(self._key("AllowOfflineTxForUnknownId", False)),
            cache_enabled=bool(self._key("AuthorizationCacheEnabled", False)),
            local_list_enabled="LocalAuthListManagement" in self.cfg.supported_profiles
            and bool(self._key("LocalAuthListEnabled", False)))

    def _meter_settings(self) -> MeterSettings:
        return MeterSettings(
            sample_interval=self._key("MeterValueSampleInterval", 0),
            sampled_data=self._key("MeterValuesSampledData", []),
            stop_sampled_data=self._key("StopTxnSampledData", []),
            aligned_data=self._key("MeterValuesAlignedData", []),
            stop_aligned_data=self._key("StopTxnAlignedData", []))

    def _register_operations(self) -> None:
        from module.core.operations import OPERATIONS

        for action, handler in OPERATIONS.items():
            self.link.register_handler(action, lambda payload, handler=handler: handler(self, payload))
        self.link.set_supported_profiles(self.cfg.supported_profiles)

    def spawn(self, work: Awaitable[Any]) -> None:
        """Run `work` after the current answer went out (TriggerMessage, Reset), keeping a reference to it."""
        task = asyncio.ensure_future(work)
        self._spawned.add(task)
        task.add_done_callback(self._spawned.discard)

    @staticmethod
    def log_command_failure(command: str, error: Exception) -> None:
        """A failed command of a required module; the operation answers truthfully (Rejected, UnlockFailed...)."""
        log.warning("command %s failed: %s: %s", command, type(error).__name__, error)

    # -- lifecycle --------------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Recover what a power loss left open, then open the link and boot."""
        await self._recover_transactions()
        await self.link.start()
        await self.queue.start()
        self._tasks = [asyncio.create_task(self._heartbeat_loop(), name="heartbeat"),
                       asyncio.create_task(run_clock_aligned(lambda: self._key("ClockAlignedDataInterval", 0),
                                                             self._clock_aligned, changed=self._aligned_changed),
                                           name="clock-aligned")]
        self.running = True

    async def stop(self) -> None:
        self.running = False
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        for transaction in self.transactions.active.values():
            if transaction.sampler:
                transaction.sampler.cancel()
        await self.queue.stop()
        await self.link.stop()
        self.db.close()

    def take_over(self, previous: ChargePoint) -> None:
        """A restart of the OCPP side after stop() is no power cut: connector states, open sessions and running
        transactions carry on instead of being reset to Available and stopped with PowerLoss."""
        self.resumed_sessions |= {transaction.session_id for transaction in previous.transactions.active.values()}
        self._sessions.update(previous._sessions)
        self.transactions.measurements.update(previous.transactions.measurements)
        self.notifier.machines.update(previous.notifier.machines)
        self.remote_start_profiles.update(previous.remote_start_profiles)

    async def apply_persisted_availability(self) -> None:
        """Connectors the CSMS took out of service stay out of service after a restart."""
        for connector_id in [0, *self.connector_ids]:
            if not self.availability.operative(connector_id):
                await self._apply_availability(connector_id, operative=False)

    async def _recover_transactions(self) -> None:
        """Resume transactions whose EVSE reported SessionResumed; stop the others with reason PowerLoss."""
        for record in self.store.unfinished():
            if record.state is not TransactionState.ACTIVE:
                continue
            if record.session_id in self.resumed_sessions:
                log.info("resuming transaction %s on connector %s", record.transaction_id, record.connector_id)
                self.transactions.resume(record)
                self._sessions[record.connector_id] = record.session_id
                continue
            meter_stop = round(record.last_meter_value if record.last_meter_value is not None
                               else record.meter_start or 0)
            stop_time = record.last_meter_time or utc_now()
            log.warning("transaction %s on connector %s was open at power loss: stopping it with PowerLoss",
                        record.transaction_id, record.connector_id)
            await self.queue.enqueue_transactional(
                "StopTransaction", {"transactionId": record.transaction_id, "meterStop": meter_stop,
                                    "timestamp": stop_time, "reason": "PowerLoss"},
                session_id=record.session_id)

    # -- link and boot ----------------------------------------------------------------------------------------
    def _connection_changed(self, connected: bool) -> None:
        self.events.connection_changed(connected)
        if connected and self.queue.registration.accepted:
            self.notifier.resend_all()

    async def _boot_accepted(self, response: dict[str, Any]) -> None:
        interval = int(response.get("interval") or 0)
        if interval > 0:
            self.cfg.set("HeartbeatInterval", interval)
        self.events.boot_notification_response(response)
        if response.get("currentTime"):
            await self._set_time(response["currentTime"])
        self.notifier.resend_all()

    async def _set_time(self, timestamp: str) -> None:
        try:
            await self.charger.set_system_time(timestamp)
        except Exception as error:
            log.warning("setting the system time failed: %s", error)

    async def heartbeat(self) -> bool:
        try:
            response = await self.queue.send("Heartbeat", {})
        except NOT_DELIVERED as error:
            log.info("Heartbeat not delivered: %s", error)
            return False
        await self._set_time(response["currentTime"])
        return True

    async def _heartbeat_loop(self) -> None:
        await self.queue.registration.wait_accepted()
        while True:
            interval = self._key("HeartbeatInterval", 0)
            self._heartbeat_changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._heartbeat_changed.wait(), interval if interval > 0 else None)
                continue
            await self.heartbeat()

    async def _send_status(self, payload: dict[str, Any]) -> None:
        await self.queue.send("StatusNotification", payload)

    async def _send_authorize(self, id_tag: str) -> dict[str, Any] | None:
        try:
            response = await self.queue.send("Authorize", {"idTag": id_tag})
        except NOT_DELIVERED as error:
            log.info("Authorize not answered: %s", error)
            return None
        return response.get("idTagInfo")

    async def send_idle_status(self, action: str) -> None:
        """Diagnostics/firmware status on request; Idle until the firmware profile tracks real transfers."""
        try:
            await self.queue.send(action, {"status": "Idle"})
        except NOT_DELIVERED as error:
            log.info("%s not delivered: %s", action, error)

    async def boot_notification(self) -> None:
        """A BootNotification on request (TriggerMessage); the answer updates the heartbeat like the first."""
        try:
            response = await self.queue.send("BootNotification", self.boot_info.payload())
        except NOT_DELIVERED as error:
            log.info("triggered BootNotification not delivered: %s", error)
            return
        if response.get("status") == "Accepted":
            await self._boot_accepted(response)

    # -- what the EVSEs report --------------------------------------------------------------------------------
    async def on_session_event(self, connector_id: int, event: dict[str, Any]) -> None:
        name = event["event"]
        state = self.notifier.state(connector_id)
        if name in SIMPLE:
            self.notifier.handle(connector_id, SIMPLE[name], "SwitchingPhases" if name == "SwitchingPhases" else None)
        elif name == "Enabled":
            if state == Status.UNAVAILABLE and self.availability.operative(connector_id):
                self.notifier.handle(connector_id, Event.BECOME_AVAILABLE)
        elif name == "SessionStarted":
            self._sessions[connector_id] = event["uuid"]
            reason = (event.get("session_started") or {}).get("reason")
            status_event = session_started_event(state, reason)
            if status_event:
                self.notifier.handle(connector_id, status_event)
        elif name == "TransactionStarted":
            await self._transaction_started(connector_id, event)
        elif name == "TransactionFinished":
            await self._transaction_finished(connector_id, event)
        elif name == "SessionFinished":
            self._sessions.pop(connector_id, None)
            status_event = session_finished_event(state)
            if status_event:
                self.notifier.handle(connector_id, status_event)
            await self._apply_scheduled_availability(connector_id)
        elif name == "PluginTimeout":
            self.notifier.handle(connector_id, Event.TRANSACTION_STOPPED_AND_USER_ACTION_REQUIRED, "ConnectionTimeout")
        elif name == "SessionResumed":
            self.resumed_sessions.add(event["uuid"])
        elif name not in IGNORED:
            log.info("session event %s on connector %s has no OCPP 1.6 effect", name, connector_id)

    async def _transaction_started(self, connector_id: int, event: dict[str, Any]) -> None:
        started = event.get("transaction_started") or {}
        meter = started.get("meter_value")
        if not has_energy(meter):
            log.error("TransactionStarted on connector %s without an energy reading dropped", connector_id)
            return
        id_tag = ((started.get("id_tag") or {}).get("id_token") or {}).get("value", "")
        self.transactions.on_measurement(connector_id, self._measurement(connector_id, meter))
        await self.transactions.start(connector_id, event["uuid"], id_tag, energy_wh(meter),
                                      event.get("timestamp") or utc_now(), started.get("reservation_id"))

    async def _transaction_finished(self, connector_id: int, event: dict[str, Any]) -> None:
        finished = event.get("transaction_finished") or {}
        meter = finished.get("meter_value")
        if not has_energy(meter):
            log.error("TransactionFinished on connector %s without an energy reading: using the last reading",
                      connector_id)
            last = self.transactions.measurements.get(connector_id)
            meter = last.powermeter if last else None
        reason = finished.get("reason")
        id_tag = ((finished.get("id_tag") or {}).get("id_token") or {}).get("value")
        meter_stop = None
        if has_energy(meter):
            meter_stop = energy_wh(meter)
            self.transactions.on_measurement(connector_id, self._measurement(connector_id, meter))
        await self.transactions.stop(connector_id, event["uuid"], reason, meter_stop,
                                     event.get("timestamp") or utc_now(), id_tag)
        if reason != "EVDisconnected":
            self.notifier.handle(connector_id, Event.TRANSACTION_STOPPED_AND_USER_ACTION_REQUIRED)
        elif self._key("UnlockConnectorOnEVSideDisconnect", True):
            try:
                await self.charger.force_unlock(connector_id)
            except Exception as error:
                log.warning("unlock after EV-side disconnect on connector %s failed: %s", connector_id, error)
        # A ChangeAvailability Scheduled during the transaction applies now: Finishing -> Unavailable, without
        # reporting Available in between.
        await self._apply_scheduled_availability(connector_id)

    def _measurement(self, connector_id: int, powermeter: dict[str, Any]) -> Measurement:
        previous = self.transactions.measurements.get(connector_id)
        if previous is None:
            return Measurement(powermeter)
        return Measurement(powermeter, previous.soc_percent, previous.current_offered_a, previous.power_offered_w)

    def on_powermeter(self, connector_id: int, powermeter: dict[str, Any]) -> None:
        self.transactions.on_measurement(connector_id, self._measurement(connector_id, powermeter))

    def on_ev_soc(self, connector_id: int, soc_percent: float | None) -> None:
        measurement = self.transactions.measurements.get(connector_id)
        if measurement is not None:
            measurement.soc_percent = soc_percent

    def on_offered_limits(self, connector_id: int, current_a: float | None, power_w: float | None) -> None:
        measurement = self.transactions.measurements.get(connector_id)
        if measurement is not None:
            measurement.current_offered_a, measurement.power_offered_w = current_a, power_w

    def on_error(self, connector_id: int, error: RaisedError) -> None:
        self.notifier.raise_error(connector_id, to_error_info(error))

    def on_error_cleared(self, connector_id: int, uuid: str) -> None:
        self.notifier.clear_error(connector_id, uuid)

    async def _clock_aligned(self) -> None:
        measurands = self._key("MeterValuesAlignedData", [])
        if measurands:
            for connector_id in self.connector_ids:
                await self.transactions.send_meter_values(connector_id, measurands, "Sample.Clock")

    # -- what the charger's own modules ask -------------------------------------------------------------------
    async def validate_token(self, provided_token: dict[str, Any]) -> dict[str, Any]:
        """The provided `validate_token` command: never raises, answers Unknown when something went wrong."""
        try:
            id_tag = provided_token["id_token"]["value"][:20]
            return validation_result(await self.authorizer.authorize(id_tag))
        except Exception:
            log.exception("token validation failed")
            return {"authorization_status": "Unknown", "tariff_messages": []}

    async def data_transfer_to_csms(self, request: dict[str, Any]) -> dict[str, Any]:
        payload = {"vendorId": request["vendor_id"]}
        if request.get("message_id") is not None:
            payload["messageId"] = request["message_id"]
        if request.get("data") is not None:
            payload["data"] = request["data"]
        try:
            response = await self.queue.send("DataTransfer", payload)
        except NOT_DELIVERED as error:
            log.info("DataTransfer to the CSMS not delivered: %s", error)
            return {"status": "Offline"}
        result = {"status": response["status"]}
        if response.get("data") is not None:
            result["data"] = response["data"]
        return result

    # -- availability -----------------------------------------------------------------------------------------
    def busy(self, connector_id: int) -> bool:
        """A transaction runs or a session is being prepared: availability changes must wait."""
        return connector_id in self.transactions.active or self.notifier.state(connector_id) == Status.PREPARING

    async def _apply_availability(self, connector_id: int, operative: bool) -> bool:
        self.availability.set(connector_id, operative)
        accepted = await self.charger.set_available(connector_id, operative)
        event = Event.BECOME_AVAILABLE if operative else Event.CHANGE_AVAILABILITY_TO_UNAVAILABLE
        for cid in [0, *self.connector_ids] if connector_id == 0 else [connector_id]:
            if not operative or (self.availability.operative(cid) and self.availability.operative(0)):
                if operative and self.notifier.state(cid) != Status.UNAVAILABLE:
                    continue
                self.notifier.handle(cid, event)
        return accepted

    async def change_availability(self, connector_id: int, operative: bool) -> str:
        """ChangeAvailability: Accepted, Scheduled (after the running session) or Rejected."""
        targets = self.connector_ids if connector_id == 0 else [connector_id]
        busy = [cid for cid in targets if self.busy(cid)]
        if busy and not operative:
            for cid in busy:
                self.availability.schedule(cid, operative)
            if connector_id == 0:
                self.availability.schedule(0, operative)
            for cid in targets:
                if cid not in busy:
                    await self._apply_availability(cid, operative)
            return "Scheduled"
        accepted = await self._apply_availability(connector_id, operative)
        return "Accepted" if accepted else "Rejected"

    async def _apply_scheduled_availability(self, connector_id: int) -> None:
        scheduled = self.availability.scheduled()
        for cid in (connector_id, 0):
            if cid in scheduled and not any(self.busy(other) for other in
                                            (self.connector_ids if cid == 0 else [cid])):
                await self._apply_availability(cid, scheduled[cid])

