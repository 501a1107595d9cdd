"""The manager with real processes and a real Mosquitto: start, ready handshake, standalone, crash, stop."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as paho
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from framework.broker import PrivateBroker
from framework.module import Module

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[2]
WAIT = 20.0


@dataclass
class Capture:
    """A spec-speaking MQTT client recording every framework message in arrival order."""

    broker: PrivateBroker
    messages: queue.Queue = field(default_factory=queue.Queue)
    seen: list[tuple[str, bytes, bool]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id="", clean_session=True)
        subscribed = threading.Event()
        self.client.on_message = lambda c, u, m: self.messages.put((m.topic, m.payload, bool(m.retain)))
        self.client.on_subscribe = lambda *args: subscribed.set()
        self.client.on_connect = lambda c, *args: c.subscribe("everest/#", qos=2)
        self.client.connect(self.broker.host, self.broker.port)
        self.client.loop_start()
        assert subscribed.wait(WAIT)

    def until(self, topic: str, timeout: float = WAIT) -> bytes:
        """Record messages up to the first one on `topic`; return its payload."""
        deadline = time.monotonic() + timeout
        while True:
            message = self.messages.get(timeout=max(0.01, deadline - time.monotonic()))
            self.seen.append(message)
            if message[0] == topic:
                return message[1]

    def publish(self, topic: str, msg_type: str, data: object) -> None:
        self.client.publish(topic, json.dumps({"msg_type": msg_type, "data": data}), qos=2).wait_for_publish(WAIT)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def capture(broker: PrivateBroker) -> Iterator[Capture]:
    recorder = Capture(broker)
    yield recorder
    recorder.close()


@dataclass
class ManagerProcess:
    process: subprocess.Popen
    lines: queue.Queue = field(default_factory=queue.Queue)
    output: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.put(line)
        self.lines.put(None)

    def until_line(self, text: str) -> str:
        deadline = time.monotonic() + WAIT
        while (line := self.lines.get(timeout=max(0.01, deadline - time.monotonic()))) is not None:
            self.output.append(line)
            if text in line:
                return line
        raise AssertionError(f"manager ended before {text!r}:\n{''.join(self.output)}")

    def group_is_gone(self) -> bool:
        """Whether no process of the manager's process group (children, private broker) survives it."""
        try:
            os.killpg(self.process.pid, 0)
        except ProcessLookupError:
            return True
        return False


@pytest.fixture
def start_manager(tmp_path: Path) -> Iterator:
    started: list[ManagerProcess] = []

    def start(config_text: str, *args: str) -> ManagerProcess:
        config = tmp_path / "run.yaml"
        config.write_text(config_text)
        process = subprocess.Popen(
            [sys.executable, "-m", "framework.manager", "--config", str(config),
             "--modules-dir", str(FIXTURES / "modules"), "--interfaces-dir", str(FIXTURES / "interfaces"), *args],
            cwd=REPO, stderr=subprocess.PIPE, text=True, start_new_session=True)
        started.append(ManagerProcess(process))
        return started[-1]

    yield start
    for manager in started:
        if manager.process.poll() is None:
            os.killpg(manager.process.pid, signal.SIGKILL)
            manager.process.wait()


def broker_settings(broker: PrivateBroker) -> str:
    return f"settings: {{mqtt_broker_host: {broker.host}, mqtt_broker_port: {broker.port}, prefix: /opt/ev}}\n"


PROBE = """active_modules:
  probe:
    module: PyProbe
    config_module: {greeting: hi-from-config}
    config_implementation: {main: {level: 7}}
"""

