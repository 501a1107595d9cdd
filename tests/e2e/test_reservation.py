"""Reservations end to end (TC_046..TC_053): the demo's charger (config/sil.yaml) with the simulated Auth keeping the
reservations and the simulated EVSE managers reporting ReservationStart / ReservationEnd, under the real manager,
Mosquitto and the OCPP module's processes. One case needs a raised fault and runs against the probe instead.

Every rule and result mapping is also covered in process (tests/core/test_cp_reservation.py); these show that the
modules agree over MQTT, that timers run in real time and that a reservation survives a power cut.

ChangeAvailability Inoperative is answered Rejected here although the connector goes Unavailable: the simulated
EvseManager answers enable_disable with the new enabled state, as EVerest's does, and the module reads False as a
refusal (libocpp ignores that answer). That belongs to the Core profile, so these tests only rely on the status.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from framework.broker import PrivateBroker
from sim.csms import LocalCsms
from sim.csms.replies import CsmsCallError
from sim.demo.state_folder import StateFolder
from tests.e2e import flows
from tests.e2e.harness import ChargerUnderTest
from tests.e2e.sil_charger import SilCharger

VALID, OTHER = "RFID_VALID1", "RFID_VALID2"


@pytest.fixture
async def sil(tmp_path: Path, broker: PrivateBroker, csms: LocalCsms,
              request: pytest.FixtureRequest) -> AsyncIterator[SilCharger]:
    """The demo's charger, not started, so a test can set keys first."""
    charger = SilCharger(StateFolder.at(tmp_path, None), broker, csms)
    yield charger
    await charger.stop()
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        print(charger.log_text()[-6000:])


async def boot(charger: SilCharger, **user_config: dict[str, Any]) -> None:
    """Start with these sections of keys; returns once every connector reported Available."""
    charger.user_config.update(user_config)
    await charger.start()
    for connector in (0, 1, 2):
        await flows.wait_status(charger.csms, connector, "Available", timeout=30)


def expiry(seconds: float = 600) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat(timespec="seconds").replace("+00:00", "Z")


async def reserve(csms: LocalCsms, connector: int, id_tag: str = VALID, reservation_id: int = 1,
                  seconds: float = 600, **extra: Any) -> str:
    answer = await csms.call(None, "ReserveNow", {"connectorId": connector, "expiryDate": expiry(seconds),
                                                  "idTag": id_tag, "reservationId": reservation_id, **extra})
    return str(answer["status"])


async def cancel(csms: LocalCsms, reservation_id: int) -> str:
    return str((await csms.call(None, "CancelReservation", {"reservationId": reservation_id}))["status"])


def statuses(csms: LocalCsms, connector: int, after: int = 0) -> list[str]:
    return [p["status"] for p in csms.payloads("StatusNotification", after_index=after)
            if p["connectorId"] == connector]


async def started(csms: LocalCsms, connector: int, after: int = 0) -> dict[str, Any]:
    start: dict[str, Any] = await csms.wait_for("StartTransaction", lambda p: p["connectorId"] == connector,
                                                timeout=30, after_index=after)
    await flows.wait_status(csms, connector, "Charging", after)
    return start


async def test_tc_046_1_cs_reserved_connector_charges_only_with_the_reserved_card(sil: SilCharger) -> None:
    await boot(sil)
    csms = sil.csms
    assert await reserve(csms, 1, VALID, reservation_id=7) == "Accepted"
    await flows.wait_status(csms, 1, "Reserved")
    sil.swipe(1, OTHER)  # refused by Auth: the connector is reserved for another card
    sil.swipe(1, VALID)
    await flows.wait_status(csms, 1, "Preparing")
    sil.plug_in(1)
    start = await started(csms, 1)
    assert (start["idTag"], start["reservationId"]) == (VALID, 7)
    assert [p["idTag"] for p in csms.payloads("StartTransaction")] == [VALID]
    assert statuses(csms, 1) == ["Available", "Reserved", "Preparing", "Charging"]


