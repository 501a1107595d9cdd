"""The scripted session played on each connector: the car plugs in, an RFID card is swiped, it charges, leaves.

The car is driven by EVerest car-simulator scripts and the card by the dummy token provider, over the same
external MQTT topics that `python -m sim.ctl` and EVerest's tests use.
"""

from __future__ import annotations

import asyncio
import json

from sim.ctl import TOKEN_TOPIC, carsim_topic, token_message
from sim.demo.monitor import SystemMonitor
from sim.demo.view import DemoView

CHARGE_S = 12
STAGGER_S = 1.0
STEP_TIMEOUT_S = 60.0


def car_script(charge_s: float) -> str:
    """Plug in, wait for the EVSE to offer power, draw 16 A on three phases for a while, unplug."""
    return f"iec_wait_pwr_ready;draw_power_regulated 16,3;sleep {charge_s:g};unplug"


def demo_token(evse: int) -> str:
    return f"RFID_VALID{evse}"


async def play_session(monitor: SystemMonitor, view: DemoView, evse: int, charge_s: float = CHARGE_S) -> None:
    """One full session on `evse`; returns once the EVSE reports the session finished."""
    mark = len(monitor.session_events)
    view.note("demo", f"evse {evse}: car plugs in")
    monitor.publish_external(carsim_topic(evse, "execute_charging_session"), car_script(charge_s))
    await monitor.wait_session_event(evse, "AuthRequired", mark, STEP_TIMEOUT_S)
    token = demo_token(evse)
    view.note("demo", f"evse {evse}: RFID card {token} swiped")
    monitor.publish_external(TOKEN_TOPIC, json.dumps(token_message(token, evse, "ISO14443", "RFID")))
    await monitor.wait_session_event(evse, "SessionFinished", mark, STEP_TIMEOUT_S + charge_s)
    view.note("demo", f"evse {evse}: car left; session done")


async def play_all(monitor: SystemMonitor, view: DemoView, evses: list[int], charge_s: float = CHARGE_S) -> None:
    """Sessions on every EVSE, each starting a little after the previous one so both are easy to follow."""

    async def staggered(position: int, evse: int) -> None:
        await asyncio.sleep(position * STAGGER_S)  # pacing of the show, not synchronisation
        await play_session(monitor, view, evse, charge_s)

    await asyncio.gather(*(staggered(i, evse) for i, evse in enumerate(evses)))
    view.note("demo", "scripted sessions done; drive it yourself with python -m sim.ctl (see README), Ctrl-C stops")
