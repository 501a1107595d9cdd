"""Provided `main` (ocpp_1_6_charge_point): stop/restart the OCPP side, configuration keys, security events."""

from __future__ import annotations

from typing import Any

from framework.module import Module

IMPL = "main"


def ocpp_key_value(key_value: dict[str, Any]) -> dict[str, Any]:
    """An OCPP KeyValue as the `ocpp` interface's KeyValue type (no value for a key reported without one)."""
    converted = {"key": key_value["key"], "read_only": key_value["readonly"]}
    if "value" in key_value:
        converted["value"] = key_value["value"]
    return converted


def implement(mod: Module, ocpp: Any) -> None:
    """`ocpp` is the OcppModule (module/impl/ocpp_module.py): it owns the charge point and its lifecycle."""

    async def get_configuration_key(args: dict[str, Any]) -> dict[str, Any]:
        known, unknown = ocpp.config.get_configuration(args["keys"])
        return {"configuration_keys": [ocpp_key_value(kv) for kv in known], "unknown_keys": unknown}

    async def set_configuration_key(args: dict[str, Any]) -> str:
        return ocpp.config.change_configuration(args["key"], args["value"])

    async def monitor_configuration_keys(args: dict[str, Any]) -> None:
        for key in args["keys"]:
            ocpp.monitor_key(key)

    async def security_event(args: dict[str, Any]) -> None:
        await ocpp.security_event(args["type"], args.get("info"))

    mod.implement(IMPL, "stop", lambda _args: ocpp.stop_ocpp())
    mod.implement(IMPL, "restart", lambda _args: ocpp.restart_ocpp())
    mod.implement(IMPL, "get_configuration_key", get_configuration_key)
    mod.implement(IMPL, "set_configuration_key", set_configuration_key)
    mod.implement(IMPL, "monitor_configuration_keys", monitor_configuration_keys)
    mod.implement(IMPL, "security_event", security_event)
