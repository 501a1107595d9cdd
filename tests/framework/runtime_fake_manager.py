"""A tiny stand-in for the manager, in raw paho: retained definitions, config answers, the ready handshake.

It speaks only the spec's topics and envelopes, so runtime tests do not depend on framework/manager.py.
"""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from framework.broker import PrivateBroker

P = "everest/"

PROBE_INTERFACE = {
    "cmds": {
        "echo": {"arguments": {"value": {"type": "string"}}, "result": {"type": "string"}},
        "fail": {"arguments": {}, "result": {"type": "null"}},
        "sleep": {"arguments": {"seconds": {"type": "number"}}, "result": {"type": "null"}},
        "emit": {"arguments": {"kind": {"type": "string", "enum": ["var", "event", "raise", "clear"]}},
                 "result": {"type": "null"}},
        "relay": {"arguments": {"value": {"type": "string"}}, "result": {"type": "string"}},
        "add": {"arguments": {"a": {"type": "integer"}, "b": {"type": "integer"}}, "result": {"type": "integer"}},
    },
    "vars": {
        "counter": {"qos": 2, "type": "integer"},
        "event": {"qos": 2, "type": "object", "$ref": "/probe_types#/Event"},
    },
    "errors": {"probe": {"Broken": {"name": "Broken", "namespace": "probe", "description": "probe is broken"}}},
}
PROBE_TYPES = {
    "Event": {"type": "object", "properties": {"name": {"type": "string"}, "level": {"$ref": "/probe_types#/Level"}},
              "required": ["name"], "additionalProperties": False},
    "Level": {"type": "integer", "minimum": 0, "maximum": 9},
}


def manifest(provides: dict[str, str] | None = None, requires: dict[str, tuple[str, int, int]] | None = None,
             **flags: bool) -> dict:
    """A manifest in its distributed (normalised) form."""
    return {
        "description": "test module", "metadata": {"license": "https://opensource.org/licenses/Apache-2.0",
                                                    "authors": ["tests"]},
        "enable_external_mqtt": flags.get("enable_external_mqtt", False),
        "enable_global_errors": flags.get("enable_global_errors", False),
        "enable_telemetry": False,
        "provides": {impl: {"interface": iface, "description": "impl",
                            "config": {"level": {"type": "integer", "default": 3, "mutability": "ReadOnly"}}}
                     for impl, iface in (provides or {}).items()},
        "requires": {req: {"interface": iface, "min_connections": lo, "max_connections": hi}
                     for req, (iface, lo, hi) in (requires or {}).items()},
    }


@dataclass
class ModuleEntry:
    module_id: str
    module_name: str
    manifest: dict
    config: dict[str, dict[str, Any]] = field(default_factory=dict)  # "!module" / impl -> name -> value
    connections: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    mapping: dict | None = None

    def serialized(self, all_entries: dict[str, ModuleEntry]) -> dict:
        """The "Module" config response `data` (spec 5.5)."""
        def params(values: dict[str, Any]) -> list[dict]:
            return [{"name": k, "value": v, "characteristics": {"datatype": _datatype(v), "mutability": "ReadOnly"}}
                    for k, v in values.items()]
        parameters = {"!module": params(self.config.get("!module", {}))}
        for impl in self.manifest["provides"]:
            parameters[impl] = params(self.config.get(impl, {}))
        connections = {
            req: [{"module_id": m, "implementation_id": i,
                   "requirement": {"id": req, **({"index": n} if n else {})}} for n, (m, i) in enumerate(targets)]
            for req, targets in self.connections.items()
        }
        return {"module_config": {"module_id": self.module_id, "module_name": self.module_name, "standalone": False,
                                  "telemetry_enabled": False, "configuration_parameters": parameters,
                                  "connections": connections, "mapping": self.mapping, "access": None},
                "mappings": {mid: e.mapping for mid, e in all_entries.items()}}