async def test_tc_046_2_cs_reserved_connector_starts_remotely_only_for_the_reserved_id(sil: SilCharger) -> None:
    await boot(sil)
    csms = sil.csms
    assert await reserve(csms, 1, VALID, reservation_id=3) == "Accepted"
    await flows.wait_status(csms, 1, "Reserved")
    assert await csms.remote_start(1, OTHER) == {"status": "Rejected"}
    assert await csms.remote_start(1, VALID) == {"status": "Accepted"}
    await flows.wait_status(csms, 1, "Preparing")
    sil.plug_in(1)
    start = await started(csms, 1)
    assert (start["idTag"], start["reservationId"]) == (VALID, 3)


async def test_tc_047_cs_reservation_expires_and_the_connector_is_available_again(sil: SilCharger) -> None:
    await boot(sil)
    csms = sil.csms
    assert await reserve(csms, 1, VALID, reservation_id=4, seconds=2) == "Accepted"
    await flows.wait_status(csms, 1, "Reserved")
    mark = csms.mark()
    await flows.wait_status(csms, 1, "Available", mark)  # Auth's expiry timer, in real time
    assert await cancel(csms, 4) == "Rejected"
    assert await csms.remote_start(1, OTHER) == {"status": "Accepted"}
    sil.plug_in(1)
    start = await started(csms, 1, mark)
    assert start["idTag"] == OTHER and "reservationId" not in start


async def test_tc_048_1_cs_faulted_connector_is_not_reserved(charger: ChargerUnderTest) -> None:
    probe = await charger.start()
    for connector in (0, 1, 2):
        await flows.wait_status(charger.csms, connector, "Available", timeout=30)
    await probe.mod.raise_error("evse_1", "evse_manager/Inoperative", message="contactor welded")
    await flows.wait_status(charger.csms, 1, "Faulted")
    assert await reserve(charger.csms, 1) == "Faulted"
    assert probe.called("reservation", "reserve_now") == []


async def test_tc_048_2_cs_tc_048_3_cs_tc_050_4_cs_occupied_unavailable_and_connector_zero_refused(
        sil: SilCharger) -> None:
    await boot(sil)
    csms = sil.csms
    sil.plug_in(1, "plugin")
    await flows.wait_status(csms, 1, "Preparing")
    assert await reserve(csms, 1) == "Occupied"
    await csms.change_availability(2, "Inoperative")  # its answer: see the note at the top
    await flows.wait_status(csms, 2, "Unavailable")
    assert await reserve(csms, 2) == "Unavailable"
    assert await reserve(csms, 0) == "Rejected"  # ReserveConnectorZeroSupported is false in the base config


async def test_tc_048_4_cs_reservation_rejected_when_reservations_are_not_configured(sil: SilCharger) -> None:
    await boot(sil, Core={"SupportedFeatureProfiles": "Core,RemoteTrigger"})
    assert await reserve(sil.csms, 1) == "Rejected"
    with pytest.raises(CsmsCallError) as refused:
        await cancel(sil.csms, 1)
    assert refused.value.code == "NotSupported"


async def test_tc_049_cs_tc_050_2_cs_tc_050_3_cs_reservation_of_the_charge_point(sil: SilCharger) -> None:
    await boot(sil, Reservation={"ReserveConnectorZeroSupported": True})
    csms = sil.csms
    await csms.change_availability(0, "Inoperative")  # its answer: see the note at the top
    await flows.wait_status(csms, 0, "Unavailable")
    assert await reserve(csms, 0) == "Unavailable"  # TC_050_3
    mark = csms.mark()
    assert await csms.change_availability(0, "Operative") == {"status": "Accepted"}
    for connector in (0, 1, 2):
        await flows.wait_status(csms, connector, "Available", mark)

    mark = csms.mark()
    assert await reserve(csms, 0, VALID, reservation_id=11) == "Accepted"  # TC_049
    sil.plug_in(1)
    sil.swipe(1, OTHER)  # one connector is enough for the reservation: the stranger charges on connector 1
    first = await started(csms, 1, mark)
    await flows.wait_status(csms, 2, "Reserved", mark)  # now the last free connector is held for it
    sil.swipe(2, VALID)
    sil.plug_in(2)
    second = await started(csms, 2, mark)
    assert (first["idTag"], first.get("reservationId")) == (OTHER, None)
    assert (second["idTag"], second["reservationId"]) == (VALID, 11)
    assert await reserve(csms, 0, reservation_id=12) == "Occupied"  # TC_050_2


