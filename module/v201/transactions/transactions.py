"""Block E: TransactionEvent Started / Updated / Ended from the EVSE managers' session events, started and ended at
the points TxCtrlr.TxStartPoint and TxStopPoint name.

Each EVSE tracks the conditions the points stand for (EVerest's events in brackets): EVConnected and
ParkingBayOccupancy (SessionStarted with reason EVConnected, SessionFinished), Authorized (Authorized, Deauthorized,
a transaction stopped by a token or the CSMS), PowerPathClosed (TransactionStarted, TransactionFinished) and
EnergyTransfer (ChargingStarted / ChargingResumed, the pauses).  A transaction starts when the first start point
holds and ends when one stop point stops holding (E01-E07); while it runs, an authorization, a plug-in and each
change of the charging state are Updated events.  The station makes the transactionId; seqNo comes from the queue's
policy in the same write that queues the event (module/v201/transaction_policy.py).  Every event goes on the
durable transactional lane and is marked `offline` when it happened without a connection.  A transaction still open
when the station starts again (power cut, kill) is Ended with stoppedReason PowerLoss (E07's recovery).

Meter values (block J): the begin and end values come from the readings of the session events, every
SampledDataCtrlr.TxUpdatedInterval seconds a running transaction sends an Updated MeterValuePeriodic event with the
TxUpdatedMeasurands, every TxEndedInterval seconds a sample of TxEndedMeasurands is kept for the Ended event, and at
each AlignedDataCtrlr.Interval boundary an EVSE sends its Measurands: as an Updated
MeterValueClock event during a transaction, else as MeterValues (dropped while offline, as they are not history).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from module.clock import Clock, monotonic_clock
from module.core.timestamps import utc_now
from module.link.errors import CallTimeout, OcppError
from module.queue.database import Database
from module.queue.message_queue import MessageQueue, Offline
from module.v201.availability.connectors import CONNECTOR_ID
from module.v201.device_model.device_model import DeviceModel
from module.v201.meter_values import meter_value
from module.v201.transaction_policy import TRANSACTION_EVENT

log = logging.getLogger(__name__)

_SCHEMA = ["CREATE TABLE open_transactions_201 (evse_id INTEGER PRIMARY KEY, transaction_id TEXT NOT NULL,"
           " started_at TEXT NOT NULL)"]

#: the trigger of a Started event, by the start point that began the transaction
START_TRIGGERS = {"EVConnected": "CablePluggedIn", "ParkingBayOccupancy": "EVDetected", "Authorized": "Authorized",
                  "PowerPathClosed": "ChargingStateChanged", "EnergyTransfer": "ChargingStateChanged"}
#: EVerest's stop reason -> (2.0.1 stoppedReason, triggerReason of the Ended event)
STOP_REASONS = {
    "Local": ("Local", "StopAuthorized"), "Remote": ("Remote", "RemoteStop"),
    "EVDisconnected": ("EVDisconnected", "EVCommunicationLost"), "DeAuthorized": ("DeAuthorized", "Deauthorized"),
    "MasterPass": ("MasterPass", "StopAuthorized"), "EmergencyStop": ("EmergencyStop", "AbnormalCondition"),
    "HardReset": ("ImmediateReset", "ResetCommand"), "SoftReset": ("ImmediateReset", "ResetCommand"),
    "Reboot": ("Reboot", "ResetCommand"), "PowerLoss": ("PowerLoss", "AbnormalCondition"),
    "UnlockCommand": ("Other", "UnlockCommand"), "EnergyLimitReached": ("EnergyLimitReached", "EnergyLimitReached"),
    "TimeLimitReached": ("TimeLimitReached", "TimeLimitReached"), "SOCLimitReached": ("SOCLimitReached", "Trigger"),
    "StoppedByEV": ("StoppedByEV", "ChargingStateChanged"), "Timeout": ("Timeout", "EVConnectTimeout"),
}
#: tokens stop a transaction by ending its authorization
_ENDS_AUTHORIZATION = {"Local", "Remote", "DeAuthorized", "MasterPass"}
ENDED_SAMPLES = 96
"""Most TxEndedInterval samples an Ended event carries (a day at 15 minutes)."""
#: EVerest's events that change the charging state of a running transaction
CHARGING_STATES = {"ChargingStarted": "Charging", "ChargingResumed": "Charging", "ChargingPausedEV": "SuspendedEV",
                   "ChargingPausedEVSE": "SuspendedEVSE"}


class TransactionEvents(Protocol):
    """Who hears of each TransactionEvent and the CSMS's answer (the module publishes them as the `ocpp`
    interface's ocpp_transaction_event / _response vars)."""

    def transaction_event(self, event_type: str, evse_id: int, session_id: str, transaction_id: str) -> None: ...

    def transaction_event_response(self, event_type: str, evse_id: int, session_id: str, transaction_id: str,
                                   response: dict[str, Any]) -> None: ...


