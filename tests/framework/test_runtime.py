"""Module runtime against a real mosquitto: modules in separate processes, a raw-paho fake manager."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from framework.broker import PrivateBroker
from framework.errors import (
    BrokerDisconnected,
    CmdTimeout,
    FrameworkError,
    HandlerException,
    SchemaValidationError,
    StartupError,
)
from framework.module import ErrorEvent, Module
from tests.framework.runtime_fake_manager import FakeManager, ModuleEntry, manifest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
MAPPING = {"module": {"evse": 1}, "implementations": {"main": {"evse": 1, "connector": 2}}}


def probe_entry(**flags: bool) -> ModuleEntry:
    return ModuleEntry("probe", "Probe", manifest({"main": "probe"}, {"target": ("probe", 0, 1)}, **flags),
                       config={"!module": {"greeting": "hi"}, "main": {"level": 7}}, mapping=MAPPING)


def caller_entry(targets: list[tuple[str, str]] | None = None, **flags: bool) -> ModuleEntry:
    return ModuleEntry("caller", "Caller", manifest({}, {"target": ("probe", 1, 2)}, **flags),
                       config={"!module": {"retries": 2, "verbose": True}},
                       connections={"target": targets or [("probe", "main")]})


@pytest.fixture
def spawn(tmp_path: Path) -> Callable[..., subprocess.Popen]:
    started: list[subprocess.Popen] = []

    def start(broker: PrivateBroker, module_id: str, script: str = "runtime_peer.py",
              args: tuple[str, ...] = (), stdout: int | None = None) -> subprocess.Popen:
        env = {**os.environ, "EV_MODULE": module_id, "EV_MQTT_EVEREST_PREFIX": "everest/",
               "EV_MQTT_EXTERNAL_PREFIX": "", "EV_MQTT_BROKER_HOST": broker.host,
               "EV_MQTT_BROKER_PORT": str(broker.port), "PYTHONPATH": str(ROOT)}
        log = open(tmp_path / f"{module_id}.log", "ab")  # noqa: SIM115 - closed when the test ends
        process = subprocess.Popen([sys.executable, str(HERE / script), *args], env=env, cwd=ROOT,
                                   stdout=stdout if stdout is not None else log, stderr=log)
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()
        process.wait()


async def connect(broker: PrivateBroker, module_id: str = "caller", **kwargs: object) -> Module:
    return await Module.connect(module_id, host=broker.host, port=broker.port, everest_prefix="everest/",
                                external_prefix="", **kwargs)


async def start_system(broker: PrivateBroker, spawn: Callable, entries: list[ModuleEntry],
                       processes: tuple[str, ...] = ("probe",), **manager_kwargs: bool) -> tuple[FakeManager, Module]:
    manager = FakeManager(broker, entries, **manager_kwargs).start()
    for module_id in processes:
        spawn(broker, module_id)
    caller = await connect(broker)
    await caller.signal_ready()
    await manager.wait_ready(*processes, "caller")
    manager.global_ready()
    await asyncio.wait_for(caller.global_ready.wait(), 10)
    return manager, caller


@pytest.fixture
async def system(broker: PrivateBroker, spawn: Callable) -> AsyncIterator[tuple[FakeManager, Module]]:
    manager, caller = await start_system(broker, spawn, [probe_entry(), caller_entry()])
    yield manager, caller
    await caller.close()
    manager.stop()


def raw_client(broker: PrivateBroker) -> paho.Client:
    client = paho.Client(CallbackAPIVersion.VERSION2)
    client.connect(broker.host, broker.port)
    client.loop_start()
    return client


async def test_config_request_answered_and_module_config_built(system: tuple[FakeManager, Module]) -> None:
    manager, caller = system
    requests = [body for topic, body in manager.received if topic == "everest/config/request"]
    assert {"msg_type": "GetConfig",
            "data": {"type": "Get", "origin": "caller", "request": {"type": "Module"}}} in requests
    assert caller.name == "Caller"
    assert caller.config == {"retries": 2, "verbose": True}
    assert caller.manifest["requires"]["target"]["interface"] == "probe"
    target = caller.requirement("target", 0)
    assert (target.module_id, target.impl_id, target.interface) == ("probe", "main", "probe")
    assert target.mapping == {"evse": 1, "connector": 2}
    assert caller.requirements("target") == [target]
    with pytest.raises(IndexError):
        caller.requirement("target", 1)
    metadata = [body for topic, body in manager.received if topic == "everest/modules/probe/metadata"]
    assert metadata == [{"msg_type": "GetConfigResponse",
                         "data": {"module": "Probe", "provides": {"main": {"interface": "probe"}}}}]


async def test_in_process_module_sees_impl_config_with_defaults(broker: PrivateBroker) -> None:
    manager = FakeManager(broker, [probe_entry()]).start()
    entry = manager.entries["probe"]
    entry.config["main"] = {}
    probe = await connect(broker, "probe")
    try:
        assert probe.impl_config == {"main": {"level": 3}}
        assert probe.config == {"greeting": "hi"}
        assert probe.requirements("target") == []
    finally:
        await probe.close()
        manager.stop()


async def test_command_results_between_processes(system: tuple[FakeManager, Module]) -> None:
    _, caller = system
    target = caller.requirement("target")
    assert await target.call("echo", {"value": "hello"}) == "hello"
    assert await target.call("add", {"a": 2, "b": 40}) == 42
    assert await target.call("sleep", {"seconds": 0}) is None
    results = await asyncio.gather(*(target.call("echo", {"value": str(n)}) for n in range(20)))
    assert results == [str(n) for n in range(20)]


async def test_a_thousand_command_calls_issued_at_once_are_all_answered(system: tuple[FakeManager, Module]) -> None:
    """1,000 calls leave in one loop turn and 1,000 results come back in bursts: both sides queue behind the
    broker's in-flight window instead of losing what lies beyond it."""
    _, caller = system
    target = caller.requirement("target")
    results = await asyncio.gather(*(target.call("echo", {"value": str(n)}, timeout=60) for n in range(1000)))
    assert results == [str(n) for n in range(1000)]
    assert caller.publish_backlog == 0


