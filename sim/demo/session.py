"""The scripted session played on each connector: the car plugs in, an RFID card is swiped, it charges, leaves;
with the local CSMS, the first session is also limited by a charging profile on the way.

The car is driven by EVerest car-simulator scripts and the card by the dummy token provider, over the same
external MQTT topics that `python -m sim.ctl` and EVerest's tests use.
"""

from __future__ import annotations

import asyncio
import json

from sim.csms import CsmsCallError, LocalCsms
from sim.ctl import TOKEN_TOPIC, carsim_topic, token_message
from sim.demo.monitor import SystemMonitor
from sim.demo.view import DemoView

CHARGE_S = 12
LIMIT_A = 8.0
FULL_POWER_S = 4.0
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


async def show_smart_charging(csms: LocalCsms, monitor: SystemMonitor, view: DemoView, evse: int) -> None:
    """Smart charging on show: a few seconds into the session on `evse` the CSMS limits that transaction to
    LIMIT_A with a TxProfile; the EVSE offers the car less and its power drops while the other session keeps
    charging at full power. The profile ends with its transaction, so the next run starts unlimited again."""
    await monitor.wait_session_event(evse, "ChargingStarted", len(monitor.session_events), STEP_TIMEOUT_S)
    await asyncio.sleep(FULL_POWER_S)  # pacing of the show: full power first
    view.note("demo", f"evse {evse}: the CSMS limits this charging session to {LIMIT_A:g} A")
    profile = {"chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "TxProfile",
               "chargingProfileKind": "Relative", "chargingSchedule": {
                   "chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": LIMIT_A}]}}
    try:
        await csms.call(None, "SetChargingProfile", {"connectorId": evse, "csChargingProfiles": profile})
    except (CsmsCallError, LookupError, ConnectionError, TimeoutError) as error:
        view.note("demo", f"SetChargingProfile failed: {error}")


async def play_all(monitor: SystemMonitor, view: DemoView, evses: list[int], charge_s: float = CHARGE_S) -> None:
    """Sessions on every EVSE, each starting a little after the previous one so both are easy to follow."""

    async def staggered(position: int, evse: int) -> None:
        await asyncio.sleep(position * STAGGER_S)  # pacing of the show, not synchronisation
        await play_session(monitor, view, evse, charge_s)

    await asyncio.gather(*(staggered(i, evse) for i, evse in enumerate(evses)))
    view.note("demo", "scripted sessions done; drive it yourself with python -m sim.ctl (see README), Ctrl-C stops")
