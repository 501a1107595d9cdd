"""Command round trip between two framework modules vs. a raw paho request/echo, both at QoS 2, one mosquitto.

Run: .venv/bin/python bench/framework_rtt.py [--calls N]. Each peer (framework callee, raw echo) is its own
process; the caller side runs here. Both run side by side and take turns in blocks of calls, so that a machine
shared with other work loads both alike (one after the other, a load swing between them skews the ratio either
way). The goal is a framework p50 within 1.3x of raw paho.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from framework import envelopes as env  # noqa: E402
from framework.broker import PrivateBroker  # noqa: E402
from framework.module import Module  # noqa: E402
from framework.mqtt import BrokerAddress, MqttClient  # noqa: E402
from framework.topics import Topics  # noqa: E402

RAW_REQUEST, RAW_RESPONSE = "bench/raw/request", "bench/raw/response"
INTERFACE = {"cmds": {"echo": {"arguments": {"value": {"type": "string"}}, "result": {"type": "string"}}},
             "vars": {}, "errors": {}}
MANIFESTS = {
    "BenchCallee": {"description": "echo", "provides": {"main": {"interface": "bench_echo", "config": {}}},
                    "requires": {}},
    "BenchCaller": {"description": "caller", "provides": {},
                    "requires": {"echo": {"interface": "bench_echo", "min_connections": 1, "max_connections": 1}}},
}
MODULES = {"callee": "BenchCallee", "caller": "BenchCaller"}


@dataclass
class Samples:
    """Round-trip times of one side, and the time its measured blocks took together."""

    times: list[float] = field(default_factory=list)
    elapsed: float = 0.0

    def summary(self) -> dict[str, float]:
        ordered = sorted(self.times)
        return {"p50_ms": statistics.median(ordered) * 1e3, "p99_ms": ordered[int(len(ordered) * 0.99) - 1] * 1e3,
                "calls_per_s": len(ordered) / self.elapsed}


# ------------------------------------------------------------------ raw paho
def raw_client() -> paho.Client:
    """Plain paho, with TCP_NODELAY like the framework: without it a QoS 2 round trip costs ~90 ms (Nagle)."""
    client = paho.Client(CallbackAPIVersion.VERSION2)
    client.on_socket_open = lambda c, u, sock: sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return client


def raw_echo(host: str, port: int) -> None:
    """The raw peer: answers every request with the same payload."""
    client = raw_client()
    client.on_connect = lambda c, *a: (c.subscribe(RAW_REQUEST, 2), c.publish(RAW_RESPONSE, b"ready", qos=2))
    client.on_message = lambda c, u, m: c.publish(RAW_RESPONSE, m.payload, qos=2)
    client.connect(host, port)
    client.loop_forever()


@contextmanager
def raw_side(broker: PrivateBroker) -> Iterator[Callable[[int, Samples | None], None]]:
    """Yields `run(calls, samples)`: that many request/echo round trips, timed into `samples` unless None."""
    got = threading.Event()
    client = raw_client()
    client.on_message = lambda c, u, m: got.set()
    client.connect(broker.host, broker.port)
    client.subscribe(RAW_RESPONSE, 2)
    client.loop_start()
    peer = spawn(["--raw-echo", broker.host, str(broker.port)], {})

    def run(calls: int, samples: Samples | None) -> None:
        started = time.perf_counter()
        for n in range(calls):
            got.clear()
            sent = time.perf_counter()
            client.publish(RAW_REQUEST, f"request {n}", qos=2)
            if not got.wait(10):
                raise RuntimeError("raw echo timed out")
            if samples is not None:
                samples.times.append(time.perf_counter() - sent)
        if samples is not None:
            samples.elapsed += time.perf_counter() - started

    try:
        if not got.wait(15):
            raise RuntimeError("raw echo peer did not start")
        yield run
    finally:
        peer.kill()
        peer.wait()
        client.loop_stop()
        client.disconnect()


# ------------------------------------------------------------------ framework
async def serve_definitions(broker: PrivateBroker, ready: asyncio.Event) -> MqttClient:
    """A minimal manager: retained definitions, config answers, and the ready handshake."""
    t = Topics()
    ready_modules: set[str] = set()

    def on_message(topic: str, payload: bytes, retain: bool) -> None:
        message = env.decode(payload)
        if topic == t.config_request():
            origin = message.data["origin"]
            client.publish(t.config_response(origin), env.encode(env.module_config_response(module_config(origin))))
        elif topic.endswith("/ready") and message.data is True:
            ready_modules.add(topic.split("/")[2])
            if ready_modules == set(MODULES):
                client.publish(t.global_ready(), env.encode(env.global_ready()))
                ready.set()

    client = MqttClient(BrokerAddress(broker.host, broker.port), on_message, lambda connected: None)
    await client.connect()
    await client.subscribe(t.config_request())
    for module_id in MODULES:
        await client.subscribe(t.module_ready(module_id))
    definitions = {t.interfaces(): ["bench_echo"], t.interface_definition("bench_echo"): INTERFACE, t.types(): [],
                   t.settings(): {"validate_schema": False, "telemetry_enabled": False},
                   t.module_names(): MODULES}
    definitions |= {t.manifest(name): manifest for name, manifest in MANIFESTS.items()}
    for topic, data in definitions.items():
        client.publish(topic, env.encode(env.definition(data)), retain=True)
    return client


def module_config(module_id: str) -> dict:
    connections = {"echo": [{"module_id": "callee", "implementation_id": "main", "requirement": {"id": "echo"}}]}
    return {"module_config": {"module_id": module_id, "module_name": MODULES[module_id], "standalone": False,
                              "telemetry_enabled": False,
                              "configuration_parameters": {"!module": [], **({"main": []} if module_id == "callee"
                                                                             else {})},
                              "connections": connections if module_id == "caller" else {}, "mapping": None,
                              "access": None},
            "mappings": dict.fromkeys(MODULES)}


async def framework_callee() -> None:
    mod = await Module.connect()
    mod.implement("main", "echo", lambda args: args["value"])
    await mod.signal_ready()
    await mod.run_forever()


@asynccontextmanager
async def framework_side(broker: PrivateBroker) -> AsyncIterator[Callable[[int, Samples | None], Awaitable[None]]]:
    """Yields `run(calls, samples)`: that many framework command calls, timed into `samples` unless None."""
    ready = asyncio.Event()
    manager = await serve_definitions(broker, ready)
    env_vars = {"EV_MODULE": "callee", "EV_MQTT_EVEREST_PREFIX": "everest/", "EV_MQTT_EXTERNAL_PREFIX": "",
                "EV_MQTT_BROKER_HOST": broker.host, "EV_MQTT_BROKER_PORT": str(broker.port)}
    peer = spawn(["--framework-callee"], env_vars)
    try:  # a caller that cannot connect must not leave the callee process or the definitions server behind
        caller = await Module.connect("caller", host=broker.host, port=broker.port, everest_prefix="everest/")
        try:
            await caller.signal_ready()
            await asyncio.wait_for(ready.wait(), 15)
            echo = caller.requirement("echo")

            async def run(calls: int, samples: Samples | None) -> None:
                started = time.perf_counter()
                for n in range(calls):
                    sent = time.perf_counter()
                    await echo.call("echo", {"value": f"request {n}"}, timeout=10)
                    if samples is not None:
                        samples.times.append(time.perf_counter() - sent)
                if samples is not None:
                    samples.elapsed += time.perf_counter() - started

            yield run
        finally:
            await caller.close()
    finally:
        peer.kill()
        peer.wait()
        await manager.close()


async def measure(broker: PrivateBroker, calls: int, warmup: int, block: int) -> tuple[Samples, Samples]:
    """Raw and framework take turns, `block` calls each, until each side has `calls` timed round trips.

    While one side runs the other one's peer and caller thread sit idle (blocked in select / epoll)."""
    raw, framework = Samples(), Samples()
    with raw_side(broker) as run_raw:
        async with framework_side(broker) as run_framework:
            run_raw(warmup, None)
            await run_framework(warmup, None)
            while len(raw.times) < calls:
                size = min(block, calls - len(raw.times))
                run_raw(size, raw)
                await run_framework(size, framework)
    return raw, framework


