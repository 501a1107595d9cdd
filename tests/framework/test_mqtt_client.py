"""MqttClient drives paho from the asyncio loop: no network thread, writes that wait for the socket, keep-alive,
reconnect with re-subscription, a prompt close, and bursts beyond the broker's in-flight window (20, as a stock
mosquitto has it) that lose nothing, all against a real mosquitto."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import threading
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

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


@pytest.fixture
async def publisher(broker: PrivateBroker) -> AsyncIterator[MqttClient]:
    """A second client that only publishes."""
    mqtt = MqttClient(BrokerAddress(broker.host, broker.port), lambda *a: None, lambda c: None, reconnect_max=0.5)
    await mqtt.connect(5)
    yield mqtt
    await mqtt.close()


async def received(inbox: Inbox, count: int, timeout: float = 30) -> list[bytes]:
    """The payloads of the next `count` messages, in arrival order."""
    return [(await asyncio.wait_for(inbox.messages.get(), timeout))[1] for _ in range(count)]


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


async def test_a_burst_far_beyond_the_brokers_window_arrives_complete_and_in_order(
        client: tuple[MqttClient, Inbox], publisher: MqttClient, caplog: pytest.LogCaptureFixture) -> None:
    """Handed to paho at once, the broker would acknowledge all 5,000 and forward only the first 20."""
    mqtt, inbox = client
    await mqtt.subscribe("t/burst")
    caplog.set_level(logging.INFO, logger="framework.mqtt")
    for n in range(5000):
        publisher.publish("t/burst", str(n))
    assert publisher.backlog == 5000 - 20
    assert await received(inbox, 5000) == [str(n).encode() for n in range(5000)]
    assert publisher.backlog == 0
    reports = [r.getMessage() for r in caplog.records if r.name == "framework.mqtt"]
    assert [m for m in reports if "wait for its in-flight window" in m] == [
        f"MQTT broker {publisher.address}: 1000 messages wait for its in-flight window (20) or the link"]
    assert [m for m in reports if "has drained" in m] == [
        f"MQTT broker {publisher.address}: the publish backlog has drained"]


async def test_qos0_waits_behind_queued_messages_and_close_delivers_the_backlog_first(
        client: tuple[MqttClient, Inbox], publisher: MqttClient) -> None:
    """The QoS 0 message needs no slot but does not jump the queue; close() waits for the broker's PUBCOMPs,
    without which mosquitto would discard a QoS 2 message at DISCONNECT."""
    mqtt, inbox = client
    await mqtt.subscribe("t/close")
    await mqtt.subscribe("t/close0")
    for n in range(200):
        publisher.publish("t/close", str(n))
    publisher.publish("t/close0", b"last", qos=0)
    assert publisher.backlog == 200 - 20 + 1
    await publisher.close()
    assert publisher.backlog == 0 and not publisher._inflight
    messages = [await asyncio.wait_for(inbox.messages.get(), 10) for _ in range(201)]
    assert [p for t, p in messages if t == "t/close"] == [str(n).encode() for n in range(200)]
    assert ("t/close0", b"last") in messages


async def test_a_reader_held_up_while_thousands_queue_at_the_broker_gets_them_all_in_order(
        broker: PrivateBroker) -> None:
    """The broker sends a client at most its window and queues the rest; a module busy for a while (here: the loop
    is held, so nothing is read) must then take thousands of queued messages without loss or reordering."""
    inbox = Inbox()
    reader = MqttClient(BrokerAddress(broker.host, broker.port), inbox.on_message, inbox.on_link)
    await reader.connect(5)
    sender = paho.Client(CallbackAPIVersion.VERSION2)  # plain paho, in its own thread, with its default window
    connected = threading.Event()
    sender.on_connect = lambda *args: connected.set()
    sender.connect(broker.host, broker.port)
    sender.loop_start()
    try:
        await reader.subscribe("t/queued")
        assert connected.wait(5)
        sent = [sender.publish("t/queued", str(n), qos=2) for n in range(5000)]
        for info in sent:  # blocks the loop: the broker acknowledges everything while our reader reads nothing
            info.wait_for_publish(30)
        assert all(info.is_published() for info in sent)
        assert await received(inbox, 5000) == [str(n).encode() for n in range(5000)]
    finally:
        sender.loop_stop()
        sender.disconnect()
        await reader.close()


@dataclass
class Recorder:
    """A plain paho subscriber in its own thread, at QoS 0, that reconnects on its own.

    QoS 0, because then mosquitto writes each message to this socket when it releases it (before the publisher's
    PUBCOMP), and keeps nothing for the recorder that a crash could take: what the recorder misses, a publisher
    lost. A QoS 2 subscriber loses what the broker held for it at the crash, which no publisher can send again
    (clean sessions, no persistence)."""

    broker: PrivateBroker
    expected: int  # messages per topic
    halfway: asyncio.Event = field(default_factory=asyncio.Event)
    complete: asyncio.Event = field(default_factory=asyncio.Event)
    subscribed: threading.Event = field(default_factory=threading.Event)
    seen: list[tuple[str, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._last: set[str] = set()
        self.client = paho.Client(CallbackAPIVersion.VERSION2)
        self.client.reconnect_delay_set(min_delay=0.05, max_delay=0.1)
        self.client.on_connect = lambda c, *args: c.subscribe("t/burst/+", 0)
        self.client.on_subscribe = lambda *args: self.subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect(self.broker.host, self.broker.port)
        self.client.loop_start()
        assert self.subscribed.wait(5)

    def _on_message(self, client: paho.Client, userdata: object, message: paho.MQTTMessage) -> None:
        number = int(message.payload)
        self.seen.append((message.topic, number))
        if len(self.seen) == self.expected:  # in all, half of the burst of two publishers
            self._loop.call_soon_threadsafe(self.halfway.set)
        if number == self.expected - 1:
            self._last.add(message.topic)
            if len(self._last) == 2:
                self._loop.call_soon_threadsafe(self.complete.set)

    def first_arrivals(self, topic: str) -> list[int]:
        numbers = [n for t, n in self.seen if t == topic]
        return list(dict.fromkeys(numbers))

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


async def test_broker_killed_in_the_middle_of_a_burst_loses_nothing_and_keeps_order(broker: PrivateBroker) -> None:
    """Two publishers, 2,500 QoS 2 messages each in one loop turn; mosquitto is killed and restarted while most of
    them still wait in the publishers' backlogs. Every message arrives at least once, and the first arrivals of each
    publisher are in publish order (a message whose handshake was cut is sent again, so it may arrive twice)."""
    count = 2500
    recorder = Recorder(broker, count)
    publishers = [MqttClient(BrokerAddress(broker.host, broker.port), lambda *a: None, lambda c: None,
                             reconnect_max=0.5) for _ in range(2)]
    try:
        for mqtt in publishers:
            await mqtt.connect(5)
        for n in range(count):
            for name, mqtt in zip("ab", publishers, strict=True):
                mqtt.publish(f"t/burst/{name}", str(n))
        await asyncio.wait_for(recorder.halfway.wait(), 30)
        assert all(mqtt.backlog > 0 for mqtt in publishers)
        recorder.subscribed.clear()
        broker.restart()  # blocks the loop: the publishers cannot reconnect before the recorder subscribed again
        assert recorder.subscribed.wait(10)
        await asyncio.wait_for(recorder.complete.wait(), 30)
        for name in "ab":
            assert recorder.first_arrivals(f"t/burst/{name}") == list(range(count))
        assert all(mqtt.backlog == 0 and mqtt.connected for mqtt in publishers)
    finally:
        recorder.close()
        for mqtt in publishers:
            await mqtt.close()


def test_call_ids_are_unique_uuid_shaped_strings() -> None:
    make = _CallIds()
    ids = [make() for _ in range(10_000)] + [_CallIds()() for _ in range(100)]  # one per module too
    assert len(set(ids)) == len(ids)
    assert all(uuid.UUID(i).version == 4 and str(uuid.UUID(i)) == i for i in ids)
