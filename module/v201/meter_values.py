"""Block J: EVerest Powermeter readings as 2.0.1 MeterValues (J01 clock-aligned, J02 sampled in a transaction).

The measurands are read from the reading as the 1.6 module reads them (module/core/meter_values.py, only what the
reading holds); 2.0.1 carries the value as a number and the unit in unitOfMeasure, and has no `format`."""

from __future__ import annotations

from typing import Any

from module.core.meter_values import Measurement, sampled_values
from module.core.timestamps import utc_now


def sampled_values_201(reading: dict[str, Any], measurands: list[str], context: str) -> list[dict[str, Any]]:
    out = []
    for sampled in sampled_values(Measurement(reading), measurands, context):
        value: dict[str, Any] = {"value": float(sampled["value"]), "context": sampled["context"],
                                 "measurand": sampled["measurand"], "location": sampled["location"]}
        if sampled.get("phase"):
            value["phase"] = sampled["phase"]
        if sampled.get("unit"):
            value["unitOfMeasure"] = {"unit": sampled["unit"]}
        out.append(value)
    return out


def meter_value(reading: dict[str, Any], measurands: list[str], context: str) -> list[dict[str, Any]]:
    """A one-element meterValue list, or an empty one when the reading holds none of the measurands."""
    values = sampled_values_201(reading, measurands, context)
    return [{"timestamp": utc_now("milliseconds"), "sampledValue": values}] if values else []
