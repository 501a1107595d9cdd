"""Group commit of the transactional lane: messages stored without fsync, made durable with one fsync for all of
them before the first one goes out, never sent before they are durable."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import pytest

from module.queue.message_queue import Transactional
from tests.queue.conftest import Station, StationFactory
from tests.queue.csms_peer import CsmsPeer
from tests.queue.messages import meter_values, number_of
from tests.queue.results import Results

BURST = 50


def watch_durability(csms: CsmsPeer, cp: Station) -> list[int]:
    """The database's durable commit number at the moment the CSMS receives each MeterValues."""
    seen: list[int] = []

    def answer(_payload: dict[str, Any]) -> dict[str, Any]:
        seen.append(cp.db.durable_through)
        return {}
    csms.handlers["MeterValues"] = answer
    return seen


async def enqueue_burst(cp: Station) -> list[int]:
    """BURST MeterValues stored in one go; the commit number of each."""
    commits = []
    for number in range(BURST):
        await cp.queue.enqueue_transactional("MeterValues", meter_values(number))
        commits.append(cp.db.last_commit)
    return commits


async def test_a_burst_queued_offline_costs_one_fsync_before_its_first_message(
        csms: CsmsPeer, station: StationFactory) -> None:
    csms.online = False
    cp = await station()
    results = Results()
    cp.queue.on_transactional_result("MeterValues", results)
    commits = await enqueue_burst(cp)
    assert cp.db.durable_through < commits[0]  # stored, not yet fsynced
    durable_at_receipt = watch_durability(csms, cp)

    csms.online = True
    await cp.link.connect()
    await results.wait(BURST)

    assert len(durable_at_receipt) == BURST and min(durable_at_receipt) >= commits[-1]
    assert cp.db.syncs == 1


async def test_messages_stored_while_the_lane_sends_are_durable_when_they_go_out(
        csms: CsmsPeer, station: StationFactory) -> None:
    cp = await station()
    results = Results()
    cp.queue.on_transactional_result("MeterValues", results)
    durable_at_receipt = watch_durability(csms, cp)
    await cp.queue.registration.wait_accepted()

    commits = await enqueue_burst(cp)
    await results.wait(1)
    commits += await enqueue_burst(cp)  # a second burst while the lane is busy with the first
    await results.wait(2 * BURST)

    assert all(durable >= stored for durable, stored in zip(durable_at_receipt, commits, strict=True))
    assert cp.db.syncs <= 3


async def test_messages_enqueued_together_are_one_commit_with_their_caller_writes_and_go_out_in_order(
        csms: CsmsPeer, station: StationFactory) -> None:
    """The samples of many transactions taken in one pass: one disk write for all of them and for the caller's
    writes that must commit with them (the meter reading a PowerLoss stop reports)."""
    csms.online = False
    cp = await station()
    results = Results()
    cp.queue.on_transactional_result("MeterValues", results)
    written: list[int] = []

    def writer(number: int) -> Callable[[], None]:
        return lambda: written.append(number)

    before = cp.db.last_commit
    positions = await cp.queue.enqueue_transactional_many(
        [Transactional("MeterValues", meter_values(number), with_message=writer(number)) for number in range(BURST)])
    assert cp.db.last_commit == before + 1 and written == list(range(BURST))
    assert None not in positions and positions == sorted(p or 0 for p in positions) and cp.queue.queued() == BURST

    csms.online = True
    await cp.link.connect()
    await results.wait(BURST)
    assert [number_of(payload) for payload in csms.of("MeterValues")] == list(range(BURST))


async def test_a_batch_that_cannot_be_stored_leaves_nothing_behind(csms: CsmsPeer, station: StationFactory) -> None:
    csms.online = False
    cp = await station()

    def fail() -> None:
        raise sqlite3.OperationalError("disk I/O error")

    batch = [Transactional("MeterValues", meter_values(0)), Transactional("MeterValues", meter_values(1), None, fail)]
    with pytest.raises(sqlite3.OperationalError):
        await cp.queue.enqueue_transactional_many(batch)
    assert cp.queue.queued() == 0
    await cp.queue.enqueue_transactional("MeterValues", meter_values(2))
    results = Results()
    cp.queue.on_transactional_result("MeterValues", results)
    csms.online = True
    await cp.link.connect()
    await results.wait(1)
    assert [number_of(payload) for payload in csms.of("MeterValues")] == [2]
