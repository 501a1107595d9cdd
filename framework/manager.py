"""The manager: `python -m framework.manager --config FILE [--standalone ID ...] [--retain-topics] [--check]`.

It follows EVerest's manager (spec sections 4 and 10): check the run config against the manifests, publish the
retained definitions, serve `{P}config/request`, launch every non-standalone module, wait for every ModuleReady
(standalone ones included), clear the definitions (unless --retain-topics) and publish GlobalReady.  Any child
exit stops the system with a non-zero status, except one with REBOOT_EXIT_STATUS, which starts every module again;
SIGINT/SIGTERM stop it cleanly.

Module lookup (whatever folder the run config is in): module name `OCPP` is this repository's root and `OCPP201`
its module/v201 (BUILT_IN_MODULES); any other name `N` is `<dir>/N/` for each `--modules-dir` given, then
`sim/N/`.  The folder holds the module's
manifest.yaml and is a Python package run as `<this interpreter> -m <package>` with the repository root as cwd:
the root runs `-m module` (the `module/` package beside the root manifest), `sim/N` runs `-m sim.N`, `<dir>/N`
runs `-m N` with `<dir>` put first on PYTHONPATH.  Interfaces are looked up in each `--interfaces-dir`, then in
the repository's `interfaces/`.  Children inherit the manager's process group (no setsid), so a SIGKILL to the
group takes them all down.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from framework import envelopes
from framework.broker import BrokerError, PrivateBroker
from framework.definitions import (
    DefinitionError,
    Definitions,
    distributed_manifest,
    load_manifest,
    schemas_as_distributed,
)
from framework.envelopes import EnvelopeError, MsgType
from framework.mqtt import BrokerAddress, MqttClient
from framework.run_config import (
    DEFAULT_TELEMETRY_PREFIX,
    RunConfig,
    check,
    load_run_config,
    module_config,
)
from framework.topics import Topics

REPO_ROOT = Path(__file__).resolve().parent.parent
ROOT_MODULE_NAME = "OCPP"
BUILT_IN_MODULES = {ROOT_MODULE_NAME: (REPO_ROOT, "module"), "OCPP201": (REPO_ROOT / "module" / "v201", "module.v201")}
"""This repository's own modules: folder of the manifest, package run with -m."""
STOP_GRACE_SECONDS = 3.0
REBOOT_EXIT_STATUS = 75
"""A module exiting with this status reboots the system (a simulated System module after a firmware update):
the manager stops every module it started and starts them all again; standalone ones keep running and ready.
This manager tells its children the status in EV_REBOOT_EXIT_STATUS; EVerest's manager has no such restart (it
stops everything when a module exits), so a module without that variable must not exit to reboot."""
REBOOT_ENV = "EV_REBOOT_EXIT_STATUS"
log = logging.getLogger("manager")


@dataclass(frozen=True)
class ModuleHome:
    """Where a module lives and how to start it."""

    name: str
    path: Path
    package: str
    search_root: Path

    @property
    def manifest_path(self) -> Path:
        return self.path / "manifest.yaml"

    @property
    def entry_point(self) -> Path:
        return self.search_root.joinpath(*self.package.split(".")) / "__main__.py"


def locate_module(name: str, modules_dirs: list[Path]) -> ModuleHome | None:
    """The module folder for a module name (rules in the module docstring), or None."""
    built_in = BUILT_IN_MODULES.get(name)
    candidates = [ModuleHome(name, built_in[0], built_in[1], REPO_ROOT)] if built_in else []
    candidates += [ModuleHome(name, d / name, name, d) for d in modules_dirs]
    candidates.append(ModuleHome(name, REPO_ROOT / "sim" / name, f"sim.{name}", REPO_ROOT))
    return next((c for c in candidates if c.manifest_path.is_file()), None)