async def test_ten_thousand_vars_published_in_one_loop_turn_arrive_complete_and_in_order(
        broker: PrivateBroker) -> None:
    count = 10_000
    manager = FakeManager(broker, [probe_entry(), caller_entry()]).start()
    probe = await connect(broker, "probe")
    caller = await connect(broker, "caller")
    values: list[int] = []
    complete = asyncio.Event()

    def on_counter(value: int) -> None:
        values.append(value)
        if len(values) == count:
            complete.set()

    try:
        caller.requirement("target").subscribe("counter", on_counter)
        await caller.flush_subscriptions()
        for n in range(count):  # publish() does not suspend: all of them in this loop turn
            await probe.publish("main", "counter", n)
        assert probe.publish_backlog == count - 20  # the broker's window holds the rest back
        await asyncio.wait_for(complete.wait(), 60)
        assert values == list(range(count))
        assert probe.publish_backlog == 0
    finally:
        await caller.close()
        await probe.close()
        manager.stop()


async def test_handler_exception_and_timeout(system: tuple[FakeManager, Module]) -> None:
    _, caller = system
    target = caller.requirement("target")
    with pytest.raises(HandlerException, match="boom"):
        await target.call("fail")
    with pytest.raises(CmdTimeout):
        await target.call("sleep", {"seconds": 5}, timeout=0.2)
    assert await target.call("echo", {"value": "still alive"}) == "still alive"


async def test_vars_and_errors_reach_subscribers(system: tuple[FakeManager, Module]) -> None:
    _, caller = system
    target = caller.requirement("target")
    values: asyncio.Queue = asyncio.Queue()
    errors: asyncio.Queue = asyncio.Queue()

    async def on_counter(value: int) -> None:
        await values.put(value)

    target.subscribe("counter", on_counter)
    target.subscribe_errors(lambda e: errors.put_nowait(("raise", e)), lambda e: errors.put_nowait(("clear", e)))
    await caller.flush_subscriptions()
    for _ in range(3):
        await target.call("emit", {"kind": "var"})
    assert [await asyncio.wait_for(values.get(), 5) for _ in range(3)] == [1, 2, 3]

    await target.call("emit", {"kind": "raise"})
    kind, raised = await asyncio.wait_for(errors.get(), 5)
    assert kind == "raise" and isinstance(raised, ErrorEvent) and raised.active
    assert (raised.type, raised.sub_type, raised.message, raised.description) == (
        "probe/Broken", "left", "it broke", "probe is broken")
    assert (raised.origin_module, raised.origin_impl, raised.mapping) == ("probe", "main", {"evse": 1, "connector": 2})
    await target.call("emit", {"kind": "clear"})
    kind, cleared = await asyncio.wait_for(errors.get(), 5)
    assert kind == "clear" and cleared.state == "ClearedByModule" and cleared.uuid == raised.uuid


