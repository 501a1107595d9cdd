"""Provided `ocpp_generic` (ocpp): the version-neutral interface; in 1.6 a variable's name is the config key."""

from __future__ import annotations

from typing import Any

from framework.module import Module

IMPL = "ocpp_generic"

_SET_STATUS = {"Accepted": "Accepted", "Rejected": "Rejected", "RebootRequired": "RebootRequired",
               "NotSupported": "UnknownVariable"}


def _invalid_input(reason: str) -> dict[str, Any]:
    return {"status": "Rejected", "status_info": {"reason_code": "InvalidInput", "additional_info": reason}}


def implement(mod: Module, ocpp: Any) -> None:
    async def get_variables(args: dict[str, Any]) -> list[dict[str, Any]]:
        """As EVerest's OCPP module answers in 1.6: only the variable name counts, the component comes back empty,
        a known key with a value is the Actual attribute."""
        results = []
        for request in args["requests"]:
            name = request["component_variable"]["variable"]["name"]
            known, _unknown = ocpp.config.get_configuration([name])
            result: dict[str, Any] = {"component_variable": {"component": {"name": ""}, "variable": {"name": name}},
                                      "status": "UnknownVariable"}
            if known and known[0].get("value") is not None:
                result.update(status="Accepted", value=known[0]["value"], attribute_type="Actual")
            results.append(result)
        return results

    async def set_variables(args: dict[str, Any]) -> list[dict[str, Any]]:
        results = []
        for request in args["requests"]:
            name = request["component_variable"]["variable"]["name"]
            status = ocpp.config.change_configuration(name, request["value"])
            results.append({"component_variable": request["component_variable"], "status": _SET_STATUS[status]})
        return results

    async def change_availability(args: dict[str, Any]) -> dict[str, Any]:
        request = args["request"]
        charge_point = await ocpp.started_charge_point()
        evse = request.get("evse")
        connector_id = 0
        if evse:
            if evse.get("connector_id") is None:
                return _invalid_input("no connector_id: to address the whole charging station, leave out evse")
            connector_id = ocpp.evses.ocpp_connector_of(evse["id"], evse["connector_id"])
            if connector_id is None:
                return _invalid_input(f"EVSE {evse['id']} has no connector {evse['connector_id']}")
        status = await charge_point.core.availability.change(connector_id,
                                                             request["operational_status"] == "Operative")
        return {"status": status}

    async def monitor_variables(args: dict[str, Any]) -> None:
        for component_variable in args["component_variables"]:
            ocpp.monitor_variable(component_variable)

    async def security_event(args: dict[str, Any]) -> None:
        event = args["event"]
        await ocpp.security_event(event["type"], event.get("info"), event.get("critical"))

    mod.implement(IMPL, "stop", lambda _args: ocpp.stop_ocpp())
    mod.implement(IMPL, "restart", lambda _args: ocpp.restart_ocpp())
    mod.implement(IMPL, "security_event", security_event)
    mod.implement(IMPL, "get_variables", get_variables)
    mod.implement(IMPL, "set_variables", set_variables)
    mod.implement(IMPL, "change_availability", change_availability)
    mod.implement(IMPL, "monitor_variables", monitor_variables)
