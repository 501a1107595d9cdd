"""The LocalAuthListManagement profile and authorization with it, against the real charge point in process (link,
queue, SQLite, local CSMS), named after the OCTT 1.6 charge point cases (TC_008, TC_042, TC_043)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from module.impl.validation import validation_result
from sim.csms.server import LocalCsms
from tests.core.station import Station, station

PAST = "2020-01-01T00:00:00Z"
FUTURE = "2342-06-19T09:10:00.000Z"
OFFLINE_FROM_LIST = {"Core": {"LocalAuthorizeOffline": True, "AuthorizationCacheEnabled": False}}
PRE_AUTHORIZE_FROM_LIST = {"Core": {"LocalPreAuthorize": True, "AuthorizationCacheEnabled": False}}


def entry(id_tag: str, status: str | None = "Accepted", **info: str) -> dict[str, Any]:
    """A localAuthorizationList item; status None leaves out idTagInfo (a Differential removal)."""
    return {"idTag": id_tag} if status is None else {"idTag": id_tag, "idTagInfo": {"status": status, **info}}


async def send_list(cp: Station, version: int, update_type: str, *entries: dict[str, Any]) -> str:
    request: dict[str, Any] = {"listVersion": version, "updateType": update_type}
    if entries:
        request["localAuthorizationList"] = list(entries)
    return str((await cp.call("SendLocalList", request))["status"])


async def list_version(cp: Station) -> int:
    return int((await cp.call("GetLocalListVersion", {}))["listVersion"])


async def statuses(cp: Station, *id_tags: str) -> list[str]:
    """What authorization answers for each idTag now."""
    return [(await cp.charge_point.core.authorization.validate(id_tag))["status"] for id_tag in id_tags]


async def configure(cp: Station, key: str, value: str) -> None:
    assert await cp.call("ChangeConfiguration", {"key": key, "value": value}) == {"status": "Accepted"}


# -- GetLocalListVersion -------------------------------------------------------------------------------------------
async def test_tc_042_1_cs_get_local_list_version_not_supported(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        await configure(cp, "LocalAuthListEnabled", "false")
        assert await list_version(cp) == -1


async def test_tc_042_1_043_1_cs_profile_left_out_of_supported_feature_profiles(tmp_path: Path,
                                                                                csms: LocalCsms) -> None:
    """Answered as a charge point without local lists (as libocpp does), not with a CALLERROR."""
    async with station(tmp_path, csms, config={"Core": {"SupportedFeatureProfiles": "Core,RemoteTrigger"}}) as cp:
        assert await list_version(cp) == -1
        assert await send_list(cp, 1, "Full", entry("CARD1")) == "NotSupported"
        keys = {item["key"]: item.get("value") for item in (await cp.call("GetConfiguration", {}))["configurationKey"]}
        assert keys["SupportedFeatureProfiles"] == "Core,RemoteTrigger" and "LocalAuthListEnabled" not in keys


async def test_tc_042_2_cs_get_local_list_version_empty(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        assert await list_version(cp) == 0
        assert await send_list(cp, 1, "Full") == "Accepted"
        assert await list_version(cp) == 0  # 0 means empty, whatever version the empty list got
        assert await send_list(cp, 3, "Full", entry("CARD1")) == "Accepted"
        assert await list_version(cp) == 3
        assert await send_list(cp, 4, "Differential", entry("CARD1", None)) == "Accepted"
        assert await list_version(cp) == 0


# -- SendLocalList ------------------------------------------------------------------------------------------------
async def test_tc_043_cs_send_local_list_full_then_differential(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms, config=OFFLINE_FROM_LIST) as cp:
        assert await send_list(cp, 1, "Full", entry("KEPT"), entry("GONE"), entry("LATER", "Blocked")) == "Accepted"
        assert await send_list(cp, 2, "Differential", entry("GONE", None), entry("LATER", parentIdTag="FLEET"),
                               entry("NEW", "Accepted", expiryDate=FUTURE)) == "Accepted"
        assert await list_version(cp) == 2
        await cp.go_offline()
        assert await statuses(cp, "KEPT", "GONE", "LATER", "NEW") == ["Accepted", "Invalid", "Accepted", "Accepted"]
        assert validation_result(await cp.charge_point.core.authorization.validate("LATER")) == {
            "authorization_status": "Accepted", "tariff_messages": [],
            "parent_id_token": {"value": "FLEET", "type": "Central"}}


async def test_full_list_replaces_everything_even_with_a_lower_version(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms, config=OFFLINE_FROM_LIST) as cp:
        assert await send_list(cp, 5, "Full", entry("OLD1"), entry("OLD2")) == "Accepted"
        assert await send_list(cp, 2, "Full", entry("NEW")) == "Accepted"
        assert await list_version(cp) == 2
        await cp.go_offline()
        assert await statuses(cp, "OLD1", "OLD2", "NEW") == ["Invalid", "Invalid", "Accepted"]


async def test_tc_043_1_cs_send_local_list_not_supported(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms, config=OFFLINE_FROM_LIST) as cp:
        assert await send_list(cp, 1, "Full", entry("CARD1")) == "Accepted"
        await configure(cp, "LocalAuthListEnabled", "false")
        assert await send_list(cp, 2, "Full", entry("CARD2")) == "NotSupported"
        await configure(cp, "LocalAuthListEnabled", "true")
        assert await list_version(cp) == 1  # the list was kept while switched off, and not changed
        await cp.go_offline()
        assert await statuses(cp, "CARD1", "CARD2") == ["Accepted", "Invalid"]


async def test_tc_043_2_cs_send_local_list_version_mismatch(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms, config=OFFLINE_FROM_LIST) as cp:
        assert await send_list(cp, 2, "Full", entry("CARD1")) == "Accepted"
        assert await list_version(cp) == 2
        assert await send_list(cp, 5, "Differential", entry("CARD2")) == "Accepted"
        assert await list_version(cp) == 5
        assert await send_list(cp, 4, "Differential", entry("CARD3")) == "VersionMismatch"
        assert await send_list(cp, 5, "Differential", entry("CARD3")) == "VersionMismatch"
        assert await list_version(cp) == 5
        await cp.go_offline()
        assert await statuses(cp, "CARD1", "CARD2", "CARD3") == ["Accepted", "Accepted", "Invalid"]


REFUSED_UPDATES = {
    "longer than LocalAuthListMaxLength": (3, "Full", [entry("A"), entry("B"), entry("C"), entry("D")]),
    "grows beyond LocalAuthListMaxLength": (3, "Differential", [entry("A"), entry("B"), entry("C")]),
    "longer than SendLocalListMaxLength": (3, "Differential", [entry(f"T{i}", None) for i in range(6)]),
    "the same idTag twice": (3, "Differential", [entry("A"), entry("A", "Blocked")]),
    "a full entry without idTagInfo": (3, "Full", [entry("A"), entry("B", None)]),
    "a non-empty full list with version 0": (0, "Full", [entry("A")]),
    "a full list with a negative version": (-1, "Full", []),
}


@pytest.mark.parametrize("update", REFUSED_UPDATES.values(), ids=REFUSED_UPDATES.keys())
async def test_tc_043_3_cs_send_local_list_failed_leaves_the_list_as_it_was(
        tmp_path: Path, csms: LocalCsms, update: tuple[int, str, list[dict[str, Any]]]) -> None:
    limits = {"LocalAuthListManagement": {"LocalAuthListMaxLength": 3, "SendLocalListMaxLength": 5}}
    async with station(tmp_path, csms, config={**OFFLINE_FROM_LIST, **limits}) as cp:
        assert await send_list(cp, 2, "Full", entry("OLD1"), entry("OLD2")) == "Accepted"
        assert await send_list(cp, *update[:2], *update[2]) == "Failed"
        assert await list_version(cp) == 2
        await cp.go_offline()
        assert await statuses(cp, "OLD1", "OLD2", "A", "B", "T0") == ["Accepted", "Accepted", "Invalid", "Invalid",
                                                                      "Invalid"]


async def test_an_empty_full_list_with_version_0_clears_the_list(tmp_path: Path, csms: LocalCsms) -> None:
    """Version 0 is what GetLocalListVersion says of an empty list: an empty Full update with it clears the list
    (EVerest's test_reset_to_idle sends it)."""
    async with station(tmp_path, csms, config=OFFLINE_FROM_LIST) as cp:
        assert await send_list(cp, 2, "Full", entry("OLD1")) == "Accepted"
        assert await send_list(cp, 0, "Full") == "Accepted"
        assert await list_version(cp) == 0
        await cp.go_offline()
        assert await statuses(cp, "OLD1") == ["Invalid"]


async def test_tc_043_3_cs_send_local_list_failed_when_the_disk_refuses_the_write(tmp_path: Path,
                                                                                  csms: LocalCsms) -> None:
    async with station(tmp_path, csms, config=OFFLINE_FROM_LIST) as cp:
        assert await send_list(cp, 2, "Full", entry("OLD1"), entry("OLD2")) == "Accepted"
        conn = cp.charge_point.db.conn
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")  # the disk is full
        new_list = [entry(f"NEW{i:04d}", parentIdTag="FLEET") for i in range(500)]
        assert await send_list(cp, 3, "Full", *new_list) == "Failed"
        conn.execute("PRAGMA max_page_count = 1073741823")
        assert await list_version(cp) == 2
        await cp.go_offline()
        assert await statuses(cp, "OLD1", "OLD2", "NEW0000") == ["Accepted", "Accepted", "Invalid"]


async def test_the_list_is_kept_across_a_restart(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms, config=OFFLINE_FROM_LIST) as cp:
        assert await send_list(cp, 7, "Full", entry("CARD1", parentIdTag="FLEET"), entry("CARD2", "Blocked")) \
            == "Accepted"
    async with station(tmp_path, csms, config=OFFLINE_FROM_LIST) as cp:
        assert await list_version(cp) == 7
        await cp.go_offline()
        assert await statuses(cp, "CARD1", "CARD2") == ["Accepted", "Blocked"]


# -- authorization with the list ------------------------------------------------------------------------------------
@pytest.mark.parametrize("online", [True, False], ids=["online, LocalPreAuthorize", "offline, LocalAuthorizeOffline"])
async def test_tc_008_1_cs_regular_start_with_id_in_local_list(tmp_path: Path, csms: LocalCsms, online: bool) -> None:
    config = {"Core": {"LocalPreAuthorize": online, "LocalAuthorizeOffline": not online,
                       "AuthorizationCacheEnabled": False}}
    async with station(tmp_path, csms, config=config) as cp:
        assert await list_version(cp) == 0
        assert await send_list(cp, 1, "Full", entry("CARD1", expiryDate=FUTURE)) == "Accepted"
        if not online:
            await cp.go_offline()
        await cp.charger.plug_in(1)
        assert await cp.charger.swipe(1, "CARD1")
        if not online:
            await cp.go_online()
        start = await csms.wait_for("StartTransaction")
        assert (start["connectorId"], start["idTag"]) == (1, "CARD1")
        await csms.wait_for("StatusNotification", lambda p: p["connectorId"] == 1 and p["status"] == "Charging")
        assert csms.payloads("Authorize") == []


async def test_tc_008_2_cs_remote_start_with_id_in_local_list(tmp_path: Path, csms: LocalCsms) -> None:
    config = {"Core": {"LocalPreAuthorize": True, "AuthorizeRemoteTxRequests": True,
                       "AuthorizationCacheEnabled": False}}
    async with station(tmp_path, csms, config=config) as cp:
        assert await send_list(cp, 1, "Full", entry("APP1")) == "Accepted"
        await cp.charger.plug_in(1)
        assert await cp.call("RemoteStartTransaction", {"idTag": "APP1", "connectorId": 1}) == {"status": "Accepted"}
        # not prevalidated: the auth module validates the token (from the list) and starts on the plugged-in car
        assert await cp.charger.wait_called("provide_token") == [("APP1", [1], False, None)]
        start = await csms.wait_for("StartTransaction")
        assert start["idTag"] == "APP1" and csms.payloads("Authorize") == []


@pytest.mark.parametrize("online", [True, False])
async def test_a_list_entry_wins_over_the_cache(tmp_path: Path, csms: LocalCsms, online: bool) -> None:
    config = {"Core": {"LocalPreAuthorize": True, "LocalAuthorizeOffline": True, "AuthorizationCacheEnabled": True,
                       "AllowOfflineTxForUnknownId": True}}
    async with station(tmp_path, csms, config=config) as cp:
        assert await statuses(cp, "CARD1") == ["Accepted"]  # Authorize: now in the cache
        assert await send_list(cp, 1, "Full", entry("CARD1", "Blocked"), entry("CARD2", expiryDate=PAST)) \
            == "Accepted"
        if not online:
            await cp.go_offline()
        assert await statuses(cp, "CARD1", "CARD2") == ["Blocked", "Expired"]
        assert [p["idTag"] for p in csms.payloads("Authorize")] == ["CARD1"]


async def test_local_auth_list_enabled_false_puts_the_list_aside(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms, config=PRE_AUTHORIZE_FROM_LIST) as cp:
        csms.set_id_tag("CARD1", "Blocked")
        assert await send_list(cp, 1, "Full", entry("CARD1")) == "Accepted"
        assert await statuses(cp, "CARD1") == ["Accepted"]
        await configure(cp, "LocalAuthListEnabled", "false")
        assert await statuses(cp, "CARD1") == ["Blocked"]  # asked of the CSMS
        assert [p["idTag"] for p in csms.payloads("Authorize")] == ["CARD1"]


async def test_csms_answers_update_the_cache(tmp_path: Path, csms: LocalCsms) -> None:
    """Authorize, StartTransaction and StopTransaction idTagInfo all reach the cache: offline, the ids they refused
    are refused, although unknown ids would be let in."""
    config = {"Core": {"AuthorizationCacheEnabled": True, "LocalAuthorizeOffline": True,
                       "AllowOfflineTxForUnknownId": True, "StopTransactionOnInvalidId": False}}
    async with station(tmp_path, csms, config=config) as cp:
        for id_tag, status in (("AUTH", "Blocked"), ("START", "Invalid"), ("STOP", "Expired")):
            csms.set_id_tag(id_tag, status)
        assert await statuses(cp, "AUTH") == ["Blocked"]
        await cp.charger.plug_in(1)
        await cp.charger.start(1, "START")
        await cp.charger.finish(1, "Local", "STOP")
        await cp.charger.wait_published("transaction_event_response", count=2)  # Started, then Ended answered
        await cp.go_offline()
        assert await statuses(cp, "AUTH", "START", "STOP", "NEW") == ["Blocked", "Invalid", "Expired", "Accepted"]


async def test_csms_answers_never_change_the_list_nor_cache_listed_ids(tmp_path: Path, csms: LocalCsms) -> None:
    config = {"Core": {"LocalPreAuthorize": True, "LocalAuthorizeOffline": True, "AuthorizationCacheEnabled": True,
                       "StopTransactionOnInvalidId": False}}
    async with station(tmp_path, csms, config=config) as cp:
        csms.set_id_tag("CARD1", "Blocked")
        assert await send_list(cp, 1, "Full", entry("CARD1")) == "Accepted"
        await cp.charger.plug_in(1)
        assert await cp.charger.swipe(1, "CARD1")
        assert (await csms.wait_for("StartTransaction"))["idTag"] == "CARD1"
        await cp.charger.wait_published("transaction_event_response")  # StartTransaction.conf: Blocked
        assert await cp.charger.wait_called("pause_charging") == [(1,)]
        assert cp.charge_point.core.authorization.cache.get("CARD1") is None
        assert await list_version(cp) == 1
        await cp.go_offline()
        assert await statuses(cp, "CARD1") == ["Accepted"]


async def test_tc_061_cs_clear_cache_clears_only_the_cache(tmp_path: Path, csms: LocalCsms) -> None:
    config = {"Core": {"LocalPreAuthorize": True, "AuthorizationCacheEnabled": True}}
    async with station(tmp_path, csms, config=config) as cp:
        assert await send_list(cp, 3, "Full", entry("LISTED")) == "Accepted"
        assert await statuses(cp, "CACHED", "LISTED") == ["Accepted", "Accepted"]
        assert await cp.call("ClearCache", {}) == {"status": "Accepted"}
        assert await statuses(cp, "CACHED", "LISTED") == ["Accepted", "Accepted"]
        assert [p["idTag"] for p in csms.payloads("Authorize")] == ["CACHED", "CACHED"]
        assert await list_version(cp) == 3


async def test_get_configuration_reports_the_profile_and_its_keys(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms) as cp:
        answer = await cp.call("GetConfiguration", {"key": [
            "SupportedFeatureProfiles", "LocalAuthListEnabled", "LocalAuthListMaxLength", "SendLocalListMaxLength"]})
        keys = {item["key"]: (item["value"], item["readonly"]) for item in answer["configurationKey"]}
        assert "LocalAuthListManagement" in keys["SupportedFeatureProfiles"][0].split(",")
        assert keys["LocalAuthListEnabled"] == ("true", False)
        assert keys["LocalAuthListMaxLength"][1] and keys["SendLocalListMaxLength"][1]
