"""The local authorization list end to end: sent by the CSMS, kept through a power cut (kill -9 of the manager and
the module), and used by EVerest's auth_token_validator while the CSMS is away."""

from __future__ import annotations

import asyncio

from tests.e2e import flows
from tests.e2e.flows import go_offline
from tests.e2e.harness import ChargerUnderTest

FAST_RECONNECT = {"RetryBackoffWaitMinimum": 1, "RetryBackoffRandomRange": 0, "RetryBackoffRepeatTimes": 0}
LIST = [
    {"idTag": "RFID_LISTED", "idTagInfo": {"status": "Accepted", "parentIdTag": "FLEET"}},
    {"idTag": "RFID_BLOCKED", "idTagInfo": {"status": "Blocked"}},
    {"idTag": "RFID_OLD", "idTagInfo": {"status": "Accepted", "expiryDate": "2020-01-01T00:00:00Z"}},
]


async def test_validator_answers_from_the_local_list_offline_after_a_power_cut(
        charger: ChargerUnderTest) -> None:
    charger.user_config = {"Core": {"LocalAuthorizeOffline": True, "AllowOfflineTxForUnknownId": False},
                           "Internal": dict(FAST_RECONNECT)}
    await flows.boot(charger)
    csms = charger.csms
    answer = await csms.call(None, "SendLocalList", {"listVersion": 4, "updateType": "Full",
                                                     "localAuthorizationList": LIST})
    assert answer == {"status": "Accepted"}

    await charger.kill()  # right after the answer: the list was on disk before it
    reboot = csms.mark()
    probe = await charger.start()
    await flows.wait_status(csms, 1, "Available", reboot, timeout=30)
    assert await csms.call(None, "GetLocalListVersion", {}) == {"listVersion": 4}

    await go_offline(charger, probe)
    results = {id_tag: await asyncio.wait_for(probe.validate(id_tag), 3)  # at once, from the list
               for id_tag in ("RFID_LISTED", "RFID_BLOCKED", "RFID_OLD", "RFID_UNKNOWN")}
    assert results["RFID_LISTED"] == {"authorization_status": "Accepted", "tariff_messages": [],
                                      "parent_id_token": {"value": "FLEET", "type": "Central"}}
    assert {id_tag: result["authorization_status"] for id_tag, result in results.items()} == {
        "RFID_LISTED": "Accepted", "RFID_BLOCKED": "Blocked", "RFID_OLD": "Expired", "RFID_UNKNOWN": "Invalid"}
    assert csms.payloads("Authorize") == []
