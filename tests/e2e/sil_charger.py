"""The demo's charger under test: config/sil.yaml (the OCPP module with the simulated EVSE managers, Auth, token
provider, System, ...) under the real manager and a real Mosquitto, against the test's CSMS.

Cars and cards go over the external MQTT topics `python -m sim.ctl` uses; `kill()` cuts power (SIGKILL to the
manager's process group) and `start()` boots again on the same state folder.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

from framework.broker import PrivateBroker
from framework.mqtt import BrokerAddress
from sim.csms import LocalCsms
from sim.ctl import TOKEN_TOPIC, carsim_topic, token_message
from sim.demo.monitor import SystemMonitor
from sim.demo.runner import evse_modules
from sim.demo.state_folder import REPO, StateFolder

PLUG_AND_CHARGE = "iec_wait_pwr_ready;draw_power_regulated 16,3;sleep 600"


@dataclass
class SilCharger:
    state: StateFolder
    broker: PrivateBroker
    csms: LocalCsms
    user_config: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Sections and keys written over the demo's user config before the first start."""
    manager: subprocess.Popen | None = None
    monitor: SystemMonitor | None = None

    async def start(self) -> SystemMonitor:
        """Start every module and return the monitor of the EVSEs' session events once all are ready."""
        if not self.state.user_config.exists():
            self.state.write_user_config(self.csms.url)
            user = json.loads(self.state.user_config.read_text())
            for section, keys in self.user_config.items():
                user.setdefault(section, {}).update(keys)
            self.state.user_config.write_text(json.dumps(user))
        run_config = self.state.write_run_config(self.broker.host, self.broker.port)
        self.monitor = SystemMonitor(BrokerAddress(self.broker.host, self.broker.port), evse_modules(run_config),
                                     lambda _event: None)
        await self.monitor.start()
        log = (self.state.root / "manager.log").open("ab")
        self.manager = subprocess.Popen(
            [sys.executable, "-m", "framework.manager", "--config", str(run_config)], cwd=REPO, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        log.close()
        await asyncio.wait_for(self.monitor.global_ready.wait(), 60)
        return self.monitor

    def plug_in(self, evse: int, script: str = PLUG_AND_CHARGE) -> None:
        assert self.monitor is not None
        self.monitor.publish_external(carsim_topic(evse, "execute_charging_session"), script)

    def swipe(self, evse: int, id_tag: str) -> None:
        assert self.monitor is not None
        self.monitor.publish_external(TOKEN_TOPIC, json.dumps(token_message(id_tag, evse, "ISO14443", "RFID")))

    async def kill(self) -> None:
        """Power cut: SIGKILL to the manager and every module it started."""
        if self.manager is not None and self.manager.poll() is None:
            os.killpg(self.manager.pid, signal.SIGKILL)
            await asyncio.to_thread(self.manager.wait)
        await self._close_monitor()

    async def stop(self) -> None:
        if self.manager is not None and self.manager.poll() is None:
            self.manager.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(asyncio.to_thread(self.manager.wait), 15)
            except TimeoutError:
                os.killpg(self.manager.pid, signal.SIGKILL)
                await asyncio.to_thread(self.manager.wait)
        await self._close_monitor()

    async def _close_monitor(self) -> None:
        if self.monitor is not None:
            await self.monitor.close()
            self.monitor = None

    def log_text(self) -> str:
        path = self.state.root / "manager.log"
        return path.read_text(errors="replace") if path.exists() else ""
