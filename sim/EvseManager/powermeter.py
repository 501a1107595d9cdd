"""A simulated AC power meter: integrates the power drawn per phase into imported energy."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

PHASES = ("L1", "L2", "L3")
SECONDS_PER_HOUR = 3600.0


def rfc3339_now() -> str:
    """UTC with milliseconds and a 'Z', as EVerest writes timestamps."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class PowerMeter:
    """Energy is integrated from the currents in effect since the last `update`, so readings are exact at events."""

    meter_id: str
    nominal_voltage_V: float = 230.0
    frequency_Hz: float = 50.0
    clock: Callable[[], float] = time.monotonic
    energy_Wh: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PHASES, 0.0))
    currents_A: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PHASES, 0.0))
    _last: float | None = None

    def voltage(self, phase: str) -> float:
        """A slightly loaded grid: the voltage sags by 0.1 V per ampere drawn on that phase."""
        return round(self.nominal_voltage_V - 0.1 * self.currents_A[phase], 2)

    def power_W(self, phase: str) -> float:
        return self.voltage(phase) * self.currents_A[phase]

    def update(self) -> None:
        """Add the energy of the elapsed interval at the currents that were in effect."""
        now = self.clock()
        if self._last is not None:
            hours = (now - self._last) / SECONDS_PER_HOUR
            for phase in PHASES:
                self.energy_Wh[phase] += self.power_W(phase) * hours
        self._last = now

    def set_currents(self, current_A: float, phases: int) -> None:
        """Close the running interval first, then draw `current_A` on the first `phases` phases."""
        self.update()
        for index, phase in enumerate(PHASES):
            self.currents_A[phase] = current_A if index < phases else 0.0

    @property
    def total_Wh(self) -> float:
        return sum(self.energy_Wh.values())

    def reading(self) -> dict:
        """The current reading as EVerest's Powermeter type."""
        self.update()
        power = {phase: round(self.power_W(phase), 1) for phase in PHASES}
        return {
            "timestamp": rfc3339_now(),
            "meter_id": self.meter_id,
            "energy_Wh_import": {"total": round(self.total_Wh, 3),
                                 **{phase: round(self.energy_Wh[phase], 3) for phase in PHASES}},
            "power_W": {"total": round(sum(power.values()), 1), **power},
            "voltage_V": {phase: self.voltage(phase) for phase in PHASES},
            "current_A": {**{phase: self.currents_A[phase] for phase in PHASES}, "N": 0.0},
            "frequency_Hz": dict.fromkeys(PHASES, self.frequency_Hz),
        }
