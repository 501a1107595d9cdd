"""GetBaseReport (B07, B08): answered at once, then the report follows as NotifyReport parts of at most
ItemsPerMessageGetReport entries, numbered by seqNo, every part but the last with tbc (to be continued).

ConfigurationInventory reports the variables the CSMS may write; SummaryInventory the ones that tell the
station's state (availability); FullInventory every variable. A write-only variable is reported without its
value, as the schema allows only then; one without a value yet is reported with an empty one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from module.link.reply import Reply
from module.queue.database import utc_now
from module.v201.device_model.device_model import DeviceModel
from module.v201.device_model.variables import Mutability, VariableSpec

ACTION = "GetBaseReport"
SUMMARY_COMPONENTS = frozenset({"ChargingStation"})
"""SummaryInventory: the components whose variables say whether the station can charge."""

Send = Callable[[str, dict[str, Any]], Awaitable[Any]]
"""Sends a CALL to the CSMS (the queue's normal lane)."""


def handle(model: DeviceModel, send: Send, request: dict[str, Any]) -> Reply:
    chosen = [spec for spec in model.variables if _in_report(spec, request["reportBase"])]
    if not chosen:
        return Reply({"status": "EmptyResultSet"})
    request_id = request["requestId"]

    async def notify() -> None:
        per_part = _items_per_message(model)
        parts = [chosen[i:i + per_part] for i in range(0, len(chosen), per_part)]
        generated_at = utc_now()
        for seq_no, part in enumerate(parts):
            await send("NotifyReport", {"requestId": request_id, "generatedAt": generated_at, "seqNo": seq_no,
                                        "tbc": seq_no < len(parts) - 1,
                                        "reportData": [report_data(model, spec) for spec in part]})
    return Reply({"status": "Accepted"}, then=notify)


def _in_report(spec: VariableSpec, base: str) -> bool:
    if base == "ConfigurationInventory":
        return spec.mutability is not Mutability.READ_ONLY
    if base == "SummaryInventory":
        return spec.component.name in SUMMARY_COMPONENTS
    return True


def _items_per_message(model: DeviceModel) -> int:
    spec = model.find({"name": "DeviceDataCtrlr"}, {"name": "ItemsPerMessage", "instance": "GetReport"})
    value = None if isinstance(spec, str) else model.value(spec)
    return max(1, int(value)) if value else 100


def report_data(model: DeviceModel, spec: VariableSpec) -> dict[str, Any]:
    """One ReportDataType: the variable's attributes (values, mutability, persistence) and characteristics."""
    component: dict[str, Any] = {"name": spec.component.name}
    if spec.component.instance is not None:
        component["instance"] = spec.component.instance
    if spec.component.evse is not None:
        component["evse"] = {"id": spec.component.evse}
        if spec.component.connector is not None:
            component["evse"]["connectorId"] = spec.component.connector
    variable: dict[str, Any] = {"name": spec.name}
    if spec.instance is not None:
        variable["instance"] = spec.instance
    attributes = []
    for attribute in spec.attributes:
        entry: dict[str, Any] = {"type": attribute, "mutability": spec.mutability.value,
                                 "persistent": spec.persistent, "constant": False}
        if spec.mutability is not Mutability.WRITE_ONLY:  # the schema lets only write-only ones go without
            entry["value"] = model.value(spec, attribute) or ""
        attributes.append(entry)
    characteristics: dict[str, Any] = {"dataType": spec.data_type.value, "supportsMonitoring": False}
    if spec.unit is not None:
        characteristics["unit"] = spec.unit
    if spec.min_limit is not None:
        characteristics["minLimit"] = spec.min_limit
    if spec.max_limit is not None:
        characteristics["maxLimit"] = spec.max_limit
    if spec.values_list:
        characteristics["valuesList"] = ",".join(spec.values_list)
    return {"component": component, "variable": variable, "variableAttribute": attributes,
            "variableCharacteristics": characteristics}
