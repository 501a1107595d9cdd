"""What the demo shows: a live screen on a terminal, the same events as plain lines otherwise.

Plain line format (stable, the tests read it): `HH:MM:SS.mmm <source> <text>`, where an OCPP message's text is
`CP->CSMS|CSMS->CP <kind> <action> <payload as compact JSON>`.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, TextIO

from sim.demo.monitor import MeterReading, OfferedCurrent, SessionEvent
from sim.demo.ocpp_messages import OcppMessage

REDRAW_S = 0.25
PLAIN_METER_EVERY_S = 5.0
KEPT_LINES = 500


@dataclass
class ConnectorView:
    evse: int
    state: str = "-"
    ocpp_status: str = "-"
    transaction: int | None = None
    id_tag: str = ""
    meter_start_Wh: float | None = None
    energy_Wh: float = 0.0
    power_W: float = 0.0
    offered_A: float | None = None
    last_transaction: str = ""
    last_meter_line: float = field(default=0.0, repr=False)

    @property
    def session_Wh(self) -> float | None:
        return None if self.meter_start_Wh is None else max(0.0, self.energy_Wh - self.meter_start_Wh)


def energy_readings(meter_values: list[Any]) -> list[str]:
    """The energy register values (all phases together) of a meterValue / transactionData list."""
    return [f"{sampled.get('value')} {sampled.get('unit', 'Wh')}"
            for entry in meter_values if isinstance(entry, dict)
            for sampled in entry.get("sampledValue", [])
            if sampled.get("measurand", "Energy.Active.Import.Register") == "Energy.Active.Import.Register"
            and "phase" not in sampled]


def shortened(payload: Any) -> Any:
    """Meter value lists reduced to their energy readings, so a message fits a terminal line."""
    if not isinstance(payload, dict):
        return payload
    for key in ("meterValue", "transactionData"):
        if key in payload and isinstance(payload[key], list):
            payload = {**payload, key: energy_readings(payload[key])}
    return payload


def format_ocpp(message: OcppMessage, short: bool = False) -> str:
    if message.to_csms is None:
        detail = message.payload if isinstance(message.payload, str) else json.dumps(message.payload)
        return f"link {message.kind} {detail}"
    arrow = "CP->CSMS" if message.to_csms else "CSMS->CP"
    payload = shortened(message.payload) if short else message.payload
    return f"{arrow} {message.kind} {message.action or '?'} {json.dumps(payload, separators=(',', ':'))}"


class DemoView:
    """Keeps the connectors' state from the events it is given and shows it."""

    def __init__(self, out: TextIO, live: bool, evses: list[int], header: list[str]) -> None:
        self.out = out
        self.live = live
        self.header = header
        self.connectors = {evse: ConnectorView(evse) for evse in evses}
        self.charger_status = "-"
        self.link = "connecting"
        self.lines: deque[str] = deque(maxlen=KEPT_LINES)
        self._pending_starts: list[int] = []
        self._started = time.monotonic()
        self._dirty = True
        self.boot_accepted = asyncio.Event()
        if live:
            self.out.write("\x1b[?1049h\x1b[?25l")  # alternate screen, no cursor: the terminal comes back intact
        else:
            for line in header:
                self.note("demo", line)

    # events
    def note(self, source: str, text: str) -> None:
        stamp = time.strftime("%H:%M:%S") + f".{int(time.time() * 1000) % 1000:03d}"
        line = f"{stamp} {source:<6} {text}"
        self.lines.append(line)
        self._dirty = True
        if not self.live:
            self.out.write(line + "\n")
            self.out.flush()

    def session_event(self, event: SessionEvent) -> None:
        connector = self.connectors.get(event.evse)
        if connector is not None:
            connector.state = event.name
        self.note(f"evse{event.evse}", event.name)

    def meter(self, reading: MeterReading) -> None:
        connector = self.connectors.get(reading.evse)
        if connector is None:
            return
        connector.energy_Wh, connector.power_W = reading.energy_Wh, reading.power_W
        self._dirty = True
        now = time.monotonic()
        if reading.power_W > 0 and now - connector.last_meter_line >= PLAIN_METER_EVERY_S:
            connector.last_meter_line = now
            session = connector.session_Wh
            energy = f", session {session:.1f} Wh" if session is not None else ""
            self.note(f"evse{reading.evse}", f"meter {reading.energy_Wh:.1f} Wh, {reading.power_W / 1000:.1f} kW"
                                               f"{energy}")

    def offered(self, offer: OfferedCurrent) -> None:
        """A change of the current the EVSE offers the car (a charging profile at work) gets a line."""
        connector = self.connectors.get(offer.evse)
        if connector is None or connector.offered_A == offer.current_A:
            return
        if connector.offered_A is not None:
            self.note(f"evse{offer.evse}", f"offers the car {offer.current_A:g} A (was {connector.offered_A:g} A)")
        connector.offered_A = offer.current_A
        self._dirty = True

    def link_state(self, connected: bool) -> None:
        self.link = "connected" if connected else "disconnected"
        self.note("ocpp", f"websocket {self.link}")

    def ocpp(self, message: OcppMessage) -> None:
        self._track_transactions(message)
        if (message.kind == "CALLRESULT" and message.action == "BootNotification"
                and isinstance(message.payload, dict) and message.payload.get("status") == "Accepted"):
            self.boot_accepted.set()
        self.note("ocpp", format_ocpp(message, short=self.live))

    def _track_transactions(self, message: OcppMessage) -> None:
        payload: dict[str, Any] = message.payload if isinstance(message.payload, dict) else {}
        if message.kind == "CALL" and message.to_csms:
            if message.action == "StatusNotification":
                connector_id = payload.get("connectorId")
                if connector_id == 0:
                    self.charger_status = str(payload.get("status"))
                elif connector_id in self.connectors:
                    self.connectors[connector_id].ocpp_status = str(payload.get("status"))
            elif message.action == "StartTransaction" and payload.get("connectorId") in self.connectors:
                connector = self.connectors[payload["connectorId"]]
                connector.id_tag = str(payload.get("idTag", ""))
                connector.meter_start_Wh = float(payload.get("meterStart", 0))
                self._pending_starts.append(connector.evse)
            elif message.action == "StopTransaction":
                for connector in self.connectors.values():
                    if connector.transaction is not None and connector.transaction == payload.get("transactionId"):
                        used = float(payload.get("meterStop", 0)) - (connector.meter_start_Wh or 0.0)
                        connector.last_transaction = (f"#{connector.transaction} stopped ({payload.get('reason', '')})"
                                                      f" {used:.0f} Wh")
                        connector.transaction = None
                        connector.meter_start_Wh = None
        elif (message.kind == "CALLRESULT" and message.to_csms is False and message.action == "StartTransaction"
              and self._pending_starts):
            self.connectors[self._pending_starts.pop(0)].transaction = payload.get("transactionId")

    # screen
    async def run(self) -> None:
        """Redraw the live screen while anything changed; nothing to do for plain lines."""
        if not self.live:
            return
        while True:
            if self._dirty:
                self._dirty = False
                self.redraw()
            await asyncio.sleep(REDRAW_S)  # screen refresh rate, not synchronisation

    def redraw(self) -> None:
        size = shutil.get_terminal_size()
        width = size.columns
        elapsed = time.monotonic() - self._started
        top = [*self.header,
               f"charger {self.charger_status}   websocket {self.link}   running {elapsed:.0f} s   Ctrl-C stops",
               "",
               f"{'EVSE':<5}{'car / EVSE':<20}{'OCPP status':<15}{'transaction':<24}{'offer':>7}{'power':>9}"
               f"{'session':>12}{'meter':>12}  last",
               ]
        for c in self.connectors.values():
            tx = f"#{c.transaction} {c.id_tag}" if c.transaction is not None else "-"
            session = f"{c.session_Wh:.1f} Wh" if c.session_Wh is not None else "-"
            offer = f"{c.offered_A:g} A" if c.offered_A is not None else "-"
            top.append(f"{c.evse:<5}{c.state:<20}{c.ocpp_status:<15}{tx:<24}{offer:>7}{c.power_W / 1000:>7.1f}kW"
                       f"{session:>12}{c.energy_Wh:>9.1f} Wh  {c.last_transaction}")
        top += ["", "events:"]
        room = max(1, size.lines - len(top) - 1)
        body = list(self.lines)[-room:]
        screen = "\n".join(line[:width] for line in [*top, *body])
        self.out.write("\x1b[H\x1b[2J" + screen)
        self.out.flush()

    def close(self) -> None:
        if self.live:
            self.out.write("\x1b[?25h\x1b[?1049l")
            self.out.flush()
            self.live = False
