"""paho-mqtt 2.x under asyncio: paho's network thread does the I/O, the asyncio loop gets the messages.

paho reconnects by itself (loop_start keeps retrying with back-off); after every (re)connect the clean session has
no subscriptions, so they are all sent again from the network thread.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

log = logging.getLogger(__name__)

MessageSink = Callable[[str, bytes, bool], None]
LinkSink = Callable[[bool], None]


@dataclass(frozen=True)
class BrokerAddress:
    """Where the broker listens: a unix socket path, or host and port."""

    host: str = "localhost"
    port: int = 1883
    socket_path: str | None = None

    def __str__(self) -> str:
        return f"unix:{self.socket_path}" if self.socket_path else f"{self.host}:{self.port}"


class MqttClient:
    """One broker connection; `on_message(topic, payload, retain)` and `on_link(connected)` run on the loop."""

    def __init__(self, address: BrokerAddress, on_message: MessageSink, on_link: LinkSink, *,
                 keepalive: int = 60, reconnect_min: float = 0.1, reconnect_max: float = 2.0) -> None:
        self.address = address
        self._on_message = on_message
        self._on_link = on_link
        self._keepalive = keepalive
        self._loop: asyncio.AbstractEventLoop | None = None
        self._subscriptions: dict[str, int] = {}
        self._lock = threading.Lock()
        self._suback: dict[int, asyncio.Future[None]] = {}
        self._first_connect: asyncio.Future[None] | None = None
        self.connected = False
        self._closing = False
        self._client = paho.Client(CallbackAPIVersion.VERSION2, client_id="", clean_session=True,
                                   transport="unix" if address.socket_path else "tcp")
        self._client.suppress_exceptions = True
        self._client.max_inflight_messages_set(0)
        self._client.max_queued_messages_set(0)
        self._client.reconnect_delay_set(reconnect_min, reconnect_max)  # type: ignore[arg-type]
        self._client.on_socket_open = self._socket_open
        self._client.on_connect = self._connected
        self._client.on_disconnect = self._disconnected
        self._client.on_message = self._message
        self._client.on_subscribe = self._subscribed

    async def connect(self, timeout: float = 10.0) -> None:
        """Connect (paho keeps retrying until `timeout`) and start the network thread."""
        self._loop = asyncio.get_running_loop()
        self._first_connect = self._loop.create_future()
        host = self.address.socket_path or self.address.host
        self._client.connect_async(host, self.address.port, keepalive=self._keepalive)
        self._client.loop_start()
        try:
            await asyncio.wait_for(asyncio.shield(self._first_connect), timeout)
        except TimeoutError:
            await self.close()
            raise ConnectionError(f"no MQTT broker answered at {self.address} within {timeout:.0f} s") from None

    async def close(self) -> None:
        self._closing = True
        self._client.disconnect()
        await asyncio.to_thread(self._client.loop_stop)

    def publish(self, topic: str, payload: bytes | str, qos: int = 2, retain: bool = False) -> None:
        """Queue a message; like EVerest, do not wait for the broker's acknowledgement."""
        self._client.publish(topic, payload, qos=qos, retain=retain)

    def subscribe(self, topic: str, qos: int = 2) -> asyncio.Future[None]:
        """Subscribe now and after every reconnect; the future resolves on SUBACK (or at once if offline)."""
        assert self._loop is not None, "connect() first"
        done = self._loop.create_future()
        with self._lock:
            self._subscriptions[topic] = qos
            result, mid = self._client.subscribe(topic, qos)
            if result == MQTTErrorCode.MQTT_ERR_SUCCESS and mid is not None:
                self._suback[mid] = done
            else:
                done.set_result(None)
        return done

    def unsubscribe(self, topic: str) -> None:
        with self._lock:
            if self._subscriptions.pop(topic, None) is not None:
                self._client.unsubscribe(topic)

    # paho network thread below: hand everything over to the asyncio loop
    def _to_loop(self, fn: Callable, *args: object) -> None:
        if self._loop is None:
            return
        try:
            self._loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:
            pass  # the loop is closed: the module is shutting down

    @staticmethod
    def _socket_open(client: paho.Client, userdata: object, sock: socket.socket) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _connected(self, client: paho.Client, userdata: object, flags: object, reason: object,
                   properties: object) -> None:
        if getattr(reason, "is_failure", False):
            log.warning("MQTT broker %s refused the connection: %s", self.address, reason)
            return
        with self._lock:
            for topic, qos in self._subscriptions.items():
                client.subscribe(topic, qos)
        self._to_loop(self._link_changed, True)

    def _disconnected(self, client: paho.Client, userdata: object, flags: object, reason: object,
                      properties: object) -> None:
        self._to_loop(self._link_changed, False)

    def _message(self, client: paho.Client, userdata: object, message: paho.MQTTMessage) -> None:
        self._to_loop(self._on_message, message.topic, message.payload, bool(message.retain))

    def _subscribed(self, client: paho.Client, userdata: object, mid: int, reasons: object,
                    properties: object) -> None:
        self._to_loop(self._resolve_suback, mid)

    # asyncio loop side
    def _resolve_suback(self, mid: int) -> None:
        done = self._suback.pop(mid, None)
        if done is not None and not done.done():
            done.set_result(None)

    def _link_changed(self, connected: bool) -> None:
        if connected == self.connected:
            return
        self.connected = connected
        if connected and self._first_connect is not None and not self._first_connect.done():
            self._first_connect.set_result(None)
            return
        if not connected:
            for done in self._suback.values():
                if not done.done():
                    done.set_result(None)
            self._suback.clear()
        if not self._closing:
            log.warning("MQTT broker %s %s", self.address, "connected again" if connected else "lost")
        self._on_link(connected)
