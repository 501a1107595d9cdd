"""SetVariables (B05): each attribute set on its own, with its own status, in the order asked."""

from __future__ import annotations

from typing import Any

from module.v201.device_model.device_model import DeviceModel
from module.v201.provisioning.limits import check_request_size

ACTION = "SetVariables"


def handle(model: DeviceModel, request: dict[str, Any]) -> dict[str, Any]:
    items = request["setVariableData"]
    check_request_size(model, ACTION, request, items)
    results = []
    for item in items:
        attribute = item.get("attributeType", "Actual")
        result = model.set(item["component"], item["variable"], item["attributeValue"], attribute)
        entry: dict[str, Any] = {"attributeStatus": result.status, "attributeType": attribute,
                                 "component": item["component"], "variable": item["variable"]}
        if result.info is not None:
            entry["attributeStatusInfo"] = {"reasonCode": result.info}
        results.append(entry)
    return {"setVariableResult": results}
