"""The shared link and queue speaking OCPP 2.0.1 (groundwork of the OCPP201 module): the `ocpp2.0.1` subprotocol
against the local CSMS in its 2.0.1 mode, the boot through the queue's registration, TransactionEvent on the
durable lane, CALLs of the CSMS checked against the OCA 2.0.1 schemas with 2.0.1's CALLERROR codes."""

from __future__ import annotations

import pytest

from module.v201.station import Station201
from sim.csms.records import CONNECTED
from sim.csms.replies import CsmsCallError
from sim.csms.server import LocalCsms
from tests.v201.conftest import BOOT, STATION_ID


async def test_boots_over_ocpp201_and_sends_transaction_events_on_the_durable_lane(station: Station201,
                                                                                     csms: LocalCsms) -> None:
    record = await csms.wait_for_record(lambda r: r.kind == CONNECTED)
    assert record.payload["subprotocol"] == "ocpp2.0.1"
    assert await csms.wait_for("BootNotification") == BOOT
    event = {"eventType": "Started", "timestamp": "2026-12-03T10:00:00Z", "triggerReason": "Authorized", "seqNo": 0,
             "transactionInfo": {"transactionId": "tx-1"}}
    await station.queue.enqueue_transactional("TransactionEvent", event, session_id="tx-1")
    assert await csms.wait_for("TransactionEvent") == event


async def test_csms_calls_are_checked_against_the_201_schemas(station: Station201, csms: LocalCsms) -> None:
    with pytest.raises(CsmsCallError) as missing:
        await csms.call(STATION_ID, "GetVariables", {}, validate=False)
    assert missing.value.code == "OccurrenceConstraintViolation"  # 2.0.1's spelling
    with pytest.raises(CsmsCallError) as unserved:
        await csms.call(STATION_ID, "ReserveNow", {"id": 1, "expiryDateTime": "2030-01-01T00:00:00Z",
                                                "idToken": {"idToken": "T", "type": "ISO14443"}})
    assert unserved.value.code == "NotSupported"
