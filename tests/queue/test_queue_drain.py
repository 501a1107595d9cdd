"""Transactional lane: durable, strictly ordered, offline transactions get their real id before sending."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from module.queue.message_queue import Offline, QueueSettings
from module.v16.transactions import TransactionState
from tests.manual_clock import ManualClock
from tests.queue.conftest import StationFactory
from tests.queue.csms_peer import CallError, CsmsPeer
from tests.queue.messages import meter_values, number_of, start_transaction, stop_transaction
from tests.queue.results import Results


async def test_thousand_messages_queued_offline_drain_in_order(csms: CsmsPeer, station: StationFactory) -> None:
    csms.online = False
    cp = await station()
    results = Results()
    cp.queue.on_transactional_result("MeterValues", results)
    for number in range(1000):
        await cp.queue.enqueue_transactional("MeterValues", meter_values(number))
    assert cp.queue.queued() == 1000
    assert csms.actions() == []

    csms.online = True
    await cp.link.connect()
    await results.wait(1000)

    assert [number_of(p) for p in csms.of("MeterValues")] == list(range(1000))
    assert csms.actions()[0] == "BootNotification"
    assert cp.queue.queued() == 0
    assert cp.db.conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0


async def test_offline_transaction_gets_the_real_id_everywhere(csms: CsmsPeer, station: StationFactory) -> None:
    csms.online = False
    cp = await station()
    stops = Results()
    cp.queue.on_transactional_result("StopTransaction", stops)
    await cp.queue.enqueue_transactional("StartTransaction", start_transaction(), session_id="S1")
    placeholder = cp.queue.policy.store.get("S1").placeholder_id
    assert placeholder < 0
    for number in range(5):
        await cp.queue.enqueue_transactional("MeterValues", meter_values(number), session_id="S1")
    await cp.queue.enqueue_transactional("StopTransaction", stop_transaction(), session_id="S1")
    queued = [row[0] for row in cp.db.conn.execute(
        "SELECT json_extract(payload, '$.transactionId') FROM outbox WHERE session_id = 'S1' AND "
        "action != 'StartTransaction'")]
    assert queued == [placeholder] * 6

    csms.online = True
    await stops.wait(1)

    real = cp.queue.policy.store.get("S1").csms_transaction_id
    assert real is not None and real > 0
    assert [p["transactionId"] for p in csms.of("MeterValues")] == [real] * 5
    assert csms.of("StopTransaction")[0]["transactionId"] == real
    assert csms.actions()[1:] == ["StartTransaction", *["MeterValues"] * 5, "StopTransaction"]
    assert cp.queue.policy.store.get("S1").state is TransactionState.FINISHED


async def test_messages_after_the_start_was_confirmed_carry_the_real_id(
        csms: CsmsPeer, station: StationFactory) -> None:
    cp = await station()
    starts = Results()
    cp.queue.on_transactional_result("StartTransaction", starts)
    await cp.queue.enqueue_transactional("StartTransaction", start_transaction(), session_id="S1")
    await starts.wait(1)
    await cp.queue.enqueue_transactional("MeterValues", meter_values(1), session_id="S1")
    await csms.wait_count("MeterValues", 1)
    assert csms.of("MeterValues")[0]["transactionId"] == starts.responses()[0]["transactionId"]


async def test_normal_lane_fails_at_once_offline_and_queues_with_queue_all_messages(
        csms: CsmsPeer, station: StationFactory) -> None:
    csms.online = False
    cp = await station(QueueSettings(queue_all_messages=False))
    with pytest.raises(Offline):
        await cp.queue.send("Heartbeat", {})
    cp.queue.update_settings(queue_all_messages=True)
    pending = asyncio.create_task(cp.queue.send("DataTransfer", {"vendorId": "V"}))
    await asyncio.sleep(0)
    assert cp.queue.queued() == 1
    csms.online = True
    assert await pending == {"status": "Accepted"}
    assert cp.queue.queued() == 0


async def test_message_types_discard_for_queueing_are_never_queued(csms: CsmsPeer, station: StationFactory) -> None:
    """With QueueAllMessages, the actions of MessageTypesDiscardForQueueing still fail at once while offline."""
    csms.online = False
    cp = await station(QueueSettings(queue_all_messages=True, discard_for_queueing=frozenset({"Heartbeat"})))
    with pytest.raises(Offline):
        await cp.queue.send("Heartbeat", {})
    assert cp.queue.queued() == 0
    pending = asyncio.create_task(cp.queue.send("DataTransfer", {"vendorId": "V"}))
    await asyncio.sleep(0)
    assert cp.queue.queued() == 1  # other actions are still queued
    csms.online = True
    assert await pending == {"status": "Accepted"}


async def test_normal_lane_may_overtake_a_retrying_transactional_message(
        csms: CsmsPeer, station: StationFactory) -> None:
    def refuse(payload: dict[str, Any]) -> None:
        raise CallError("InternalError", "try later")

    csms.handlers["MeterValues"] = refuse
    clock = ManualClock()
    cp = await station(QueueSettings(transaction_message_retry_interval=30), clock=clock)
    await cp.queue.enqueue_transactional("MeterValues", meter_values(1))
    await clock.sleeping()
    assert "currentTime" in await cp.queue.send("Heartbeat", {})
    assert csms.actions() == ["BootNotification", "MeterValues", "Heartbeat"]
