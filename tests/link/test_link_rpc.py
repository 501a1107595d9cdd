"""RPC over a real websocket: replies by id, one CALL in flight, timeouts, handlers that call us back."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from module.link.errors import CallErrorReceived, CallTimeout, InvalidPayload, InvalidResponse, LinkDown, OcppError
from module.link.link import OcppLink
from tests.link.link_helpers import Csms, connected_pair

NOW = "2024-01-01T00:00:00Z"


async def test_call_returns_the_result(csms: Csms, new_link: Callable[..., OcppLink]) -> None:
    link, _ = await connected_pair(csms, new_link)
    assert await link.call("Heartbeat", {}) == {"currentTime": NOW}


async def test_callerror_raises_with_code_and_details(csms: Csms, new_link: Callable[..., OcppLink]) -> None:
    link, peer = await connected_pair(csms, new_link)
    task = asyncio.create_task(link.call("Authorize", {"idTag": "ABC"}))
    frame = await peer.next()
    await peer.send([4, frame[1], "InternalError", "db down", {"retry": True}])
    with pytest.raises(CallErrorReceived) as info:
        await task
    assert (info.value.code, info.value.description, info.value.details) == ("InternalError", "db down",
                                                                             {"retry": True})


async def test_response_failing_schema_is_an_error(csms: Csms, new_link: Callable[..., OcppLink]) -> None:
    link, peer = await connected_pair(csms, new_link)
    task = asyncio.create_task(link.call("Authorize", {"idTag": "ABC"}))
    frame = await peer.next()
    await peer.send([3, frame[1], {"idTagInfo": {"status": "Maybe"}}])
    with pytest.raises(InvalidResponse) as info:
        await task
    assert info.value.code == "PropertyConstraintViolation"


async def test_timeout_then_late_and_unknown_replies_dropped(csms: Csms, new_link: Callable[..., OcppLink]) -> None:
    link, peer = await connected_pair(csms, new_link)
    with pytest.raises(CallTimeout):
        await link.call("Authorize", {"idTag": "ABC"}, timeout=0.05)
    late = await peer.next()
    await peer.send([3, late[1], {"idTagInfo": {"status": "Accepted"}}])
    await peer.send([3, "never-sent", {"idTagInfo": {"status": "Accepted"}}])
    await peer.send([4, "never-sent-either", "GenericError", "", {}])
    task = asyncio.create_task(link.call("Authorize", {"idTag": "XYZ"}))
    frame = await peer.next()
    assert frame[1] != late[1]
    await peer.send([3, frame[1], {"idTagInfo": {"status": "Blocked"}}])
    assert await task == {"idTagInfo": {"status": "Blocked"}}
    assert link.connected


async def test_nearer_deadline_after_a_far_one_still_times_out_on_time(
        csms: Csms, new_link: Callable[..., OcppLink]) -> None:
    """One timer serves every CALL's deadline: a CALL with a nearer deadline than the armed one re-arms it."""
    link, peer = await connected_pair(csms, new_link)
    first = asyncio.create_task(link.call("Authorize", {"idTag": "A"}, timeout=600))
    frame = await peer.next()
    await peer.send([3, frame[1], {"idTagInfo": {"status": "Accepted"}}])
    await first
    async with asyncio.timeout(10):
        with pytest.raises(CallTimeout):
            await link.call("Authorize", {"idTag": "B"}, timeout=0.05)
    assert link.connected


async def test_unique_ids_differ_per_call_and_per_link(csms: Csms, new_link: Callable[..., OcppLink]) -> None:
    ids = []
    for _ in range(2):
        link, peer = await connected_pair(csms, new_link)
        for _ in range(2):
            task = asyncio.create_task(link.call("Authorize", {"idTag": "A"}))
            frame = await peer.next()
            await peer.send([3, frame[1], {"idTagInfo": {"status": "Accepted"}}])
            await task
            ids.append(frame[1])
        await link.stop()
    assert len(set(ids)) == 4
    assert all(isinstance(unique_id, str) and len(unique_id) <= 36 for unique_id in ids)