async def test_error_topic_and_envelope_on_the_wire(system: tuple[FakeManager, Module], broker: PrivateBroker) -> None:
    _, caller = system
    seen: asyncio.Queue = asyncio.Queue()
    loop = asyncio.get_running_loop()
    client = raw_client(broker)
    subscribed = asyncio.Event()
    client.on_subscribe = lambda *a: loop.call_soon_threadsafe(subscribed.set)
    client.on_message = lambda c, u, m: loop.call_soon_threadsafe(seen.put_nowait, (m.topic, json.loads(m.payload)))
    client.subscribe("everest/modules/probe/impl/main/error/#", 2)
    await asyncio.wait_for(subscribed.wait(), 5)
    try:
        await caller.requirement("target").call("emit", {"kind": "raise"})
        topic, body = await asyncio.wait_for(seen.get(), 5)
    finally:
        client.loop_stop()
        client.disconnect()
    assert topic == "everest/modules/probe/impl/main/error/probe/Broken"
    assert body["msg_type"] == "RaiseError"
    data = body["data"]
    assert set(data) == {"type", "sub_type", "message", "description", "origin", "vendor_id", "severity", "state",
                         "timestamp", "uuid"}
    assert data["origin"] == {"module_id": "probe", "implementation_id": "main",
                              "mapping": {"evse": 1, "connector": 2}}
    assert (data["severity"], data["state"], data["vendor_id"]) == ("High", "Active", "everest")


async def test_malformed_payloads_are_dropped_and_module_keeps_answering(
        system: tuple[FakeManager, Module], broker: PrivateBroker, spawn: Callable) -> None:
    manager, caller = system
    cmd = "everest/modules/probe/impl/main/cmd/echo"
    response = "everest/modules/probe/impl/main/cmd/echo/response/caller"
    for topic in (cmd, response, "everest/ready"):
        manager.publish(topic, b"{not json")
        manager.publish(topic, {"msg_type": "Bogus", "data": {}})
        manager.publish(topic, {"msg_type": "Cmd", "data": {"args": {}}})
        manager.publish(topic, {"msg_type": "CmdResult", "data": "strange"})
    assert await caller.requirement("target").call("echo", {"value": "after garbage"}) == "after garbage"


async def test_broker_restart_reconnects_and_fails_calls_in_flight(
        system: tuple[FakeManager, Module], broker: PrivateBroker) -> None:
    _, caller = system
    target = caller.requirement("target")
    changes: asyncio.Queue = asyncio.Queue()
    caller.on_connection_change(changes.put_nowait)
    in_flight = asyncio.ensure_future(target.call("sleep", {"seconds": 30}))
    await asyncio.sleep(0)  # let the call get published before the broker dies
    broker.kill()
    assert await asyncio.wait_for(changes.get(), 10) is False
    with pytest.raises(BrokerDisconnected, match="dropped"):
        await in_flight
    with pytest.raises(BrokerDisconnected):
        await target.call("echo", {"value": "offline"})
    broker.restart()
    assert await asyncio.wait_for(changes.get(), 15) is True
    result = None
    for _ in range(30):  # the probe process reconnects on its own schedule; each try is awaited, not slept
        try:
            result = await target.call("echo", {"value": "back"}, timeout=0.5)
            break
        except (CmdTimeout, BrokerDisconnected):
            continue
    assert result == "back"


