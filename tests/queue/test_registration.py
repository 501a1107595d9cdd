"""Registration gating: only BootNotification before Accepted; Pending answers, Rejected ignores CSMS CALLs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from module.queue.message_queue import Offline, QueueSettings
from module.queue.registration import RegistrationStatus
from tests.manual_clock import ManualClock
from tests.queue.conftest import StationFactory
from tests.queue.csms_peer import CsmsPeer
from tests.queue.messages import meter_values
from tests.queue.results import Results


def boots(*statuses: tuple[str, int]) -> Any:
    """BootNotification answers in this order, the last one repeated."""
    answers = list(statuses)

    def handler(payload: dict[str, Any]) -> dict[str, Any]:
        status, interval = answers.pop(0) if len(answers) > 1 else answers[0]
        return {"status": status, "interval": interval, "currentTime": datetime.now(UTC).isoformat()}

    return handler


def replied(csms: CsmsPeer, unique_id: str) -> bool:
    return any(frame[1] == unique_id for frame in csms.replies)


async def test_pending_answers_csms_calls_and_repeats_the_boot(csms: CsmsPeer, station: StationFactory) -> None:
    csms.handlers["BootNotification"] = boots(("Pending", 20), ("Accepted", 300))
    clock = ManualClock()
    cp = await station(clock=clock)
    results = Results()
    cp.queue.on_transactional_result("MeterValues", results)
    await cp.queue.enqueue_transactional("MeterValues", meter_values(1))

    assert await clock.sleeping() == [clock.monotonic() + 20]
    assert cp.queue.registration.status is RegistrationStatus.PENDING
    call_id = await csms.call("GetConfiguration", {})
    await csms.wait_until(lambda: replied(csms, call_id))
    with pytest.raises(Offline, match="not registered"):
        await cp.queue.send("Heartbeat", {})
    assert csms.actions() == ["BootNotification"]
    assert cp.boot_responses == []

    clock.advance(20)
    await results.wait(1)
    assert csms.actions() == ["BootNotification", "BootNotification", "MeterValues"]
    assert [response["status"] for response in cp.boot_responses] == ["Accepted"]


async def test_rejected_ignores_csms_calls_and_retries_after_the_interval(
        csms: CsmsPeer, station: StationFactory) -> None:
    csms.handlers["BootNotification"] = boots(("Rejected", 30), ("Accepted", 300))
    clock = ManualClock()
    cp = await station(clock=clock)
    assert await clock.sleeping() == [clock.monotonic() + 30]
    assert cp.queue.registration.status is RegistrationStatus.REJECTED
    ignored = await csms.call("GetConfiguration", {})

    clock.advance(30)
    await csms.wait_count("BootNotification", 2)
    await cp.queue.registration.wait_accepted()
    answered = await csms.call("GetConfiguration", {})
    await csms.wait_until(lambda: replied(csms, answered))
    assert not replied(csms, ignored)


async def test_reconnect_does_not_boot_again_and_resumes_after_the_delay(
        csms: CsmsPeer, station: StationFactory) -> None:
    clock = ManualClock()
    cp = await station(QueueSettings(message_queue_resume_delay=15), clock=clock)
    await cp.queue.registration.wait_accepted()
    csms.online = False
    await csms.drop_connections()
    await cp.link.wait_disconnected()
    results = Results()
    cp.queue.on_transactional_result("MeterValues", results)
    await cp.queue.enqueue_transactional("MeterValues", meter_values(1))

    csms.online = True
    assert await clock.sleeping() == [clock.monotonic() + 15]
    assert cp.link.connected and csms.connections == 2
    assert csms.actions() == ["BootNotification"]
    clock.advance(15)
    await results.wait(1)
    assert csms.actions() == ["BootNotification", "MeterValues"]
