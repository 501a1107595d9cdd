"""The interfaces the OCPP201 module provides, over the 2.0.1 station: `ocpp_generic` (ocpp) over the device
model, `auth_validator` with Authorize, `data_transfer` with DataTransfer. `main` (empty) and `auth_provider` /
`session_cost` (vars only) have no commands. What belongs to part 2 (availability, variable monitoring) answers
so, instead of pretending."""

from __future__ import annotations

from typing import Any, Protocol

from framework.errors import CommandError
from framework.module import Module
from module.core.timestamps import utc_now
from module.link.errors import CallTimeout, LinkDown, OcppError
from module.queue.message_queue import Offline
from module.v201.station import Station201

OCPP_GENERIC, AUTH_VALIDATOR, DATA_TRANSFER = "ocpp_generic", "auth_validator", "data_transfer"


class Host(Protocol):
    """What the provided interfaces need of the module."""

    station: Station201 | None

    async def stop_ocpp(self) -> bool: ...

    async def restart_ocpp(self) -> bool: ...


def _component(component_variable: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The interface's component / variable in the OCPP wire shape (evse.connector_id -> evse.connectorId)."""
    component = dict(component_variable["component"])
    evse = component.pop("evse", None)
    if evse:
        component["evse"] = {"id": evse["id"], **({"connectorId": evse["connector_id"]}
                                                  if evse.get("connector_id") is not None else {})}
    return component, component_variable["variable"]


def implement(mod: Module, host: Host) -> None:
    def station() -> Station201:
        if host.station is None:
            raise CommandError("the OCPP 2.0.1 side is not started")
        return host.station

    async def get_variables(args: dict[str, Any]) -> list[dict[str, Any]]:
        results = []
        for request in args["requests"]:
            attribute = request.get("attribute_type", "Actual")
            result = station().model.get(*_component(request["component_variable"]), attribute)
            entry: dict[str, Any] = {"status": result.status, "component_variable": request["component_variable"],
                                     "attribute_type": attribute}
            if result.status == "Accepted" and result.value is not None:
                entry["value"] = result.value
            results.append(entry)
        return results

    async def set_variables(args: dict[str, Any]) -> list[dict[str, Any]]:
        results = []
        for request in args["requests"]:
            attribute = request.get("attribute_type", "Actual")
            result = station().model.set(*_component(request["component_variable"]), request["value"], attribute)
            results.append({"status": result.status, "component_variable": request["component_variable"],
                            "attribute_type": attribute})
        return results

    async def security_event(args: dict[str, Any]) -> None:
        event = args["event"]
        payload = {"type": event["type"][:50], "timestamp": utc_now("milliseconds")}
        if event.get("info"):
            payload["techInfo"] = event["info"][:255]
        await station().queue.enqueue_transactional("SecurityEventNotification", payload)

    async def change_availability(args: dict[str, Any]) -> dict[str, Any]:
        """The charger's own modules change availability as the CSMS would (G03 / G04)."""
        request = args["request"]
        evse = request.get("evse")
        if evse is not None and evse.get("connector_id") not in (None, 1):
            return {"status": "Rejected", "status_info": {"reason_code": "UnknownConnector"}}
        evse_id = 0 if evse is None else int(evse["id"])
        if evse_id and evse_id not in station().connectors.evse_ids:
            return {"status": "Rejected", "status_info": {"reason_code": "UnknownEvse"}}
        operative = request["operational_status"] == "Operative"
        return {"status": await station().availability.change(evse_id, operative)}

    async def monitor_variables(args: dict[str, Any]) -> None:
        raise CommandError("variable monitoring is not built yet in the OCPP201 module")

    async def validate_token(args: dict[str, Any]) -> dict[str, Any]:
        token = args["provided_token"]["id_token"]
        info = await station().authorization.authorize({"idToken": token["value"], "type": token["type"]})
        result: dict[str, Any] = {"authorization_status": info["status"], "tariff_messages": []}
        group = info.get("groupIdToken")
        if group:
            result["parent_id_token"] = {"value": group["idToken"], "type": group["type"]}
        return result

    async def data_transfer(args: dict[str, Any]) -> dict[str, Any]:
        request = args["request"]
        payload = {"vendorId": request["vendor_id"], **({"messageId": request["message_id"]}
                                                         if request.get("message_id") else {}),
                   **({"data": request["data"]} if request.get("data") is not None else {})}
        try:
            answer = await station().queue.send("DataTransfer", payload)
        except (Offline, OcppError, CallTimeout, LinkDown):
            return {"status": "Offline"}
        return {"status": answer["status"], **({"data": answer["data"]} if answer.get("data") is not None else {})}

    mod.implement(OCPP_GENERIC, "stop", lambda _args: host.stop_ocpp())
    mod.implement(OCPP_GENERIC, "restart", lambda _args: host.restart_ocpp())
    mod.implement(OCPP_GENERIC, "get_variables", get_variables)
    mod.implement(OCPP_GENERIC, "set_variables", set_variables)
    mod.implement(OCPP_GENERIC, "security_event", security_event)
    mod.implement(OCPP_GENERIC, "change_availability", change_availability)
    mod.implement(OCPP_GENERIC, "monitor_variables", monitor_variables)
    mod.implement(AUTH_VALIDATOR, "validate_token", validate_token)
    mod.implement(DATA_TRANSFER, "data_transfer", data_transfer)
