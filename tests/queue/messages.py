"""Payload builders shared by the queue tests and the child charge point process."""

from __future__ import annotations

from typing import Any

TIME = "2026-01-01T00:00:00Z"


def meter_values(number: int, connector_id: int = 1) -> dict[str, Any]:
    """A MeterValues whose register value is `number`, so order and loss are visible at the CSMS."""
    return {"connectorId": connector_id,
            "meterValue": [{"timestamp": TIME, "sampledValue": [{"value": str(number)}]}]}


def number_of(payload: dict[str, Any]) -> int:
    return int(payload["meterValue"][0]["sampledValue"][0]["value"])


def start_transaction(connector_id: int = 1, id_tag: str = "TAG1", meter_start: int = 0) -> dict[str, Any]:
    return {"connectorId": connector_id, "idTag": id_tag, "meterStart": meter_start, "timestamp": TIME}


def stop_transaction(meter_stop: int = 100, reason: str = "Local") -> dict[str, Any]:
    return {"meterStop": meter_stop, "timestamp": TIME, "reason": reason, "transactionId": 0}


def security_event(kind: str = "SettingSystemTime") -> dict[str, Any]:
    return {"type": kind, "timestamp": TIME}