# Section 10 of the spec: what a real EVerest v0.25 manager sent for this module (prefix written as <prefix>).
CAPTURED = {
    "everest/interfaces": '{"data":["probe"],"msg_type":"GetConfigResponse"}',
    "everest/interface_definitions/probe": '{"data":{"cmds":{"echo":{"arguments":{"value":{"type":"string"}},'
    '"result":{"type":"string"}}},"errors":{},"vars":{"counter":{"qos":2,"type":"integer"}}},'
    '"msg_type":"GetConfigResponse"}',
    "everest/types": '{"data":[],"msg_type":"GetConfigResponse"}',
    "everest/settings": '{"data":{"data_dir":"<prefix>/share/everest","etc_dir":"<prefix>/etc/everest",'
    '"forward_exceptions":false,"modules_dir":"<prefix>/libexec/everest/modules","prefix":"<prefix>",'
    '"telemetry_enabled":false,"telemetry_prefix":"everest-telemetry/","validate_schema":false},'
    '"msg_type":"GetConfigResponse"}',
    "everest/module_names": '{"data":{"probe":"PyProbe"},"msg_type":"GetConfigResponse"}',
    "everest/modules/probe/response": '{"data":{"response":{"data":{"mappings":{"probe":null},"module_config":'
    '{"access":null,"configuration_parameters":{"!module":[{"characteristics":{"datatype":"string",'
    '"mutability":"ReadOnly"},"name":"greeting","value":"hi-from-config"}],"main":[{"characteristics":'
    '{"datatype":"integer","mutability":"ReadOnly"},"name":"level","value":7}]},"connections":{},"mapping":null,'
    '"module_id":"probe","module_name":"PyProbe","standalone":false,"telemetry_enabled":false}},"type":"Module"},'
    '"status":"Ok","status_info":"","type":"Get"},"msg_type":"GetConfigResponse"}',
    "everest/modules/probe/ready": '{"msg_type":"ModuleReady","data":true}',
    "everest/ready": '{"data":true,"msg_type":"GlobalReady"}',
    "everest/modules/probe/impl/main/var/counter": '{"msg_type":"Var","data":{"data":1}}',
}
DEFINITIONS = ["everest/interfaces", "everest/interface_definitions/probe", "everest/types", "everest/settings",
               "everest/manifests/PyProbe", "everest/module_names"]


def test_definitions_config_ready_and_global_ready_match_the_captured_everest_run(
        capture: Capture, start_manager) -> None:
    manager = start_manager(broker_settings(capture.broker) + PROBE)
    capture.until("everest/modules/probe/impl/main/var/counter")
    order = [topic for topic, payload, _ in capture.seen if payload or topic not in DEFINITIONS]
    assert order[:len(DEFINITIONS)] == DEFINITIONS
    assert order[len(DEFINITIONS):] == ["everest/config/request", "everest/modules/probe/response",
                                        "everest/modules/probe/ready", "everest/ready",
                                        "everest/modules/probe/impl/main/var/counter"]
    got = {topic: json.loads(payload) for topic, payload, _ in capture.seen if payload}
    for topic, text in CAPTURED.items():
        assert got[topic] == json.loads(text.replace("<prefix>", "/opt/ev")), topic
    manifest = got["everest/manifests/PyProbe"]
    assert manifest["msg_type"] == "GetConfigResponse"
    assert manifest["data"]["provides"]["main"]["config"]["level"]["mutability"] == "ReadOnly"
    assert {"config"} & set(manifest["data"]) == set()
    cleared = [topic for topic, payload, _ in capture.seen if not payload]
    assert cleared == DEFINITIONS
    assert [t for t, _, _ in capture.seen].index("everest/ready") > max(
        i for i, (t, p, _) in enumerate(capture.seen) if not p)
    manager.process.send_signal(signal.SIGTERM)
    assert manager.process.wait(timeout=5) == 0
    assert manager.group_is_gone()


def test_retain_topics_keeps_definitions_for_late_readers(capture: Capture, start_manager) -> None:
    manager = start_manager(broker_settings(capture.broker) + PROBE, "--retain-topics")
    capture.until("everest/ready")
    assert all(payload for topic, payload, _ in capture.seen if topic in DEFINITIONS)
    late = Capture(capture.broker)
    try:
        payload = late.until("everest/manifests/PyProbe")
        assert json.loads(payload)["data"]["description"] == "Probe module for the framework tests"
    finally:
        late.close()
    manager.process.send_signal(signal.SIGTERM)
    assert manager.process.wait(timeout=5) == 0