def _datatype(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    return {int: "integer", float: "number", str: "string"}.get(type(value), "unknown")


class FakeManager:
    """Serves one set of modules over a real broker; every received message is kept in `received`."""

    def __init__(self, broker: PrivateBroker, entries: list[ModuleEntry], *, validate_schema: bool = False,
                 publish_definitions: bool = True) -> None:
        self.broker = broker
        self.entries = {e.module_id: e for e in entries}
        self.validate_schema = validate_schema
        self.publish_definitions = publish_definitions
        self.received: list[tuple[str, Any]] = []
        self.ready: set[str] = set()
        self._lock = threading.Condition()
        self.client = paho.Client(CallbackAPIVersion.VERSION2)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self._connected = threading.Event()

    def start(self) -> FakeManager:
        self.client.connect(self.broker.host, self.broker.port)
        self.client.loop_start()
        if not self._connected.wait(10):
            raise RuntimeError("fake manager could not connect")
        if self.publish_definitions:
            for topic, data in self.definitions().items():
                self.publish(topic, {"msg_type": "GetConfigResponse", "data": data}, retain=True)
        return self

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def definitions(self) -> dict[str, Any]:
        interfaces = {p["interface"] for e in self.entries.values() for p in e.manifest["provides"].values()}
        interfaces |= {r["interface"] for e in self.entries.values() for r in e.manifest["requires"].values()}
        defs: dict[str, Any] = {
            P + "interfaces": sorted(interfaces),
            P + "types": ["/probe_types"] if self.validate_schema else [],
            P + "settings": {"prefix": "/tmp", "etc_dir": "/tmp", "data_dir": "/tmp", "modules_dir": "/tmp",
                             "telemetry_prefix": "everest-telemetry/", "telemetry_enabled": False,
                             "validate_schema": self.validate_schema, "forward_exceptions": False},
            P + "module_names": {mid: e.module_name for mid, e in self.entries.items()},
        }
        for name in interfaces:
            defs[P + "interface_definitions/" + name] = PROBE_INTERFACE
        if self.validate_schema:
            defs[P + "type_definitions/probe_types"] = PROBE_TYPES
        for e in self.entries.values():
            defs[P + "manifests/" + e.module_name] = e.manifest
        return defs

    def publish(self, topic: str, message: Any, retain: bool = False, qos: int = 2) -> None:
        payload = message if isinstance(message, bytes | str) else json.dumps(message)
        self.client.publish(topic, payload, qos=qos, retain=retain)

    def global_ready(self) -> None:
        self.publish(P + "ready", {"msg_type": "GlobalReady", "data": True})

    def _on_connect(self, client: paho.Client, *args: Any) -> None:
        client.subscribe(P + "config/request", 2)
        client.subscribe(P + "modules/+/ready", 2)
        client.subscribe(P + "modules/+/metadata", 2)
        self._connected.set()

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        try:
            body = json.loads(message.payload)
        except ValueError:
            body = message.payload
        with self._lock:
            self.received.append((message.topic, body))
            if message.topic.endswith("/ready") and isinstance(body, dict) and body.get("data") is True:
                self.ready.add(message.topic.split("/")[2])
            self._lock.notify_all()
        if message.topic == P + "config/request" and isinstance(body, dict):
            origin = body["data"]["origin"]
            entry = self.entries.get(origin)
            if entry is not None:
                response = {"type": "Module", "data": entry.serialized(self.entries)}
                self.publish(f"{P}modules/{origin}/response",
                             {"msg_type": "GetConfigResponse",
                              "data": {"status": "Ok", "status_info": "", "type": "Get", "response": response}})

    async def wait_for(self, predicate: Any, timeout: float = 15.0) -> None:
        """Await a condition on `received` / `ready`, evaluated under the lock as messages arrive."""
        def wait() -> bool:
            with self._lock:
                return self._lock.wait_for(lambda: predicate(self), timeout)
        if not await asyncio.to_thread(wait):
            raise TimeoutError(f"fake manager: condition not met within {timeout} s; ready={self.ready}")

    async def wait_ready(self, *module_ids: str, timeout: float = 15.0) -> None:
        await self.wait_for(lambda m: set(module_ids) <= m.ready, timeout)
