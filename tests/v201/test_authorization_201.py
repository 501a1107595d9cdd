"""Blocks C and D of the 2.0.1 station, in process against the local CSMS: Authorize with the cache, the local
list, ClearCache and the offline rules (named after the use cases of OCPP 2.0.1 part 2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from module.v201.station import Station201
from sim.csms.records import CONNECTED
from sim.csms.server import LocalCsms
from tests.v201.conftest import STATION_ID, running_station

CARD = {"idToken": "CARD01", "type": "ISO14443"}
LISTED = {"idToken": "LIST01", "type": "ISO14443"}
BLOCKED = {"idToken": "LIST02", "type": "ISO14443"}


async def send_list(csms: LocalCsms, version: int, update: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
    request: dict[str, Any] = {"versionNumber": version, "updateType": update}
    if entries:
        request["localAuthorizationList"] = entries
    return await csms.call(STATION_ID, "SendLocalList", request)


async def test_c01_authorize_online_and_c10_the_answer_is_cached(station: Station201, csms: LocalCsms) -> None:
    assert (await station.authorization.authorize(CARD))["status"] == "Accepted"
    assert [p["idToken"] for p in csms.payloads("Authorize")] == [CARD]
    await station.link.disconnect()
    assert (await station.authorization.authorize(CARD))["status"] == "Accepted"  # LocalAuthorizeOffline: cache
    assert (await station.authorization.authorize({"idToken": "NEW", "type": "ISO14443"}))["status"] == "Unknown"
    mark = csms.mark()
    await station.link.connect()
    await csms.wait_for_record(lambda record: record.kind == CONNECTED, after_index=mark)
    assert await csms.call(STATION_ID, "ClearCache", {}) == {"status": "Accepted"}
    await station.link.disconnect()
    assert (await station.authorization.authorize(CARD))["status"] == "Unknown"  # C11: the cache is empty


async def test_c05_offline_unknown_token_accepted_when_configured(tmp_path: Path, csms: LocalCsms) -> None:
    shipped = {"AuthCtrlr/OfflineTxForUnknownIdEnabled": {"Actual": "true"}}
    async with running_station(tmp_path, csms, shipped=shipped) as station:
        await station.link.disconnect()
        assert (await station.authorization.authorize(CARD))["status"] == "Accepted"


async def test_d01_send_local_list_and_d02_its_version(tmp_path: Path, csms: LocalCsms) -> None:
    shipped = {"AuthCtrlr/LocalPreAuthorize": {"Actual": "true"}}
    async with running_station(tmp_path, csms, shipped=shipped) as station:
        assert await csms.call(STATION_ID, "GetLocalListVersion", {}) == {"versionNumber": 0}
        assert await send_list(csms, 1, "Full", [{"idToken": LISTED, "idTokenInfo": {"status": "Accepted"}},
                                                 {"idToken": BLOCKED, "idTokenInfo": {"status": "Blocked"}}]) == {
            "status": "Accepted"}
        assert await csms.call(STATION_ID, "GetLocalListVersion", {}) == {"versionNumber": 1}
        assert (await station.authorization.authorize(LISTED))["status"] == "Accepted"
        assert (await station.authorization.authorize(BLOCKED))["status"] == "Blocked"
        assert csms.payloads("Authorize") == []  # LocalPreAuthorize: the list decides without the CSMS
        assert (await send_list(csms, 1, "Differential", []))["status"] == "VersionMismatch"
        assert await send_list(csms, 2, "Differential", [{"idToken": BLOCKED}]) == {"status": "Accepted"}
        assert (await station.authorization.authorize(BLOCKED))["status"] == "Accepted"  # now asked: the CSMS
        assert station.model.value_of("LocalAuthListCtrlr", "Entries") == "1"


async def test_d01_a_list_over_the_limit_changes_nothing(tmp_path: Path, csms: LocalCsms) -> None:
    async with running_station(tmp_path, csms) as station:
        too_many = [{"idToken": {"idToken": f"T{i}", "type": "ISO14443"}, "idTokenInfo": {"status": "Accepted"}}
                    for i in range(10001)]
        answer = await send_list(csms, 3, "Full", too_many)
        assert answer["status"] == "Failed"
        assert await csms.call(STATION_ID, "GetLocalListVersion", {}) == {"versionNumber": 0}
        assert station.model.value_of("LocalAuthListCtrlr", "Entries") == "0"


async def test_c_authorization_off_accepts_every_token(tmp_path: Path, csms: LocalCsms) -> None:
    async with running_station(tmp_path, csms, shipped={"AuthCtrlr/Enabled": {"Actual": "false"}}) as station:
        csms.id_tags["CARD01"] = "Invalid"
        assert (await station.authorization.authorize(CARD))["status"] == "Accepted"
        assert csms.payloads("Authorize") == []


async def test_c10_cache_lifetime_and_switches(tmp_path: Path, csms: LocalCsms) -> None:
    """AuthCacheCtrlr.LifeTime ends a cached answer's use; with the cache off nothing is cached and ClearCache is
    Rejected; with the local list off SendLocalList fails and the list decides nothing."""
    async with running_station(tmp_path, csms, shipped={"AuthCacheCtrlr/LifeTime": {"Actual": "3600"}}) as station:
        assert (await station.authorization.authorize(CARD))["status"] == "Accepted"
        await station.link.disconnect()
        assert (await station.authorization.authorize(CARD))["status"] == "Accepted"  # from the cache
        later = datetime.now(UTC) + timedelta(hours=2)
        station.authorization.now = lambda: later  # two hours on: past LifeTime
        assert (await station.authorization.authorize(CARD))["status"] == "Unknown"
    switched_off = {"AuthCacheCtrlr/Enabled": {"Actual": "false"}, "LocalAuthListCtrlr/Enabled": {"Actual": "false"},
                    "AuthCtrlr/LocalPreAuthorize": {"Actual": "true"}}
    async with running_station(tmp_path / "off", csms, shipped=switched_off) as station:
        assert (await send_list(csms, 1, "Full", [{"idToken": CARD, "idTokenInfo": {"status": "Blocked"}}]))[
            "status"] == "Failed"
        assert (await station.authorization.authorize(CARD))["status"] == "Accepted"  # asked: the CSMS
        assert await csms.call(STATION_ID, "ClearCache", {}) == {"status": "Rejected"}
        await station.link.disconnect()
        assert (await station.authorization.authorize(CARD))["status"] == "Unknown"  # nothing was cached
