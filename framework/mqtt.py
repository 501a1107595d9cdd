"""paho-mqtt 2.x driven by the asyncio loop itself: no network thread, no thread hop per message.

The loop watches paho's socket (`loop_read` when readable, `loop_write` when paho queued packets, `loop_misc`
every second for keep-alive), so messages reach the module on the loop the moment they are read, and a reply
published from a handler is written right after that read. Only opening the TCP / unix socket runs in a worker
thread, so a slow or unreachable broker never blocks the loop. After a lost link this class reconnects with
back-off; the clean session has no subscriptions then, so they are all sent again on CONNACK.

Flow control: Mosquitto takes at most `max_inflight_messages` (20 by default) unacknowledged QoS 1/2 messages
from an MQTT 3.1.1 client and answers the rest as if delivered while dropping them; 3.1.1 has no way to tell the
client that window, and only resends on reconnect. So at most `inflight_window` QoS 1/2 messages are handed to
paho at a time; the others wait, in publish order, in our own backlog and go out as PUBACK / PUBCOMP free a slot.
paho's own window is not used: after a reconnect it sends everything it holds at once (it never counts the
messages it re-queues), which a broker drops past its window again. paho keeps the handed-over messages across a
reconnect and, on CONNACK, sends again those whose handshake was cut (a message may then arrive twice); the
backlog follows only once the link is up again, so nothing overtakes them.

Order: messages reach the broker in publish order, whatever their QoS (a QoS 0 message waits behind queued ones).
Subscribers get the messages of one QoS level in that order; across levels the broker and the subscriber's client
may reorder, since a QoS 2 message is forwarded and delivered only at PUBREL, a QoS 0/1 one as it arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

if TYPE_CHECKING:
    from paho.mqtt.client import SocketLike

log = logging.getLogger(__name__)

MessageSink = Callable[[str, bytes, bool], None]
LinkSink = Callable[[bool], None]

MISC_INTERVAL = 1.0  # how often paho's keep-alive bookkeeping runs
CLOSE_GRACE = 1.0  # how long close() lets the DISCONNECT packet drain
DRAIN_TIMEOUT = 5.0  # how long close() waits for queued and unacknowledged messages to reach the broker
INFLIGHT_WINDOW = 20  # Mosquitto's default max_inflight_messages, which a 3.1.1 client cannot learn
BACKLOG_WARNING = 1000  # a backlog this long is logged once (and once more when it has drained)


@dataclass(frozen=True)
class BrokerAddress:
    """Where the broker listens: a unix socket path, or host and port."""

    host: str = "localhost"
    port: int = 1883
    socket_path: str | None = None

    def __str__(self) -> str:
        return f"unix:{self.socket_path}" if self.socket_path else f"{self.host}:{self.port}"


class _Outgoing(NamedTuple):
    """A message waiting in the backlog for room in the broker's in-flight window."""

    topic: str
    payload: bytes | str
    qos: int
    retain: bool