@dataclass
class EvseTransaction:
    """What one EVSE's points stand at, and its running transaction."""

    ev_connected: bool = False
    authorized: bool = False
    power_path_closed: bool = False
    energy_transfer: bool = False
    ended_in_session: bool = False
    transaction_id: str | None = None
    id_token: dict[str, Any] | None = None
    token_reported: bool = False
    reading: dict[str, Any] | None = None
    periodic: asyncio.Task[None] | None = None
    ended_sampler: asyncio.Task[None] | None = None
    ended_samples: list[dict[str, Any]] | None = None
    remote_start_id: int | None = None
    remote_start_reported: bool = False
    session_id: str = ""

    def holds(self, point: str) -> bool:
        return {"EVConnected": self.ev_connected, "ParkingBayOccupancy": self.ev_connected,
                "Authorized": self.authorized, "PowerPathClosed": self.power_path_closed,
                "EnergyTransfer": self.energy_transfer}.get(point, False)


class Transactions:
    def __init__(self, model: DeviceModel, db: Database, queue: MessageQueue, evse_ids: list[int],
                 online: Callable[[], bool], clock: Clock = monotonic_clock,
                 listener: TransactionEvents | None = None,
                 stop: Callable[[int, str], Awaitable[bool]] | None = None) -> None:
        """`stop(evse_id, reason)` ends an EVSE's transaction through its EVSE manager (StopTxOnInvalidId)."""
        db.register_migrations("open_transactions_201", _SCHEMA)
        self._clock = clock
        self._stop = stop
        self._stopping: set[asyncio.Future[bool]] = set()
        self._listener = listener
        self._sessions: dict[str, str] = {}  # transactionId -> the EVSE manager's session id
        self._model = model
        self._db = db
        self._queue = queue
        self._online = online
        self.evses = {evse_id: EvseTransaction() for evse_id in evse_ids}
        self._remote_starts: dict[str, int] = {}

    def expect_remote_start(self, id_token: str, remote_start_id: int) -> None:
        """The transaction this token authorizes next carries the remoteStartId."""
        self._remote_starts[id_token] = remote_start_id

    def evse_of(self, transaction_id: str) -> int | None:
        return next((e for e, evse in self.evses.items() if evse.transaction_id == transaction_id), None)

    def _points(self, variable: str) -> list[str]:
        return [p for p in (self._model.value_of("TxCtrlr", variable) or "").split(",") if p]

    async def end_interrupted(self) -> None:
        """Transactions open when the station stopped without ending them: Ended, PowerLoss."""
        rows = self._db.conn.execute("SELECT evse_id, transaction_id FROM open_transactions_201").fetchall()
        for evse_id, transaction_id in rows:
            log.warning("transaction %s of EVSE %s was open at start: ended (PowerLoss)", transaction_id, evse_id)
            await self._event(evse_id, transaction_id, "Ended", "AbnormalCondition",
                              {"stoppedReason": "PowerLoss"})
            self._db_forget(evse_id)

    def on_powermeter(self, evse_id: int, reading: dict[str, Any]) -> None:
        if evse_id in self.evses:
            self.evses[evse_id].reading = reading

    def _measurands(self, component: str, variable: str) -> list[str]:
        return [m for m in (self._model.value_of(component, variable) or "").split(",") if m]

    async def _sample_every(self, evse_id: int, interval: str, measurands: str,
                            take: Callable[[str, list[dict[str, Any]]], Awaitable[None]]) -> None:
        """While the EVSE's transaction runs, a sample of SampledDataCtrlr.`measurands` every `interval` seconds
        (0: none; a change of the interval is seen within a minute), handed to `take` with the transaction id."""
        evse = self.evses[evse_id]
        while True:
            seconds = int(self._model.value_of("SampledDataCtrlr", interval) or 0)
            await self._clock.sleep(seconds if seconds > 0 else 60)
            if seconds <= 0 or evse.transaction_id is None or evse.reading is None:
                continue
            values = meter_value(evse.reading, self._measurands("SampledDataCtrlr", measurands), "Sample.Periodic")
            if values:
                await take(evse.transaction_id, values)

    def _start_sampling(self, evse_id: int) -> None:
        """Updated MeterValuePeriodic every TxUpdatedInterval; every TxEndedInterval a sample kept for the Ended
        event (at most ENDED_SAMPLES, the oldest dropped first)."""
        evse = self.evses[evse_id]

        async def periodic(transaction_id: str, values: list[dict[str, Any]]) -> None:
            await self._event(evse_id, transaction_id, "Updated", "MeterValuePeriodic", {}, meter=values)

        async def keep(_transaction_id: str, values: list[dict[str, Any]]) -> None:
            evse.ended_samples = ((evse.ended_samples or []) + values)[-ENDED_SAMPLES:]

        evse.ended_samples = []
        evse.periodic = asyncio.ensure_future(
            self._sample_every(evse_id, "TxUpdatedInterval", "TxUpdatedMeasurands", periodic))
        evse.ended_sampler = asyncio.ensure_future(
            self._sample_every(evse_id, "TxEndedInterval", "TxEndedMeasurands", keep))

    async def on_clock_boundary(self) -> None:
        measurands = self._measurands("AlignedDataCtrlr", "Measurands")
        for evse_id, evse in self.evses.items():
            values = meter_value(evse.reading, measurands, "Sample.Clock") if evse.reading else []
            if not values:
                continue
            if evse.transaction_id is not None:
                await self._event(evse_id, evse.transaction_id, "Updated", "MeterValueClock", {}, meter=values)
                continue
            try:
                await self._queue.send("MeterValues", {"evseId": evse_id, "meterValue": values})
            except (Offline, OcppError, CallTimeout) as error:
                log.info("clock-aligned MeterValues of EVSE %s not sent: %s", evse_id, error)

    async def stop(self) -> None:
        for evse in self.evses.values():
            await self._stop_periodic(evse)
        for task in list(self._stopping):  # StopTxOnInvalidId commands under way end with the station
            task.cancel()

    @staticmethod
    async def _stop_periodic(evse: EvseTransaction) -> None:
        for task in (evse.periodic, evse.ended_sampler):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        evse.periodic = evse.ended_sampler = None

    def on_response(self, payload: dict[str, Any], response: dict[str, Any]) -> None:
        """The CSMS answered a TransactionEvent (called by the queue's policy)."""
        transaction_id = payload["transactionInfo"]["transactionId"]
        if self._listener is not None:
            self._listener.transaction_event_response(payload["eventType"], payload["evse"]["id"],
                                                      self._sessions.get(transaction_id, ""), transaction_id,
                                                      response)
        if payload["eventType"] == "Ended":
            self._sessions.pop(transaction_id, None)
            return
        status = (response.get("idTokenInfo") or {}).get("status")
        evse_id = payload["evse"]["id"]
        if status not in (None, "Accepted") and self._stop is not None \
                and self.evses.get(evse_id, EvseTransaction()).transaction_id == transaction_id \
                and (self._model.value_of("TxCtrlr", "StopTxOnInvalidId") or "false") == "true":
            log.warning("the CSMS answered %s for the token of transaction %s: ending it (StopTxOnInvalidId)",
                        status, transaction_id)
            task = asyncio.ensure_future(self._stop(evse_id, "DeAuthorized"))
            self._stopping.add(task)
            task.add_done_callback(self._stopping.discard)

    async def on_session_event(self, evse_id: int, kind: str, details: dict[str, Any],
                               session_id: str = "") -> None:
        evse = self.evses[evse_id]
        if session_id:
            evse.session_id = session_id
        token = (details.get("id_tag") or {}).get("id_token")
        if token:
            evse.id_token = {"idToken": token["value"], "type": token.get("type", "Central")}
            if token["value"] in self._remote_starts:
                evse.remote_start_id = self._remote_starts.pop(token["value"])
                evse.remote_start_reported = False
        if isinstance(details.get("meter_value"), dict):
            evse.reading = details["meter_value"]
        was_running = evse.transaction_id is not None
        updates: list[tuple[str, dict[str, Any]]] = []
        stop_reason = "EVDisconnected"
        if kind == "SessionStarted":
            evse.ended_in_session = False
            evse.ev_connected = details.get("reason", "EVConnected") == "EVConnected"
            if was_running and evse.ev_connected:
                updates.append(("CablePluggedIn", {}))
        elif kind == "Authorized":
            evse.authorized = True
            if was_running and not evse.token_reported:
                updates.append(("Authorized", {}))
        elif kind == "Deauthorized":
            evse.authorized = False
            stop_reason = "DeAuthorized"
        elif kind == "TransactionStarted":
            evse.power_path_closed = evse.authorized = True
            if was_running and not evse.token_reported and evse.id_token:
                updates.append(("Authorized", {}))
        elif kind in CHARGING_STATES:
            evse.energy_transfer = CHARGING_STATES[kind] == "Charging"
            if was_running:
                updates.append(("ChargingStateChanged", {"chargingState": CHARGING_STATES[kind]}))
        elif kind == "TransactionFinished":
            evse.power_path_closed = evse.energy_transfer = False
            reason = details.get("reason") or "Other"
            if reason in _ENDS_AUTHORIZATION:
                evse.authorized = False
            if reason == "EVDisconnected":
                evse.ev_connected = False
            stop_reason = reason
        elif kind == "SessionFinished":
            evse.ev_connected = evse.authorized = evse.power_path_closed = evse.energy_transfer = False
        else:
            return
        for trigger, info in updates:
            await self._updated(evse_id, trigger, info)
        if not was_running:
            await self._maybe_start(evse_id)
        elif any(not evse.holds(point) for point in self._points("TxStopPoint")):
            await self._end(evse_id, stop_reason)
        if kind == "SessionFinished":
            evse.ended_in_session = False

    async def _maybe_start(self, evse_id: int) -> None:
        evse = self.evses[evse_id]
        started_by = next((p for p in self._points("TxStartPoint") if evse.holds(p)), None)
        if started_by is None or evse.ended_in_session:
            return
        evse.transaction_id = str(uuid.uuid4())
        evse.token_reported = False
        with self._db.transaction():
            self._db.conn.execute("INSERT OR REPLACE INTO open_transactions_201 (evse_id, transaction_id, started_at)"
                                  " VALUES (?, ?, ?)", (evse_id, evse.transaction_id, utc_now()))
        info = {"chargingState": "Charging" if evse.energy_transfer else "EVConnected" if evse.ev_connected
                else "Idle"}
        begin = meter_value(evse.reading, ["Energy.Active.Import.Register"], "Transaction.Begin") \
            if evse.reading else []
        await self._event(evse_id, evse.transaction_id, "Started", START_TRIGGERS[started_by], info, meter=begin)
        self._start_sampling(evse_id)

    async def _updated(self, evse_id: int, trigger: str, info: dict[str, Any]) -> None:
        transaction_id = self.evses[evse_id].transaction_id
        assert transaction_id is not None
        await self._event(evse_id, transaction_id, "Updated", trigger, info)

    async def _end(self, evse_id: int, evse_reason: str) -> None:
        evse = self.evses[evse_id]
        transaction_id = evse.transaction_id
        assert transaction_id is not None
        stopped, trigger = STOP_REASONS.get(evse_reason, ("Other", "AbnormalCondition"))
        await self._stop_periodic(evse)
        end = (evse.ended_samples or []) + (meter_value(
            evse.reading, self._measurands("SampledDataCtrlr", "TxEndedMeasurands"), "Transaction.End")
            if evse.reading else [])
        evse.ended_samples = None
        await self._event(evse_id, transaction_id, "Ended", trigger, {"stoppedReason": stopped}, meter=end)
        evse.transaction_id, evse.ended_in_session, evse.remote_start_id = None, True, None
        self._db_forget(evse_id)

    def _db_forget(self, evse_id: int) -> None:
        with self._db.transaction():
            self._db.conn.execute("DELETE FROM open_transactions_201 WHERE evse_id = ?", (evse_id,))

    async def _event(self, evse_id: int, transaction_id: str, event_type: str, trigger: str, info: dict[str, Any],
                     meter: list[dict[str, Any]] | None = None) -> None:
        evse = self.evses.get(evse_id) or EvseTransaction()
        timestamp = utc_now("milliseconds")
        payload: dict[str, Any] = {
            "eventType": event_type, "timestamp": timestamp, "triggerReason": trigger, "seqNo": 0,
            "transactionInfo": {"transactionId": transaction_id, **info},
            "evse": {"id": evse_id, "connectorId": CONNECTOR_ID}}
        if evse.id_token and evse.authorized and not evse.token_reported and evse_id in self.evses:
            payload["idToken"] = evse.id_token
            evse.token_reported = True
            if evse.remote_start_id is not None and not evse.remote_start_reported:
                payload["transactionInfo"]["remoteStartId"] = evse.remote_start_id
                evse.remote_start_reported = True
                if trigger == "Authorized":
                    payload["triggerReason"] = "RemoteStart"
        if meter:
            payload["meterValue"] = meter
        if not self._online():
            payload["offline"] = True
        self._sessions.setdefault(transaction_id, evse.session_id)
        await self._queue.enqueue_transactional(TRANSACTION_EVENT, payload, session_id=transaction_id)
        if self._listener is not None:
            self._listener.transaction_event(event_type, evse_id, self._sessions[transaction_id], transaction_id)