@dataclass
class System:
    """A checked run config with everything it refers to."""

    config: RunConfig
    homes: dict[str, ModuleHome]
    manifests: dict[str, dict[str, Any]]
    definitions: Definitions

    def interface_names(self) -> list[str]:
        names = set()
        for entry in self.config.modules.values():
            manifest = self.manifests[entry.module]
            names |= {p["interface"] for p in manifest["provides"].values()}
            names |= {r["interface"] for r in manifest["requires"].values()}
        return sorted(names)


def load_system(config_path: Path, standalone: list[str], modules_dirs: list[Path],
                interfaces_dirs: list[Path]) -> tuple[System | None, list[str]]:
    """Load the run config, manifests and interfaces; return the system and every problem found."""
    try:
        config = load_run_config(config_path)
    except DefinitionError as exc:
        return None, [str(exc)]
    problems = [f"--standalone {sid}: no active module {sid!r} in {config_path}"
                for sid in standalone if sid not in config.modules]
    for sid in standalone:
        if sid in config.modules:
            config.modules[sid].standalone = True
    definitions = Definitions([*interfaces_dirs, REPO_ROOT / "interfaces"])
    homes: dict[str, ModuleHome] = {}
    manifests: dict[str, dict[str, Any]] = {}
    for module_id, entry in config.modules.items():
        if entry.module in homes or entry.module in manifests:
            continue
        home = locate_module(entry.module, modules_dirs)
        if home is None:
            problems.append(f"{config_path}: active_modules.{module_id}.module: no module {entry.module!r} "
                            f"(no manifest.yaml found for it)")
            continue
        try:
            manifests[entry.module] = load_manifest(home.manifest_path)
        except DefinitionError as exc:
            problems.append(str(exc))
            continue
        homes[entry.module] = home
        if not entry.standalone and not home.entry_point.is_file():
            problems.append(f"{home.path}: module {entry.module} has no {home.entry_point.name} "
                            f"to run it with -m {home.package}")
    problems += check(config, manifests, definitions)
    if problems:
        return None, problems
    return System(config, homes, manifests, definitions), []