def spawn(args: list[str], extra_env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, __file__, *args], env={**os.environ, **extra_env}, cwd=ROOT)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--block", type=int, default=200, help="calls per turn of each side")
    parser.add_argument("--raw-echo", nargs=2, metavar=("HOST", "PORT"), help=argparse.SUPPRESS)
    parser.add_argument("--framework-callee", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.raw_echo:
        return raw_echo(options.raw_echo[0], int(options.raw_echo[1]))
    if options.framework_callee:
        return asyncio.run(framework_callee())
    broker = PrivateBroker().start()
    try:
        raw_samples, framework_samples = asyncio.run(
            measure(broker, options.calls, options.warmup, options.block))
    finally:
        broker.stop()
    raw, framework = raw_samples.summary(), framework_samples.summary()
    print(f"{'':<22}{'p50 ms':>10}{'p99 ms':>10}{'calls/s':>10}   ({options.calls} sequential calls each, QoS 2, "
          f"taking turns in blocks of {options.block})")
    for name, figures in (("raw paho request/echo", raw), ("framework command", framework)):
        print(f"{name:<22}{figures['p50_ms']:>10.3f}{figures['p99_ms']:>10.3f}{figures['calls_per_s']:>10.0f}")
    print(f"ratio framework/raw: p50 {framework['p50_ms'] / raw['p50_ms']:.2f}x, "
          f"p99 {framework['p99_ms'] / raw['p99_ms']:.2f}x (goal: p50 within 1.3x)")


if __name__ == "__main__":
    main()
