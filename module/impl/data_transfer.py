"""Provided `data_transfer` (ocpp_data_transfer): a DataTransfer from the charger to the CSMS."""

from __future__ import annotations

from typing import Any

from framework.module import Module

IMPL = "data_transfer"


def implement(mod: Module, ocpp: Any) -> None:
    async def data_transfer(args: dict[str, Any]) -> dict[str, Any]:
        charge_point = ocpp.charge_point
        if charge_point is None or not charge_point.running:
            return {"status": "Offline"}
        request = args["request"]
        return await charge_point.core.remote.data_transfer_to_csms(request["vendor_id"], request.get("message_id"),
                                                                    request.get("data"))

    mod.implement(IMPL, "data_transfer", data_transfer)