def test_standalone_module_gets_its_config_and_global_ready_waits_for_it(
        capture: Capture, start_manager) -> None:
    config = PROBE + "  late:\n    module: Caller\n    config_module: {ratio: 2.5}\n" \
                     "    connections: {target: [{module_id: probe, implementation_id: main}]}\n"
    manager = start_manager(broker_settings(capture.broker) + config, "--standalone", "late")
    manager.until_line("waiting for standalone module late")
    capture.until("everest/modules/probe/ready")
    capture.publish("everest/config/request", "GetConfig",
                    {"type": "Get", "origin": "late", "request": {"type": "Module"}})
    response = json.loads(capture.until("everest/modules/late/response"))["data"]["response"]["data"]
    module_config = response["module_config"]
    assert module_config["standalone"] is True
    assert module_config["configuration_parameters"]["!module"][0]["value"] == 2.5
    assert module_config["connections"] == {"target": [
        {"module_id": "probe", "implementation_id": "main", "requirement": {"id": "target"}}]}
    assert "everest/ready" not in [topic for topic, _, _ in capture.seen]
    capture.publish("everest/modules/late/ready", "ModuleReady", True)
    capture.until("everest/ready")
    manager.process.send_signal(signal.SIGINT)
    assert manager.process.wait(timeout=5) == 0
    assert manager.group_is_gone()


def test_a_crashed_child_stops_the_system_with_non_zero_exit(capture: Capture, start_manager) -> None:
    config = PROBE + "  crasher: {module: Crasher, config_module: {exit_code: 7}}\n"
    manager = start_manager(broker_settings(capture.broker) + config)
    manager.until_line("module crasher exited with status 7")
    assert manager.process.wait(timeout=5) == 1
    assert manager.group_is_gone()


def test_a_child_exiting_with_the_reboot_status_starts_every_module_again(capture: Capture,
                                                                          start_manager) -> None:
    config = PROBE + "  crasher: {module: Crasher, config_module: {exit_code: 75}}\n"
    manager = start_manager(broker_settings(capture.broker) + config)
    manager.until_line("module crasher asked for a reboot")
    capture.until("everest/ready")
    capture.until("everest/ready")
    topics = [topic for topic, _, _ in capture.seen]
    assert topics.count("everest/modules/probe/ready") == 2  # the probe was started again too
    published = [topic for topic, payload, _ in capture.seen if payload]
    assert published.count("everest/manifests/PyProbe") == 2  # with the definitions published again
    manager.process.send_signal(signal.SIGTERM)
    assert manager.process.wait(timeout=5) == 0
    assert manager.group_is_gone()


def test_sigterm_stops_everything_within_5_s_with_the_private_broker(start_manager) -> None:
    manager = start_manager(PROBE + "  other: {module: PyProbe}\n")
    manager.until_line("started a private mosquitto")
    manager.until_line("GlobalReady")
    began = time.monotonic()
    manager.process.send_signal(signal.SIGTERM)
    assert manager.process.wait(timeout=5) == 0
    assert time.monotonic() - began < 5
    assert manager.group_is_gone()