async def test_raw_paho_module_and_framework_module_call_each_other(broker: PrivateBroker, spawn: Callable) -> None:
    raw = ModuleEntry("raw", "RawProbe", manifest({"main": "probe"}, {}))
    probe = probe_entry()
    probe.connections = {"target": [("raw", "main")]}
    manager = FakeManager(broker, [probe, raw, caller_entry()]).start()
    raw_process = spawn(broker, "raw", "runtime_raw_peer.py", (broker.host, str(broker.port)),
                        stdout=subprocess.PIPE)
    spawn(broker, "probe")
    caller = await connect(broker)
    try:
        await caller.signal_ready()
        await manager.wait_ready("raw", "probe", "caller")
        manager.global_ready()
        lines = [await asyncio.to_thread(raw_process.stdout.readline) for _ in range(2)]
        config = json.loads(lines[0].split(b" ", 1)[1])
        assert config["data"]["response"]["data"]["module_config"]["module_id"] == "raw"
        result = json.loads(lines[1].split(b" ", 1)[1])
        assert result["msg_type"] == "CmdResult"
        assert result["data"]["type"] == "result"
        assert result["data"]["data"]["retval"] == "from-raw"
        assert result["data"]["data"]["origin"] == "probe"
        assert await caller.requirement("target").call("relay", {"value": "x"}) == "raw:x"
    finally:
        await caller.close()
        manager.stop()


async def test_signal_ready_refused_while_a_command_has_no_handler(broker: PrivateBroker) -> None:
    manager = FakeManager(broker, [probe_entry()]).start()
    probe = await connect(broker, "probe")
    try:
        probe.implement("main", "echo", lambda args: args["value"])
        with pytest.raises(FrameworkError, match=r"main\.fail \(probe\)") as refused:
            await probe.signal_ready()
        assert "main.echo" not in str(refused.value)
        assert "probe" not in manager.ready
        with pytest.raises(KeyError, match="no command 'nope'"):
            probe.implement("main", "nope", lambda args: None)
    finally:
        await probe.close()
        manager.stop()


async def test_schema_validation_rejects_bad_args_results_and_vars(broker: PrivateBroker, spawn: Callable) -> None:
    manager, caller = await start_system(broker, spawn, [probe_entry(), caller_entry()], validate_schema=True)
    target = caller.requirement("target")
    try:
        assert caller.validate_schema
        assert await target.call("add", {"a": 1, "b": 2}) == 3
        with pytest.raises(SchemaValidationError, match="'a'"):
            await target.call("add", {"a": "one", "b": 2})
        # the callee checks too: a raw caller sending bad arguments gets a SchemaValidationError result
        loop = asyncio.get_running_loop()
        answer: asyncio.Future = loop.create_future()
        client = raw_client(broker)
        client.on_message = lambda c, u, m: loop.call_soon_threadsafe(
            lambda: answer.done() or answer.set_result(json.loads(m.payload)))
        client.subscribe("everest/modules/probe/impl/main/cmd/add/response/rawcaller", 2)
        client.publish("everest/modules/probe/impl/main/cmd/add", json.dumps(
            {"msg_type": "Cmd", "data": {"id": "c1", "args": {"a": 1, "b": 2.5}, "origin": "rawcaller"}}), qos=2)
        body = await asyncio.wait_for(answer, 5)
        client.loop_stop()
        client.disconnect()
        error = body["data"]["data"]["error"]
        assert error["__everest__error_type"] == "SchemaValidationError"
        assert "retval" not in body["data"]["data"]
        # vars: the $ref through the type definitions is followed both ways
        events: asyncio.Queue = asyncio.Queue()
        target.subscribe("event", events.put_nowait)
        await caller.flush_subscriptions()
        await target.call("emit", {"kind": "event"})
        assert await asyncio.wait_for(events.get(), 5) == {"name": "tick", "level": 1}
    finally:
        await caller.close()
        manager.stop()


async def test_schema_validation_of_published_vars(broker: PrivateBroker) -> None:
    manager = FakeManager(broker, [probe_entry()], validate_schema=True).start()
    probe = await connect(broker, "probe")
    try:
        await probe.publish("main", "event", {"name": "ok", "level": 9})
        with pytest.raises(SchemaValidationError, match="level"):
            await probe.publish("main", "event", {"name": "bad", "level": 10})
        with pytest.raises(KeyError):
            await probe.publish("main", "nope", 1)
    finally:
        await probe.close()
        manager.stop()


