"""EVerest's run config YAML (settings + active_modules): loading, checking against manifests, serialising.

`check()` collects every problem (one line each) instead of stopping at the first, so a user fixes a config in
one round.  `module_config()` builds the "Module" answer of the config service exactly as EVerest's manager does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from framework.definitions import DefinitionError, Definitions, load_yaml, schema_problems, value_problem
from framework.topics import normalize_prefix

DEFAULT_TELEMETRY_PREFIX = "everest-telemetry/"


@dataclass
class ModuleEntry:
    """One entry of `active_modules`."""

    id: str
    module: str
    config_module: dict[str, Any] = field(default_factory=dict)
    config_implementation: dict[str, dict[str, Any]] = field(default_factory=dict)
    connections: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    standalone: bool = False
    mapping: dict[str, Any] | None = None
    telemetry: dict[str, Any] | None = None
    access: dict[str, Any] | None = None


@dataclass
class RunConfig:
    path: Path
    settings: dict[str, Any]
    modules: dict[str, ModuleEntry]

    @property
    def everest_prefix(self) -> str:
        return normalize_prefix(self.settings.get("mqtt_everest_prefix"))

    @property
    def external_prefix(self) -> str:
        return self.settings.get("mqtt_external_prefix", "")

    @property
    def validate_schema(self) -> bool:
        return bool(self.settings.get("validate_schema", False))

    @property
    def names_broker(self) -> bool:
        """Whether the config says where the broker is (else the manager starts a private one)."""
        return any(k in self.settings for k in ("mqtt_broker_host", "mqtt_broker_port", "mqtt_broker_socket_path"))


def load_run_config(path: Path) -> RunConfig:
    """Parse and schema-check a run config; the first problem raises a one-line DefinitionError."""
    data = load_yaml(path)
    for where, problem in schema_problems(data, "config"):
        raise DefinitionError(path, where, problem)
    settings = {"validate_schema": False, "telemetry_enabled": False, "forward_exceptions": False,
                **(data.get("settings") or {})}
    if normalize_prefix(settings.get("mqtt_everest_prefix")) == settings.get("mqtt_external_prefix"):
        raise DefinitionError(path, "settings.mqtt_external_prefix", "must differ from mqtt_everest_prefix")
    modules = {}
    for module_id, entry in data["active_modules"].items():
        modules[module_id] = ModuleEntry(
            id=module_id, module=entry["module"],
            config_module=entry.get("config_module") or {},
            config_implementation=entry.get("config_implementation") or {},
            connections=entry.get("connections") or {},
            standalone=entry.get("standalone", False),
            mapping=entry.get("mapping"), telemetry=entry.get("telemetry"), access=entry.get("access"))
    return RunConfig(path=path, settings=settings, modules=modules)


def check(config: RunConfig, manifests: dict[str, dict[str, Any]], definitions: Definitions) -> list[str]:
    """Every problem of the run config against the manifests and interfaces, one line each.

    `manifests` maps module name -> loaded manifest; modules whose manifest failed to load are left out
    (their problem has been reported by the caller).
    """
    problems: list[str] = []
    where = str(config.path)
    for module_id, entry in config.modules.items():
        manifest = manifests.get(entry.module)
        if manifest is None:
            continue
        at = f"{where}: active_modules.{module_id}"
        problems += _config_problems(at, entry, manifest)
        problems += _connection_problems(at, entry, manifest, config, manifests)
    return problems + _interface_problems(config, manifests, definitions)


def _interface_problems(config: RunConfig, manifests: dict[str, dict[str, Any]],
                        definitions: Definitions) -> list[str]:
    """Each broken or missing interface once, naming the first module that uses it."""
    users: dict[str, str] = {}
    for entry in config.modules.values():
        manifest = manifests.get(entry.module)
        for part in (manifest["provides"], manifest["requires"]) if manifest else ():
            for declared in part.values():
                users.setdefault(declared["interface"], entry.module)
    problems = []
    for interface, user in users.items():
        try:
            definitions.interface(interface)
        except DefinitionError as exc:
            problems.append(f"{exc} (used by module {user})")
    return problems


def _config_problems(at: str, entry: ModuleEntry, manifest: dict[str, Any]) -> list[str]:
    problems = _values_problems(f"{at}.config_module", manifest["config"], entry.config_module)
    for impl_id, values in entry.config_implementation.items():
        if impl_id not in manifest["provides"]:
            problems.append(f"{at}.config_implementation.{impl_id}: module {entry.module} provides no "
                            f"implementation {impl_id!r}")
            continue
        problems += _values_problems(f"{at}.config_implementation.{impl_id}",
                                     manifest["provides"][impl_id]["config"], values)
    for impl_id, impl in manifest["provides"].items():
        if impl_id not in entry.config_implementation:
            problems += _values_problems(f"{at}.config_implementation.{impl_id}", impl["config"], {})
    return problems


def _values_problems(at: str, declared: dict[str, Any], values: dict[str, Any]) -> list[str]:
    problems = [f"{at}.{key}: unknown config key (not in the manifest)" for key in values if key not in declared]
    for key, entry in declared.items():
        if key in values:
            problem = value_problem(entry, values[key])
            if problem:
                problems.append(f"{at}.{key}: {problem}")
        elif "default" not in entry:
            problems.append(f"{at}.{key}: missing value (the manifest gives no default)")
    return problems


def _connection_problems(at: str, entry: ModuleEntry, manifest: dict[str, Any], config: RunConfig,
                         manifests: dict[str, dict[str, Any]]) -> list[str]:
    problems = [f"{at}.connections.{req_id}: module {entry.module} has no requirement {req_id!r}"
                for req_id in entry.connections if req_id not in manifest["requires"]]
    for req_id, req in manifest["requires"].items():
        targets = entry.connections.get(req_id, [])
        count, low, high = len(targets), req["min_connections"], req["max_connections"]
        if not low <= count <= high:
            problems.append(f"{at}.connections.{req_id}: {count} connection(s), the manifest of {entry.module} "
                            f"asks for {low}..{high}")
        for index, target in enumerate(targets):
            place = f"{at}.connections.{req_id}.{index}"
            other = config.modules.get(target["module_id"])
            if other is None:
                problems.append(f"{place}: no active module {target['module_id']!r}")
                continue
            other_manifest = manifests.get(other.module)
            if other_manifest is None:
                continue
            impl = other_manifest["provides"].get(target["implementation_id"])
            if impl is None:
                problems.append(f"{place}: module {other.id!r} ({other.module}) provides no implementation "
                                f"{target['implementation_id']!r}")
            elif impl["interface"] != req["interface"]:
                problems.append(f"{place}: {other.id}.{target['implementation_id']} provides interface "
                                f"{impl['interface']!r}, requirement {req_id!r} needs {req['interface']!r}")
    return problems


_DATATYPES = {"string": "string", "number": "number", "integer": "integer", "boolean": "bool"}


def _parameters(declared: dict[str, Any], values: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for name in sorted(declared):
        entry = declared[name]
        if name not in values and "default" not in entry:
            continue
        out.append({"name": name, "value": values.get(name, entry.get("default")),
                    "characteristics": {"datatype": _DATATYPES.get(entry["type"], "unknown"),
                                        "mutability": entry.get("mutability", "ReadOnly")}})
    return out


def module_config(config: RunConfig, module_id: str, manifest: dict[str, Any]) -> dict[str, Any]:
    """The `data` of a Get/Module answer (spec 5.5 and 10): config with defaults, connections, mappings."""
    entry = config.modules[module_id]
    parameters = {"!module": _parameters(manifest["config"], entry.config_module)}
    for impl_id, impl in manifest["provides"].items():
        parameters[impl_id] = _parameters(impl["config"], entry.config_implementation.get(impl_id, {}))
    connections = {}
    for req_id, targets in entry.connections.items():
        listed = []
        for index, target in enumerate(targets):
            requirement: dict[str, Any] = {"id": req_id}
            if index:
                requirement["index"] = index
            listed.append({"module_id": target["module_id"], "implementation_id": target["implementation_id"],
                           "requirement": requirement})
        connections[req_id] = listed
    data: dict[str, Any] = {
        "module_config": {
            "module_id": module_id, "module_name": entry.module, "standalone": entry.standalone,
            "telemetry_enabled": bool(entry.telemetry) and bool(config.settings.get("telemetry_enabled")),
            "configuration_parameters": parameters, "connections": connections,
            "mapping": entry.mapping, "access": entry.access or None},
        "mappings": {mid: other.mapping for mid, other in config.modules.items()},
    }
    if entry.telemetry:
        data["telemetry_config"] = entry.telemetry
    return data
