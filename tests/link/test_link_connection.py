"""Reconnect timing, URL rules, ping/pong loss detection and external connect/disconnect."""

from __future__ import annotations

import asyncio
import random
import socket
from collections.abc import Callable
from typing import Any

import pytest

from module.link.backoff import Backoff
from module.link.errors import LinkConfigError
from module.link.link import OcppLink
from module.link.settings import build_url
from tests.link.link_helpers import Csms, FakeClock, connected_pair


@pytest.mark.parametrize(("uri", "profile", "url"), [
    ("csms.example:9000/ocpp", 0, "ws://csms.example:9000/ocpp/CP1"),
    ("csms.example/ocpp/", 1, "ws://csms.example/ocpp/CP1"),
    ("csms.example/ocpp/CP1", 2, "wss://csms.example/ocpp/CP1"),
    ("wss://csms.example/ocpp/CP1/", 3, "wss://csms.example/ocpp/CP1"),
    ("ws://10.0.0.1:80", 0, "ws://10.0.0.1:80/CP1"),
])
def test_url_built_like_libocpp(uri: str, profile: int, url: str) -> None:
    assert build_url(uri, "CP1", profile) == url


@pytest.mark.parametrize(("uri", "profile"), [("ws://csms/ocpp", 2), ("wss://csms/ocpp", 1),
                                              ("http://csms/ocpp", 0), ("", 0)])
def test_url_scheme_must_match_profile(uri: str, profile: int) -> None:
    with pytest.raises(LinkConfigError):
        build_url(uri, "CP1", profile)


def test_backoff_doubles_repeat_times_then_stays() -> None:
    jitter = random.Random(7)
    expected_jitter = random.Random(7)
    backoff = Backoff(2.0, 1.0, 3, jitter)
    delays = [backoff.next_delay() for _ in range(6)]
    d1 = 2.0 + expected_jitter.uniform(0, 1)
    d2 = 2 * d1 + expected_jitter.uniform(0, 1)
    d3 = 2 * d2 + expected_jitter.uniform(0, 1)
    d4 = 2 * d3 + expected_jitter.uniform(0, 1)
    assert delays == pytest.approx([d1, d2, d3, d4, d4, d4])
    backoff.reset()
    assert backoff.next_delay() == pytest.approx(2.0 + expected_jitter.uniform(0, 1))


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_link_waits_the_backoff_between_attempts(new_link: Callable[..., OcppLink]) -> None:
    clock = FakeClock()
    link = new_link(f"127.0.0.1:{_closed_port()}/ocpp", clock=clock, rng=random.Random(1),
                    retry_backoff_wait_minimum=3, retry_backoff_random_range=2, retry_backoff_repeat_times=2)
    reference = Backoff(3, 2, 2, random.Random(1))
    await link.start()
    delays = await clock.wait_for_sleeps(5)
    assert delays == pytest.approx([reference.next_delay() for _ in range(5)])
    assert delays[2] == delays[3] == delays[4]
    assert link.last_failure is not None and link.last_failure.kind == "unreachable"


async def test_lost_connection_reconnects_and_listeners_see_it(csms: Csms,
                                                                new_link: Callable[..., OcppLink]) -> None:
    link, peer = await connected_pair(csms, new_link)
    states: list[bool] = []
    link.add_connection_listener(states.append)
    await peer.ws.close()
    second = await csms.peer()
    await link.wait_connected()
    assert states == [False, True]
    assert await link.call("Heartbeat", {}) == {"currentTime": "2024-01-01T00:00:00Z"}
    assert second is not peer


async def test_pong_timeout_drops_and_reconnects(csms: Csms, new_link: Callable[..., OcppLink]) -> None:
    link, peer = await connected_pair(csms, new_link, ping_interval=0.05, pong_timeout=0.2)
    lost = asyncio.Event()
    link.add_connection_listener(lambda up: None if up else lost.set())
    peer.ws.transport.pause_reading()  # the CSMS goes silent: no pong
    await asyncio.wait_for(lost.wait(), 5)
    await csms.peer()
    await link.wait_connected()
    peer.ws.transport.abort()  # the silent server side would otherwise wait its close timeout


async def test_pings_answered_keep_the_link(csms: Csms, new_link: Callable[..., OcppLink]) -> None:
    link, _ = await connected_pair(csms, new_link, ping_interval=0.01, pong_timeout=1)
    pongs = 0
    for _ in range(5):
        pong = await link._ws.ping()  # the link's own pinger runs alongside; both must be answered
        await asyncio.wait_for(pong, 1)
        pongs += 1
    assert pongs == 5 and link.connected and csms.peers.empty()


async def test_disconnect_stays_down_until_connect(csms: Csms, new_link: Callable[..., OcppLink]) -> None:
    link, _ = await connected_pair(csms, new_link)
    await link.disconnect()
    assert not link.connected
    with pytest.raises(TimeoutError):
        await csms.peer(timeout=0.3)  # longer than the 0.05 s back-off: no reconnect happens
    await link.connect()
    await csms.peer()
    await link.wait_connected()


async def test_update_ping_interval_applies_at_once(csms: Csms, new_link: Callable[..., OcppLink]) -> None:
    link, peer = await connected_pair(csms, new_link)
    lost = asyncio.Event()
    link.add_connection_listener(lambda up: None if up else lost.set())
    peer.ws.transport.pause_reading()
    link.update_settings(ping_interval=0.05, pong_timeout=0.1)
    await asyncio.wait_for(lost.wait(), 5)
    peer.ws.transport.abort()


async def test_pings_carry_the_websocket_ping_payload_and_the_handshake_names_the_host(
        csms: Csms, new_link: Callable[..., OcppLink]) -> None:
    """WebsocketPingPayload is the data of every ping; HostName goes out as the User-Host handshake header."""
    link = new_link(csms.uri(), ping_interval=0.01, pong_timeout=1, ping_payload="are you there",
                    host_name="cp1.depot.example")
    await link.start()
    await csms.peer()
    await link.wait_connected()
    assert csms.handshake_headers[-1]["User-Host"] == "cp1.depot.example"
    pinged: asyncio.Queue[bytes | None] = asyncio.Queue()
    ws = link._ws
    assert ws is not None
    original = ws.ping

    def recording(data: bytes | None = None) -> Any:
        pinged.put_nowait(data)
        return original(data)

    ws.ping = recording  # type: ignore[method-assign]
    assert await asyncio.wait_for(pinged.get(), 5) == b"are you there"
    assert await asyncio.wait_for(pinged.get(), 5) == b"are you there"  # the next one too, after its pong