class MqttClient:
    """One broker connection; `on_message(topic, payload, retain)` and `on_link(connected)` run on the loop."""

    def __init__(self, address: BrokerAddress, on_message: MessageSink, on_link: LinkSink, *,
                 keepalive: int = 60, reconnect_min: float = 0.1, reconnect_max: float = 2.0,
                 inflight_window: int = INFLIGHT_WINDOW, backlog_warning: int = BACKLOG_WARNING) -> None:
        self.address = address
        self._on_message = on_message
        self._on_link = on_link
        self._keepalive = keepalive
        self._reconnect_min, self._reconnect_max = reconnect_min, reconnect_max
        self._delay = reconnect_min
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._subscriptions: dict[str, int] = {}
        self._suback: dict[int, asyncio.Future[None]] = {}
        self._first_connect: asyncio.Future[None] | None = None
        self._reconnecting: asyncio.Task[None] | None = None
        self._attempt: asyncio.Future[MQTTErrorCode] | None = None
        self._misc_timer: asyncio.TimerHandle | None = None
        self._socket_closed: asyncio.Event | None = None
        self._writer: SocketLike | None = None
        self._in_paho = False  # inside loop_read/loop_write/loop_misc: writing now could re-enter paho
        self._dirty = False  # paho queued packets that are not written yet
        self._window = inflight_window
        self._inflight: set[int] = set()  # mids of QoS 1/2 messages handed to paho and not acknowledged yet
        self._backlog: deque[_Outgoing] = deque()  # messages not handed to paho yet, in publish order
        self._backlog_warning = backlog_warning
        self._backlog_reported = False
        self._drained: asyncio.Future[None] | None = None  # close() waiting for the backlog and in-flight
        self.connected = False
        self._closing = False
        self._client = paho.Client(CallbackAPIVersion.VERSION2, client_id="", clean_session=True,
                                   transport="unix" if address.socket_path else "tcp")
        self._client.suppress_exceptions = True
        self._client.max_inflight_messages_set(0)
        self._client.max_queued_messages_set(0)
        self._client.on_socket_open = self._socket_open
        self._client.on_socket_close = self._socket_close
        self._client.on_socket_register_write = self._register_write
        self._client.on_connect = self._connected
        self._client.on_disconnect = self._disconnected
        self._client.on_message = self._message
        self._client.on_subscribe = self._subscribed
        self._client.on_publish = self._acknowledged

    async def connect(self, timeout: float = 10.0) -> None:
        """Connect, retrying with back-off until `timeout`; afterwards the link is kept up until close()."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._first_connect = self._loop.create_future()
        self._socket_closed = asyncio.Event()
        self._client.connect_async(self.address.socket_path or self.address.host, self.address.port,
                                   keepalive=self._keepalive)
        self._reconnecting = self._loop.create_task(self._reconnect(0.0))
        self._misc_timer = self._loop.call_later(MISC_INTERVAL, self._misc)
        try:
            await asyncio.wait_for(asyncio.shield(self._first_connect), timeout)
        except TimeoutError:
            await self.close()
            raise ConnectionError(f"no MQTT broker answered at {self.address} within {timeout:g} s") from None

    @property
    def backlog(self) -> int:
        """How many published messages wait for room in the broker's in-flight window (or for the link)."""
        return len(self._backlog)

    async def close(self, drain_timeout: float = DRAIN_TIMEOUT) -> None:
        """Let what was published reach the broker (up to `drain_timeout`), then send DISCONNECT and stop
        reconnecting; the link listener hears `False` once more.

        A QoS 2 message whose PUBREL is still to come when the broker reads DISCONNECT is discarded by it, so
        closing right after a publish would lose the message without the wait."""
        if self.connected and (self._backlog or self._inflight):
            await self._drain(drain_timeout)
        if self._backlog or self._inflight:
            log.warning("MQTT broker %s: closing with %d message(s) not acknowledged", self.address,
                        len(self._backlog) + len(self._inflight))
        self._closing = True
        if self._misc_timer is not None:
            self._misc_timer.cancel()
        if self._reconnecting is not None:
            self._reconnecting.cancel()
        if self._attempt is not None:  # a socket being opened in the worker thread: let it finish, then close it
            with contextlib.suppress(Exception):
                await asyncio.shield(self._attempt)
        if self._client.socket() is None:
            return
        assert self._socket_closed is not None
        self._socket_closed.clear()
        self._client.disconnect()
        self._write()
        if self._client.socket() is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._socket_closed.wait(), CLOSE_GRACE)
        sock = self._client.socket()
        if sock is not None:  # the broker did not take the DISCONNECT in time: drop the socket ourselves
            self._forget(sock)
            sock.close()

    async def _drain(self, timeout: float) -> None:
        """Wait until the backlog is empty and the broker acknowledged everything, or `timeout` passed."""
        assert self._loop is not None
        self._drained = self._loop.create_future()
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._drained, timeout)
        finally:
            self._drained = None

    def publish(self, topic: str, payload: bytes | str, qos: int = 2, retain: bool = False) -> None:
        """Send a message now, or queue it until the broker's in-flight window has room and the link is up.

        Like EVerest, this does not wait for the broker's acknowledgement. Messages leave in publish order,
        whatever their QoS: a QoS 0 message waits behind queued QoS 1/2 ones."""
        if self._backlog or not self._has_room(qos):
            self._queue(_Outgoing(topic, payload, qos, retain))
            return
        self._hand_over(topic, payload, qos, retain)
        if self._dirty and not self._in_paho:
            self._write()

    def subscribe(self, topic: str, qos: int = 2) -> asyncio.Future[None]:
        """Subscribe now and after every reconnect; the future resolves on SUBACK (or at once if offline)."""
        assert self._loop is not None, "connect() first"
        done = self._loop.create_future()
        self._subscriptions[topic] = qos
        result, mid = self._client.subscribe(topic, qos)
        if result == MQTTErrorCode.MQTT_ERR_SUCCESS and mid is not None:
            self._suback[mid] = done
        else:
            done.set_result(None)
        if self._dirty and not self._in_paho:
            self._write()
        return done

    def unsubscribe(self, topic: str) -> None:
        if self._subscriptions.pop(topic, None) is not None:
            self._client.unsubscribe(topic)
            if self._dirty and not self._in_paho:
                self._write()

    # ---------------------------------------------------------------- flow control
    def _has_room(self, qos: int) -> bool:
        """Whether a message may go to paho now: the link is up and, for QoS 1/2, the window has a free slot."""
        return self.connected and (qos == 0 or len(self._inflight) < self._window)

    def _hand_over(self, topic: str, payload: bytes | str, qos: int, retain: bool) -> None:
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        if qos:
            self._inflight.add(info.mid)

    def _queue(self, message: _Outgoing) -> None:
        self._backlog.append(message)
        if not self._backlog_reported and len(self._backlog) >= self._backlog_warning:
            self._backlog_reported = True
            log.warning("MQTT broker %s: %d messages wait for its in-flight window (%d) or the link",
                        self.address, len(self._backlog), self._window)

    def _release(self) -> None:
        """Hand queued messages to paho, oldest first, while the window has room."""
        backlog = self._backlog
        while backlog and self._has_room(backlog[0].qos):
            message = backlog.popleft()
            try:
                self._hand_over(*message)
            except (ValueError, TypeError) as exc:  # what paho refuses now, it would refuse on any later try
                log.error("dropped a message on %s that paho cannot send: %s", message.topic, exc)
        if not backlog and self._backlog_reported:
            self._backlog_reported = False
            log.info("MQTT broker %s: the publish backlog has drained", self.address)
        self._check_drained()

    def _check_drained(self) -> None:
        if self._drained is not None and not self._backlog and not self._inflight and not self._drained.done():
            self._drained.set_result(None)

    # ---------------------------------------------------------------- socket I/O on the loop
    def _read(self) -> None:
        self._in_paho = True
        try:
            self._client.loop_read()
        finally:
            self._in_paho = False
        if self._backlog:
            self._release()  # acknowledgements just read freed slots
        if self._dirty:
            self._write()

    def _write(self) -> None:
        """Write what paho queued; what the socket cannot take now is written when it becomes writable."""
        if self._attempt is not None:
            return  # the worker thread owns the new socket until CONNECT is queued; _reconnect writes then
        if self._client.socket() is not None:
            self._in_paho = True
            try:
                self._client.loop_write()
            finally:
                self._in_paho = False
        self._dirty = False
        sock = self._client.socket()
        if sock is not None and self._client.want_write():
            if self._writer is None:
                assert self._loop is not None
                self._loop.add_writer(sock, self._write)
                self._writer = sock
        elif self._writer is not None:
            self._loop.remove_writer(self._writer)  # type: ignore[union-attr]
            self._writer = None

    def _misc(self) -> None:
        """paho's keep-alive: PINGREQ when idle, and a dead link detected when PINGRESP does not come."""
        if self._client.socket() is not None:
            self._in_paho = True
            try:
                self._client.loop_misc()
            finally:
                self._in_paho = False
            if self._dirty:
                self._write()
        if not self._closing:
            self._misc_timer = self._loop.call_later(MISC_INTERVAL, self._misc)  # type: ignore[union-attr]

    def _watch(self, sock: SocketLike) -> None:
        if sock is self._client.socket() and self._loop is not None:
            self._loop.add_reader(sock, self._read)

    def _forget(self, sock: SocketLike) -> None:
        if self._loop is None:
            return
        self._loop.remove_reader(sock)
        if self._writer is sock:
            self._loop.remove_writer(sock)
            self._writer = None
        if self._socket_closed is not None:
            self._socket_closed.set()

    async def _reconnect(self, delay: float) -> None:
        """Open a new socket after `delay`, doubling the wait after each failure; CONNACK resets it."""
        assert self._loop is not None
        while not self._closing:
            if delay:
                await asyncio.sleep(delay)
            self._attempt = self._loop.run_in_executor(None, self._client.reconnect)
            try:
                await asyncio.shield(self._attempt)  # cancelling this task must leave close() a socket to wait for
            except OSError as exc:
                log.debug("MQTT broker %s not reachable: %s", self.address, exc)
            else:
                sock = self._client.socket()
                if sock is not None:
                    self._watch(sock)
                    self._attempt = None
                    self._write()  # CONNECT; CONNACK or a new disconnect decides what comes next
                return
            finally:
                self._attempt = None
            delay = self._delay
            self._delay = min(self._delay * 2, self._reconnect_max)

    # ---------------------------------------------------------------- paho callbacks: on the loop, except the
    # socket ones during reconnect(), which run in the worker thread and leave the loop side to _reconnect
    def _socket_open(self, client: paho.Client, userdata: Any, sock: SocketLike) -> None:
        if isinstance(sock, socket.socket) and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if threading.get_ident() == self._loop_thread:  # paho's own reconnect (protocol fallback on CONNACK)
            self._watch(sock)

    def _socket_close(self, client: paho.Client, userdata: Any, sock: SocketLike) -> None:
        if threading.get_ident() == self._loop_thread:
            self._forget(sock)

    def _register_write(self, client: paho.Client, userdata: Any, sock: SocketLike) -> None:
        self._dirty = True  # written as soon as the current paho call returned

    def _connected(self, client: paho.Client, userdata: object, flags: object, reason: object,
                   properties: object) -> None:
        if getattr(reason, "is_failure", False):
            log.warning("MQTT broker %s refused the connection: %s", self.address, reason)
            return
        self._delay = self._reconnect_min
        for topic, qos in self._subscriptions.items():
            client.subscribe(topic, qos)
        self._loop.call_soon(self._link_changed, True)  # type: ignore[union-attr]

    def _disconnected(self, client: paho.Client, userdata: object, flags: object, reason: object,
                      properties: object) -> None:
        assert self._loop is not None
        self._loop.call_soon(self._link_changed, False)
        if not self._closing and (self._reconnecting is None or self._reconnecting.done()):
            self._reconnecting = self._loop.create_task(self._reconnect(self._delay))

    def _message(self, client: paho.Client, userdata: object, message: paho.MQTTMessage) -> None:
        try:
            self._on_message(message.topic, bytes(message.payload), bool(message.retain))
        except Exception:  # paho would swallow it without a word
            log.exception("handling a message on %s failed", message.topic)

    def _acknowledged(self, client: paho.Client, userdata: object, mid: int, reason: object,
                      properties: object) -> None:
        """PUBACK / PUBCOMP of a QoS 1/2 message (or a QoS 0 one written): its slot in the window is free."""
        self._inflight.discard(mid)
        self._check_drained()

    def _subscribed(self, client: paho.Client, userdata: object, mid: int, reasons: object,
                    properties: object) -> None:
        done = self._suback.pop(mid, None)
        if done is not None and not done.done():
            done.set_result(None)

    # ---------------------------------------------------------------- link state
    def _link_changed(self, connected: bool) -> None:
        if connected == self.connected:
            return
        self.connected = connected
        if connected and self._backlog:  # after paho's resends on CONNACK, so nothing overtakes them
            self._release()
            if self._dirty:
                self._write()
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
