"""Joins the charger, car and power meter to the framework: evse_manager commands, vars, car simulator topics."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from framework.module import Module
from sim.EvseManager.car import CarSimulator
from sim.EvseManager.charger import Charger, EvseSettings
from sim.EvseManager.limits import ExternalLimits
from sim.EvseManager.powermeter import PowerMeter

log = logging.getLogger(__name__)
IMPL = "evse"
LIMITS_IMPL = "external_limits"


def evse_id_from(config: dict[str, Any], mapping: dict | None) -> int:
    """The configured id, else the run config's mapping (`mapping: {module: {evse: N}}`), else 1."""
    if int(config["evse_id"]):
        return int(config["evse_id"])
    mapping = mapping or {}
    return int((mapping.get("module") or mapping).get("evse") or 1)


def settings_from(config: dict[str, Any], mapping: dict | None) -> EvseSettings:
    return EvseSettings(
        evse_id=evse_id_from(config, mapping),
        connector_id=int(config["connector_id"]),
        connector_type=config["connector_type"],
        max_current_A=float(config["max_current_A"]),
        phases=3 if config["three_phases"] else 1,
        external_ready=bool(config["external_ready_to_start_charging"]),
        battery_capacity_Wh=float(config["battery_capacity_Wh"]),
        initial_soc=float(config["initial_soc"]),
        connector_lock=bool(config["connector_lock"]),
    )


