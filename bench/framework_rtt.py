"""Command round trip and burst throughput between two framework modules vs. raw paho, all at QoS 2, one mosquitto.

Run: .venv/bin/python bench/framework_rtt.py [--calls N] [--burst N]. Each peer (framework callee, raw echo) is its
own process; the caller side runs here. Both run side by side and take turns in blocks of calls, so that a machine
shared with other work loads both alike (one after the other, a load swing between them skews the ratio either
way). The goal is a framework p50 within 1.3x of raw paho.

The burst: on request the peer publishes N messages at once (the framework callee N var publishes in one loop
turn, the raw echo N paho publishes with paho's default in-flight window of 20), and the caller side times their
arrival, in rounds that alternate between the two. Both respect the broker's window of 20.
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
RAW_BURST, RAW_TICK = "bench/raw/burst", "bench/raw/tick"
BURST_TIMEOUT = 120.0
INTERFACE = {"cmds": {"echo": {"arguments": {"value": {"type": "string"}}, "result": {"type": "string"}},
                      "burst": {"arguments": {"count": {"type": "integer"}}, "result": {"type": "null"}}},
             "vars": {"tick": {"type": "integer", "qos": 2}}, "errors": {}}
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


@dataclass
class Countdown:
    """Counts the messages of one burst down; `finished()` runs when the last one has arrived."""

    finished: Callable[[], object]
    left: int = 0

    def hit(self) -> None:
        self.left -= 1
        if self.left == 0:
            self.finished()


# What each side offers: `run(calls, samples)` round trips timed into `samples` unless None, and `burst(count)`
# returning the seconds until the whole burst had arrived.
RawSide = tuple[Callable[[int, Samples | None], None], Callable[[int], float]]
FrameworkSide = tuple[Callable[[int, Samples | None], Awaitable[None]], Callable[[int], Awaitable[float]]]


# ------------------------------------------------------------------ raw paho
def raw_client() -> paho.Client:
    """Plain paho, with TCP_NODELAY like the framework: without it a QoS 2 round trip costs ~90 ms (Nagle)."""
    client = paho.Client(CallbackAPIVersion.VERSION2)
    client.on_socket_open = lambda c, u, sock: sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return client


def raw_echo(host: str, port: int) -> None:
    """The raw peer: answers every request with the same payload, and a burst request with that many ticks."""
    client = raw_client()
    client.on_connect = lambda c, *a: (c.subscribe([(RAW_REQUEST, 2), (RAW_BURST, 2)]),
                                       c.publish(RAW_RESPONSE, b"ready", qos=2))
    client.on_message = lambda c, u, m: c.publish(RAW_RESPONSE, m.payload, qos=2)
    client.message_callback_add(RAW_BURST, lambda c, u, m: [c.publish(RAW_TICK, str(n), qos=2)
                                                            for n in range(int(m.payload))])
    client.connect(host, port)
    client.loop_forever()


@contextmanager
def raw_side(broker: PrivateBroker) -> Iterator[RawSide]:
    """Yields the raw side: request/echo round trips, and bursts of ticks from the raw peer."""
    got, burst_done = threading.Event(), threading.Event()
    ticks = Countdown(burst_done.set)
    client = raw_client()
    client.on_message = lambda c, u, m: got.set()
    client.message_callback_add(RAW_TICK, lambda c, u, m: ticks.hit())
    client.connect(broker.host, broker.port)
    client.subscribe([(RAW_RESPONSE, 2), (RAW_TICK, 2)])
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

    def burst(count: int) -> float:
        ticks.left = count
        burst_done.clear()
        started = time.perf_counter()
        client.publish(RAW_BURST, str(count), qos=2)
        if not burst_done.wait(BURST_TIMEOUT):
            raise RuntimeError(f"raw burst: {ticks.left} of {count} ticks missing")
        return time.perf_counter() - started

    try:
        if not got.wait(15):
            raise RuntimeError("raw echo peer did not start")
        yield run, burst
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

    async def burst(args: dict) -> None:
        for n in range(args["count"]):  # publish() does not suspend: all of them in one loop turn
            await mod.publish("main", "tick", n)

    mod.implement("main", "echo", lambda args: args["value"])
    mod.implement("main", "burst", burst)
    await mod.signal_ready()
    await mod.run_forever()


@asynccontextmanager
async def framework_side(broker: PrivateBroker) -> AsyncIterator[FrameworkSide]:
    """Yields the framework side: command calls, and bursts of `tick` vars published by the callee."""
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
            burst_done = asyncio.Event()
            ticks = Countdown(burst_done.set)
            echo.subscribe("tick", lambda value: ticks.hit())
            await caller.flush_subscriptions()

            async def run(calls: int, samples: Samples | None) -> None:
                started = time.perf_counter()
                for n in range(calls):
                    sent = time.perf_counter()
                    await echo.call("echo", {"value": f"request {n}"}, timeout=10)
                    if samples is not None:
                        samples.times.append(time.perf_counter() - sent)
                if samples is not None:
                    samples.elapsed += time.perf_counter() - started

            async def burst(count: int) -> float:
                ticks.left = count
                burst_done.clear()
                started = time.perf_counter()
                call = asyncio.ensure_future(echo.call("burst", {"count": count}, timeout=BURST_TIMEOUT))
                try:
                    await asyncio.wait_for(burst_done.wait(), BURST_TIMEOUT)
                except TimeoutError:
                    raise RuntimeError(f"framework burst: {ticks.left} of {count} ticks missing") from None
                elapsed = time.perf_counter() - started
                await call  # its result was queued behind the ticks
                return elapsed

            yield run, burst
        finally:
            await caller.close()
    finally:
        peer.kill()
        peer.wait()
        await manager.close()


@dataclass
class Results:
    raw: Samples = field(default_factory=Samples)
    framework: Samples = field(default_factory=Samples)
    raw_bursts: list[float] = field(default_factory=list)  # seconds per burst
    framework_bursts: list[float] = field(default_factory=list)


async def measure(broker: PrivateBroker, calls: int, warmup: int, block: int, burst: int,
                  rounds: int) -> Results:
    """Raw and framework take turns, `block` calls each, until each side has `calls` timed round trips; then
    `rounds` bursts of `burst` messages each, again taking turns.

    While one side runs the other one's peer and caller thread sit idle (blocked in select / epoll)."""
    results = Results()
    with raw_side(broker) as (run_raw, burst_raw):
        async with framework_side(broker) as (run_framework, burst_framework):
            run_raw(warmup, None)
            await run_framework(warmup, None)
            while len(results.raw.times) < calls:
                size = min(block, calls - len(results.raw.times))
                run_raw(size, results.raw)
                await run_framework(size, results.framework)
            for _ in range(rounds):
                results.raw_bursts.append(burst_raw(burst))
                results.framework_bursts.append(await burst_framework(burst))
    return results