async def test_one_call_in_flight(csms: Csms, new_link: Callable[..., OcppLink]) -> None:
    link, peer = await connected_pair(csms, new_link)
    first = asyncio.create_task(link.call("Authorize", {"idTag": "A"}))
    second = asyncio.create_task(link.call("Authorize", {"idTag": "B"}))
    frame_a = await peer.next()
    with pytest.raises(TimeoutError):
        await peer.next(timeout=0.2)  # B must wait for A's reply
    await peer.send([3, frame_a[1], {"idTagInfo": {"status": "Accepted"}}])
    frame_b = await peer.next()
    assert (frame_a[3], frame_b[3]) == ({"idTag": "A"}, {"idTag": "B"})
    await peer.send([3, frame_b[1], {"idTagInfo": {"status": "Invalid"}}])
    assert (await first)["idTagInfo"]["status"] == "Accepted"
    assert (await second)["idTagInfo"]["status"] == "Invalid"
    assert frame_a[1] != frame_b[1]


async def test_handler_awaiting_our_call_does_not_deadlock(csms: Csms,
                                                           new_link: Callable[..., OcppLink]) -> None:
    link, peer = await connected_pair(csms, new_link)

    async def remote_start(payload: dict[str, Any]) -> dict[str, Any]:
        answer = await link.call("Authorize", {"idTag": payload["idTag"]})
        return {"status": "Accepted" if answer["idTagInfo"]["status"] == "Accepted" else "Rejected"}

    link.register_handler("RemoteStartTransaction", remote_start)
    await peer.send([2, "rs-1", "RemoteStartTransaction", {"idTag": "TAG1"}])
    authorize = await peer.next()
    assert authorize[2] == "Authorize"
    await peer.send([3, authorize[1], {"idTagInfo": {"status": "Accepted"}}])
    assert await peer.next() == [3, "rs-1", {"status": "Accepted"}]


async def test_handler_ocpp_error_becomes_callerror(csms: Csms, new_link: Callable[..., OcppLink]) -> None:
    link, peer = await connected_pair(csms, new_link)

    async def reset(payload: dict[str, Any]) -> dict[str, Any]:
        raise OcppError("GenericError", "not now", {"why": "charging"})

    link.register_handler("Reset", reset)
    await peer.send([2, "r1", "Reset", {"type": "Hard"}])
    assert await peer.next() == [4, "r1", "GenericError", "not now", {"why": "charging"}]


async def test_call_while_down_raises_link_down(new_link: Callable[..., OcppLink]) -> None:
    link = new_link("127.0.0.1:1/ocpp")
    with pytest.raises(LinkDown):
        await link.call("Heartbeat", {})


async def test_connection_loss_fails_the_call_in_flight(csms: Csms, new_link: Callable[..., OcppLink]) -> None:
    link, peer = await connected_pair(csms, new_link)
    task = asyncio.create_task(link.call("Authorize", {"idTag": "A"}))
    await peer.next()
    await peer.ws.close()
    with pytest.raises(LinkDown):
        await task


async def test_outgoing_cistring_truncated(csms: Csms, new_link: Callable[..., OcppLink]) -> None:
    link, peer = await connected_pair(csms, new_link)
    assert link.make_valid("Authorize", {"idTag": "X" * 25}) == {"idTag": "X" * 20}
    task = asyncio.create_task(link.call("Authorize", {"idTag": "Y" * 30}))
    frame = await peer.next()
    assert frame[3] == {"idTag": "Y" * 20}
    await peer.send([3, frame[1], {"idTagInfo": {"status": "Accepted"}}])
    await task


async def test_outgoing_none_fields_dropped_and_invalid_payload_not_sent(
        csms: Csms, new_link: Callable[..., OcppLink]) -> None:
    link, _ = await connected_pair(csms, new_link)
    assert link.make_valid("StatusNotification", {"connectorId": 1, "errorCode": "NoError",
                                                  "status": "Available", "info": None}) == {
        "connectorId": 1, "errorCode": "NoError", "status": "Available"}
    with pytest.raises(InvalidPayload) as info:
        await link.call("StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Sleeping"})
    assert info.value.code == "PropertyConstraintViolation"


async def test_incoming_gate_drops_calls_unanswered(csms: Csms, new_link: Callable[..., OcppLink]) -> None:
    link, peer = await connected_pair(csms, new_link)
    link.register_handler("Reset", lambda payload: {"status": "Accepted"})
    link.set_incoming_gate(lambda action: action != "Reset")
    await peer.send([2, "g1", "Reset", {"type": "Soft"}])
    await peer.send([2, "g2", "UnlockConnector", {"connectorId": 1}])
    assert await peer.next() == [4, "g2", "NotSupported", "UnlockConnector is not supported", {}]
