"""Turning EVerest `Powermeter` readings into OCPP 1.6 SampledValues.

Only what the reading holds is reported: a measurand missing from the reading is left out, never invented.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PHASES = ("L1", "L2", "L3")


@dataclass
class Measurement:
    """The latest reading of one EVSE with the extra values OCPP can report beside the power meter."""

    powermeter: dict[str, Any]
    soc_percent: float | None = None
    current_offered_a: float | None = None
    power_offered_w: float | None = None


def _value(number: float, measurand: str, unit: str, context: str, phase: str | None = None,
           location: str = "Outlet") -> dict[str, Any]:
    sampled = {"value": _format(number), "context": context, "format": "Raw", "measurand": measurand,
               "location": location, "unit": unit}
    if phase:
        sampled["phase"] = phase
    return sampled


def _format(number: float) -> str:
    """Whole numbers without a decimal point, others with at most three decimals (as meters report them)."""
    rounded = round(float(number), 3)
    return str(int(rounded)) if rounded.is_integer() else f"{rounded:.3f}".rstrip("0")


def _per_phase(section: dict[str, Any] | None, measurand: str, unit: str, context: str,
               phase_names: dict[str, str] | None = None, total_key: str | None = "total") -> list[dict[str, Any]]:
    if not isinstance(section, dict):
        return []
    values: list[dict[str, Any]] = []
    if total_key and isinstance(section.get(total_key), int | float):
        values.append(_value(section[total_key], measurand, unit, context))
    for key, phase in (phase_names or {p: p for p in PHASES}).items():
        if isinstance(section.get(key), int | float):
            values.append(_value(section[key], measurand, unit, context, phase))
    return values


def sampled_values(measurement: Measurement, measurands: list[str], context: str) -> list[dict[str, Any]]:
    """SampledValues for `measurands` (the order of the configuration key) from one reading."""
    meter = measurement.powermeter
    out: list[dict[str, Any]] = []
    for measurand in measurands:
        if measurand == "Energy.Active.Import.Register":
            out += _per_phase(meter.get("energy_Wh_import"), measurand, "Wh", context)
        elif measurand == "Energy.Active.Export.Register":
            out += _per_phase(meter.get("energy_Wh_export"), measurand, "Wh", context)
        elif measurand == "Power.Active.Import":
            out += _per_phase(meter.get("power_W"), measurand, "W", context)
        elif measurand == "Power.Reactive.Import":
            out += _per_phase(meter.get("VAR"), measurand, "var", context)
        elif measurand == "Current.Import":
            current = meter.get("current_A")
            out += _per_phase(current, measurand, "A", context, {"L1": "L1", "L2": "L2", "L3": "L3", "N": "N"},
                              total_key="DC")
        elif measurand == "Voltage":
            out += _per_phase(meter.get("voltage_V"), measurand, "V", context,
                              {"L1": "L1-N", "L2": "L2-N", "L3": "L3-N"}, total_key="DC")
        elif measurand == "Frequency":
            # OCPP's Frequency has no unit of its own; the phase tells which line was measured.
            for sampled in _per_phase(meter.get("frequency_Hz"), measurand, "", context, total_key=None):
                sampled.pop("unit")
                out.append(sampled)
        elif measurand == "SoC" and measurement.soc_percent is not None:
            out.append(_value(measurement.soc_percent, measurand, "Percent", context, location="EV"))
        elif measurand == "Temperature":
            for sensor in meter.get("temperatures") or []:
                if isinstance(sensor, dict) and isinstance(sensor.get("temperature"), int | float):
                    out.append(_value(sensor["temperature"], measurand, "Celsius", context, location="Body"))
        elif measurand == "Current.Offered" and measurement.current_offered_a is not None:
            out.append(_value(measurement.current_offered_a, measurand, "A", context))
        elif measurand == "Power.Offered" and measurement.power_offered_w is not None:
            out.append(_value(measurement.power_offered_w, measurand, "W", context))
    return out


def energy_wh(powermeter: dict[str, Any]) -> int:
    """The import register in whole Wh, as StartTransaction.meterStart and StopTransaction.meterStop carry it."""
    return round(float(powermeter["energy_Wh_import"]["total"]))


def has_energy(powermeter: Any) -> bool:
    """A reading is usable only with an import energy total; anything else is dropped by the caller."""
    try:
        return isinstance(powermeter["energy_Wh_import"]["total"], int | float)
    except (KeyError, TypeError):
        return False
