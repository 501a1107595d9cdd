"""Block G (G01 connector status, G03 / G04 ChangeAvailability of an EVSE / the station) and F06 TriggerMessage of
the 2.0.1 station, in process against the local CSMS; named after the use cases of OCPP 2.0.1 part 2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from module.v201.station import Station201
from sim.csms.server import LocalCsms
from tests.manual_clock import ManualClock
from tests.v201.conftest import STATION_ID, RecordingEvses, running_station


def connector(evse_id: int, status: str) -> Any:
    return lambda p: p["evseId"] == evse_id and p["connectorId"] == 1 and p["connectorStatus"] == status


async def change(csms: LocalCsms, status: str, evse: dict[str, int] | None = None) -> dict[str, Any]:
    request: dict[str, Any] = {"operationalStatus": status}
    if evse is not None:
        request["evse"] = evse
    return await csms.call(STATION_ID, "ChangeAvailability", request)


async def test_g01_status_notification_after_boot_and_on_each_change(tmp_path: Path,
                                                                             csms: LocalCsms) -> None:
    async with running_station(tmp_path, csms, evses=RecordingEvses()) as station:
        for evse_id in (1, 2):
            await csms.wait_for("StatusNotification", connector(evse_id, "Available"))
        mark = csms.mark()
        await station.on_session_event(1, "SessionStarted")
        await csms.wait_for("StatusNotification", connector(1, "Occupied"), after_index=mark)
        await station.on_session_event(2, "ReservationStart")
        await csms.wait_for("StatusNotification", connector(2, "Reserved"), after_index=mark)
        await station.on_session_event(1, "SessionFinished")
        await csms.wait_for("StatusNotification", connector(1, "Available"), after_index=mark)
        await station.on_session_event(1, "Authorized")  # changes no status: nothing sent
        assert [(p["evseId"], p["connectorStatus"]) for p in csms.payloads("StatusNotification", after_index=mark)] \
            == [(1, "Occupied"), (2, "Reserved"), (1, "Available")]


async def test_g03_change_availability_of_an_evse(tmp_path: Path, csms: LocalCsms) -> None:
    evses = RecordingEvses()
    async with running_station(tmp_path, csms, evses=evses):
        await csms.wait_for("StatusNotification", connector(2, "Available"))
        mark = csms.mark()
        assert (await change(csms, "Inoperative", {"id": 2}))["status"] == "Accepted"
        await csms.wait_for("StatusNotification", connector(2, "Unavailable"), after_index=mark)
        assert evses.calls == [(2, False)]
        assert (await change(csms, "Operative", {"id": 2}))["status"] == "Accepted"
        await csms.wait_for("StatusNotification", connector(2, "Available"), after_index=mark)
        assert (await change(csms, "Inoperative", {"id": 7}))["status"] == "Rejected"
        assert (await change(csms, "Inoperative", {"id": 1, "connectorId": 2}))["status"] == "Rejected"


async def test_g03_change_availability_of_an_evse_with_a_transaction_is_scheduled(tmp_path: Path,
                                                                                        csms: LocalCsms) -> None:
    evses = RecordingEvses()
    async with running_station(tmp_path, csms, evses=evses) as station:
        await station.on_session_event(1, "SessionStarted")
        await station.on_session_event(1, "TransactionStarted")
        assert (await change(csms, "Inoperative", {"id": 1}))["status"] == "Scheduled"
        assert evses.calls == []
        mark = csms.mark()
        await station.on_session_event(1, "TransactionFinished")
        assert evses.calls == [(1, False)]
        await station.on_session_event(1, "SessionFinished")
        await csms.wait_for("StatusNotification", connector(1, "Unavailable"), after_index=mark)


async def test_g04_change_availability_of_the_station_kept_over_a_restart(tmp_path: Path,
                                                                                csms: LocalCsms) -> None:
    evses = RecordingEvses()
    async with running_station(tmp_path, csms, evses=evses) as station:
        await station.on_session_event(2, "TransactionStarted")
        mark = csms.mark()
        assert (await change(csms, "Inoperative"))["status"] == "Scheduled"
        await csms.wait_for("StatusNotification", connector(1, "Unavailable"), after_index=mark)
        await station.on_session_event(2, "TransactionFinished")
        assert evses.calls == [(1, False), (2, False), (0, False)]
    restarted = RecordingEvses()
    async with running_station(tmp_path, csms, evses=restarted):
        assert (0, False) in restarted.calls
        await csms.wait_for("StatusNotification", connector(2, "Unavailable"), after_index=mark)


async def test_f06_trigger_message(tmp_path: Path, csms: LocalCsms) -> None:
    async with running_station(tmp_path, csms, evses=RecordingEvses()) as station:
        await csms.wait_for("StatusNotification", connector(2, "Available"))
        await station.on_session_event(2, "SessionStarted")
        mark = csms.mark()
        trigger = {"requestedMessage": "StatusNotification", "evse": {"id": 2, "connectorId": 1}}
        assert await csms.call(STATION_ID, "TriggerMessage", trigger) == {"status": "Accepted"}
        await csms.wait_for("StatusNotification", connector(2, "Occupied"), after_index=mark)
        assert await csms.call(STATION_ID, "TriggerMessage", {"requestedMessage": "Heartbeat"}) == {
            "status": "Accepted"}
        await csms.wait_for("Heartbeat", after_index=mark)
        assert await csms.call(STATION_ID, "TriggerMessage", {"requestedMessage": "BootNotification"}) == {
            "status": "Rejected"}  # already accepted
        assert await csms.call(STATION_ID, "TriggerMessage", {"requestedMessage": "StatusNotification"}) == {
            "status": "Rejected"}  # which connector?
        assert (await csms.call(STATION_ID, "TriggerMessage", {"requestedMessage": "LogStatusNotification"}))[
            "status"] == "NotImplemented"


async def test_a_station_without_evses_answers_availability_for_the_station(station: Station201,
                                                                            csms: LocalCsms) -> None:
    assert (await change(csms, "Inoperative"))["status"] == "Accepted"
    assert (await change(csms, "Inoperative", {"id": 1}))["status"] == "Rejected"


async def test_b51_b52_statuses_after_an_offline_time_longer_or_shorter_than_offline_threshold(
        tmp_path: Path, csms: LocalCsms) -> None:
    """Longer than OCPPCommCtrlr.OfflineThreshold (60 s): every connector's status again; shorter: only the one
    that changed while offline."""
    clock = ManualClock()
    async with running_station(tmp_path, csms, evses=RecordingEvses(), clock=clock) as station:
        await csms.wait_for("StatusNotification", connector(2, "Available"))
        for offline_s, expected in ((61, [(1, "Available"), (2, "Available")]), (10, [(2, "Occupied")])):
            await station.link.disconnect()
            clock.advance(offline_s)
            if expected[-1][1] == "Occupied":
                await station.on_session_event(2, "SessionStarted", {"reason": "EVConnected"})
            mark = csms.mark()
            await station.link.connect()
            await csms.wait_for("StatusNotification", connector(*expected[-1]), after_index=mark)
            sent = [(p["evseId"], p["connectorStatus"]) for p in csms.payloads("StatusNotification", after_index=mark)]
            assert sent == expected, offline_s