def spawn(args: list[str], extra_env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, __file__, *args], env={**os.environ, **extra_env}, cwd=ROOT)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--block", type=int, default=200, help="calls per turn of each side")
    parser.add_argument("--burst", type=int, default=10_000, help="messages per burst")
    parser.add_argument("--burst-rounds", type=int, default=3, help="bursts of each side (the median is shown)")
    parser.add_argument("--raw-echo", nargs=2, metavar=("HOST", "PORT"), help=argparse.SUPPRESS)
    parser.add_argument("--framework-callee", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.raw_echo:
        return raw_echo(options.raw_echo[0], int(options.raw_echo[1]))
    if options.framework_callee:
        return asyncio.run(framework_callee())
    broker = PrivateBroker().start()
    try:
        results = asyncio.run(measure(broker, options.calls, options.warmup, options.block, options.burst,
                                      options.burst_rounds))
    finally:
        broker.stop()
    raw, framework = results.raw.summary(), results.framework.summary()
    print(f"{'':<22}{'p50 ms':>10}{'p99 ms':>10}{'calls/s':>10}   ({options.calls} sequential calls each, QoS 2, "
          f"taking turns in blocks of {options.block})")
    for name, figures in (("raw paho request/echo", raw), ("framework command", framework)):
        print(f"{name:<22}{figures['p50_ms']:>10.3f}{figures['p99_ms']:>10.3f}{figures['calls_per_s']:>10.0f}")
    print(f"ratio framework/raw: p50 {framework['p50_ms'] / raw['p50_ms']:.2f}x, "
          f"p99 {framework['p99_ms'] / raw['p99_ms']:.2f}x (goal: p50 within 1.3x)")
    raw_rate = options.burst / statistics.median(results.raw_bursts)
    framework_rate = options.burst / statistics.median(results.framework_bursts)
    print(f"\n{'':<22}{'msgs/s':>10}   (burst of {options.burst} QoS 2 messages, one peer to the caller side, "
          f"median of {options.burst_rounds})")
    print(f"{'raw paho publishes':<22}{raw_rate:>10.0f}")
    print(f"{'framework var burst':<22}{framework_rate:>10.0f}")
    print(f"ratio framework/raw: {framework_rate / raw_rate:.2f}x")


if __name__ == "__main__":
    main()