async def test_global_errors_and_external_mqtt(broker: PrivateBroker, spawn: Callable) -> None:
    entries = [probe_entry(), caller_entry(enable_global_errors=True, enable_external_mqtt=True)]
    manager, caller = await start_system(broker, spawn, entries)
    try:
        errors: asyncio.Queue = asyncio.Queue()
        caller.subscribe_global_errors(errors.put_nowait, errors.put_nowait)
        external: asyncio.Queue = asyncio.Queue()
        caller.subscribe_external("outside/+/cmd", lambda payload: external.put_nowait(payload))
        await caller.flush_subscriptions()
        await caller.requirement("target").call("emit", {"kind": "raise"})
        event = await asyncio.wait_for(errors.get(), 5)
        assert (event.type, event.origin_module, event.active) == ("probe/Broken", "probe", True)

        manager.publish("outside/1/cmd", b"raw text, not json", qos=0)
        assert await asyncio.wait_for(external.get(), 5) == "raw text, not json"
        await caller.publish_external("outside/2/cmd", "from module")
        assert await asyncio.wait_for(external.get(), 5) == "from module"
    finally:
        await caller.close()
        manager.stop()


async def test_external_mqtt_and_global_errors_need_the_manifest_flags(system: tuple[FakeManager, Module]) -> None:
    _, caller = system
    with pytest.raises(FrameworkError, match="enable_external_mqtt"):
        caller.subscribe_external("x", print)
    with pytest.raises(FrameworkError, match="enable_global_errors"):
        caller.subscribe_global_errors(print, print)


async def test_ready_callback_runs_once_on_global_ready(broker: PrivateBroker) -> None:
    manager = FakeManager(broker, [probe_entry()]).start()
    probe = await connect(broker, "probe")
    calls: list[str] = []
    fired = asyncio.Event()

    async def on_ready() -> None:
        calls.append("ready")
        fired.set()

    try:
        for cmd in ("fail", "sleep", "emit", "relay", "add"):
            probe.implement("main", cmd, lambda args: None)
        probe.implement("main", "echo", lambda args: args["value"])
        await probe.signal_ready(on_ready)
        await manager.wait_ready("probe")
        manager.publish("everest/ready", {"msg_type": "GlobalReady", "data": False})
        manager.global_ready()
        manager.global_ready()
        await asyncio.wait_for(fired.wait(), 5)
        # an echo answered after both GlobalReady messages (same publisher, so in order) proves both were handled
        response = "everest/modules/probe/impl/main/cmd/echo/response/mgr"
        manager.client.subscribe(response, 2)
        manager.publish("everest/modules/probe/impl/main/cmd/echo",
                        {"msg_type": "Cmd", "data": {"id": "r1", "args": {"value": "v"}, "origin": "mgr"}})
        await manager.wait_for(lambda m: any(t == response for t, _ in m.received))
        assert calls == ["ready"]
        ready_messages = [b for t, b in manager.received if t == "everest/modules/probe/ready"]
        assert ready_messages == [{"msg_type": "ModuleReady", "data": True}]
    finally:
        await probe.close()
        manager.stop()


async def test_missing_manager_gives_a_clear_startup_error(broker: PrivateBroker) -> None:
    with pytest.raises(StartupError, match=r"probe: no config from the manager within 0 s; missing: .*response"):
        await connect(broker, "probe", definitions_timeout=0.1)


async def test_unreachable_broker_gives_a_clear_startup_error() -> None:
    from framework.broker import free_tcp_port

    with pytest.raises(StartupError, match="no MQTT broker answered"):
        await Module.connect("probe", host="127.0.0.1", port=free_tcp_port(), connect_timeout=0.5)


async def test_unix_socket_transport() -> None:
    from framework.broker import free_tcp_port

    folder = tempfile.mkdtemp(prefix="mqtt-sock-")
    os.chmod(folder, 0o777)  # mosquitto started as root drops to its own user before binding the socket
    broker = PrivateBroker(port=free_tcp_port(), socket_path=os.path.join(folder, "mqtt.sock")).start()
    manager = FakeManager(broker, [probe_entry()]).start()  # the manager on TCP, the module on the socket
    probe = await Module.connect("probe", socket_path=broker.socket_path, everest_prefix="everest")
    try:
        assert probe.name == "Probe"
        for cmd in ("echo", "fail", "sleep", "emit", "relay", "add"):
            probe.implement("main", cmd, lambda args: None)
        await probe.signal_ready()
        await manager.wait_ready("probe")
    finally:
        await probe.close()
        manager.stop()
        broker.stop()
        shutil.rmtree(folder, ignore_errors=True)
