"""Stopping a transaction with a card (OCTT TC_068, TC_069), in process: the charger's auth module is played by
`SimCharger.swipe` the way EVerest's Auth module decides (the start card stops at once; another card is validated by
the charge point and stops the transaction when it has the transaction's parentIdTag). What the charge point owes:
the parentIdTag from the list, the cache or Authorize, and the stop card's idTag on StopTransaction."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sim.csms.server import LocalCsms
from tests.core.station import Station, station


async def charging(cp: Station, id_tag: str) -> None:
    await cp.charger.plug_in(1)
    assert await cp.charger.swipe(1, id_tag)
    await cp.csms.wait_for("StatusNotification", lambda p: p["connectorId"] == 1 and p["status"] == "Charging")


async def stopped_by(cp: Station) -> dict[str, Any]:
    """The StopTransaction, once the connector went Finishing."""
    stop = await cp.csms.wait_for("StopTransaction")
    await cp.csms.wait_for("StatusNotification", lambda p: p["connectorId"] == 1 and p["status"] == "Finishing")
    return stop


def authorized(csms: LocalCsms) -> list[str]:
    return [payload["idTag"] for payload in csms.payloads("Authorize")]


async def test_tc_068_cs_stop_with_the_card_that_started(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        await charging(cp, "CARD1")
        assert not await cp.charger.swipe(1, "CARD2")  # valid, but of no group: no stop
        assert csms.payloads("StopTransaction") == []
        assert await cp.charger.swipe(1, "CARD1")
        stop = await stopped_by(cp)
        assert (stop["idTag"], stop["reason"]) == ("CARD1", "Local")
        assert authorized(csms) == ["CARD1", "CARD2"]  # the start card is not asked about again


LIST_OF_THE_GROUP = {"listVersion": 1, "updateType": "Full", "localAuthorizationList": [
    {"idTag": card, "idTagInfo": {"status": "Accepted", "parentIdTag": "GROUP"}} for card in ("CARD1", "CARD2")]}


@pytest.mark.parametrize("source", ["Authorize", "local list", "cache"])
async def test_tc_069_cs_stop_with_another_card_of_the_same_parent_id_tag(tmp_path: Path, csms: LocalCsms,
                                                                         source: str) -> None:
    config = {"Core": {"LocalPreAuthorize": source != "Authorize", "AuthorizationCacheEnabled": source == "cache"}}
    async with station(tmp_path, csms, config=config) as cp:
        for card in ("CARD1", "CARD2"):
            csms.set_id_tag(card, parent_id_tag="GROUP")
        if source == "local list":
            assert await cp.call("SendLocalList", LIST_OF_THE_GROUP) == {"status": "Accepted"}
        if source == "cache":
            await cp.charge_point.core.authorization.validate("CARD2")  # Authorize: CARD2 and its group cached
        await charging(cp, "CARD1")
        asked = authorized(csms)
        assert await cp.charger.swipe(1, "CARD2")
        stop = await stopped_by(cp)
        assert (stop["idTag"], stop["reason"]) == ("CARD2", "Local")
        assert authorized(csms)[len(asked):] == (["CARD2"] if source == "Authorize" else [])


async def test_tc_069_cs_parent_id_tag_learnt_from_start_transaction(tmp_path: Path, csms: LocalCsms) -> None:
    """Authorize gives CARD1 no group; StartTransaction.conf does (EVerest's validate_result_update)."""
    async with station(tmp_path, csms) as cp:
        csms.set_id_tag("CARD1", parent_id_tag="GROUP")
        csms.set_id_tag("CARD2", parent_id_tag="GROUP")
        csms.set_handler("Authorize", lambda payload, _cp: {"idTagInfo": {"status": "Accepted"}} if (
            payload["idTag"] == "CARD1") else {"idTagInfo": csms.id_tag_info(payload["idTag"])})
        await charging(cp, "CARD1")
        assert await cp.charger.wait_published("validate_result_update") == [
            (1, {"status": "Accepted", "parentIdTag": "GROUP"})]
        assert await cp.charger.swipe(1, "CARD2")
        assert (await stopped_by(cp))["idTag"] == "CARD2"


async def test_a_card_of_another_group_does_not_stop(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        csms.set_id_tag("CARD1", parent_id_tag="GROUP")
        csms.set_id_tag("STRANGER", parent_id_tag="OTHER")
        await charging(cp, "CARD1")
        assert not await cp.charger.swipe(1, "STRANGER")
        csms.set_id_tag("THIEF", "Blocked", parent_id_tag="GROUP")
        assert not await cp.charger.swipe(1, "THIEF")  # of the group, but not valid
        assert csms.payloads("StopTransaction") == []
        assert await cp.charger.swipe(1, "CARD1")
        assert (await stopped_by(cp))["idTag"] == "CARD1"
