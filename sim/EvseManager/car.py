"""The simulated car, driven by EVerest car-simulator scripts ("sleep 1;iec_wait_pwr_ready;draw_power_regulated 16,3").

Differences from EVerest's EvManager, on purpose: a script that ends leaves the car as it is (EVerest resets the
car, i.e. unplugs it), so a one-line script such as "pause" or "unplug" can drive a running session; and `resume`
makes the car draw again at its last current (EVerest's car has no such command).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger(__name__)

# command name -> number of arguments (EVerest's command registry, IEC part, plus `resume`)
ARITY = {
    "sleep": 1,
    "iec_wait_pwr_ready": 0,
    "iso_wait_pwm_is_running": 0,
    "draw_power_regulated": 2,
    "draw_power_fixed": 2,
    "pause": 0,
    "resume": 0,
    "unplug": 0,
    "plugin": 0,
    "wait_for_real_plugin": 0,
    "set_soc": 1,
    "diode_fail": 0,
}
THREE_PHASES = "3"


class ScriptError(ValueError):
    """A script with an unknown command or a wrong number of arguments; nothing of it is run."""


@dataclass(frozen=True)
class Step:
    name: str
    args: tuple[str, ...] = ()


def parse_script(text: str) -> list[Step]:
    """Commands are separated by ';' (or new lines), arguments by ',' after the first space."""
    steps = []
    for raw in text.replace("\n", ";").split(";"):
        raw = raw.strip()
        if not raw:
            continue
        name, _, rest = raw.partition(" ")
        args = tuple(a.strip() for a in rest.split(",")) if rest.strip() else ()
        if name not in ARITY:
            raise ScriptError(f"unknown car simulator command {name!r}")
        if len(args) != ARITY[name]:
            raise ScriptError(f"{name} takes {ARITY[name]} argument(s), got {len(args)}: {raw!r}")
        steps.append(Step(name, args))
    return steps


class CarPort(Protocol):
    """What the car does to the EVSE: the plug, the CP state (drawing or not), and waiting for the PWM."""

    async def car_plugged_in(self) -> None: ...
    async def car_unplugged(self) -> None: ...
    async def car_demand(self, current_A: float, phases: int, regulated: bool) -> None: ...
    async def car_stop_demand(self) -> None: ...
    async def wait_power_ready(self) -> None: ...
    def car_soc(self, soc: float) -> None: ...
    async def car_diode_fail(self) -> None: ...


class CarSimulator:
    """Runs one script at a time; `modify` replaces the running one, as EVerest's modify_charging_session does."""

    def __init__(self, evse: CarPort) -> None:
        self._evse = evse
        self._task: asyncio.Task | None = None
        self._last_demand: tuple[float, int, bool] = (16.0, 3, True)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def execute(self, script: str) -> bool:
        """Start a charging session script unless one is running (EVerest ignores it then)."""
        if self.running:
            log.warning("a charging session script is running, ignoring %r", script)
            return False
        return self._start(script)

    def modify(self, script: str) -> bool:
        """Replace whatever runs with `script`."""
        return self._start(script)

    def _start(self, script: str) -> bool:
        try:
            steps = parse_script(script)
        except ScriptError as exc:
            log.error("car simulator script rejected: %s", exc)
            return False
        if self._task is not None:
            self._task.cancel()
        self._task = asyncio.get_running_loop().create_task(self._run(steps))
        return True

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self, steps: list[Step]) -> None:
        try:
            for step in steps:
                log.info("car: %s %s", step.name, ",".join(step.args))
                await self._do(step)
        except Exception:
            log.exception("car simulator script failed")
            return
        log.info("car: script finished")

    async def _do(self, step: Step) -> None:
        evse = self._evse
        match step.name:
            case "sleep":
                await asyncio.sleep(float(step.args[0]))
            case "iec_wait_pwr_ready" | "iso_wait_pwm_is_running":
                await evse.car_plugged_in()
                await evse.wait_power_ready()
            case "plugin" | "wait_for_real_plugin":
                await evse.car_plugged_in()
            case "draw_power_regulated" | "draw_power_fixed":
                phases = 3 if step.args[1] == THREE_PHASES else 1
                self._last_demand = (float(step.args[0]), phases, step.name == "draw_power_regulated")
                await evse.car_plugged_in()
                await evse.car_demand(*self._last_demand)
            case "resume":
                await evse.car_demand(*self._last_demand)
            case "pause":
                await evse.car_stop_demand()
            case "unplug":
                await evse.car_unplugged()
            case "set_soc":
                evse.car_soc(float(step.args[0]))
            case "diode_fail":
                await evse.car_diode_fail()
