"""GetVariables (B06): each requested attribute with its own status, in the order asked."""

from __future__ import annotations

from typing import Any

from module.v201.device_model.device_model import DeviceModel
from module.v201.provisioning.limits import check_request_size

ACTION = "GetVariables"


def handle(model: DeviceModel, request: dict[str, Any]) -> dict[str, Any]:
    items = request["getVariableData"]
    check_request_size(model, ACTION, request, items)
    results = []
    for item in items:
        attribute = item.get("attributeType", "Actual")
        result = model.get(item["component"], item["variable"], attribute)
        entry: dict[str, Any] = {"attributeStatus": result.status, "attributeType": attribute,
                                 "component": item["component"], "variable": item["variable"]}
        if result.value is not None:
            entry["attributeValue"] = result.value
        if result.info is not None:
            entry["attributeStatusInfo"] = {"reasonCode": result.info}
        results.append(entry)
    return {"getVariableResult": results}
