"""The probe: one standalone test module standing in for the EVSE managers, auth, system and security modules,
and using the OCPP module's provided interfaces (as EVerest's probe module does in its OCPP tests).

Its EVSEs behave like simulated ones: they publish EVerest's session events in EVerest's order with a power
meter that only grows, and a `stop_transaction` command really ends the running transaction.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from framework.module import Module

MANIFEST = Path(__file__).parent / "modules" / "Probe" / "manifest.yaml"

SINKS = ("sink_0", "sink_1", "sink_2")
"""external_energy_limits implementations: the site's (evse 0) and the two EVSEs'."""
EVSE_COMMANDS = ("get_evse", "enable_disable", "authorize_response", "withdraw_authorization", "reserve",
                 "cancel_reservation", "pause_charging", "resume_charging", "stop_transaction", "force_unlock",
                 "external_ready_to_start_charging", "set_plug_and_charge_configuration",
                 "update_allowed_energy_transfer_modes")


def evse_impl(number: int) -> str:
    """The probe's implementation id of EVSE `number`."""
    return f"evse_{number}"


def probe_manifest(evse_count: int) -> dict[str, Any]:
    """The Probe manifest with EVSEs 1..evse_count: the stored one has two, a scale run needs more."""
    manifest = yaml.safe_load(MANIFEST.read_text())
    provides = {impl: entry for impl, entry in manifest["provides"].items() if not impl.startswith("evse_")}
    evses = {evse_impl(n): {"interface": "evse_manager", "description": f"EVSE {n}"}
             for n in range(1, evse_count + 1)}
    manifest["provides"] = {**evses, **provides}
    return manifest


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def token(value: str, prevalidated: bool | None = None) -> dict[str, Any]:
    provided: dict[str, Any] = {"id_token": {"value": value, "type": "ISO14443"}, "authorization_type": "RFID"}
    if prevalidated is not None:
        provided["prevalidated"] = prevalidated
    return provided


@dataclass
class Call:
    impl: str
    command: str
    args: dict[str, Any]


@dataclass
class ProbeEvse:
    """One simulated EVSE with one connector and a meter counting Wh."""

    probe: Probe
    impl: str
    evse_id: int
    energy_wh: float = 1000.0
    session_id: str | None = None
    transaction_running: bool = False
    enabled: bool = True
    reason_on_stop: list[str] = field(default_factory=list)

    def reading(self) -> dict[str, Any]:
        return {"timestamp": now(), "energy_Wh_import": {"total": self.energy_wh},
                "power_W": {"total": 7360.0}, "current_A": {"L1": 32.0},
                "voltage_V": {"L1": 230.0}, "frequency_Hz": {"L1": 50.0}}

    async def publish(self, var: str, value: Any) -> None:
        await self.probe.mod.publish(self.impl, var, value)

    async def event(self, name: str, **payload: Any) -> None:
        await self.publish("session_event", {"uuid": self.session_id or str(uuid.uuid4()), "timestamp": now(),
                                             "connector_id": 1, "event": name, **payload})

    async def meter(self, add_wh: float = 0.0) -> None:
        self.energy_wh += add_wh
        await self.publish("powermeter", self.reading())

    async def ready(self) -> None:
        await self.publish("ready", True)

    async def plug_in(self) -> None:
        self.session_id = str(uuid.uuid4())
        await self.event("SessionStarted", session_started={"reason": "EVConnected", "meter_value": self.reading()})
        await self.event("AuthRequired")

    async def start_transaction(self, id_tag: str, reservation_id: int | None = None) -> None:
        """Authorized, TransactionStarted and ChargingStarted, as an EVSE does once auth said yes."""
        if self.session_id is None:
            self.session_id = str(uuid.uuid4())
            await self.event("SessionStarted", session_started={"reason": "Authorized",
                                                                "meter_value": self.reading()})
        await self.event("Authorized")
        started: dict[str, Any] = {"id_tag": token(id_tag), "meter_value": self.reading()}
        if reservation_id is not None:
            started["reservation_id"] = reservation_id
        self.transaction_running = True
        await self.event("TransactionStarted", transaction_started=started)
        await self.event("ChargingStarted")

    async def stop_transaction(self, reason: str = "Local", id_tag: str | None = None) -> None:
        finished: dict[str, Any] = {"meter_value": self.reading(), "reason": reason}
        if id_tag:
            finished["id_tag"] = token(id_tag)
        self.transaction_running = False
        await self.event("TransactionFinished", transaction_finished=finished)

    async def unplug(self) -> None:
        if self.transaction_running:
            await self.stop_transaction("EVDisconnected")
        await self.event("SessionFinished", session_finished={"meter_value": self.reading()})
        self.session_id = None


