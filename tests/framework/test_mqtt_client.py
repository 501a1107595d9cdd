"""MqttClient drives paho from the asyncio loop: no network thread, writes that wait for the socket, keep-alive,
reconnect with re-subscription, and a prompt close, all against a real mosquitto."""

from __future__ import annotations

import asyncio
import signal
import socket
import threading
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from framework.broker import PrivateBroker
from framework.module import _CallIds
from framework.mqtt import BrokerAddress, MqttClient


@dataclass
class Inbox:
    """What one client received, and on which thread its callbacks ran."""

    messages: asyncio.Queue = field(default_factory=asyncio.Queue)
    links: asyncio.Queue = field(default_factory=asyncio.Queue)
    threads: set[int] = field(default_factory=set)

    def on_message(self, topic: str, payload: bytes, retain: bool) -> None:
        self.threads.add(threading.get_ident())
        self.messages.put_nowait((topic, payload))

    def on_link(self, connected: bool) -> None:
        self.threads.add(threading.get_ident())
        self.links.put_nowait(connected)


@pytest.fixture
async def client(broker: PrivateBroker) -> AsyncIterator[tuple[MqttClient, Inbox]]:
    inbox = Inbox()
    mqtt = MqttClient(BrokerAddress(broker.host, broker.port), inbox.on_message, inbox.on_link,
                      keepalive=1, reconnect_max=0.5)
    await mqtt.connect(5)
    yield mqtt, inbox
    await mqtt.close()


async def test_messages_are_read_on_the_loop_thread_without_a_network_thread(
        client: tuple[MqttClient, Inbox]) -> None:
    mqtt, inbox = client
    await mqtt.subscribe("t/loop")
    mqtt.publish("t/loop", b"hello")
    assert await asyncio.wait_for(inbox.messages.get(), 5) == ("t/loop", b"hello")
    assert inbox.threads == {threading.get_ident()}
    assert not [t.name for t in threading.enumerate() if t.name.startswith("paho-mqtt-client")]


async def test_tcp_nodelay_is_set(client: tuple[MqttClient, Inbox]) -> None:
    mqtt, _ = client
    sock = mqtt._client.socket()
    assert sock is not None and sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


async def test_message_larger_than_the_socket_buffers_is_written_when_writable(
        client: tuple[MqttClient, Inbox], broker: PrivateBroker) -> None:
    mqtt, inbox = client
    await mqtt.subscribe("t/big")
    assert broker._process is not None
    broker._process.send_signal(signal.SIGSTOP)  # nobody drains the socket: paho stops at EAGAIN
    payload = bytes(range(256)) * (256 * 1024)  # 64 MiB: more than both kernel buffers hold
    try:
        mqtt.publish("t/big", payload)
        assert mqtt._client.want_write()
    finally:
        broker._process.send_signal(signal.SIGCONT)
    assert await asyncio.wait_for(inbox.messages.get(), 10) == ("t/big", payload)


async def test_keepalive_detects_a_silent_broker(client: tuple[MqttClient, Inbox], broker: PrivateBroker) -> None:
    _, inbox = client
    assert broker._process is not None
    broker._process.send_signal(signal.SIGSTOP)  # the TCP link stays up, but no PINGRESP comes back
    try:
        assert await asyncio.wait_for(inbox.links.get(), 10) is False
    finally:
        broker._process.send_signal(signal.SIGCONT)
    assert await asyncio.wait_for(inbox.links.get(), 10) is True


async def test_broker_restart_reconnects_and_subscribes_again(
        client: tuple[MqttClient, Inbox], broker: PrivateBroker) -> None:
    mqtt, inbox = client
    await mqtt.subscribe("t/again")
    broker.kill()
    assert await asyncio.wait_for(inbox.links.get(), 5) is False
    assert not mqtt.connected
    broker.restart()
    assert await asyncio.wait_for(inbox.links.get(), 10) is True
    await asyncio.wait_for(mqtt.subscribe("t/sync"), 5)  # SUBACK: the re-subscriptions went before it
    mqtt.publish("t/again", b"back")
    assert await asyncio.wait_for(inbox.messages.get(), 5) == ("t/again", b"back")
    assert inbox.threads == {threading.get_ident()}


async def test_close_while_the_broker_is_down_is_prompt(
        client: tuple[MqttClient, Inbox], broker: PrivateBroker) -> None:
    mqtt, inbox = client
    broker.kill()
    assert await asyncio.wait_for(inbox.links.get(), 5) is False
    await asyncio.wait_for(mqtt.close(), 2)
    assert mqtt._client.socket() is None


async def test_unreachable_broker_times_out_without_leaving_a_socket() -> None:
    from framework.broker import free_tcp_port

    mqtt = MqttClient(BrokerAddress("127.0.0.1", free_tcp_port()), lambda *a: None, lambda c: None)
    with pytest.raises(ConnectionError, match="no MQTT broker answered"):
        await mqtt.connect(0.5)
    assert mqtt._client.socket() is None


async def test_timeout_while_a_socket_is_being_opened_raises_connection_error() -> None:
    """close() waits for the worker thread's socket instead of being cancelled along with the reconnect task."""
    listener = socket.create_server(("127.0.0.1", 0))  # accepts TCP, never answers CONNECT
    opening = threading.Event()
    mqtt = MqttClient(BrokerAddress("127.0.0.1", listener.getsockname()[1]), lambda *a: None, lambda c: None)
    reconnect = mqtt._client.reconnect

    def slow_reconnect() -> object:
        opening.set()
        threading.Event().wait(0.5)
        return reconnect()

    mqtt._client.reconnect = slow_reconnect  # type: ignore[method-assign]
    try:
        with pytest.raises(ConnectionError, match="no MQTT broker answered"):
            await mqtt.connect(0.2)
        assert opening.is_set()
        assert mqtt._client.socket() is None
    finally:
        listener.close()


def test_call_ids_are_unique_uuid_shaped_strings() -> None:
    make = _CallIds()
    ids = [make() for _ in range(10_000)] + [_CallIds()() for _ in range(100)]  # one per module too
    assert len(set(ids)) == len(ids)
    assert all(uuid.UUID(i).version == 4 and str(uuid.UUID(i)) == i for i in ids)