class EvseManagerModule:
    def __init__(self, mod: Module) -> None:
        self.mod = mod
        config = mod.config
        self.settings = settings_from(config, mod.mapping)
        self.interval_s = float(config["powermeter_interval_s"])
        self.meter = PowerMeter(meter_id=f"{mod.id}-meter", nominal_voltage_V=float(config["nominal_voltage_V"]))
        self.charger = Charger(self.settings, self.meter, self._publish)
        self.charger.fault = lambda message: mod.raise_error(IMPL, "evse_manager/Inoperative", message)
        self.car = CarSimulator(self.charger)
        self.limits = ExternalLimits(self._limit_current, self.meter.nominal_voltage_V, self.settings.phases)
        self.carsim_id = int(config["carsim_id"]) or self.settings.evse_id
        self._ticker: asyncio.Task | None = None
        self._hardware_errors: set[str] = set()

    async def _publish(self, var: str, value: Any) -> None:
        await self.mod.publish(IMPL, var, value)

    def register(self) -> None:
        c, mod = self.charger, self.mod
        handlers = {
            "get_evse": lambda args: self.get_evse(),
            "enable_disable": lambda args: c.enable_disable(args["connector_id"], args["cmd_source"]),
            "authorize_response": lambda args: c.authorize_response(args["provided_token"],
                                                                    args["validation_result"]),
            "withdraw_authorization": lambda args: c.withdraw_authorization(),
            "reserve": lambda args: c.reserve(args["reservation_id"]),
            "cancel_reservation": lambda args: c.cancel_reservation(),
            "pause_charging": lambda args: c.pause_charging(),
            "resume_charging": lambda args: c.resume_charging(),
            "stop_transaction": lambda args: c.stop_transaction(args["request"]),
            "force_unlock": lambda args: c.force_unlock(args["connector_id"]),
            "external_ready_to_start_charging": lambda args: c.external_ready_to_start_charging(),
            "set_plug_and_charge_configuration": self.set_plug_and_charge_configuration,
            # basic AC charging only: there is no ISO 15118 stack to hand the modes to (EVerest answers the same)
            "update_allowed_energy_transfer_modes": lambda args: "NoHlc",
        }
        for cmd, handler in handlers.items():
            mod.implement(IMPL, cmd, handler)
        mod.implement(LIMITS_IMPL, "set_external_limits", lambda args: self.limits.set(args["value"]))
        base = f"everest_external/nodered/{self.carsim_id}/carsim/cmd/"
        mod.subscribe_external(base + "execute_charging_session", self.car.execute)
        mod.subscribe_external(base + "modify_charging_session", self.car.modify)
        mod.subscribe_external(f"everest_external/nodered/{self.carsim_id}/carsim/error", self._hardware_error)

    async def _hardware_error(self, payload: str) -> None:
        """`{"error_type": "MREC6UnderVoltage", "raise": "true"}` on carsim/error, as EVerest's simulated board
        support takes it: while any such error is raised the EVSE is Inoperative (the OCPP module: Faulted)."""
        try:
            request = json.loads(payload)
            error_type, raised = str(request["error_type"]), str(request["raise"]).lower() == "true"
        except (ValueError, KeyError, TypeError):
            log.warning("carsim/error payload ignored: %.200s", payload)
            return
        was_faulted = bool(self._hardware_errors)
        if raised:
            self._hardware_errors.add(error_type)
        else:
            self._hardware_errors.discard(error_type)
        if self._hardware_errors and not was_faulted:
            await self.charger.car_stop_demand()
            await self.mod.raise_error(IMPL, "evse_manager/Inoperative", ", ".join(sorted(self._hardware_errors)))
        elif was_faulted and not self._hardware_errors:
            await self.mod.clear_error(IMPL, "evse_manager/Inoperative")

    def get_evse(self) -> dict:
        return {"id": self.settings.evse_id,
                "connectors": [{"id": self.settings.connector_id, "type": self.settings.connector_type}]}

    def set_plug_and_charge_configuration(self, args: dict) -> None:
        self.charger.pnc_configuration = dict(args["plug_and_charge_configuration"])
        log.info("plug and charge configuration: %s", self.charger.pnc_configuration)

    async def on_ready(self) -> None:
        await self._publish_static_vars()
        await self.charger.start()
        self._ticker = asyncio.get_running_loop().create_task(self._tick_forever())
        script = self.mod.config.get("auto_exec_commands") or ""
        if script:
            self.car.execute(script)

    async def _publish_static_vars(self) -> None:
        s = self.settings
        await self._publish("evse_id", str(s.evse_id))
        await self._publish("limits", {"uuid": self.mod.id, "max_current": s.max_current_A,
                                       "nr_of_phases_available": s.phases})
        await self._publish_enforced_limits()
        await self._publish("selected_protocol", "IEC61851-1")
        if self.mod.config.get("powermeter_public_key_ocmf"):
            await self._publish("powermeter_public_key_ocmf", self.mod.config["powermeter_public_key_ocmf"])

    async def _publish_enforced_limits(self) -> None:
        s, current = self.settings, self.charger.max_current_A
        source = f"{self.mod.id}/{'hardware' if current == s.max_current_A else 'external_limits'}"
        await self._publish("enforced_limits", {
            "uuid": self.mod.id,
            "valid_for": 3600,
            "limits_root_side": {
                "ac_max_current_A": {"value": current, "source": source},
                "total_power_W": {"value": current * s.phases * self.meter.nominal_voltage_V, "source": source},
                "ac_max_phase_count": {"value": s.phases, "source": source},
            },
            "schedule": [],
        })

    async def _limit_current(self, amps: float | None) -> None:
        if await self.charger.limit_current(amps):
            await self._publish_enforced_limits()

    async def _tick_forever(self) -> None:
        while True:
            reading = await self.charger.tick()
            await self._publish("powermeter", reading)
            if self.charger.car.plugged:
                await self._publish("ev_info", {"soc": round(self.charger.car.soc, 2)})
            await asyncio.sleep(self.interval_s)

    async def close(self) -> None:
        self.limits.close()
        await self.car.stop()
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker


async def main() -> None:
    mod = await Module.connect()
    sim = EvseManagerModule(mod)
    sim.register()
    await mod.signal_ready(sim.on_ready)
    try:
        await mod.run_forever()
    finally:
        await sim.close()
        await mod.close()