async def test_tc_051_cs_tc_052_cs_cancel_reservation(sil: SilCharger) -> None:
    await boot(sil)
    csms = sil.csms
    assert await reserve(csms, 1, VALID, reservation_id=21) == "Accepted"
    await flows.wait_status(csms, 1, "Reserved")
    assert await cancel(csms, 22) == "Rejected"  # TC_052
    mark = csms.mark()
    assert await cancel(csms, 21) == "Accepted"  # TC_051
    await flows.wait_status(csms, 1, "Available", mark)
    assert await csms.remote_start(1, OTHER) == {"status": "Accepted"}
    sil.plug_in(1)
    assert (await started(csms, 1, mark))["idTag"] == OTHER
    assert statuses(csms, 1) == ["Available", "Reserved", "Available", "Preparing", "Charging"]


async def test_tc_053_1_cs_tc_053_2_cs_a_card_of_the_reserved_group_charges(sil: SilCharger) -> None:
    csms = sil.csms
    csms.set_id_tag(OTHER, parent_id_tag="PARENT")
    csms.set_id_tag("RFID_VALID3", parent_id_tag="PARENT")
    csms.set_id_tag("RFID_STRANGER", parent_id_tag="ELSEWHERE")
    await boot(sil, Core={"AuthorizeRemoteTxRequests": True})
    for connector in (1, 2):
        assert await reserve(csms, connector, VALID, reservation_id=connector, parentIdTag="PARENT") == "Accepted"
        await flows.wait_status(csms, connector, "Reserved")

    sil.plug_in(1)
    sil.swipe(1, OTHER)  # TC_053_1: a card of the group, at the charger
    local = await started(csms, 1)
    assert (local["idTag"], local["reservationId"]) == (OTHER, 1)

    sil.plug_in(2)
    mark = csms.mark()
    assert await csms.remote_start(2, "RFID_STRANGER") == {"status": "Accepted"}  # its group decides, later
    await csms.wait_for("Authorize", lambda p: p["idTag"] == "RFID_STRANGER", after_index=mark)
    assert await csms.remote_start(2, "RFID_VALID3") == {"status": "Accepted"}  # TC_053_2
    remote = await started(csms, 2, mark)
    assert (remote["idTag"], remote["reservationId"]) == ("RFID_VALID3", 2)
    assert [p["idTag"] for p in csms.payloads("StartTransaction")] == [OTHER, "RFID_VALID3"]


async def test_kill_9_while_reserved_reports_reserved_after_restart_or_available_once_expired(
        sil: SilCharger) -> None:
    await boot(sil)
    csms = sil.csms
    assert await reserve(csms, 1, VALID, reservation_id=1) == "Accepted"
    assert await reserve(csms, 2, VALID, reservation_id=2, seconds=2) == "Accepted"
    for connector in (1, 2):
        await flows.wait_status(csms, connector, "Reserved")

    await sil.kill()
    await asyncio.sleep(2)  # the charger stays off until reservation 2 expired
    reboot = csms.mark()
    await sil.start()
    await csms.wait_for("BootNotification", after_index=reboot, timeout=30)
    await flows.wait_status(csms, 1, "Reserved", reboot)
    await flows.wait_status(csms, 2, "Available", reboot)
    assert "Reserved" not in statuses(csms, 2, reboot)
    assert await cancel(csms, 2) == "Rejected"
    sil.swipe(1, VALID)  # the kept reservation still holds the connector for its card
    sil.plug_in(1)
    start = await started(csms, 1, reboot)
    assert (start["idTag"], start["reservationId"]) == (VALID, 1)