def test_config_service_answers_value_set_and_ignores_garbage(capture: Capture, start_manager) -> None:
    manager = start_manager(broker_settings(capture.broker) + PROBE, "--standalone", "probe")
    manager.until_line("waiting for standalone module probe")
    capture.client.publish("everest/config/request", b"{not json", qos=2)
    capture.publish("everest/config/request", "Bogus", {"origin": "probe"})
    capture.publish("everest/config/request", "GetConfig", {"type": "Get", "origin": "probe", "request": "Value"})
    manager.until_line("dropped a config request from probe")
    capture.publish("everest/config/request", "GetConfig", {
        "type": "Get", "origin": "probe", "request": {"type": "Value", "identifier": {
            "module_id": "probe", "module_implementation_id": "main", "configuration_parameter_name": "level"}}})
    value = json.loads(capture.until("everest/modules/probe/response"))["data"]
    assert value == {"status": "Ok", "status_info": "", "type": "Get", "response": {"type": "Value", "data": 7}}
    capture.publish("everest/config/request", "GetConfig", {
        "type": "Set", "origin": "probe", "request": {"identifier": {
            "module_id": "probe", "configuration_parameter_name": "greeting"}, "value": "x"}})
    answer = json.loads(capture.until("everest/modules/probe/response"))["data"]
    assert answer["type"] == "Set" and answer["response"] == {"status": "Rejected"}
    assert manager.process.poll() is None
    manager.process.send_signal(signal.SIGTERM)
    assert manager.process.wait(timeout=5) == 0


def test_framework_runtime_modules_get_connections_and_call_each_other(capture: Capture, start_manager) -> None:
    config = ("active_modules:\n  echo_a: {module: PyEcho}\n  echo_b:\n    module: PyEcho\n"
              "    connections: {peer: [{module_id: echo_a, implementation_id: main}]}\n")
    manager = start_manager(broker_settings(capture.broker) + config)
    counter = json.loads(capture.until("everest/modules/echo_b/impl/main/var/counter"))
    assert counter == {"msg_type": "Var", "data": {"data": len("hello echo_a")}}
    assert "everest/ready" in [topic for topic, _, _ in capture.seen]
    manager.process.send_signal(signal.SIGTERM)
    assert manager.process.wait(timeout=5) == 0
    assert manager.group_is_gone()


def test_validate_schema_distributes_types_and_schemas(capture: Capture, start_manager) -> None:
    settings = broker_settings(capture.broker).replace("prefix: /opt/ev", "validate_schema: true")
    config = "active_modules:\n  sink: {module: Crasher, standalone: true}\n"
    manager = start_manager(settings + config)
    capture.until("everest/module_names")
    got = {topic: json.loads(payload)["data"] for topic, payload, _ in capture.seen}
    assert got["everest/interfaces"] == ["sink"]
    assert got["everest/types"] == ["/sample"]
    assert set(got["everest/type_definitions/sample"]) == {"Sample", "Unit"}
    assert set(got["everest/schemas"]) == {"config", "manifest", "interface", "type", "error_declaration_list"}
    assert got["everest/settings"]["validate_schema"] is True
    manager.process.send_signal(signal.SIGTERM)
    assert manager.process.wait(timeout=5) == 0


def test_modules_reach_a_broker_on_a_unix_socket(start_manager) -> None:
    socket_dir = tempfile.mkdtemp(prefix="mqtt-socket-")
    os.chmod(socket_dir, 0o777)  # mosquitto started as root binds as its own user
    broker = PrivateBroker(socket_path=f"{socket_dir}/mqtt.sock").start()
    try:
        manager = start_manager(f"settings: {{mqtt_broker_socket_path: {broker.socket_path}}}\n" + PROBE)
        manager.until_line("GlobalReady")
        manager.process.send_signal(signal.SIGTERM)
        assert manager.process.wait(timeout=5) == 0
    finally:
        broker.stop()
        shutil.rmtree(socket_dir, ignore_errors=True)


def test_an_unreachable_broker_is_one_line_and_non_zero(tmp_path: Path, start_manager) -> None:
    manager = start_manager(f"settings: {{mqtt_broker_socket_path: {tmp_path / 'nothing.sock'}}}\n" + PROBE)
    line = manager.until_line("manager: ")
    assert "no MQTT broker answered" in line
    assert manager.process.wait(timeout=5) == 1
    assert "Traceback" not in "".join(manager.output)


