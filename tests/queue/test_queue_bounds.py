"""MessageQueueSizeThreshold: normal messages go first, then intermediate MeterValues; Start/Stop/SEN never."""

from __future__ import annotations

import asyncio
import json

import pytest

from module.queue.message_queue import Offline, QueueSettings
from tests.queue.conftest import StationFactory
from tests.queue.csms_peer import CsmsPeer
from tests.queue.messages import meter_values, number_of, security_event, start_transaction, stop_transaction
from tests.queue.results import Results


async def test_drop_order_past_the_threshold(csms: CsmsPeer, station: StationFactory) -> None:
    csms.online = False
    cp = await station(QueueSettings(message_queue_size_threshold=6, queue_all_messages=True))
    queue = cp.queue
    normal = asyncio.create_task(queue.send("DataTransfer", {"vendorId": "V"}))
    await asyncio.sleep(0)
    await queue.enqueue_transactional("StartTransaction", start_transaction(), session_id="S1")
    for number in (1, 2, 3):
        await queue.enqueue_transactional("MeterValues", meter_values(number), session_id="S1")
    await queue.enqueue_transactional("SecurityEventNotification", security_event())
    assert queue.queued() == 6 and not normal.done()

    await queue.enqueue_transactional("MeterValues", meter_values(4), session_id="S1")
    with pytest.raises(Offline, match="queue full"):
        await normal
    await queue.enqueue_transactional("MeterValues", meter_values(5), session_id="S1")  # drops 2
    await queue.enqueue_transactional("StopTransaction", stop_transaction(), session_id="S1")  # drops 3
    await queue.enqueue_transactional("SecurityEventNotification", security_event())  # drops 4
    await queue.enqueue_transactional("SecurityEventNotification", security_event())  # nothing droppable
    assert queue.queued() == 7

    results = Results()
    queue.on_transactional_result("SecurityEventNotification", results)
    csms.online = True
    await results.wait(3)
    assert csms.actions()[1:] == ["StartTransaction", "MeterValues", "SecurityEventNotification", "MeterValues",
                                  "StopTransaction", "SecurityEventNotification", "SecurityEventNotification"]
    assert [number_of(p) for p in csms.of("MeterValues")] == [1, 5]


async def test_first_and_last_meter_values_kept_per_transaction(csms: CsmsPeer, station: StationFactory) -> None:
    csms.online = False
    cp = await station(QueueSettings(message_queue_size_threshold=6))
    queue = cp.queue
    for session in ("A", "B"):
        await queue.enqueue_transactional("StartTransaction", start_transaction(), session_id=session)
    for number in range(10):
        await queue.enqueue_transactional("MeterValues", meter_values(number), session_id="A")
        await queue.enqueue_transactional("MeterValues", meter_values(100 + number), session_id="B")
    rows = cp.db.conn.execute("SELECT session_id, payload FROM outbox WHERE action = 'MeterValues' ORDER BY seq")
    kept = [(session, number_of(json.loads(payload))) for session, payload in rows]
    assert kept == [("A", 0), ("B", 100), ("A", 9), ("B", 109)]
