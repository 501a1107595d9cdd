"""DataTransfer from the CSMS: handed to the charger's data_transfer module, UnknownVendorId without one."""

from __future__ import annotations

from typing import Any

ACTION = "DataTransfer"


async def handle(cp: Any, payload: dict[str, Any]) -> dict[str, Any]:
    request = {"vendor_id": payload["vendorId"]}
    if payload.get("messageId") is not None:
        request["message_id"] = payload["messageId"]
    if payload.get("data") is not None:
        request["data"] = payload["data"]
    try:
        answer = await cp.charger.data_transfer(request)
    except Exception as error:
        cp.log_command_failure("data_transfer", error)
        return {"status": "Rejected"}
    if answer is None:
        return {"status": "UnknownVendorId"}
    response = {"status": answer.get("status", "Rejected")}
    if answer.get("data") is not None:
        response["data"] = answer["data"]
    return response
