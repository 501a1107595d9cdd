"""Each OCPP-J 1.6 CALLERROR code, provoked by a crafted frame; the link stays up after each."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from module.link.link import OcppLink
from tests.link.link_helpers import Csms, connected_pair

CASES: list[tuple[str, Any, str, str]] = [
    ("unknown action", [2, "u1", "FlyToTheMoon", {}], "u1", "NotImplemented"),
    ("profile not supported", [2, "u2", "ReserveNow", {"connectorId": 1, "expiryDate": "2024-01-01T00:00:00Z",
                                                        "idTag": "A", "reservationId": 1}], "u2", "NotSupported"),
    ("no handler", [2, "u3", "ClearCache", {}], "u3", "NotSupported"),
    ("payload not an object", [2, "u4", "Reset", ["Hard"]], "u4", "FormationViolation"),
    ("property not allowed", [2, "u5", "Reset", {"type": "Hard", "when": "now"}], "u5", "FormationViolation"),
    ("required missing", [2, "u6", "Reset", {}], "u6", "OccurenceConstraintViolation"),
    ("wrong type", [2, "u7", "UnlockConnector", {"connectorId": "one"}], "u7", "TypeConstraintViolation"),
    ("bad enum", [2, "u8", "Reset", {"type": "Medium"}], "u8", "PropertyConstraintViolation"),
    ("string too long", [2, "u9", "RemoteStartTransaction", {"idTag": "T" * 21}], "u9",
     "PropertyConstraintViolation"),
    ("not JSON", '[2, "u10", "Reset", {', "u10", "ProtocolError"),
    ("not JSON, no id", "hello", "-1", "ProtocolError"),
    ("not an array", {"type": "Reset"}, "-1", "ProtocolError"),
    ("CALL too short", [2, "u13", "Reset"], "u13", "ProtocolError"),
    ("action not a string", [2, "u14", 7, {}], "u14", "ProtocolError"),
    ("unknown message type", [7, "u15", "Reset", {}], "u15", "GenericError"),
    ("handler raised", [2, "u16", "UnlockConnector", {"connectorId": 1}], "u16", "InternalError"),
]


@pytest.mark.parametrize(("case", "frame", "unique_id", "code"), CASES, ids=[c[0] for c in CASES])
async def test_crafted_frame_gets_its_callerror(csms: Csms, new_link: Callable[..., OcppLink], case: str,
                                                frame: Any, unique_id: str, code: str) -> None:
    link, peer = await connected_pair(csms, new_link)
    link.set_supported_profiles({"Core", "SmartCharging"})
    link.register_handler("Reset", lambda payload: {"status": "Accepted"})
    link.register_handler("RemoteStartTransaction", lambda payload: {"status": "Accepted"})
    link.register_handler("ReserveNow", lambda payload: {"status": "Accepted"})

    def broken(payload: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("hardware says no")

    link.register_handler("UnlockConnector", broken)
    await peer.send(frame)
    reply = await peer.next()
    assert reply[:3] == [4, unique_id, code]
    assert isinstance(reply[3], str) and reply[4] == {}
    await peer.send([2, "after", "Reset", {"type": "Soft"}])
    assert await peer.next() == [3, "after", {"status": "Accepted"}]
    assert link.connected


async def test_binary_frame_not_utf8(csms: Csms, new_link: Callable[..., OcppLink]) -> None:
    link, peer = await connected_pair(csms, new_link)
    await peer.ws.send(b"\xff\xfe")
    assert (await peer.next())[:3] == [4, "-1", "ProtocolError"]
    assert link.connected


async def test_decimal_multiple_of_accepted(csms: Csms, new_link: Callable[..., OcppLink]) -> None:
    link, peer = await connected_pair(csms, new_link)
    link.register_handler("SetChargingProfile", lambda payload: {"status": "Accepted"})
    profile = {"chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
               "chargingProfileKind": "Absolute", "chargingSchedule": {
                   "chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 6.3}]}}
    await peer.send([2, "sp", "SetChargingProfile", {"connectorId": 1, "csChargingProfiles": profile}])
    assert await peer.next() == [3, "sp", {"status": "Accepted"}]
