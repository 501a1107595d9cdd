"""DeviceDataCtrlr's ItemsPerMessage / BytesPerMessage for a request: more items is OccurrenceConstraintViolation
(B05.FR.09, B06.FR.16), more bytes FormatViolation (B05.FR.10, B06.FR.17), before any item is looked at."""

from __future__ import annotations

import json
from typing import Any

from module.link.errors import OcppError
from module.v201.device_model.device_model import DeviceModel


def check_request_size(model: DeviceModel, action: str, payload: dict[str, Any], items: list[Any]) -> None:
    items_max = _limit(model, "ItemsPerMessage", action)
    if items_max is not None and len(items) > items_max:
        raise OcppError("OccurrenceConstraintViolation",
                        f"{len(items)} items, ItemsPerMessage{action} is {items_max}")
    bytes_max = _limit(model, "BytesPerMessage", action)
    size = len(json.dumps(payload, separators=(",", ":")).encode())
    if bytes_max is not None and size > bytes_max:
        raise OcppError("FormatViolation", f"{size} bytes, BytesPerMessage{action} is {bytes_max}")


def _limit(model: DeviceModel, variable: str, action: str) -> int | None:
    spec = model.find({"name": "DeviceDataCtrlr"}, {"name": variable, "instance": action})
    if isinstance(spec, str):
        return None
    value = model.value(spec)
    return int(value) if value else None
