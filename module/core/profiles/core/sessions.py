"""Transactions and meter values driven by the EVSEs: session events, readings, power-loss recovery, and the
clock-aligned samples."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from module.core.clock_aligned import run_clock_aligned
from module.core.connector_status import Event
from module.core.context import CoreContext, RunningTransaction, command
from module.core.inputs import Reading, SessionEvent
from module.core.meter_values import Measurement, energy_wh, has_energy
from module.core.profile import ServiceBase
from module.core.profiles.core.transactions import MeterSettings, RememberIdTag, TransactionManager
from module.core.timestamps import utc_now
from module.v16.transactions import TransactionState

log = logging.getLogger(__name__)


class TransactionService(ServiceBase):
    """Owns the running transactions (`manager.active`), the latest reading per connector and the sessions the
    EVSEs resumed after a restart."""

    def __init__(self, ctx: CoreContext, remember_id_tag: RememberIdTag) -> None:
        self._ctx = ctx
        self.manager = TransactionManager(
            ctx.queue, ctx.transaction_store, ctx.ports.evse, ctx.ports.events, self._meter_settings,
            stop_on_invalid_id=lambda: bool(ctx.cfg.get("StopTransactionOnInvalidId")),
            remember_id_tag=remember_id_tag, spawn=ctx.spawn, clock=ctx.clock,
            max_energy_on_invalid_id=lambda: ctx.cfg.get("MaxEnergyOnInvalidId"))
        ctx.queue.on_transactional_result("StartTransaction", self.manager.on_start_result)
        ctx.queue.on_transactional_result("StopTransaction", self.manager.on_stop_result)
        self.resumed_sessions: set[str] = set()
        self._aligned_changed = asyncio.Event()
        self._aligned: asyncio.Task[None] | None = None
        self._unsubscribe = ctx.cfg.on_change("ClockAlignedDataInterval", lambda *_: self._aligned_changed.set())

    def _meter_settings(self) -> MeterSettings:
        get = self._ctx.cfg.get
        return MeterSettings(sample_interval=get("MeterValueSampleInterval"),
                             sampled_data=get("MeterValuesSampledData"), stop_sampled_data=get("StopTxnSampledData"),
                             aligned_data=get("MeterValuesAlignedData"), stop_aligned_data=get("StopTxnAlignedData"),
                             max_message_size=get("MaxMessageSize"))

    # -- lifecycle ------------------------------------------------------------------------------------------
    async def start(self) -> None:
        await self._recover()
        self._aligned = asyncio.create_task(
            run_clock_aligned(lambda: self._ctx.cfg.get("ClockAlignedDataInterval"), self._clock_aligned,
                              clock=self._ctx.clock, changed=self._aligned_changed), name="clock-aligned")

    async def stop(self) -> None:
        self._unsubscribe()
        if self._aligned is not None:
            self._aligned.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._aligned
        await self.manager.sampler.close()
        self.manager.journal.close()

    def take_over(self, previous: TransactionService) -> None:
        """Transactions running in the previous instance continue (their EVSE sessions never stopped)."""
        self.resumed_sessions |= {transaction.session_id for transaction in previous.manager.active.values()}
        self.manager.measurements.update(previous.manager.measurements)

    async def _recover(self) -> None:
        """Resume transactions whose EVSE reported SessionResumed; stop the others with reason PowerLoss."""
        for record in self._ctx.transaction_store.unfinished():
            if record.state is not TransactionState.ACTIVE:
                continue
            if record.session_id in self.resumed_sessions:
                log.info("resuming transaction %s on connector %s", record.transaction_id, record.connector_id)
                self.manager.resume(record)
                continue
            meter_stop = round(record.last_meter_value if record.last_meter_value is not None
                               else record.meter_start or 0)
            log.warning("transaction %s on connector %s was open at power loss: stopping it with PowerLoss",
                        record.transaction_id, record.connector_id)
            await self._ctx.queue.enqueue_transactional(
                "StopTransaction", {"transactionId": record.transaction_id, "meterStop": meter_stop,
                                    "timestamp": record.last_meter_time or utc_now(), "reason": "PowerLoss"},
                session_id=record.session_id)

    # -- what the EVSEs report ------------------------------------------------------------------------------
    def running(self, connector_id: int) -> bool:
        return connector_id in self.manager.active

    def running_transaction(self, connector_id: int) -> RunningTransaction | None:
        """The transaction on a connector as other profiles see it (CoreContext.running_transaction)."""
        transaction = self.manager.active.get(connector_id)
        if transaction is None:
            return None
        return RunningTransaction(connector_id, transaction.session_id, self.manager.wire_id(transaction),
                                  transaction.start_time)

    async def on_session_event(self, connector_id: int, event: SessionEvent) -> None:
        if event.kind == "TransactionStarted":
            await self._started(connector_id, event)
        elif event.kind == "TransactionFinished":
            await self._finished(connector_id, event)
        elif event.kind == "SessionResumed":
            self.resumed_sessions.add(event.session_id)

    async def _started(self, connector_id: int, event: SessionEvent) -> None:
        if not has_energy(event.meter):
            log.error("TransactionStarted on connector %s without an energy reading dropped", connector_id)
            return
        assert event.meter is not None
        self.on_reading(connector_id, event.meter)
        await self.manager.start(connector_id, event.session_id, event.id_tag or "", energy_wh(event.meter),
                                 event.timestamp or utc_now(), event.reservation_id)

    async def _finished(self, connector_id: int, event: SessionEvent) -> None:
        meter = event.meter
        if not has_energy(meter):
            log.error("TransactionFinished on connector %s without an energy reading: using the last reading",
                      connector_id)
            last = self.manager.measurements.get(connector_id)
            meter = last.powermeter if last else None
        meter_stop = None
        if meter is not None and has_energy(meter):
            meter_stop = energy_wh(meter)
            self.on_reading(connector_id, meter)
        await self.manager.stop(connector_id, event.session_id, event.reason, meter_stop,
                                event.timestamp or utc_now(), event.id_tag)
        if event.reason != "EVDisconnected":
            self._ctx.notifier.handle(connector_id, Event.TRANSACTION_STOPPED_AND_USER_ACTION_REQUIRED)
        elif self._ctx.cfg.get("UnlockConnectorOnEVSideDisconnect"):
            await command("force_unlock", self._ctx.ports.evse.force_unlock(connector_id), False)

    def on_reading(self, connector_id: int, reading: Reading) -> None:
        """A power meter reading; SoC and offered limits of the previous measurement carry over."""
        previous = self.manager.measurements.get(connector_id)
        measurement = Measurement(reading) if previous is None else Measurement(
            reading, previous.soc_percent, previous.current_offered_a, previous.power_offered_w)
        self.manager.on_measurement(connector_id, measurement)

    def on_ev_soc(self, connector_id: int, soc_percent: float | None) -> None:
        measurement = self.manager.measurements.get(connector_id)
        if measurement is not None:
            measurement.soc_percent = soc_percent

    def on_offered_limits(self, connector_id: int, current_a: float | None, power_w: float | None) -> None:
        measurement = self.manager.measurements.get(connector_id)
        if measurement is not None:
            measurement.current_offered_a, measurement.power_offered_w = current_a, power_w

    # -- meter values on a timer or on request ---------------------------------------------------------------
    async def _clock_aligned(self) -> None:
        measurands = self._ctx.cfg.get("MeterValuesAlignedData")
        if measurands:
            await self.manager.send_meter_values(self._ctx.connector_ids, measurands, "Sample.Clock")

    async def trigger_meter_values(self, connector_id: int | None) -> None:
        """TriggerMessage(MeterValues): one connector, or every connector when none (or 0) is given."""
        measurands = self._ctx.cfg.get("MeterValuesSampledData")
        await self.manager.send_meter_values(self._ctx.connector_ids if not connector_id else [connector_id],
                                             measurands, "Trigger")
