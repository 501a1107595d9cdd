"""A whole charger under test: the real manager and OCPP module processes, a real Mosquitto, the probe standing in
for the other modules (or the simulated System module for the system, with `system`), and a CSMS built on the
`ocpp` package.

Tests change OCPP keys through the user config (as an integrator would) and module options through the run
config; `kill()` cuts power (SIGKILL to the manager's process group) and `start()` boots again on the same files.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from framework.broker import PrivateBroker
from sim.csms import LocalCsms
from tests.e2e.probe import SINKS, Probe, evse_impl, probe_manifest

REPO = Path(__file__).resolve().parents[2]
CHARGE_POINT_ID = "cp001"


@dataclass
class ChargerUnderTest:
    workdir: Path
    broker: PrivateBroker
    csms: LocalCsms
    user_config: dict[str, Any] = field(default_factory=dict)
    module_config: dict[str, Any] = field(default_factory=dict)
    system: dict[str, Any] | None = None
    """Options of a real simulated System module (sim/System) to use instead of the probe's `system`."""
    probe: Probe | None = None
    probe_results: dict[tuple[str, str], Any] = field(default_factory=dict)
    security: dict[str, Any] | None = None
    """Options of a real simulated certificate store (sim/EvseSecurity) to use instead of the probe's `security`."""
    energy_sinks: bool = False
    """Wire the probe's sink_0..2 as the evse_energy_sink connections, mapped to evse 0..2."""
    repo: Path = REPO
    """The checkout whose manager and OCPP module run (bench/scale.py compares against another revision)."""
    evse_count: int = 2
    """EVSEs the probe plays (evse_1..evse_N, wired to the OCPP module in that order)."""
    validate_schema: bool = True
    """The framework setting: every command and var checked against its interface schema (off by default in
    EVerest and here; on in the tests, so that a wrong shape fails them)."""
    manager: subprocess.Popen | None = None

    @property
    def user_config_path(self) -> Path:
        return self.workdir / "user_config.json"

    def _write_configs(self) -> Path:
        internal = {"ChargePointId": CHARGE_POINT_ID, "CentralSystemURI": f"127.0.0.1:{self.csms.port}/"}
        user = {**self.user_config, "Internal": {**internal, **self.user_config.get("Internal", {})}}
        if not self.user_config_path.exists():
            self.user_config_path.write_text(json.dumps(user, indent=2))
        ocpp_options = {"ChargePointConfigPath": str(self.repo / "config" / "ocpp-config.json"),
                        "UserConfigPath": str(self.user_config_path),
                        "DatabasePath": str(self.workdir / "db"), "MessageLogPath": str(self.workdir / "logs"),
                        "EnableExternalWebsocketControl": True, **self.module_config}
        probe = "probe"
        run_config = {
            "settings": {"mqtt_broker_host": self.broker.host, "mqtt_broker_port": self.broker.port,
                         "validate_schema": self.validate_schema},
            "active_modules": {
                "ocpp": {"module": "OCPP", "config_module": ocpp_options, "connections": {
                    "evse_manager": [{"module_id": probe, "implementation_id": evse_impl(n)}
                                     for n in range(1, self.evse_count + 1)],
                    "reservation": [{"module_id": probe, "implementation_id": "reservation"}],
                    "auth": [{"module_id": probe, "implementation_id": "auth"}],
                    "system": [{"module_id": probe, "implementation_id": "system"}],
                    "security": [{"module_id": probe, "implementation_id": "security"}],
                    "charger_information": [{"module_id": probe, "implementation_id": "charger_information"}],
                    "data_transfer": [{"module_id": probe, "implementation_id": "data_transfer"}]}},
                probe: {"module": "Probe", "standalone": True, "connections": {
                    "ocpp": [{"module_id": "ocpp", "implementation_id": "main"}],
                    "ocpp_generic": [{"module_id": "ocpp", "implementation_id": "ocpp_generic"}],
                    "validator": [{"module_id": "ocpp", "implementation_id": "auth_validator"}],
                    "token_provider": [{"module_id": "ocpp", "implementation_id": "auth_provider"}],
                    "ocpp_data_transfer": [{"module_id": "ocpp", "implementation_id": "data_transfer"}]}},
            },
        }
        if self.system is not None:
            run_config["active_modules"]["ocpp"]["connections"]["system"] = [
                {"module_id": "system", "implementation_id": "main"}]
            run_config["active_modules"]["system"] = {"module": "System", "config_module": {
                "state_file": str(self.workdir / "system.json"), "work_dir": str(self.workdir / "system"),
                "log_paths": f"{self.workdir / 'logs'},{self.workdir / 'manager.log'}",
                "security_log_path": str(self.workdir / "logs" / "security.log"), **self.system}}
        if self.security is not None:
            run_config["active_modules"]["ocpp"]["connections"]["security"] = [
                {"module_id": "security", "implementation_id": "main"}]
            run_config["active_modules"]["security"] = {"module": "EvseSecurity", "config_module": {
                "charge_point_id": CHARGE_POINT_ID, **self.security}}
        if self.energy_sinks:
            run_config["active_modules"]["ocpp"]["connections"]["evse_energy_sink"] = [
                {"module_id": probe, "implementation_id": sink} for sink in SINKS]
            run_config["active_modules"][probe]["mapping"] = {
                "implementations": {sink: {"evse": evse} for evse, sink in enumerate(SINKS)}}
        path = self.workdir / "run-config.yaml"
        path.write_text(yaml.safe_dump(run_config, sort_keys=False))
        return path

    def _modules_dir(self) -> Path:
        """Where the manager finds the Probe manifest: the stored one, or one with `evse_count` EVSEs."""
        if self.evse_count == 2:
            return self.repo / "tests" / "e2e" / "modules"
        modules = self.workdir / "modules"
        (modules / "Probe").mkdir(parents=True, exist_ok=True)
        (modules / "Probe" / "manifest.yaml").write_text(yaml.safe_dump(probe_manifest(self.evse_count)))
        return modules

    async def start(self, extra_env: dict[str, str] | None = None) -> Probe:
        """Start the manager (which launches the OCPP module) and join it as the standalone probe; `extra_env`
        goes to the manager and every module it starts."""
        run_config = self._write_configs()
        log = open(self.workdir / "manager.log", "ab")  # noqa: SIM115 - closed by the child's exit
        self.manager = subprocess.Popen(
            [sys.executable, "-m", "framework.manager", "--config", str(run_config), "--standalone", "probe",
             "--modules-dir", str(self._modules_dir())],
            cwd=self.repo, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(extra_env or {})})
        self.probe = await Probe.connect(self.broker.host, self.broker.port, results=self.probe_results,
                                         evse_count=self.evse_count)
        return self.probe

    async def wait_manager_exit(self, timeout: float = 30.0) -> int:
        assert self.manager is not None
        return await asyncio.wait_for(asyncio.to_thread(self.manager.wait), timeout)

    def log_text(self) -> str:
        path = self.workdir / "manager.log"
        return path.read_text(errors="replace") if path.exists() else ""

    async def kill(self) -> None:
        """Power cut: SIGKILL to the manager and every module it started."""
        if self.manager and self.manager.poll() is None:
            os.killpg(self.manager.pid, signal.SIGKILL)
            await asyncio.to_thread(self.manager.wait)
        if self.probe:
            await self.probe.close()
            self.probe = None

    async def stop(self) -> None:
        if self.probe:
            await self.probe.close()
            self.probe = None
        if self.manager and self.manager.poll() is None:
            self.manager.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(asyncio.to_thread(self.manager.wait), 10)
            except TimeoutError:
                os.killpg(self.manager.pid, signal.SIGKILL)
                await asyncio.to_thread(self.manager.wait)
