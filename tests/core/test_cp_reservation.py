"""Reservation profile against the real charge point in process: ReserveNow / CancelReservation through the
simulated reservation module, the Reserved status, and who may charge on a reserved connector (TC_046..TC_053)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from module.core.error_mapping import RaisedError
from module.core.timestamps import utc_text
from sim.csms.replies import CsmsCallError
from sim.csms.server import LocalCsms
from tests.core.station import Station, station

ZERO_SUPPORTED = {"Reservation": {"ReserveConnectorZeroSupported": True}}
INOPERATIVE = "evse_manager/Inoperative"


def expiry(seconds: float = 3600) -> str:
    return utc_text(datetime.now(UTC) + timedelta(seconds=seconds))


async def reserve(cp: Station, connector_id: int, id_tag: str = "CARD1", reservation_id: int = 1,
                  **extra: Any) -> str:
    answer = await cp.call("ReserveNow", {"connectorId": connector_id, "expiryDate": expiry(), "idTag": id_tag,
                                          "reservationId": reservation_id, **extra})
    return str(answer["status"])


async def cancel(cp: Station, reservation_id: int) -> str:
    return str((await cp.call("CancelReservation", {"reservationId": reservation_id}))["status"])


async def wait_status(csms: LocalCsms, connector_id: int, status: str, after: int = 0) -> None:
    await csms.wait_for("StatusNotification", lambda p: p["connectorId"] == connector_id and p["status"] == status,
                        after_index=after)


def statuses(csms: LocalCsms, connector_id: int, after: int = 0) -> list[str]:
    return [p["status"] for p in csms.payloads("StatusNotification", after_index=after)
            if p["connectorId"] == connector_id]


async def test_tc_046_1_cs_reserved_connector_starts_locally_only_for_the_reserved_card(
        tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        assert await reserve(cp, 1, "CARD1", reservation_id=7) == "Accepted"
        await wait_status(csms, 1, "Reserved")
        await cp.charger.plug_in(1)  # a stranger's car: the connector stays reserved
        assert not await cp.charger.swipe(1, "OTHER")
        await cp.charger.unplug(1)
        await cp.charger.plug_in(1)
        assert await cp.charger.swipe(1, "CARD1")
        start = await csms.wait_for("StartTransaction")
        assert (start["connectorId"], start["idTag"], start["reservationId"]) == (1, "CARD1", 7)
        await wait_status(csms, 1, "Charging")
        assert statuses(csms, 1) == ["Available", "Reserved", "Preparing", "Charging"]
        assert await cancel(cp, 7) == "Rejected"  # used up by the transaction


async def test_tc_046_2_cs_remote_start_on_a_reserved_connector_only_for_the_reserved_id(
        tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        assert await reserve(cp, 1, "CARD1", reservation_id=3) == "Accepted"
        await wait_status(csms, 1, "Reserved")
        remote = {"connectorId": 1, "idTag": "OTHER"}
        assert await cp.call("RemoteStartTransaction", remote) == {"status": "Rejected"}
        assert await cp.call("RemoteStartTransaction", {**remote, "idTag": "CARD1"}) == {"status": "Accepted"}
        await wait_status(csms, 1, "Preparing")  # authorized first: the session starts without the car
        await cp.charger.plug_in(1)
        start = await csms.wait_for("StartTransaction")
        assert (start["idTag"], start["reservationId"]) == ("CARD1", 3)
        assert cp.charger.called("provide_token") == [("CARD1", [1], True, None)]


async def test_remote_start_without_connector_avoids_the_connector_reserved_for_another_id(
        tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        assert await reserve(cp, 1, "CARD1") == "Accepted"
        await wait_status(csms, 1, "Reserved")
        assert await cp.call("RemoteStartTransaction", {"idTag": "OTHER"}) == {"status": "Accepted"}
        await wait_status(csms, 2, "Preparing")
        assert statuses(csms, 1) == ["Available", "Reserved"]


async def test_tc_047_cs_expired_reservation_makes_the_connector_available(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        answer = await cp.call("ReserveNow", {"connectorId": 1, "expiryDate": expiry(60), "idTag": "CARD1",
                                              "reservationId": 4})
        assert answer == {"status": "Accepted"}
        await wait_status(csms, 1, "Reserved")
        mark = csms.mark()
        cp.clock.advance(61)
        await wait_status(csms, 1, "Available", after=mark)
        assert await cancel(cp, 4) == "Rejected"
        assert await cp.call("RemoteStartTransaction", {"connectorId": 1, "idTag": "OTHER"}) == {
            "status": "Accepted"}


async def test_tc_048_1_cs_faulted_connector_is_not_reserved(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        cp.charge_point.core.connectors.on_error(1, RaisedError("fault-1", INOPERATIVE))
        await wait_status(csms, 1, "Faulted")
        assert await reserve(cp, 1) == "Faulted"
        assert not cp.charger.called("reserve_now")


async def test_tc_048_2_cs_occupied_connector_is_not_reserved(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        await cp.charger.plug_in(1)
        await wait_status(csms, 1, "Preparing")
        assert await reserve(cp, 1) == "Occupied"
        assert await reserve(cp, 2, "CARD1", reservation_id=1) == "Accepted"
        assert await reserve(cp, 2, "CARD2", reservation_id=2) == "Occupied"  # reserved by another reservation


async def test_tc_048_3_cs_unavailable_connector_is_not_reserved(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        assert await cp.call("ChangeAvailability", {"connectorId": 1, "type": "Inoperative"}) == {
            "status": "Accepted"}
        assert await reserve(cp, 1) == "Unavailable"


async def test_tc_048_4_cs_reservation_rejected_when_the_charge_point_does_not_take_reservations(
        tmp_path: Path, csms: LocalCsms) -> None:
    config = {"Core": {"SupportedFeatureProfiles": "Core,RemoteTrigger"}}
    async with station(tmp_path, csms, config=config) as cp:
        assert await reserve(cp, 1) == "Rejected"
        with pytest.raises(CsmsCallError) as refused:
            await cancel(cp, 1)
        assert refused.value.code == "NotSupported"
        assert not cp.charger.called("reserve_now")


@pytest.mark.parametrize("answer, status", [("Accepted", "Accepted"), ("Faulted", "Faulted"),
                                            ("Occupied", "Occupied"), ("Rejected", "Rejected"),
                                            ("Unavailable", "Unavailable"), ("NoSuchResult", "Rejected")])
async def test_reserve_now_answers_what_the_reservation_module_answered(
        tmp_path: Path, csms: LocalCsms, answer: str, status: str) -> None:
    async with station(tmp_path, csms) as cp:
        cp.charger.reservation_answer = answer
        assert await reserve(cp, 2, "CARD1", reservation_id=9, parentIdTag="GROUP") == status
        [(reservation_id, connector_id, id_tag, expiry_date, parent)] = cp.charger.called("reserve_now")
        assert (reservation_id, connector_id, id_tag, parent) == (9, 2, "CARD1", "GROUP")
        assert expiry_date.endswith("Z")


async def test_unknown_connector_past_expiry_and_unreadable_expiry_are_rejected(
        tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        assert await reserve(cp, 3) == "Rejected"
        assert not cp.charger.called("reserve_now")
        past = {"connectorId": 1, "expiryDate": expiry(-60), "idTag": "CARD1", "reservationId": 1}
        assert await cp.call("ReserveNow", past) == {"status": "Rejected"}  # the module refuses the past
        garbled = {**past, "expiryDate": "tomorrow"}
        assert await cp.csms.call(None, "ReserveNow", garbled, validate=False) == {"status": "Rejected"}
        assert len(cp.charger.called("reserve_now")) == 1


async def test_same_reservation_id_replaces_the_reservation(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        assert await reserve(cp, 1, "CARD1", reservation_id=5) == "Accepted"
        await wait_status(csms, 1, "Reserved")
        mark = csms.mark()
        assert await reserve(cp, 2, "CARD1", reservation_id=5) == "Accepted"
        await wait_status(csms, 1, "Available", after=mark)
        await wait_status(csms, 2, "Reserved", after=mark)
        assert await cancel(cp, 5) == "Accepted"
        await wait_status(csms, 2, "Available", after=mark)


async def test_tc_049_cs_connector_zero_keeps_a_connector_for_the_reserved_card(
        tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms, config=ZERO_SUPPORTED) as cp:
        assert await reserve(cp, 0, "CARD1", reservation_id=11) == "Accepted"
        assert cp.charger.called("reserve_now")[0][1] == 0
        await cp.charger.plug_in(1)
        assert await cp.charger.swipe(1, "OTHER")  # one connector is enough for the reservation
        await wait_status(csms, 2, "Reserved")  # now the last free one is held for it
        assert not await cp.charger.swipe(2, "STRANGER")
        assert await cp.charger.swipe(2, "CARD1")
        await cp.charger.plug_in(2)
        starts = [await csms.wait_for("StartTransaction", lambda p, cid=cid: p["connectorId"] == cid) for cid in (1, 2)]
        assert [(s["idTag"], s.get("reservationId")) for s in starts] == [("OTHER", None), ("CARD1", 11)]
        await wait_status(csms, 2, "Charging")
        assert statuses(csms, 2) == ["Available", "Reserved", "Preparing", "Charging"]


async def test_tc_049_cs_connector_zero_on_a_single_connector_reserves_it(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms, connectors=1, config=ZERO_SUPPORTED) as cp:
        assert await reserve(cp, 0, "CARD1", reservation_id=12) == "Accepted"
        await wait_status(csms, 1, "Reserved")
        assert not await cp.charger.swipe(1, "OTHER")
        assert await cp.charger.swipe(1, "CARD1")
        await cp.charger.plug_in(1)
        start = await csms.wait_for("StartTransaction")
        assert (start["idTag"], start["reservationId"]) == ("CARD1", 12)


async def test_tc_050_1_cs_faulted_charge_point_is_not_reserved(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms, config=ZERO_SUPPORTED) as cp:
        cp.charge_point.core.connectors.on_error(0, RaisedError("fault-0", INOPERATIVE))
        await wait_status(csms, 0, "Faulted")
        assert await reserve(cp, 0) == "Faulted"


async def test_tc_050_2_cs_occupied_charge_point_is_not_reserved(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms, config=ZERO_SUPPORTED) as cp:
        for connector_id in (1, 2):
            await cp.charger.plug_in(connector_id)
        assert await reserve(cp, 0) == "Occupied"


async def test_tc_050_3_cs_unavailable_charge_point_is_not_reserved(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms, config=ZERO_SUPPORTED) as cp:
        assert await cp.call("ChangeAvailability", {"connectorId": 0, "type": "Inoperative"}) == {
            "status": "Accepted"}
        assert await reserve(cp, 0) == "Unavailable"


async def test_tc_050_4_cs_charge_point_reservation_rejected_without_connector_zero_support(
        tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        assert await reserve(cp, 0) == "Rejected"
        assert not cp.charger.called("reserve_now")
        keys = {k["key"]: k.get("value") for k in (await cp.call("GetConfiguration", {}))["configurationKey"]}
        assert keys["ReserveConnectorZeroSupported"] == "false"


async def test_tc_051_cs_cancel_reservation(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        assert await reserve(cp, 1, "CARD1", reservation_id=21) == "Accepted"
        await wait_status(csms, 1, "Reserved")
        mark = csms.mark()
        assert await cancel(cp, 21) == "Accepted"
        await wait_status(csms, 1, "Available", after=mark)
        assert await cp.call("RemoteStartTransaction", {"connectorId": 1, "idTag": "OTHER"}) == {
            "status": "Accepted"}


async def test_tc_052_cs_cancel_unknown_reservation_is_rejected(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        assert await reserve(cp, 1, "CARD1", reservation_id=21) == "Accepted"
        await wait_status(csms, 1, "Reserved")
        assert await cancel(cp, 22) == "Rejected"
        assert statuses(csms, 1) == ["Available", "Reserved"]
        assert cp.charger.called("cancel_reservation") == [(22,)]


async def test_tc_053_1_cs_reserved_connector_used_locally_by_a_card_of_the_same_group(
        tmp_path: Path, csms: LocalCsms) -> None:
    csms.set_id_tag("CARD2", parent_id_tag="GROUP")
    csms.set_id_tag("CARD3", parent_id_tag="ELSEWHERE")
    async with station(tmp_path, csms) as cp:
        assert await reserve(cp, 1, "CARD1", reservation_id=31, parentIdTag="GROUP") == "Accepted"
        await wait_status(csms, 1, "Reserved")
        await cp.charger.plug_in(1)
        assert not await cp.charger.swipe(1, "CARD3")
        assert await cp.charger.swipe(1, "CARD2")
        start = await csms.wait_for("StartTransaction")
        assert (start["idTag"], start["reservationId"]) == ("CARD2", 31)
        assert [p["idTag"] for p in csms.payloads("Authorize")] == ["CARD3", "CARD2"]


async def test_tc_053_2_cs_reserved_connector_used_remotely_by_a_card_of_the_same_group(
        tmp_path: Path, csms: LocalCsms) -> None:
    csms.set_id_tag("CARD2", parent_id_tag="GROUP")
    csms.set_id_tag("CARD3", parent_id_tag="ELSEWHERE")
    async with station(tmp_path, csms, config={"Core": {"AuthorizeRemoteTxRequests": True}}) as cp:
        assert await reserve(cp, 1, "CARD1", reservation_id=32, parentIdTag="GROUP") == "Accepted"
        await wait_status(csms, 1, "Reserved")
        await cp.charger.plug_in(1)
        remote = {"connectorId": 1, "idTag": "CARD3"}
        assert await cp.call("RemoteStartTransaction", remote) == {"status": "Accepted"}
        await csms.wait_for("Authorize", lambda p: p["idTag"] == "CARD3")
        assert await cp.call("RemoteStartTransaction", {**remote, "idTag": "CARD2"}) == {"status": "Accepted"}
        start = await csms.wait_for("StartTransaction")
        assert (start["idTag"], start["reservationId"]) == ("CARD2", 32)
        assert cp.charger.called("provide_token") == [("CARD2", [1], True, "GROUP")]  # CARD3 never went on
        assert [p["idTag"] for p in csms.payloads("Authorize")] == ["CARD3", "CARD2"]


async def test_reserved_status_waits_the_minimum_status_duration(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms, config={"Core": {"MinimumStatusDuration": 10}}) as cp:
        mark = csms.mark()
        assert await reserve(cp, 1) == "Accepted"
        assert await cancel(cp, 1) == "Accepted"
        assert await reserve(cp, 1, reservation_id=2) == "Accepted"
        cp.clock.advance(10)
        await wait_status(csms, 1, "Reserved", after=mark)
        assert statuses(csms, 1, after=mark) == ["Reserved"]  # the latest state, once
