"""The core's ChargerPort over the required modules: EVSE managers, auth, system, data_transfer."""

from __future__ import annotations

import logging
from typing import Any

from framework.errors import CommandError
from framework.module import Module, Requirement
from module.impl.evse_connections import EvseConnections

log = logging.getLogger(__name__)

CSMS_PRIORITY = 5000
COMMAND_TIMEOUT = 30.0


class FrameworkCharger:
    def __init__(self, mod: Module, evses: EvseConnections) -> None:
        self._mod = mod
        self._evses = evses
        self._auth = mod.requirement("auth")
        self._system = mod.requirement("system")
        transfers = mod.requirements("data_transfer")
        self._data_transfer: Requirement | None = transfers[0] if transfers else None

    async def _call(self, requirement: Requirement, command: str, args: dict[str, Any]) -> Any:
        try:
            return await requirement.call(command, args, timeout=COMMAND_TIMEOUT)
        except CommandError as error:
            log.warning("%s.%s %s failed: %s", requirement.module_id, requirement.impl_id, command, error)
            raise

    async def _evse_call(self, connector_id: int, command: str, args: dict[str, Any] | None = None) -> Any:
        evse, _local = self._evses.evse_of(connector_id)
        return await self._call(evse.requirement, command, args or {})

    async def stop_transaction(self, connector_id: int, reason: str, id_tag: str | None = None) -> bool:
        request: dict[str, Any] = {"reason": reason}
        if id_tag:
            request["id_tag"] = {"id_token": {"value": id_tag, "type": "Central"}, "authorization_type": "OCPP"}
        return bool(await self._evse_call(connector_id, "stop_transaction", {"request": request}))

    async def pause_charging(self, connector_id: int) -> bool:
        return bool(await self._evse_call(connector_id, "pause_charging"))

    async def resume_charging(self, connector_id: int) -> bool:
        return bool(await self._evse_call(connector_id, "resume_charging"))

    async def force_unlock(self, connector_id: int) -> bool:
        evse, local = self._evses.evse_of(connector_id)
        return bool(await self._call(evse.requirement, "force_unlock", {"connector_id": local}))

    async def set_available(self, connector_id: int, available: bool) -> bool:
        source = {"enable_source": "CSMS", "enable_state": "Enable" if available else "Disable",
                  "enable_priority": CSMS_PRIORITY}
        if connector_id == 0:
            results = [await self._call(evse.requirement, "enable_disable", {"connector_id": 0, "cmd_source": source})
                       for evse in self._evses.evses]
            return all(results)
        evse, local = self._evses.evse_of(connector_id)
        return bool(await self._call(evse.requirement, "enable_disable", {"connector_id": local, "cmd_source": source}))

    async def is_reset_allowed(self, reset_type: str) -> bool:
        return bool(await self._call(self._system, "is_reset_allowed", {"type": reset_type}))

    async def reset(self, reset_type: str) -> None:
        await self._call(self._system, "reset", {"type": reset_type, "scheduled": False})

    async def set_system_time(self, timestamp: str) -> bool:
        return bool(await self._call(self._system, "set_system_time", {"timestamp": timestamp}))

    async def provide_token(self, id_tag: str, connectors: list[int] | None, prevalidated: bool) -> None:
        token: dict[str, Any] = {"id_token": {"value": id_tag, "type": "Central"}, "authorization_type": "OCPP",
                                 "prevalidated": prevalidated}
        if connectors:
            token["connectors"] = connectors
        await self._mod.publish("auth_provider", "provided_token", token)

    async def data_transfer(self, request: dict[str, Any]) -> dict[str, Any] | None:
        if self._data_transfer is None:
            return None
        return await self._call(self._data_transfer, "data_transfer", {"request": request})

    async def set_connection_timeout(self, seconds: int) -> None:
        await self._call(self._auth, "set_connection_timeout", {"connection_timeout": int(seconds)})

    async def get_boot_reason(self) -> str:
        return await self._call(self._system, "get_boot_reason", {})
