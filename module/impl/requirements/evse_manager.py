"""The evse_manager requirements: the core's EvsePort, and their vars turned into typed core inputs."""

from __future__ import annotations

import json
import logging
from collections import deque
from typing import Any

from module.core.charge_point import ChargePoint
from module.core.inputs import SessionEvent
from module.core.meter_values import has_energy
from module.impl.evse_connections import Evse, EvseConnections
from module.impl.requirements.command import call

log = logging.getLogger(__name__)

CSMS_PRIORITY = 5000
RECENT_EVENTS = 64  # per EVSE: how far back a repeated session_event is recognised


class EvseManagers:
    """EvsePort: commands to the EVSE that owns an OCPP connector (0 = every EVSE)."""

    def __init__(self, evses: EvseConnections) -> None:
        self._evses = evses

    async def _evse_call(self, connector_id: int, command: str, args: dict[str, Any] | None = None) -> Any:
        evse, _local = self._evses.evse_of(connector_id)
        return await call(evse.requirement, command, args or {})

    async def stop_transaction(self, connector_id: int, reason: str, id_tag: str | None = None) -> bool:
        request: dict[str, Any] = {"reason": reason}
        if id_tag:
            request["id_tag"] = {"id_token": {"value": id_tag, "type": "Central"}, "authorization_type": "OCPP"}
        return bool(await self._evse_call(connector_id, "stop_transaction", {"request": request}))

    async def pause_charging(self, connector_id: int) -> bool:
        return bool(await self._evse_call(connector_id, "pause_charging"))

    async def force_unlock(self, connector_id: int) -> bool:
        evse, local = self._evses.evse_of(connector_id)
        return bool(await call(evse.requirement, "force_unlock", {"connector_id": local}))

    async def set_available(self, connector_id: int, available: bool) -> bool:
        """The whole EVSE holding the connector (every EVSE for connector 0) is enabled or disabled, as EVerest's
        OCPP module does: an EVSE charges one car at a time, so one unavailable connector takes the EVSE out.
        A failing command refuses the change (it raises). enable_disable answers whether the EVSE is enabled
        afterwards; a source of higher priority may keep it so, which is logged but, as libocpp and EVerest's
        own tests take it, does not refuse the CSMS's change: the CSMS's wish is recorded and applies once that
        source lets go."""
        source = {"enable_source": "CSMS", "enable_state": "Enable" if available else "Disable",
                  "enable_priority": CSMS_PRIORITY}
        evses = self._evses.evses if connector_id == 0 else [self._evses.evse_of(connector_id)[0]]
        for evse in evses:
            enabled = await call(evse.requirement, "enable_disable", {"connector_id": 0, "cmd_source": source})
            if bool(enabled) != available:
                log.warning("%s stays %s: a source of higher priority than the CSMS decides", evse.label,
                            "enabled" if enabled else "disabled")
        return True


def session_event(value: dict[str, Any]) -> SessionEvent:
    """EVerest's SessionEvent as the core's typed input (the nested started / finished details flattened)."""
    kind = value["event"]
    details: dict[str, Any] = {}
    if kind == "TransactionStarted":
        details = value.get("transaction_started") or {}
    elif kind == "TransactionFinished":
        details = value.get("transaction_finished") or {}
    elif kind == "SessionStarted":
        details = value.get("session_started") or {}
    id_token = (details.get("id_tag") or {}).get("id_token") or {}
    reservation_id = details.get("reservation_id")
    return SessionEvent(kind=kind, session_id=value["uuid"], timestamp=value.get("timestamp"),
                        reason=details.get("reason"), id_tag=id_token.get("value"), meter=details.get("meter_value"),
                        reservation_id=reservation_id if isinstance(reservation_id, int) else None)


class EvseInputs:
    """Delivers the EVSE vars to the running charge point; a session_event repeated verbatim (as MQTT QoS 2 may
    deliver after a broker restart) is dropped and counted, so no event is acted on twice."""

    def __init__(self, evses: EvseConnections) -> None:
        self._evses = evses
        self._recent: dict[str, deque[str]] = {}
        self.repeats = 0

    def _repeated(self, evse: Evse, value: dict[str, Any]) -> bool:
        text = json.dumps(value, sort_keys=True)
        recent = self._recent.setdefault(evse.label, deque(maxlen=RECENT_EVENTS))
        if text in recent:
            self.repeats += 1
            log.warning("repeated session_event %s of session %s from %s dropped (%d repeats so far)",
                        value.get("event"), value.get("uuid"), evse.label, self.repeats)
            return True
        recent.append(text)
        return False

    async def deliver(self, charge_point: ChargePoint, evse: Evse, var: str, value: Any) -> None:
        core = charge_point.core
        if var == "session_event":
            if not isinstance(value, dict) or not isinstance(value.get("event"), str) \
                    or not isinstance(value.get("uuid"), str):
                log.warning("malformed session_event from %s dropped: %.200r", evse.label, value)
                return
            if self._repeated(evse, value):
                return
            connector_id = self._evses.ocpp_connector(evse, value.get("connector_id"))
            await charge_point.on_session_event(connector_id, session_event(value))
        elif var == "powermeter":
            if not has_energy(value):
                log.warning("powermeter reading without energy from %s dropped", evse.label)
                return
            core.transactions.on_reading(self._evses.ocpp_connector(evse, None), value)
        elif var == "ev_info" and isinstance(value, dict):
            core.transactions.on_ev_soc(self._evses.ocpp_connector(evse, None), _number(value.get("soc")))
        elif var == "powermeter_public_key_ocmf" and isinstance(value, str):
            charge_point.cfg.set_meter_public_key(self._evses.ocpp_connector(evse, None), value)
        elif var == "enforced_limits" and isinstance(value, dict):
            root = value.get("limits_root_side") or {}
            core.transactions.on_offered_limits(self._evses.ocpp_connector(evse, None),
                                                _number(root.get("ac_max_current_A")),
                                                _number(root.get("total_power_W")))


def _number(limit: Any) -> float | None:
    """A number from an EVSE var, or None: EnforcedLimits hold numbers or {value, source} pairs, and anything
    else (a malformed SoC) must not reach the meter values, where it would stop the sampling."""
    if isinstance(limit, dict):
        limit = limit.get("value")
    return float(limit) if isinstance(limit, int | float) else None