def write_large_system(root: Path, interfaces: int = 40, module_types: int = 10, modules: int = 30) -> list[str]:
    """Interfaces gen_NN (a command and a var typed through a shared type file), module types GenK providing
    `interfaces / module_types` of them each, and a run config of `modules` standalone instances; their ids."""
    reading = {"description": "a reading", "type": "object", "$ref": "/gen_types#/Reading"}
    (root / "interfaces" / "types").mkdir(parents=True)
    (root / "interfaces" / "types" / "gen_types.yaml").write_text(yaml.safe_dump({
        "description": "generated types", "types": {"Reading": {
            "description": "one reading", "type": "object", "required": ["value"],
            "properties": {"value": {"type": "number"}}}}}))
    for n in range(interfaces):
        (root / "interfaces" / f"gen_{n:02}.yaml").write_text(yaml.safe_dump({
            "description": f"generated interface {n}", "cmds": {"read": {"description": "reads", "result": reading}},
            "vars": {"reading": reading}}))
    per_type = interfaces // module_types
    for k in range(module_types):
        provides = {f"impl_{j}": {"interface": f"gen_{k * per_type + j:02}", "description": "generated"}
                    for j in range(per_type)}
        (root / "modules" / f"Gen{k}").mkdir(parents=True)
        (root / "modules" / f"Gen{k}" / "manifest.yaml").write_text(yaml.safe_dump({
            "description": f"generated module type {k}", "provides": provides,
            "metadata": {"license": "https://opensource.org/licenses/Apache-2.0", "authors": ["framework tests"]}}))
    ids = [f"m{n:02}" for n in range(modules)]
    (root / "active_modules.yaml").write_text(yaml.safe_dump({"active_modules": {
        module_id: {"module": f"Gen{n % module_types}", "standalone": True} for n, module_id in enumerate(ids)}}))
    return ids


async def connect_all(broker: PrivateBroker, ids: list[str]) -> list[Module]:
    """Connect every module at once; if one fails, close the others and raise its error."""
    results = await asyncio.gather(*(Module.connect(module_id, host=broker.host, port=broker.port,
                                                    everest_prefix="everest/") for module_id in ids),
                                   return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    if failures:
        await asyncio.gather(*(r.close() for r in results if isinstance(r, Module)))
        raise failures[0]
    return results  # type: ignore[return-value]


@pytest.mark.parametrize("validate_schema", [False, True])
async def test_forty_interfaces_and_thirty_modules_reach_global_ready(
        broker: PrivateBroker, start_manager, tmp_path: Path, validate_schema: bool) -> None:
    """Well over the broker's in-flight window of 20: the manager's retained definitions (about 60) and config
    answers, and the modules' start-up subscriptions, all arrive."""
    ids = write_large_system(tmp_path)
    settings = (f"settings: {{mqtt_broker_host: {broker.host}, mqtt_broker_port: {broker.port}, "
                f"validate_schema: {json.dumps(validate_schema)}}}\n")
    manager = start_manager(settings + (tmp_path / "active_modules.yaml").read_text(),
                            "--modules-dir", str(tmp_path / "modules"),
                            "--interfaces-dir", str(tmp_path / "interfaces"))
    await asyncio.to_thread(manager.until_line, f"waiting for standalone module {ids[-1]}")
    modules = await connect_all(broker, ids)
    try:
        for module in modules:
            for impl in module.provides:
                module.implement(impl, "read", lambda args: {"value": 1.5})
            await module.signal_ready()
        await asyncio.wait_for(asyncio.gather(*(m.global_ready.wait() for m in modules)), WAIT)
        for module in modules:
            assert len(module.interface_definitions) == 40
            assert len(module.module_names) == 30
            assert module.validate_schema is validate_schema
        assert modules[29].name == "Gen9" and modules[29].provides["impl_3"] == "gen_39"
        await asyncio.to_thread(manager.until_line, "all 30 modules ready: GlobalReady")
    finally:
        await asyncio.gather(*(m.close() for m in modules))
    manager.process.send_signal(signal.SIGTERM)
    assert manager.process.wait(timeout=5) == 0
