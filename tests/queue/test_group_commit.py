"""Group commit of the transactional lane: messages stored without fsync, made durable with one fsync for all of
them before the first one goes out, never sent before they are durable."""

from __future__ import annotations

from typing import Any

from tests.queue.conftest import Station, StationFactory
from tests.queue.csms_peer import CsmsPeer
from tests.queue.messages import meter_values
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
