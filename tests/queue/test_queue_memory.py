"""100,000 queued messages: the queue streams from the database, so memory stays flat."""

from __future__ import annotations

import asyncio
import tracemalloc
from typing import Any

from module.queue.database import Database
from module.queue.message_queue import QueueSettings
from module.queue.outbox import Lane, Outbox
from tests.queue.conftest import StationFactory
from tests.queue.csms_peer import CsmsPeer
from tests.queue.messages import meter_values, number_of

QUEUED = 100_000
DRAINED = 2_000  # the first 200 were dropped (intermediate), so this is the ~1,800th sent
PEAK_LIMIT = 4 * 1024 * 1024  # 100,000 payloads in memory would take well over 50 MB


async def test_memory_flat_with_100000_queued(tmp_path, csms: CsmsPeer, station: StationFactory) -> None:
    db = Database.open(tmp_path, "CP1")
    outbox = Outbox(db)
    with db.transaction():
        for number in range(QUEUED):
            outbox.add(Lane.TRANSACTION, "MeterValues", meter_values(number), "S1")
    db.close()

    last = [-1]
    out_of_order: list[int] = []
    drained = asyncio.Event()

    def check_order(payload: dict[str, Any]) -> dict[str, Any]:
        number = number_of(payload)
        if number <= last[0]:
            out_of_order.append(number)
        last[0] = number  # keep one number, not every payload
        if number >= DRAINED:
            drained.set()
        return {}

    csms.record = False
    csms.handlers["MeterValues"] = check_order
    csms.online = False
    tracemalloc.start()
    try:
        cp = await station(QueueSettings(message_queue_size_threshold=QUEUED))
        assert cp.queue.queued() == QUEUED
        for number in range(QUEUED, QUEUED + 200):  # past the threshold: intermediate MeterValues dropped
            await cp.queue.enqueue_transactional("MeterValues", meter_values(number))
        assert cp.queue.queued() == QUEUED
        csms.online = True
        await drained.wait()
        _, peak = tracemalloc.get_traced_memory()
        print(f"tracemalloc peak with {QUEUED} queued: {peak / 1e6:.2f} MB")
    finally:
        tracemalloc.stop()
    assert peak < PEAK_LIMIT, f"peak {peak / 1e6:.1f} MB"
    assert out_of_order == []
