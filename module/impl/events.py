"""The core's EventPort: what the charge point reports becomes vars of the provided interfaces."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from framework.module import Module
from module.impl.evse_connections import EvseConnections
from module.impl.validation import validation_result

log = logging.getLogger(__name__)


class FrameworkEvents:
    def __init__(self, mod: Module, evses: EvseConnections) -> None:
        self._mod = mod
        self._evses = evses
        self._tasks: set[asyncio.Task] = set()

    def _publish(self, impl_id: str, var: str, value: Any) -> None:
        task = asyncio.ensure_future(self._mod.publish(impl_id, var, value))
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception():
            log.warning("publishing a var failed: %s", task.exception())

    def ocpp_message(self, direction: str, text: str) -> None:
        """One OCPP-J frame (secrets masked) for LogMessagesFormat `callback`, as EVerest's module publishes it."""
        self._publish("ocpp_generic", "ocpp_message", {
            "message": text, "version": "1.6",
            "direction": "ChargingStationToCSMS" if direction == "out" else "CSMSToChargingStation"})

    def connection_changed(self, connected: bool) -> None:
        self._publish("main", "is_connected", connected)
        self._publish("ocpp_generic", "is_connected", connected)

    def boot_notification_response(self, response: dict[str, Any]) -> None:
        self._publish("ocpp_generic", "boot_notification_response", {
            "status": response["status"], "current_time": response["currentTime"],
            "interval": response["interval"]})

    def _evse(self, connector_id: int) -> dict[str, int]:
        evse, local = self._evses.evse_of(connector_id)
        return {"id": evse.evse_id, "connector_id": local}

    def transaction_event(self, event: str, connector_id: int, session_id: str, transaction_id: int | None) -> None:
        value: dict[str, Any] = {"transaction_event": event, "session_id": session_id,
                                 "evse": self._evse(connector_id)}
        if transaction_id is not None:
            value["transaction_id"] = str(transaction_id)
        self._publish("ocpp_generic", "ocpp_transaction_event", value)

    def transaction_event_response(self, event: str, connector_id: int, session_id: str,
                                   transaction_id: int | None, id_tag_info: dict[str, Any] | None) -> None:
        original: dict[str, Any] = {"transaction_event": event, "session_id": session_id,
                                    "evse": self._evse(connector_id)}
        if transaction_id is not None and transaction_id > 0:
            original["transaction_id"] = str(transaction_id)
        self._publish("ocpp_generic", "ocpp_transaction_event_response", {"original_transaction_event": original})

    def validate_result_update(self, connector_id: int, id_tag_info: dict[str, Any]) -> None:
        self._publish("auth_validator", "validate_result_update",
                      {"validation_result": validation_result(id_tag_info), "connector_id": connector_id})

    def security_event(self, event_type: str, info: str | None, critical: bool) -> None:
        """Type and info only, as EVerest's OCPP module publishes it (whether it is critical decided only where
        it went: the CSMS and the security log)."""
        value: dict[str, Any] = {"type": event_type}
        if info:
            value["info"] = info
        self._publish("main", "security_event", value)
        self._publish("ocpp_generic", "security_event", value)