class Manager:
    """Runs one system until a child dies or a stop signal arrives."""

    def __init__(self, system: System, retain_topics: bool) -> None:
        self.system = system
        self.config = system.config
        self.retain_topics = retain_topics
        self.topics = Topics.for_prefix(self.config.everest_prefix)
        self.broker: PrivateBroker | None = None
        self.mqtt: MqttClient | None = None
        self.children: dict[str, asyncio.subprocess.Process] = {}
        self.ready: set[str] = set()
        self.all_ready = asyncio.Event()
        self.stop_requested = asyncio.Event()
        self.retained: list[str] = []
        self.stopping = False
        self._output_tasks: list[asyncio.Task[None]] = []

    # settings and definitions
    def _paths(self) -> dict[str, str]:
        settings = self.config.settings
        prefix = settings.get("prefix", str(REPO_ROOT))
        return {"prefix": prefix,
                "etc_dir": settings.get("etc_dir", f"{prefix}/etc/everest"),
                "data_dir": settings.get("data_dir", f"{prefix}/share/everest"),
                "modules_dir": settings.get("modules_dir", f"{prefix}/libexec/everest/modules")}

    def settings_payload(self) -> dict[str, Any]:
        settings = self.config.settings
        return {**self._paths(),
                "telemetry_prefix": settings.get("telemetry_prefix", DEFAULT_TELEMETRY_PREFIX),
                "telemetry_enabled": settings["telemetry_enabled"],
                "validate_schema": settings["validate_schema"],
                "forward_exceptions": settings["forward_exceptions"]}

    def definitions(self) -> list[tuple[str, Any]]:
        """(topic, data) of every retained definition, in the order EVerest publishes them."""
        defs = self.system.definitions
        names = self.system.interface_names()
        out: list[tuple[str, Any]] = [(self.topics.interfaces(), names)]
        out += [(self.topics.interface_definition(n), defs.distributed_interface(n)) for n in names]
        type_files = defs.type_files_used(names) if self.config.validate_schema else []
        out.append((self.topics.types(), [f"/{stem}" for stem in type_files]))
        out += [(self.topics.type_definition(stem), defs.type_file(stem)["types"]) for stem in type_files]
        out.append((self.topics.settings(), self.settings_payload()))
        if self.config.validate_schema:
            out.append((self.topics.schemas(), schemas_as_distributed()))
        for name in sorted(self.system.manifests):
            out.append((self.topics.manifest(name), distributed_manifest(self.system.manifests[name])))
        out.append((self.topics.module_names(), {mid: e.module for mid, e in self.config.modules.items()}))
        return out

    # MQTT side
    def broker_address(self) -> BrokerAddress:
        settings = self.config.settings
        if self.broker is not None:
            return BrokerAddress(host=self.broker.host, port=self.broker.port)
        if "mqtt_broker_socket_path" in settings:
            return BrokerAddress(socket_path=settings["mqtt_broker_socket_path"])
        return BrokerAddress(host=settings.get("mqtt_broker_host", "localhost"),
                             port=settings.get("mqtt_broker_port", 1883))

    def _publish(self, topic: str, message: dict[str, Any], retain: bool = False) -> None:
        assert self.mqtt is not None
        self.mqtt.publish(topic, envelopes.encode(message), qos=2, retain=retain)

    def _on_message(self, topic: str, payload: bytes, retain: bool) -> None:
        try:
            message = envelopes.decode(payload)
        except EnvelopeError as exc:
            log.warning("dropped a message on %s: %s", topic, exc)
            return
        if topic == self.topics.config_request():
            self._serve_config(message)
            return
        module_id = topic.removeprefix(self.topics.prefix + "modules/").removesuffix("/ready")
        if message.msg_type == MsgType.MODULE_READY and message.data is True and module_id in self.config.modules:
            if module_id not in self.ready:
                log.info("module %s is ready", module_id)
            self.ready.add(module_id)
            if self.ready >= set(self.config.modules):
                self.all_ready.set()

    def _on_link(self, connected: bool) -> None:
        if not self.stopping:
            log.warning("broker link %s", "back" if connected else "lost")

    def _serve_config(self, message: envelopes.Envelope) -> None:
        data = message.data
        if message.msg_type != MsgType.GET_CONFIG or not isinstance(data, dict) or "origin" not in data:
            log.warning("dropped a config request that is not a GetConfig: %r", data)
            return
        origin = str(data["origin"])
        request = data.get("request") or {}
        if not isinstance(request, dict) or not isinstance(request.get("identifier") or {}, dict):
            log.warning("dropped a config request from %s: request and its identifier must be objects", origin)
            return
        kind = data.get("type", "Get")
        respond = self.topics.config_response(origin)
        if origin not in self.config.modules:
            self._publish(respond, envelopes.get_config_response({}, "Error", f"unknown module {origin!r}", kind))
        elif kind == "Set":
            self._publish(respond, envelopes.get_config_response(
                {"status": "Rejected"}, "Ok", "configuration is read-only at run time", "Set"))
        elif kind == "Get" and request.get("type") == "Module":
            module = self.config.modules[origin]
            manifest = self.system.manifests[module.module]
            self._publish(respond, envelopes.module_config_response(module_config(self.config, origin, manifest)))
        elif kind == "Get" and request.get("type") == "Value":
            self._publish(respond, self._value_response(origin, request.get("identifier") or {}))
        else:
            self._publish(respond, envelopes.get_config_response(
                {}, "Error", f"unsupported request {kind}/{request.get('type')}", kind))

    def _value_response(self, origin: str, identifier: dict[str, Any]) -> dict[str, Any]:
        if identifier.get("module_id", origin) != origin:
            return envelopes.get_config_response({}, "AccessDenied", "only a module's own config can be read")
        module = self.config.modules[origin]
        manifest = self.system.manifests[module.module]
        impl = identifier.get("module_implementation_id")
        if not isinstance(impl, str | None):
            return envelopes.get_config_response({}, "Error", f"no implementation {impl!r}")
        parameters = module_config(self.config, origin, manifest)["module_config"]["configuration_parameters"]
        name = identifier.get("configuration_parameter_name")
        for parameter in parameters.get(impl or "!module", []):
            if parameter["name"] == name:
                return envelopes.get_config_response({"type": "Value", "data": parameter["value"]})
        return envelopes.get_config_response({}, "Error", f"no configuration parameter {name!r}")

    def clear_definitions(self) -> None:
        assert self.mqtt is not None
        for topic in self.retained:
            self.mqtt.publish(topic, b"", qos=0, retain=True)
        self.retained = []

    # processes
    def child_environment(self, module_id: str, home: ModuleHome) -> dict[str, str]:
        settings = self.config.settings
        paths = self._paths()
        env = dict(os.environ)
        env.update({
            "EV_MODULE": module_id,
            "EV_PREFIX": paths["prefix"],
            "EV_LOG_CONF_FILE": settings.get("logging_config_file", f"{paths['etc_dir']}/default_logging.cfg"),
            "EV_MQTT_EVEREST_PREFIX": self.topics.prefix,
            "EV_MQTT_EXTERNAL_PREFIX": self.config.external_prefix,
        })
        for key in ("EV_MQTT_BROKER_SOCKET_PATH", "EV_MQTT_BROKER_HOST", "EV_MQTT_BROKER_PORT",
                    "EV_VALIDATE_SCHEMA"):
            env.pop(key, None)
        address = self.broker_address()
        if address.socket_path:
            env["EV_MQTT_BROKER_SOCKET_PATH"] = address.socket_path
        else:
            env["EV_MQTT_BROKER_HOST"] = address.host
            env["EV_MQTT_BROKER_PORT"] = str(address.port)
        if self.config.validate_schema:
            env["EV_VALIDATE_SCHEMA"] = "1"
        env[REBOOT_ENV] = str(REBOOT_EXIT_STATUS)
        roots = dict.fromkeys([str(home.search_root), str(REPO_ROOT)])
        env["PYTHONPATH"] = os.pathsep.join([*roots, *filter(None, [os.environ.get("PYTHONPATH")])])
        return env

    async def spawn(self, module_id: str) -> None:
        home = self.system.homes[self.config.modules[module_id].module]
        log.info("starting %s (%s): -m %s", module_id, home.name, home.package)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", home.package, cwd=REPO_ROOT, env=self.child_environment(module_id, home),
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        self.children[module_id] = process
        self._output_tasks.append(asyncio.create_task(_relay_output(module_id, process)))

    async def stop_children(self) -> None:
        running = [p for p in self.children.values() if p.returncode is None]
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
        if running:
            _, late = await asyncio.wait([asyncio.create_task(p.wait()) for p in running],
                                         timeout=STOP_GRACE_SECONDS)
            for process in running:
                if process.returncode is None:
                    log.warning("module process %s did not stop, killing it", process.pid)
                    with contextlib.suppress(ProcessLookupError):
                        process.kill()
            if late:
                await asyncio.wait(late, timeout=1.0)
        if self._output_tasks:
            await asyncio.wait(self._output_tasks, timeout=0.5)

    # the run
    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.stop_requested.set)
        try:
            if not self.config.names_broker:
                self.broker = await asyncio.to_thread(PrivateBroker().start)
                log.info("started a private mosquitto on %s:%s", self.broker.host, self.broker.port)
            self.mqtt = MqttClient(self.broker_address(), self._on_message, self._on_link, keepalive=600)
            await self.mqtt.connect()
            await self.mqtt.subscribe(self.topics.config_request())
            for module_id in self.config.modules:
                await self.mqtt.subscribe(self.topics.module_ready(module_id))
            for module_id, entry in self.config.modules.items():
                if entry.standalone:
                    log.info("waiting for standalone module %s (%s)", module_id, entry.module)
            while await self._run_modules():
                await self._stop_for_reboot()
                if self.stop_requested.is_set():
                    break
        finally:
            self.stopping = True
            await self._shutdown()
        # a Ctrl-C reaches the children too: one may exit before our own handler has run
        return 0 if self.stop_requested.is_set() else 1

    async def _run_modules(self) -> bool:
        """Publish the definitions, start the modules, GlobalReady once all are ready, then run until a stop or a
        child's exit; True when that exit asked for a reboot."""
        for topic, data in self.definitions():
            self._publish(topic, envelopes.definition(data), retain=True)
            self.retained.append(topic)
        for module_id, entry in self.config.modules.items():
            if not entry.standalone:
                await self.spawn(module_id)
        exited = await self._wait(self.all_ready)
        if exited is None and not self.stop_requested.is_set():
            if not self.retain_topics:
                self.clear_definitions()
            self._publish(self.topics.global_ready(), envelopes.global_ready())
            log.info("all %d modules ready: GlobalReady", len(self.config.modules))
            exited = await self._wait(None)
        if exited is None:
            return False
        status = self.children[exited].returncode
        if status == REBOOT_EXIT_STATUS:
            log.warning("module %s asked for a reboot: every module starts again", exited)
            return True
        log.error("module %s exited with status %s: stopping all modules", exited, status)
        return False

    async def _stop_for_reboot(self) -> None:
        """Stop the started modules and forget their readiness; standalone modules stay ready."""
        await self.stop_children()
        self.children.clear()
        self._output_tasks.clear()
        self.ready = {module_id for module_id in self.ready if self.config.modules[module_id].standalone}
        self.all_ready.clear()

    async def _wait(self, until: asyncio.Event | None) -> str | None:
        """Wait for `until`, a stop request or a child exit; return the id of a child that exited."""
        waiters = {asyncio.create_task(self.stop_requested.wait()): None}
        if until is not None:
            waiters[asyncio.create_task(until.wait())] = None
        for module_id, process in self.children.items():
            waiters[asyncio.create_task(process.wait())] = module_id
        done, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        for task in done:
            module_id = waiters[task]
            if module_id is not None:
                return module_id
        return None

    async def _shutdown(self) -> None:
        await self.stop_children()
        if self.mqtt is not None:
            if not self.retain_topics:
                self.clear_definitions()
            await self.mqtt.close()
        if self.broker is not None:
            await asyncio.to_thread(self.broker.stop)


