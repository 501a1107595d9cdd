"""What the running system shows over MQTT: the EVSEs' session events and meters, the OCPP link state.

The demo reads the same vars any EVerest module would, so the view works whatever CSMS the charger talks to.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from framework import envelopes
from framework.envelopes import EnvelopeError, MsgType
from framework.mqtt import BrokerAddress, MqttClient
from framework.topics import Topics, external

OCPP_MODULE_ID = "ocpp"


@dataclass(frozen=True)
class SessionEvent:
    evse: int
    name: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class MeterReading:
    evse: int
    energy_Wh: float
    power_W: float


@dataclass(frozen=True)
class OfferedCurrent:
    """The current the EVSE offers the car (its enforced_limits): the hardware's, or less under a limit."""

    evse: int
    current_A: float


MonitorSink = Callable[[SessionEvent | MeterReading | OfferedCurrent | bool], None]


class SystemMonitor:
    """Subscribes to the EVSE managers' vars and the OCPP module's is_connected; publishes car/RFID commands."""

    def __init__(self, address: BrokerAddress, evse_modules: dict[str, int], sink: MonitorSink,
                 everest_prefix: str = "everest/", external_prefix: str = "") -> None:
        self._topics = Topics.for_prefix(everest_prefix)
        self._external_prefix = external_prefix
        self._evse_modules = evse_modules
        self._sink = sink
        self._mqtt = MqttClient(address, self._on_message, lambda _connected: None)
        self._routes: dict[str, Callable[[Any], None]] = {}
        self.global_ready = asyncio.Event()
        self.session_events: list[SessionEvent] = []
        self._changed = asyncio.Event()

    async def start(self) -> None:
        await self._mqtt.connect()
        for module_id, evse in self._evse_modules.items():
            self._routes[self._topics.var(module_id, "evse", "session_event")] = (
                lambda value, evse=evse: self._session_event(evse, value))
            self._routes[self._topics.var(module_id, "evse", "powermeter")] = (
                lambda value, evse=evse: self._meter(evse, value))
            self._routes[self._topics.var(module_id, "evse", "enforced_limits")] = (
                lambda value, evse=evse: self._offered(evse, value))
        self._routes[self._topics.var(OCPP_MODULE_ID, "main", "is_connected")] = self._connected
        self._routes[self._topics.global_ready()] = lambda _value: self.global_ready.set()
        await asyncio.gather(*(self._mqtt.subscribe(topic) for topic in self._routes))

    async def close(self) -> None:
        await self._mqtt.close()

    def publish_external(self, topic: str, payload: str) -> None:
        self._mqtt.publish(external(self._external_prefix, topic), payload, qos=1)

    async def wait_session_event(self, evse: int, name: str, after: int = 0, timeout: float = 60.0) -> int:
        """Index of the first `name` event of `evse` at or after index `after` in session_events."""
        async with asyncio.timeout(timeout):
            while True:
                for index in range(after, len(self.session_events)):
                    event = self.session_events[index]
                    if event.evse == evse and event.name == name:
                        return index
                changed = self._changed
                await changed.wait()

    def _on_message(self, topic: str, payload: bytes, _retain: bool) -> None:
        route = self._routes.get(topic)
        if route is None:
            return
        try:
            message = envelopes.decode(payload)
        except EnvelopeError:
            return
        if message.msg_type == MsgType.VAR and isinstance(message.data, dict):
            route(message.data.get("data"))
        elif message.msg_type == MsgType.GLOBAL_READY:
            route(message.data)

    def _session_event(self, evse: int, value: Any) -> None:
        if not isinstance(value, dict):
            return
        event = SessionEvent(evse, str(value.get("event")), value)
        self.session_events.append(event)
        self._changed.set()
        self._changed = asyncio.Event()
        self._sink(event)

    def _meter(self, evse: int, value: Any) -> None:
        if isinstance(value, dict):
            energy = float((value.get("energy_Wh_import") or {}).get("total", 0.0))
            power = float((value.get("power_W") or {}).get("total", 0.0))
            self._sink(MeterReading(evse, energy, power))

    def _offered(self, evse: int, value: Any) -> None:
        current = ((value.get("limits_root_side") or {}).get("ac_max_current_A") or {}).get("value") \
            if isinstance(value, dict) else None
        if isinstance(current, int | float):
            self._sink(OfferedCurrent(evse, float(current)))

    def _connected(self, value: Any) -> None:
        self._sink(value is True)
