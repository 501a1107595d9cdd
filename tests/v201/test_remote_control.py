"""Block F of the 2.0.1 station, in process against the local CSMS: RequestStartTransaction, RequestStopTransaction
and UnlockConnector (named after the use cases of OCPP 2.0.1 part 2)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sim.csms.server import LocalCsms
from tests.v201.conftest import STATION_ID, RecordingAuth, RecordingEvses, running_station

CARD = {"idToken": "APP01", "type": "Central"}
PROVIDED = {"id_token": {"value": "APP01", "type": "Central"}, "authorization_type": "OCPP"}


async def test_f01_remote_start_then_remote_stop(tmp_path: Path, csms: LocalCsms) -> None:
    auth, evses = RecordingAuth(), RecordingEvses()
    async with running_station(tmp_path, csms, evses=evses, auth=auth) as station:
        await csms.wait_for("StatusNotification", lambda p: p["evseId"] == 2)
        answer = await csms.call(STATION_ID, "RequestStartTransaction", {"idToken": CARD, "remoteStartId": 7,
                                                                          "evseId": 2})
        assert answer == {"status": "Accepted"}
        await asyncio.wait_for(auth.seen.wait(), 5)  # after the answer
        assert auth.provided == [("APP01", [2], False, "Central")]  # AuthorizeRemoteStart true: auth asks the CSMS
        await station.on_session_event(2, "SessionStarted", {"reason": "EVConnected"})
        await station.on_session_event(2, "TransactionStarted", {"id_tag": PROVIDED})
        started = await csms.wait_for("TransactionEvent", lambda p: p["eventType"] == "Started")
        assert started["transactionInfo"]["remoteStartId"] == 7 and started["idToken"] == CARD
        transaction_id = started["transactionInfo"]["transactionId"]

        assert await csms.call(STATION_ID, "RequestStopTransaction", {"transactionId": transaction_id}) == {
            "status": "Accepted"}
        assert evses.commands == [("stop_transaction", 2, "Remote")]
        await station.on_session_event(2, "TransactionFinished", {"reason": "Remote"})
        ended = await csms.wait_for("TransactionEvent", lambda p: p["eventType"] == "Ended")
        assert (ended["triggerReason"], ended["transactionInfo"]["stoppedReason"]) == ("RemoteStop", "Remote")
        assert await csms.call(STATION_ID, "RequestStopTransaction", {"transactionId": "no-such-id"}) == {
            "status": "Rejected"}


async def test_f02_remote_start_refused_on_a_busy_or_unavailable_evse(tmp_path: Path, csms: LocalCsms) -> None:
    auth = RecordingAuth()
    async with running_station(tmp_path, csms, evses=RecordingEvses(), auth=auth) as station:
        await station.on_session_event(1, "SessionStarted", {"reason": "EVConnected"})
        await station.on_session_event(1, "TransactionStarted", {"id_tag": PROVIDED})
        await csms.call(STATION_ID, "ChangeAvailability", {"operationalStatus": "Inoperative", "evse": {"id": 2}})
        for evse_id in (1, 2):
            assert (await csms.call(STATION_ID, "RequestStartTransaction", {
                "idToken": CARD, "remoteStartId": evse_id, "evseId": evse_id}))["status"] == "Rejected"
        assert (await csms.call(STATION_ID, "RequestStartTransaction", {"idToken": CARD, "remoteStartId": 3}))[
            "status"] == "Rejected"  # no EVSE free at all
        assert auth.provided == []


async def test_f05_unlock_connector(tmp_path: Path, csms: LocalCsms) -> None:
    evses = RecordingEvses()
    async with running_station(tmp_path, csms, evses=evses) as station:
        async def unlock(evse_id: int, connector_id: int = 1) -> str:
            return (await csms.call(STATION_ID, "UnlockConnector", {"evseId": evse_id,
                                                                     "connectorId": connector_id}))["status"]

        assert await unlock(1) == "Unlocked"
        assert await unlock(3) == "UnknownConnector" and await unlock(1, 2) == "UnknownConnector"
        await station.on_session_event(2, "SessionStarted", {"reason": "EVConnected"})
        await station.on_session_event(2, "TransactionStarted", {"id_tag": PROVIDED})
        assert await unlock(2) == "OngoingAuthorizedTransaction"
        evses.has_lock = False
        assert await unlock(1) == "UnlockFailed"
        assert [c for c in evses.commands if c[0] == "force_unlock"] == [("force_unlock", 1, ""),
                                                                         ("force_unlock", 1, "")]
