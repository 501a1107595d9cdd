"""Start everything the demo needs, play the sessions, keep running until Ctrl-C or --duration, stop cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import yaml

from framework.broker import PrivateBroker
from framework.mqtt import BrokerAddress
from sim.csms import LocalCsms
from sim.csms.control import PORT_FILE
from sim.csms.control_server import ControlServer
from sim.demo.files import DemoFiles
from sim.demo.monitor import OfferedCurrent, SessionEvent, SystemMonitor
from sim.demo.ocpp_messages import follow_log, from_record
from sim.demo.session import play_all, show_smart_charging
from sim.demo.state_folder import CHARGE_POINT_ID, REPO, StateFolder
from sim.demo.view import DemoView

READY_TIMEOUT_S = 60.0
BOOT_TIMEOUT_S = 20.0
MANAGER_STOP_S = 10.0


@dataclass(frozen=True)
class Options:
    csms_url: str | None
    state_dir: Path
    live: bool
    duration: float | None
    ocpp_version: str = "1.6"


def start_broker() -> PrivateBroker:
    """A private Mosquitto that a Ctrl-C on the terminal does not reach: it must outlive the modules' shutdown.

    Ctrl-C signals the whole foreground process group, and PrivateBroker's process stays in ours; SIGINT blocked
    while it is forked stays blocked in it (Mosquitto does not unblock it), SIGTERM from stop() still works.
    """
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        return PrivateBroker().start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def evse_modules(run_config: Path) -> dict[str, int]:
    """EvseManager module id -> EVSE number (its mapping in the run config)."""
    modules: dict[str, Any] = yaml.safe_load(run_config.read_text())["active_modules"]
    return {module_id: int(((entry.get("mapping") or {}).get("module") or {}).get("evse", 1))
            for module_id, entry in modules.items() if entry["module"] == "EvseManager"}


class Demo:
    """One run: broker, CSMS (unless another one is given), manager with all modules, live view."""

    def __init__(self, options: Options, out: TextIO) -> None:
        self.options = options
        self.out = out
        self.state = StateFolder.at(options.state_dir, options.csms_url, options.ocpp_version)
        self.stop = asyncio.Event()
        self.broker: PrivateBroker | None = None
        self.csms: LocalCsms | None = None
        self.control: ControlServer | None = None
        self.files: DemoFiles | None = None
        self.manager: asyncio.subprocess.Process | None = None
        self.monitor: SystemMonitor | None = None
        self.view: DemoView | None = None
        self.tasks: list[asyncio.Task[None]] = []

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(signum, self.stop.set)
        try:
            return await self._run()
        finally:
            await self._shutdown()

    async def _run(self) -> int:
        self.state.root.mkdir(parents=True, exist_ok=True)
        self.broker = await asyncio.to_thread(start_broker)
        v201 = self.options.ocpp_version == "2.0.1"
        if self.options.csms_url:
            csms_uri = self.options.csms_url
        else:
            self.csms = await LocalCsms(ocpp_version=self.options.ocpp_version).start()
            if not v201:  # sim.ctl's CSMS commands are 1.6 messages
                self.control = ControlServer(self.csms)
                (self.state.root / PORT_FILE).write_text(f"{await self.control.start()}\n")
            csms_uri = self.csms.url
        self.files = await asyncio.to_thread(DemoFiles.start, self.state.files)
        if v201:
            self.state.write_station_files(csms_uri)
        else:
            self.state.write_user_config(csms_uri)
        run_config = self.state.write_run_config(self.broker.host, self.broker.port)
        self.state.write_broker_file(self.broker.host, self.broker.port)
        evses = evse_modules(run_config)
        title = "OCPP 2.0.1 charging station" if v201 else "OCPP 1.6J charge point"
        hints = [] if v201 else [  # sim.ctl's CSMS commands and the file servers' are 1.6 messages
            "try: python -m sim.ctl plug 1 / swipe 1 RFID_VALID1 / unplug 1 / csms remote-start 1 TAG"
            " / csms reserve 2 TAG", *self.files.hints()]
        view = self.view = DemoView(self.out, self.options.live, sorted(evses.values()), [
            f"{title} demo: {len(evses)} simulated EVSEs, CSMS {csms_uri}",
            f"state {self.state.charger}   module logs {self.state.manager_log}", *hints])
        if self.csms is not None:
            self.csms.add_listener(lambda record: view.ocpp(from_record(record)))
        else:
            self.tasks.append(asyncio.create_task(follow_log(self.state.message_log, view.ocpp)))
        self.monitor = SystemMonitor(BrokerAddress(self.broker.host, self.broker.port), evses, self._monitored)
        await self.monitor.start()
        self.manager = await self._start_manager(run_config)
        view.note("demo", f"manager started (pid {self.manager.pid}); modules log to {self.state.manager_log}")
        self.tasks += [asyncio.create_task(view.run()), asyncio.create_task(self._script(sorted(evses.values())))]
        manager_exit = asyncio.create_task(self.manager.wait())
        stop = asyncio.create_task(self.stop.wait())
        done, _ = await asyncio.wait([manager_exit, stop], timeout=self.options.duration,
                                     return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if manager_exit in done:
            view.note("demo", f"the manager stopped by itself (status {self.manager.returncode}); "
                              f"see {self.state.manager_log}")
            return 1
        manager_exit.cancel()
        view.note("demo", "stopping")
        return 0

    def _monitored(self, item: Any) -> None:
        assert self.view is not None
        if isinstance(item, bool):
            self.view.link_state(item)
        elif isinstance(item, SessionEvent):
            self.view.session_event(item)
        elif isinstance(item, OfferedCurrent):
            self.view.offered(item)
        else:
            self.view.meter(item)

    async def _start_manager(self, run_config: Path) -> asyncio.subprocess.Process:
        log = self.state.manager_log.open("ab")
        try:
            return await asyncio.create_subprocess_exec(
                sys.executable, "-m", "framework.manager", "--config", str(run_config),
                cwd=REPO, stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches the demo only; it stops the manager in order
                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        finally:
            log.close()

    async def _script(self, evses: list[int]) -> None:
        assert self.monitor is not None and self.view is not None
        try:
            await asyncio.wait_for(self.monitor.global_ready.wait(), READY_TIMEOUT_S)
            self.view.note("demo", "all modules ready")
            try:
                await asyncio.wait_for(self.view.boot_accepted.wait(), BOOT_TIMEOUT_S)
            except TimeoutError:
                self.view.note("demo", f"no BootNotification accepted after {BOOT_TIMEOUT_S:.0f} s; "
                                       "playing the sessions anyway")
            if self.options.ocpp_version == "2.0.1":
                await self._base_report()
            shows = [play_all(self.monitor, self.view, evses)]
            if self.csms is not None and self.options.ocpp_version != "2.0.1":  # its CSMS commands are 1.6 ones
                shows.append(show_smart_charging(self.csms, self.monitor, self.view, evses[0]))
            await asyncio.gather(*shows)
        except TimeoutError:
            self.view.note("demo", f"the scripted session got stuck; see {self.state.manager_log}")

    async def _base_report(self) -> None:
        """Before the 2.0.1 station's sessions, the demo asks for its full device model."""
        assert self.view is not None
        if self.csms is None:
            self.view.note("demo", "booted; ask your CSMS for a GetBaseReport to see the device model")
            return
        await self.csms.call(CHARGE_POINT_ID, "GetBaseReport", {"requestId": 1, "reportBase": "FullInventory"})
        await self.csms.wait_for("NotifyReport", lambda payload: not payload["tbc"], timeout=BOOT_TIMEOUT_S)
        variables = sum(len(payload["reportData"]) for payload in self.csms.payloads("NotifyReport"))
        self.view.note("demo", f"base report received: {variables} variables")

    async def _shutdown(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.manager is not None and self.manager.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.manager.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.manager.wait(), MANAGER_STOP_S)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.manager.pid, signal.SIGKILL)
                await self.manager.wait()
        if self.monitor is not None:
            await self.monitor.close()
        if self.control is not None:
            await self.control.stop()
            (self.state.root / PORT_FILE).unlink(missing_ok=True)
        if self.csms is not None:
            await self.csms.stop()
        if self.files is not None:
            await asyncio.to_thread(self.files.stop)
        self.state.broker_file.unlink(missing_ok=True)
        if self.broker is not None:
            await asyncio.to_thread(self.broker.stop)
        if self.view is not None:
            was_live = self.view.live
            self.view.close()
            if was_live:
                self.out.write("\n".join(list(self.view.lines)[-15:]) + "\n")
            self.out.write("demo stopped\n")
            self.out.flush()
