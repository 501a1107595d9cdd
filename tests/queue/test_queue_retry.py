"""Retries: attempts and growing intervals on the injected monotonic clock, written to the database each time."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from module.queue.message_queue import QueueSettings
from module.v16.transactions import TransactionState
from tests.manual_clock import ManualClock
from tests.queue.conftest import StationFactory
from tests.queue.csms_peer import CallError, CsmsPeer, Hold
from tests.queue.messages import meter_values, number_of, start_transaction, stop_transaction
from tests.queue.results import Results


def fail_first(times: int, answer: dict[str, Any]) -> Any:
    calls = {"n": 0}

    def handler(payload: dict[str, Any]) -> dict[str, Any]:
        calls["n"] += 1
        if calls["n"] <= times:
            raise CallError("InternalError", f"failure {calls['n']}")
        return answer

    return handler


def attempts_row(cp: Any) -> tuple[int, float, str | None]:
    return cp.db.conn.execute("SELECT attempts, retry_delay, next_attempt_at FROM outbox").fetchone()


async def test_retry_intervals_grow_with_the_attempt_number_and_are_recorded(
        csms: CsmsPeer, station: StationFactory) -> None:
    csms.handlers["MeterValues"] = fail_first(2, {})
    clock = ManualClock()
    cp = await station(QueueSettings(transaction_message_attempts=3, transaction_message_retry_interval=10),
                       clock=clock)
    results = Results()
    cp.queue.on_transactional_result("MeterValues", results)
    await cp.queue.enqueue_transactional("MeterValues", meter_values(7))

    assert await clock.sleeping() == [clock.monotonic() + 10]
    attempts, delay, next_at = attempts_row(cp)
    assert (attempts, delay) == (1, 10) and next_at is not None

    clock.advance(10)
    await csms.wait_count("MeterValues", 2)
    assert await clock.sleeping() == [clock.monotonic() + 20]
    assert attempts_row(cp)[:2] == (2, 20)

    clock.advance(19)
    assert len(csms.of("MeterValues")) == 2
    clock.advance(1)
    await results.wait(1)
    assert results.responses() == [{}]
    assert cp.queue.queued() == 0


async def test_timeout_counts_as_a_failed_attempt(csms: CsmsPeer, station: StationFactory) -> None:
    answers = iter([Hold(), {}])
    csms.handlers["MeterValues"] = lambda payload: next(answers)
    clock = ManualClock()
    cp = await station(QueueSettings(transaction_message_retry_interval=0, message_timeout=0.2), clock=clock)
    results = Results()
    cp.queue.on_transactional_result("MeterValues", results)
    await cp.queue.enqueue_transactional("MeterValues", meter_values(1))
    await results.wait(1)
    assert results.responses() == [{}]
    assert [number_of(p) for p in csms.of("MeterValues")] == [1, 1]


async def test_start_dropped_after_its_attempts_takes_its_messages_with_it(
        csms: CsmsPeer, station: StationFactory, caplog: pytest.LogCaptureFixture) -> None:
    def refuse(payload: dict[str, Any]) -> None:
        raise CallError("InternalError", "no")

    csms.handlers["StartTransaction"] = refuse
    clock = ManualClock()
    csms.online = False
    cp = await station(QueueSettings(transaction_message_attempts=2, transaction_message_retry_interval=5),
                       clock=clock)
    results = {action: Results() for action in ("StartTransaction", "MeterValues", "StopTransaction")}
    for action, callback in results.items():
        cp.queue.on_transactional_result(action, callback)
    await cp.queue.enqueue_transactional("StartTransaction", start_transaction(), session_id="S1")
    await cp.queue.enqueue_transactional("MeterValues", meter_values(1), session_id="S1")
    await cp.queue.enqueue_transactional("MeterValues", meter_values(2), session_id="S1")
    await cp.queue.enqueue_transactional("StopTransaction", stop_transaction(), session_id="S1")
    await cp.queue.enqueue_transactional("MeterValues", meter_values(99))
    caplog.set_level(logging.ERROR, logger="module.queue.message_queue")
    csms.online = True

    await clock.sleeping()
    clock.advance(5)
    await results["MeterValues"].wait(3)

    assert results["StartTransaction"].responses() == [None]
    assert results["StopTransaction"].responses() == [None]
    assert results["MeterValues"].responses() == [None, None, {}]
    assert csms.actions() == ["BootNotification", "StartTransaction", "StartTransaction", "MeterValues"]
    assert number_of(csms.of("MeterValues")[0]) == 99
    transaction = cp.queue.policy.store.get("S1")
    assert transaction.state is TransactionState.DROPPED
    assert "StartTransaction dropped after 2 attempts" in (transaction.note or "")
    dropped = [r.getMessage() for r in caplog.records if r.getMessage().startswith("DROPPED")]
    assert [line.split()[1] for line in dropped] == ["StartTransaction", "MeterValues", "MeterValues",
                                                     "StopTransaction"]
    assert await cp.queue.enqueue_transactional("MeterValues", meter_values(3), session_id="S1") is None
    assert cp.queue.queued() == 0