class Probe:
    """Records every command it receives; results can be overridden per command."""

    def __init__(self, mod: Module, evse_count: int = 2) -> None:
        self.mod = mod
        self.calls: list[Call] = []
        self.tokens: list[dict[str, Any]] = []
        self.vars: dict[str, list[Any]] = defaultdict(list)
        self._changed = asyncio.Condition()
        self.results: dict[tuple[str, str], Any] = {}
        self.evses = {n: ProbeEvse(self, evse_impl(n), n) for n in range(1, evse_count + 1)}

    # -- set-up ---------------------------------------------------------------------------------------------
    @classmethod
    async def connect(cls, host: str, port: int, everest_prefix: str = "everest/",
                      results: dict[tuple[str, str], Any] | None = None, evse_count: int = 2) -> Probe:
        """Join as the standalone module `probe` with EVSEs 1..evse_count (the manifest `probe_manifest` wrote);
        `results` override command answers from the very start."""
        mod = await Module.connect("probe", host=host, port=port, everest_prefix=everest_prefix,
                                   definitions_timeout=1.0, definitions_retries=30)
        probe = cls(mod, evse_count)
        probe.results.update(results or {})
        probe._implement()
        probe._subscribe()
        await mod.signal_ready(probe.all_ready)
        return probe

    def _implement(self) -> None:
        for number, evse in self.evses.items():
            for command in EVSE_COMMANDS:
                self.mod.implement(evse.impl, command, self._handler(evse.impl, command, self._evse_default(
                    evse, number, command)))
        defaults: dict[str, dict[str, Any]] = {
            "auth": {"set_connection_timeout": None, "set_master_pass_group_id": None,
                     "withdraw_authorization": "Accepted"},
            "reservation": {"reserve_now": "Accepted", "cancel_reservation": True,
                            "exists_reservation": "NotReserved"},
            "system": {"update_firmware": "Accepted", "allow_firmware_installation": None,
                       "upload_logs": {"upload_logs_status": "Accepted"}, "is_reset_allowed": True,
                       "reset": None, "set_system_time": True, "get_boot_reason": "PowerUp"},
            "charger_information": {"get_charger_information": {
                "vendor": "ProbeVendor", "model": "ProbeModel", "chargepoint_serial": "PROBE-CP-1",
                "chargebox_serial": "PROBE-CB-1", "firmware_version": "1.2.3"}},
            "data_transfer": {"data_transfer": lambda args: {"status": "Accepted",
                                                             "data": f"echo:{args['request'].get('data', '')}"}},
            **{sink: {"set_external_limits": None} for sink in SINKS},
        }
        for impl, commands in defaults.items():
            for command, default in commands.items():
                self.mod.implement(impl, command, self._handler(impl, command, default))
        for command in self.mod.interface_definitions["evse_security"]["cmds"]:
            self.mod.implement("security", command, self._handler("security", command, _not_simulated(command)))

    def _evse_default(self, evse: ProbeEvse, number: int, command: str) -> Any:
        if command == "get_evse":
            async def get_evse(_args: dict[str, Any]) -> dict[str, Any]:
                # asked at every start of the OCPP module: one the manager rebooted waits for `ready` again
                asyncio.get_running_loop().create_task(evse.ready())
                return {"id": number, "connectors": [{"id": 1}]}
            return get_evse
        if command == "stop_transaction":
            async def stop(args: dict[str, Any]) -> bool:
                if not evse.transaction_running:
                    return False
                evse.reason_on_stop.append(args["request"]["reason"])
                asyncio.get_running_loop().create_task(evse.stop_transaction(args["request"]["reason"]))
                return True
            return stop
        if command == "enable_disable":
            async def enable_disable(args: dict[str, Any]) -> bool:
                evse.enabled = args["cmd_source"]["enable_state"] != "Disable"
                await evse.event("Enabled" if evse.enabled else "Disabled")
                return evse.enabled  # as EVerest's EvseManager: the state after the command
            return enable_disable
        return {"authorize_response": None, "withdraw_authorization": None, "cancel_reservation": None,
                "set_plug_and_charge_configuration": None,
                "update_allowed_energy_transfer_modes": "Accepted"}.get(command, True)

    def _handler(self, impl: str, command: str, default: Any) -> Callable[[dict[str, Any]], Any]:
        async def handle(args: dict[str, Any]) -> Any:
            async with self._changed:
                self.calls.append(Call(impl, command, args))
                self._changed.notify_all()
            result = self.results.get((impl, command), default)
            if callable(result):
                result = result(args)
                if asyncio.iscoroutine(result):
                    result = await result
            return result
        return handle

    def _subscribe(self) -> None:
        for req_id, var_names in (("ocpp", ("is_connected", "configuration_key", "security_event")),
                                  ("ocpp_generic", ("is_connected", "boot_notification_response",
                                                    "ocpp_transaction_event", "ocpp_transaction_event_response",
                                                    "security_event", "event_data", "charging_schedules",
                                                    "ocpp_message")),
                                  ("validator", ("validate_result_update",)),
                                  ("token_provider", ("provided_token",))):
            for name in var_names:
                self.mod.requirement(req_id).subscribe(
                    name, lambda value, key=f"{req_id}.{name}": self._record_var(key, value))

    async def _record_var(self, key: str, value: Any) -> None:
        async with self._changed:
            self.vars[key].append(value)
            self._changed.notify_all()

    # -- waiting ----------------------------------------------------------------------------------------------
    async def wait_call(self, impl: str, command: str, predicate: Callable[[dict[str, Any]], bool] | None = None,
                        timeout: float = 15.0, after: int = 0) -> dict[str, Any]:
        def found() -> Call | None:
            return next((c for c in self.calls[after:] if c.impl == impl and c.command == command
                         and (predicate is None or predicate(c.args))), None)
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: found() is not None), timeout)
            return found().args  # type: ignore[union-attr]

    async def wait_var(self, key: str, predicate: Callable[[Any], bool] | None = None,
                       timeout: float = 15.0, after: int = 0) -> Any:
        """The first value of var `key` (from the after-th on) matching `predicate`; waits for it."""
        def found() -> Any:
            return next((v for v in self.vars[key][after:] if predicate is None or predicate(v)), _MISSING)
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: found() is not _MISSING), timeout)
            return found()

    def called(self, impl: str, command: str) -> list[dict[str, Any]]:
        return [c.args for c in self.calls if c.impl == impl and c.command == command]

    # -- using the OCPP module ---------------------------------------------------------------------------------
    async def validate(self, id_tag: str) -> dict[str, Any]:
        return await self.mod.requirement("validator").call("validate_token", {"provided_token": token(id_tag)},
                                                            timeout=30)

    async def all_ready(self) -> None:
        for evse in self.evses.values():
            await evse.ready()

    async def close(self) -> None:
        await self.mod.close()


_MISSING = object()


def _not_simulated(command: str) -> Callable[[dict[str, Any]], Any]:
    def refuse(_args: dict[str, Any]) -> Any:
        raise RuntimeError(f"probe does not simulate evse_security.{command}")
    return refuse