async def _relay_output(module_id: str, process: asyncio.subprocess.Process) -> None:
    """Copy a child's output to our stderr, each line tagged with its module id."""
    assert process.stdout is not None
    async for line in process.stdout:
        sys.stderr.write(f"[{module_id}] {line.decode(errors='replace').rstrip()}\n")
        sys.stderr.flush()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m framework.manager", description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, type=Path, help="run config YAML (EVerest format)")
    parser.add_argument("--standalone", "-s", nargs="+", action="extend", default=[], metavar="ID",
                        help="module ids started by someone else; waited for, not launched")
    parser.add_argument("--retain-topics", action="store_true", help="keep the retained definitions")
    parser.add_argument("--check", action="store_true", help="only check the config and exit")
    parser.add_argument("--modules-dir", action="append", type=Path, default=[], metavar="DIR",
                        help="also look for module folders DIR/<Name>/ (before sim/)")
    parser.add_argument("--interfaces-dir", action="append", type=Path, default=[], metavar="DIR",
                        help="also look for interfaces in DIR (before the repository's interfaces/)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=os.environ.get("EV_LOG_LEVEL", "INFO"), stream=sys.stderr,
                        format="%(asctime)s %(levelname)-7s [manager] %(message)s")
    system, problems = load_system(args.config, args.standalone, [d.resolve() for d in args.modules_dir],
                                   [d.resolve() for d in args.interfaces_dir])
    if system is None:
        for problem in problems:
            print(problem, file=sys.stderr)
        print(f"{len(problems)} problem(s) found in {args.config}", file=sys.stderr)
        return 1
    if args.check:
        print(f"{args.config}: OK ({len(system.config.modules)} modules)")
        return 0
    try:
        return asyncio.run(Manager(system, args.retain_topics).run())
    except (ConnectionError, BrokerError) as exc:
        print(f"manager: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
