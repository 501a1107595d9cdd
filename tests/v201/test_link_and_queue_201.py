"""The shared link and queue speaking OCPP 2.0.1 (groundwork of the OCPP201 module): the `ocpp2.0.1` subprotocol
against the local CSMS in its 2.0.1 mode, the boot through the queue's registration, TransactionEvent on the
durable lane, CALLs of the CSMS checked against the OCA 2.0.1 schemas with 2.0.1's CALLERROR codes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from module.link.link import OcppLink
from module.link.settings import LinkSettings
from module.queue.database import Database
from module.queue.message_queue import MessageQueue, QueueSettings
from module.v201.protocol import OCPP201
from module.v201.transaction_policy import V201TransactionPolicy
from sim.csms.records import CONNECTED
from sim.csms.replies import CsmsCallError
from sim.csms.server import LocalCsms

STATION = "CS201"
BOOT = {"reason": "PowerUp", "chargingStation": {"model": "SimModel", "vendorName": "SimVendor"}}


@pytest.fixture
async def csms() -> AsyncIterator[LocalCsms]:
    async with LocalCsms(call_timeout=5, ocpp_version="2.0.1") as server:
        yield server


@pytest.fixture
async def station(tmp_path: Path, csms: LocalCsms) -> AsyncIterator[tuple[OcppLink, MessageQueue]]:
    link = OcppLink(LinkSettings(f"{csms.host}:{csms.port}/", STATION, retry_backoff_wait_minimum=0.05,
                                 retry_backoff_random_range=0), OCPP201)
    db = Database.open(tmp_path, STATION)
    queue = MessageQueue(db, link, QueueSettings(), V201TransactionPolicy(), boot_payload=lambda: dict(BOOT),
                         on_boot_accepted=lambda response: None)
    await queue.start()
    await link.start()
    try:
        yield link, queue
    finally:
        await queue.stop()
        await link.stop()
        db.close()


async def test_boots_over_ocpp201_and_sends_transaction_events_on_the_durable_lane(
        station: tuple[OcppLink, MessageQueue], csms: LocalCsms) -> None:
    _link, queue = station
    await queue.registration.wait_accepted()
    record = await csms.wait_for_record(lambda r: r.kind == CONNECTED)
    assert record.payload["subprotocol"] == "ocpp2.0.1"
    assert await csms.wait_for("BootNotification") == BOOT
    event = {"eventType": "Started", "timestamp": "2026-12-03T10:00:00Z", "triggerReason": "Authorized", "seqNo": 0,
             "transactionInfo": {"transactionId": "tx-1"}}
    await queue.enqueue_transactional("TransactionEvent", event, session_id="tx-1")
    assert await csms.wait_for("TransactionEvent") == event


async def test_csms_calls_are_checked_against_the_201_schemas(station: tuple[OcppLink, MessageQueue],
                                                             csms: LocalCsms) -> None:
    link, queue = station
    seen: list[dict[str, Any]] = []

    def get_variables(payload: dict[str, Any]) -> dict[str, Any]:
        seen.append(payload)
        return {"getVariableResult": [{"attributeStatus": "UnknownComponent",
                                       "component": {"name": "Nowhere"}, "variable": {"name": "Nothing"}}]}

    link.register_handler("GetVariables", get_variables)
    await queue.registration.wait_accepted()
    request = {"getVariableData": [{"component": {"name": "Nowhere"}, "variable": {"name": "Nothing"}}]}
    answer = await csms.call(STATION, "GetVariables", request)
    assert answer["getVariableResult"][0]["attributeStatus"] == "UnknownComponent" and seen == [request]
    with pytest.raises(CsmsCallError) as missing:
        await csms.call(STATION, "GetVariables", {}, validate=False)
    assert missing.value.code == "OccurrenceConstraintViolation"  # 2.0.1's spelling
    with pytest.raises(CsmsCallError) as unserved:
        await csms.call(STATION, "ReserveNow", {"id": 1, "expiryDateTime": "2030-01-01T00:00:00Z",
                                                "idToken": {"idToken": "T", "type": "ISO14443"}})
    assert unserved.value.code == "NotSupported"
