"""Transaction messages: StartTransaction / MeterValues / StopTransaction, durable end to end.

Every transaction message goes through the queue's transactional lane, so it is on disk before it is sent and
survives network loss and power loss. Until the CSMS answers StartTransaction the transaction carries the
queue's local placeholder id; the queue rewrites queued messages once the real id is known.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from module.clock import Clock, monotonic_clock
from module.core.context import command
from module.core.meter_values import Measurement, energy_wh, sampled_values
from module.core.ports import EventPort, EvsePort
from module.core.profiles.core.meter_journal import MeterJournal
from module.core.profiles.core.periodic_sampler import PeriodicSampler
from module.core.stop_reasons import ocpp_stop_reason
from module.core.timestamps import utc_now
from module.queue.message_queue import Transactional
from module.v16.transactions import Transaction as StoredTransaction
from module.v16.transactions import TransactionStore

log = logging.getLogger(__name__)

ID_TAG_MAX = 20


class TransactionQueue(Protocol):
    async def enqueue_transactional(self, action: str, payload: dict[str, Any], *, session_id: str | None = None
                                    ) -> Any: ...

    async def enqueue_transactional_many(self, messages: Sequence[Transactional]) -> list[int | None]: ...


@dataclass
class Transaction:
    session_id: str
    connector_id: int
    id_tag: str
    meter_start: int
    start_time: str
    transaction_id: int
    reservation_id: int | None = None
    stop_data: list[dict[str, Any]] = field(default_factory=list)
    id_tag_info: dict[str, Any] | None = None


@dataclass(frozen=True)
class MeterSettings:
    sample_interval: int
    sampled_data: list[str]
    stop_sampled_data: list[str]
    aligned_data: list[str]
    stop_aligned_data: list[str]
    max_message_size: int | None = None
    """MaxMessageSize: a StopTransaction frame longer than this has its transactionData thinned to fit."""


FRAME_OVERHEAD = len('[2,"","StopTransaction",]') + 64
"""A CALL frame around its payload, with room for any unique id the link makes."""


def thinned_to_fit(payload: dict[str, Any], max_size: int | None) -> dict[str, Any]:
    """StopTransaction with every second transactionData entry dropped (the first and the last kept) until its
    frame fits `max_size` characters, as libocpp thins it; the energy readings that matter most survive longest."""
    data = payload.get("transactionData")
    if not max_size or not data:
        return payload

    def size(entries: list[dict[str, Any]]) -> int:
        return len(json.dumps({**payload, "transactionData": entries}, separators=(",", ":"))) + FRAME_OVERHEAD

    original = len(data)
    while size(data) > max_size and len(data) > 2:
        data = [*data[:-1:2], data[-1]]
    if size(data) > max_size:
        data = []
    if len(data) != original:
        log.warning("StopTransaction transactionData thinned from %d to %d entries to fit MaxMessageSize %d",
                    original, len(data), max_size)
    if not data:
        return {key: value for key, value in payload.items() if key != "transactionData"}
    return {**payload, "transactionData": data}




RememberIdTag = Callable[[str, dict[str, Any]], None]
"""Feeds the authorization cache with an idTagInfo the CSMS sent."""


class TransactionManager:
    def __init__(self, queue: TransactionQueue, store: TransactionStore, evse: EvsePort,
                 events: EventPort, meter_settings: Callable[[], MeterSettings],
                 stop_on_invalid_id: Callable[[], bool], remember_id_tag: RememberIdTag,
                 spawn: Callable[[Awaitable[Any]], None], clock: Clock = monotonic_clock,
                 max_energy_on_invalid_id: Callable[[], int | None] = lambda: None) -> None:
        self._queue = queue
        self._store = store
        self._evse = evse
        self._events = events
        self._meter_settings = meter_settings
        self._stop_on_invalid_id = stop_on_invalid_id
        self._max_energy_on_invalid_id = max_energy_on_invalid_id
        self._energy_caps: dict[str, float] = {}
        """Session -> meter register (Wh) at which a transaction whose idTag the CSMS refused is paused."""
        self._remember_id_tag = remember_id_tag
        self._spawn = spawn
        self._clock = clock
        self.active: dict[int, Transaction] = {}
        self.measurements: dict[int, Measurement] = {}
        self._by_session: dict[str, Transaction] = {}
        self.journal = MeterJournal(store, clock)
        self.sampler = PeriodicSampler(clock, lambda: self._meter_settings().sample_interval, self._sample_periodic)
        self.stopped: dict[str, asyncio.Event] = {}

    # -- meter readings -------------------------------------------------------------------------------------
    def on_measurement(self, connector_id: int, measurement: Measurement) -> None:
        self.measurements[connector_id] = measurement
        transaction = self.active.get(connector_id)
        if transaction is not None:
            energy = energy_wh(measurement.powermeter)
            self.journal.note(transaction.session_id, energy, utc_now())
            cap = self._energy_caps.get(transaction.session_id)
            if cap is not None and energy >= cap:
                del self._energy_caps[transaction.session_id]
                log.info("transaction %s: MaxEnergyOnInvalidId reached, pausing", transaction.transaction_id)
                self._spawn(command("pause_charging", self._evse.pause_charging(connector_id), False))

    def meter_value(self, connector_id: int, measurands: list[str], context: str) -> dict[str, Any] | None:
        measurement = self.measurements.get(connector_id)
        if measurement is None:
            return None
        values = sampled_values(measurement, measurands, context)
        return {"timestamp": utc_now(), "sampledValue": values} if values else None

    def wire_id(self, transaction: Transaction) -> int:
        """The id known now (the queue puts the current one on every queued message and rewrites placeholders)."""
        record = self._store.get(transaction.session_id)
        if record is not None:
            transaction.transaction_id = record.transaction_id
        return transaction.transaction_id

    # -- session events ---------------------------------------------------------------------------------------
    async def start(self, connector_id: int, session_id: str, id_tag: str, meter_start: int, timestamp: str,
                    reservation_id: int | None = None) -> Transaction:
        """StartTransaction for a new session; a repeated TransactionStarted (same session, or a connector that
        already runs one) is ignored, as a second StartTransaction would bill the session twice."""
        running = self._by_session.get(session_id) or self.active.get(connector_id)
        if running is not None:
            log.warning("TransactionStarted of session %s on connector %s ignored: session %s already started",
                        session_id, connector_id, running.session_id)
            return running
        if len(id_tag) > ID_TAG_MAX:
            log.warning("idTag longer than %s characters cut for StartTransaction", ID_TAG_MAX)
            id_tag = id_tag[:ID_TAG_MAX]
        payload: dict[str, Any] = {"connectorId": connector_id, "idTag": id_tag, "meterStart": meter_start,
                                   "timestamp": timestamp}
        if reservation_id is not None:
            payload["reservationId"] = reservation_id
        # The queue opens the transaction row (with its placeholder id) in the same disk write as the message.
        await self._queue.enqueue_transactional("StartTransaction", payload, session_id=session_id)
        transaction = Transaction(session_id, connector_id, id_tag, meter_start, timestamp, 0, reservation_id)
        self.wire_id(transaction)
        self.active[connector_id] = transaction
        self._by_session[session_id] = transaction
        self.stopped[session_id] = asyncio.Event()
        settings = self._meter_settings()
        begin = self.meter_value(connector_id, settings.stop_sampled_data, "Transaction.Begin")
        if begin:
            transaction.stop_data.append(begin)
        self.sampler.add(session_id)
        self._events.transaction_event("Started", connector_id, session_id, None)
        return transaction

    def resume(self, record: StoredTransaction) -> None:
        """Pick up a transaction that survived a restart because its EVSE resumed the session."""
        transaction = Transaction(record.session_id, record.connector_id, record.id_tag, record.meter_start or 0,
                                  record.start_time or utc_now(), record.transaction_id, record.reservation_id)
        self.active[record.connector_id] = transaction
        self._by_session[record.session_id] = transaction
        self.stopped[record.session_id] = asyncio.Event()
        self.sampler.add(record.session_id)

    async def _sample_periodic(self, session_ids: list[str]) -> None:
        """Sample.Periodic MeterValues of the transactions due now, stored in one disk write."""
        settings = self._meter_settings()
        running = [self._by_session[s] for s in session_ids if s in self._by_session]
        for transaction in running:  # the StopTransaction's share, kept even if storing the MeterValues fails
            kept = self.meter_value(transaction.connector_id, settings.stop_sampled_data, "Sample.Periodic")
            if kept:
                transaction.stop_data.append(kept)
        await self.send_meter_values([t.connector_id for t in running], settings.sampled_data, "Sample.Periodic")

    async def send_meter_values(self, connector_ids: Sequence[int], measurands: list[str], context: str) -> int:
        """MeterValues for these connectors, queued durably in order and in one disk write (MeterValues is a
        transactional action); inside a transaction each carries the transaction's id. Returns how many were
        queued (a connector without a reading has none)."""
        messages = [m for m in (self._meter_values_message(c, measurands, context) for c in connector_ids) if m]
        if not messages:
            return 0
        await self._queue.enqueue_transactional_many(messages)
        if context == "Sample.Clock":  # the StopTransaction's share of a clock-aligned sample
            aligned = self._meter_settings().stop_aligned_data
            for connector_id in connector_ids:
                transaction = self.active.get(connector_id)
                if transaction is not None and (kept := self.meter_value(connector_id, aligned, context)):
                    transaction.stop_data.append(kept)
        return len(messages)

    def _meter_values_message(self, connector_id: int, measurands: list[str], context: str) -> Transactional | None:
        value = self.meter_value(connector_id, measurands, context)
        if value is None:
            return None
        payload: dict[str, Any] = {"connectorId": connector_id, "meterValue": [value]}
        transaction = self.active.get(connector_id)
        if transaction is None:
            return Transactional("MeterValues", payload)
        payload["transactionId"] = transaction.transaction_id  # the queue's policy puts the current id in
        session_id, reading = transaction.session_id, energy_wh(self.measurements[connector_id].powermeter)
        now = utc_now()
        # A PowerLoss stop must never report less energy than a MeterValues the CSMS already has: the reading
        # commits with the message.
        return Transactional("MeterValues", payload, session_id,
                             lambda: self._store.record_meter(session_id, reading, now))

    async def stop(self, connector_id: int, session_id: str, reason: str | None, meter_stop: int | None,
                   timestamp: str, id_tag: str | None = None) -> None:
        """StopTransaction; without any reading `meter_stop` is None and the start value stands in (no energy
        charged rather than a negative amount)."""
        transaction = self._by_session.get(session_id) or self.active.get(connector_id)
        if transaction is None:
            log.warning("TransactionFinished for unknown session %s on connector %s ignored", session_id,
                        connector_id)
            return
        if meter_stop is None:
            meter_stop = transaction.meter_start
        self.sampler.remove(transaction.session_id)
        end = self.meter_value(connector_id, self._meter_settings().stop_sampled_data, "Transaction.End")
        if end:
            transaction.stop_data.append(end)
        ocpp_reason = ocpp_stop_reason(reason)
        payload: dict[str, Any] = {"transactionId": self.wire_id(transaction), "meterStop": meter_stop,
                                   "timestamp": timestamp, "reason": ocpp_reason}
        if id_tag:
            payload["idTag"] = id_tag[:ID_TAG_MAX]
        if transaction.stop_data:
            payload["transactionData"] = transaction.stop_data
        payload = thinned_to_fit(payload, self._meter_settings().max_message_size)
        await self._queue.enqueue_transactional("StopTransaction", payload, session_id=transaction.session_id)
        self.active.pop(transaction.connector_id, None)
        self._energy_caps.pop(transaction.session_id, None)
        self.journal.forget(transaction.session_id)
        self._events.transaction_event("Ended", transaction.connector_id, transaction.session_id,
                                       transaction.transaction_id if transaction.transaction_id > 0 else None)

    # -- CSMS answers ---------------------------------------------------------------------------------------
    async def on_start_result(self, session_id: str | None, request: dict[str, Any],
                              response: dict[str, Any] | None) -> None:
        if session_id is None:
            return
        transaction = self._by_session.get(session_id)
        if response is None:
            log.error("StartTransaction of session %s was dropped after its last attempt", session_id)
            return
        transaction_id = int(response["transactionId"])
        info = response.get("idTagInfo") or {}
        self._remember_id_tag(request["idTag"], info)
        connector_id = int(request["connectorId"])
        if transaction is not None:
            transaction.transaction_id = transaction_id
            transaction.id_tag_info = info
        self._events.transaction_event("Updated", connector_id, session_id, transaction_id)
        self._events.transaction_event_response("Started", connector_id, session_id, transaction_id, info)
        if info.get("parentIdTag"):
            self._events.validate_result_update(connector_id, info)
        if info.get("status") != "Accepted" and transaction is not None and \
                self.active.get(connector_id) is transaction:
            log.info("CSMS did not accept the idTag of transaction %s (%s)", transaction_id, info.get("status"))
            self._events.validate_result_update(connector_id, info)
            # Run apart from the queue's result callback so that slow EVSE commands never hold up the lane.
            self._spawn(self._deauthorize(transaction))

    async def _deauthorize(self, transaction: Transaction) -> None:
        """Stop with DeAuthorized when StopTransactionOnInvalidId says so (paused first, even if pausing failed).
        Else the transaction stays without energy: paused at once, or with MaxEnergyOnInvalidId once that many Wh
        were delivered in it (OCPP 1.6 section 9.1)."""
        connector_id = transaction.connector_id
        if self._stop_on_invalid_id():
            await command("pause_charging", self._evse.pause_charging(connector_id), False)
            await command("stop_transaction", self._evse.stop_transaction(connector_id, "DeAuthorized"), False)
            return
        allowance = self._max_energy_on_invalid_id()
        measurement = self.measurements.get(connector_id)
        if allowance and (measurement is None or
                          energy_wh(measurement.powermeter) < transaction.meter_start + allowance):
            self._energy_caps[transaction.session_id] = transaction.meter_start + allowance
            return
        await command("pause_charging", self._evse.pause_charging(connector_id), False)

    async def on_stop_result(self, session_id: str | None, request: dict[str, Any],
                             response: dict[str, Any] | None) -> None:
        if session_id is None:
            return
        if response and response.get("idTagInfo") and request.get("idTag"):
            self._remember_id_tag(request["idTag"], response["idTagInfo"])
        transaction = self._by_session.pop(session_id, None)
        stored = self._store.get(session_id)
        connector_id = transaction.connector_id if transaction else stored.connector_id if stored else None
        if connector_id is not None:
            self._events.transaction_event_response(
                "Ended", connector_id, session_id, request.get("transactionId"), (response or {}).get("idTagInfo"))
        stopped = self.stopped.pop(session_id, None)
        if stopped:
            stopped.set()
