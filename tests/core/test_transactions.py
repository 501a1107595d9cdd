"""TransactionManager with a real transaction store and a recording queue: what goes where, and what is kept
for a PowerLoss stop."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from module.core.meter_values import Measurement
from module.core.profiles.core.meter_journal import FLUSH_S
from module.core.profiles.core.transactions import FRAME_OVERHEAD, MeterSettings, TransactionManager, thinned_to_fit
from module.queue.database import Database
from module.queue.message_queue import Transactional
from module.v16.transactions import TransactionStore
from tests.manual_clock import ManualClock

ENERGY = ["Energy.Active.Import.Register"]


def reading(wh: float) -> Measurement:
    return Measurement({"timestamp": "2026-01-01T00:00:00Z", "energy_Wh_import": {"total": wh}})


class RecordingQueue:
    """Stands in for MessageQueue: opens the transaction row on StartTransaction as the real queue does."""

    def __init__(self, store: TransactionStore) -> None:
        self.store = store
        self.enqueued: list[tuple[str, dict[str, Any], str | None]] = []

    async def enqueue_transactional(self, action: str, payload: dict[str, Any], *, session_id: str | None = None
                                    ) -> int:
        if action == "StartTransaction" and session_id is not None:
            self.store.open(session_id, payload["connectorId"], payload["idTag"], payload["meterStart"],
                              payload["timestamp"])
        self.enqueued.append((action, payload, session_id))
        return len(self.enqueued)

    async def enqueue_transactional_many(self, messages: list[Transactional]) -> list[int | None]:
        positions: list[int | None] = []
        for message in messages:
            if message.with_message is not None:
                message.with_message()
            positions.append(await self.enqueue_transactional(message.action, message.payload,
                                                              session_id=message.session_id))
        return positions


class RecordingEvents:
    def __init__(self) -> None:
        self.responses: list[tuple[Any, ...]] = []

    def transaction_event(self, *args: Any) -> None:
        pass

    def transaction_event_response(self, *args: Any) -> None:
        self.responses.append(args)


@pytest.fixture
async def manager(tmp_path):
    store = TransactionStore(Database.open(tmp_path, "cp"))
    settings = MeterSettings(sample_interval=0, sampled_data=ENERGY, stop_sampled_data=[], aligned_data=ENERGY,
                             stop_aligned_data=[])
    tm = TransactionManager(RecordingQueue(store), store, evse=None, events=RecordingEvents(),
                            meter_settings=lambda: settings, stop_on_invalid_id=lambda: True,
                            remember_id_tag=lambda *_: None, spawn=asyncio.ensure_future, clock=ManualClock())
    yield tm
    await tm.sampler.close()


async def test_meter_values_outside_a_transaction_use_the_transactional_lane_without_a_session(manager):
    manager.on_measurement(1, reading(500))
    assert await manager.send_meter_values([1], ENERGY, "Sample.Clock") == 1
    action, payload, session_id = manager._queue.enqueued[-1]
    assert (action, session_id) == ("MeterValues", None) and "transactionId" not in payload


async def test_readings_reach_the_journal_within_the_flush_period_and_with_every_meter_values(manager):
    clock = manager._clock
    manager.on_measurement(1, reading(1000))
    await manager.start(1, "s1", "TAG", 1000, "2026-01-01T00:00:00Z")
    manager.on_measurement(1, reading(1500))
    manager.on_measurement(1, reading(2000))  # grouped with the one before: one write for both
    assert manager._store.get("s1").last_meter_value is None
    await clock.sleeping()
    clock.advance(FLUSH_S)
    await asyncio.sleep(0)
    assert manager._store.get("s1").last_meter_value == 2000
    manager.on_measurement(1, reading(2500))
    await manager.send_meter_values([1], ENERGY, "Sample.Periodic")  # written at once, with the message
    assert manager._store.get("s1").last_meter_value == 2500


async def test_stop_confirmation_answers_the_ended_event_with_its_connector(manager):
    manager.on_measurement(2, reading(1000))
    await manager.start(2, "s2", "TAG", 1000, "2026-01-01T00:00:00Z")
    await manager.stop(2, "s2", "Local", 1200, "2026-01-01T00:10:00Z")
    await manager.on_stop_result("s2", {"transactionId": 7, "meterStop": 1200}, {})
    assert manager._events.responses == [("Ended", 2, "s2", 7, None)]


async def test_repeated_transaction_started_queues_one_start_transaction(manager):
    manager.on_measurement(1, reading(1000))
    first = await manager.start(1, "s1", "TAG", 1000, "2026-01-01T00:00:00Z")
    assert await manager.start(1, "s1", "TAG", 1000, "2026-01-01T00:00:01Z") is first
    assert await manager.start(1, "s9", "TAG", 1000, "2026-01-01T00:00:02Z") is first
    assert [action for action, _payload, _session in manager._queue.enqueued] == ["StartTransaction"]


async def test_stop_without_any_reading_reports_the_start_value(manager):
    await manager.start(1, "s3", "TAG", 1000, "2026-01-01T00:00:00Z")
    await manager.stop(1, "s3", "Local", None, "2026-01-01T00:10:00Z")
    action, payload, _session = manager._queue.enqueued[-1]
    assert (action, payload["meterStop"]) == ("StopTransaction", 1000)


def test_stop_transaction_over_max_message_size_is_thinned_keeping_first_and_last() -> None:
    entries = [{"timestamp": f"2026-01-01T00:{n // 60:02}:{n % 60:02}Z", "sampledValue": [
        {"value": str(1000 + n), "measurand": "Energy.Active.Import.Register", "unit": "Wh"}]} for n in range(1000)]
    payload = {"transactionId": 7, "meterStop": 2000, "timestamp": "2026-01-01T01:00:00Z", "reason": "Local",
               "transactionData": entries}
    thinned = thinned_to_fit(payload, 32000)
    kept = thinned["transactionData"]
    assert len(json.dumps(thinned, separators=(",", ":"))) + FRAME_OVERHEAD <= 32000
    assert kept[0] == entries[0] and kept[-1] == entries[-1] and 2 < len(kept) < len(entries)
    assert {key: value for key, value in thinned.items() if key != "transactionData"} == {
        key: value for key, value in payload.items() if key != "transactionData"}
    assert thinned_to_fit(payload, 1_000_000) == payload  # fits: unchanged
    assert thinned_to_fit(payload, None) == payload
    assert "transactionData" not in thinned_to_fit(payload, 200)  # not even two entries fit: none is sent
