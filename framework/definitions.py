"""Manifest, interface, type and error YAML in EVerest's formats: loaded, checked, normalised for distribution.

Every problem with a file becomes a DefinitionError whose text is one line naming the file, the place inside it
and what is wrong, so the manager can print it as is.  Layout: `<dir>/<if>.yaml`, `<dir>/types/<file>.yaml`,
`<dir>/errors/<ns>.yaml` for each interfaces directory; references look like EVerest's: `$ref: /<file>#/<Type>`
and `reference: /errors/<ns>[#/<Name>]`.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

SCHEMA_DIR = Path(__file__).parent / "schemas"
SCHEMA_NAMES = ("config", "manifest", "interface", "type", "error_declaration_list")
_TYPE_REF = re.compile(r"^/(?P<file>[A-Za-z0-9_.-]+)#/(?P<name>[A-Za-z0-9_]+)$")
_ERROR_REF = re.compile(r"^/errors/(?P<ns>[A-Za-z0-9_.-]+)(#/(?P<name>[A-Za-z0-9_]+))?$")


class DefinitionError(Exception):
    """A definition or run-config file is broken; str() is one line: file, place in it, problem."""

    def __init__(self, file: Path | str, where: str, problem: str) -> None:
        self.file, self.where, self.problem = str(file), where, problem
        super().__init__(f"{self.file}: {where or '<top>'}: {problem}")


# libyaml's parser when PyYAML was built with it: the manager reads every interface and type file before it starts
# a module, and the pure-Python parser spent most of the manager's start-up on them (same YAML 1.1 safe subset).
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text: str) -> Any:
    """Parse YAML text with the safe loader (libyaml's when available)."""
    return yaml.load(text, Loader=_SAFE_LOADER)


@cache
def schema(name: str) -> dict[str, Any]:
    """One of the format schemas (framework/schemas/<name>.yaml) as a dict."""
    return parse_yaml((SCHEMA_DIR / f"{name}.yaml").read_text())


def load_yaml(path: Path) -> Any:
    """Parse a YAML file; syntax errors and missing files become one-line DefinitionErrors."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise DefinitionError(path, "", f"cannot read: {exc.strerror}") from None
    try:
        return parse_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise DefinitionError(path, where, f"YAML syntax error: {problem}") from None


def dotted(path: Sequence[Any]) -> str:
    return ".".join(str(p) for p in path)


def schema_problems(data: Any, schema_name: str) -> Iterator[tuple[str, str]]:
    """(path inside the document, message) for every violation of a format schema."""
    validator = jsonschema.Draft7Validator(schema(schema_name))
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        best = jsonschema.exceptions.best_match([error])
        yield dotted(best.absolute_path), _short_message(best)


def _short_message(error: jsonschema.ValidationError) -> str:
    if error.validator == "additionalProperties" and not error.validator_value:
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return f"unknown key(s) {', '.join(map(repr, extra))}"
    message = error.message.replace("\n", " ")
    return message if len(message) <= 160 else message[:157] + "..."


def validate(data: Any, schema_name: str, file: Path) -> None:
    """Raise a DefinitionError for the first violation of the format schema `schema_name`."""
    for where, problem in schema_problems(data, schema_name):
        raise DefinitionError(file, where, problem)


def strip_descriptions(node: Any) -> Any:
    """A copy of a JSON schema without `description` keys (how the manager distributes interfaces)."""
    if isinstance(node, dict):
        return {k: strip_descriptions(v) for k, v in node.items() if k != "description"}
    if isinstance(node, list):
        return [strip_descriptions(v) for v in node]
    return node


class Definitions:
    """Interfaces, types and errors looked up in one or more interface directories (first match wins)."""

    def __init__(self, interface_dirs: Sequence[Path]) -> None:
        self.dirs = [Path(d) for d in interface_dirs]
        self._interfaces: dict[str, dict[str, Any]] = {}
        self._types: dict[str, dict[str, Any]] = {}
        self._errors: dict[str, dict[str, Any]] = {}

    def _find(self, sub: str, stem: str) -> Path | None:
        for base in self.dirs:
            candidate = base / sub / f"{stem}.yaml"
            if candidate.is_file():
                return candidate
        return None

    def interface_path(self, name: str) -> Path | None:
        return self._find("", name)

    def interface(self, name: str) -> dict[str, Any]:
        """The checked interface with defaults applied (cmds, vars, errors, arguments always present)."""
        if name not in self._interfaces:
            path = self.interface_path(name)
            if path is None:
                raise DefinitionError(f"interfaces/{name}.yaml", "", "interface not found")
            data = load_yaml(path)
            validate(data, "interface", path)
            data.setdefault("cmds", {})
            data.setdefault("vars", {})
            data.setdefault("errors", [])
            for cmd in data["cmds"].values():
                cmd.setdefault("arguments", {})
            self._check_type_refs(data, path, [])
            for index, ref in enumerate(data["errors"]):
                self._resolve_error_ref(ref["reference"], path, f"errors.{index}.reference")
            self._interfaces[name] = data
        return self._interfaces[name]

    def type_file(self, stem: str, referrer: Path | None = None, where: str = "") -> dict[str, Any]:
        """A checked types/<stem>.yaml; refs inside it are checked too."""
        if stem not in self._types:
            path = self._find("types", stem)
            if path is None:
                raise DefinitionError(referrer or f"types/{stem}.yaml", where, f"type file '/{stem}' not found")
            data = load_yaml(path)
            validate(data, "type", path)
            self._types[stem] = data
            self._check_type_refs(data, path, [])
        return self._types[stem]

    def error_list(self, ns: str, referrer: Path | None = None, where: str = "") -> dict[str, Any]:
        if ns not in self._errors:
            path = self._find("errors", ns)
            if path is None:
                raise DefinitionError(referrer or f"errors/{ns}.yaml", where, f"error file '/errors/{ns}' not found")
            data = load_yaml(path)
            validate(data, "error_declaration_list", path)
            self._errors[ns] = data
        return self._errors[ns]

    def _check_type_refs(self, node: Any, file: Path, path: list[Any]) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref" and isinstance(value, str):
                    self._resolve_type_ref(value, file, dotted([*path, key]))
                else:
                    self._check_type_refs(value, file, [*path, key])
        elif isinstance(node, list):
            for index, value in enumerate(node):
                self._check_type_refs(value, file, [*path, index])

    def _resolve_type_ref(self, ref: str, file: Path, where: str) -> dict[str, Any]:
        match = _TYPE_REF.match(ref)
        if not match:
            raise DefinitionError(file, where, f"bad type reference {ref!r}, expected '/<typefile>#/<Type>'")
        types = self.type_file(match["file"], file, where)["types"]
        if match["name"] not in types:
            raise DefinitionError(file, where, f"dangling reference {ref!r}: no type {match['name']!r}")
        return types[match["name"]]

    def _resolve_error_ref(self, ref: str, file: Path, where: str) -> list[dict[str, Any]]:
        match = _ERROR_REF.match(ref)
        if not match:
            raise DefinitionError(file, where, f"bad error reference {ref!r}")
        errors = self.error_list(match["ns"], file, where)["errors"]
        if match["name"] is None:
            return errors
        chosen = [e for e in errors if e["name"] == match["name"]]
        if not chosen:
            raise DefinitionError(file, where, f"dangling reference {ref!r}: no error {match['name']!r}")
        return chosen

    def type_files_used(self, interface_names: Sequence[str]) -> list[str]:
        """Stems of every type file the given interfaces reference, directly or through other types."""
        seen: list[str] = []
        pending = [self.interface(n) for n in interface_names]
        while pending:
            for ref in _refs(pending.pop()):
                stem = _TYPE_REF.match(ref)["file"]  # type: ignore[index] - refs are checked on load
                if stem not in seen:
                    seen.append(stem)
                    pending.append(self.type_file(stem))
        return sorted(seen)

    def distributed_interface(self, name: str) -> dict[str, Any]:
        """The interface as EVerest's manager publishes it: no descriptions, qos on vars, errors expanded."""
        data = self.interface(name)
        path = self.interface_path(name) or Path(name)
        cmds = {}
        for cmd_name, cmd in data["cmds"].items():
            out: dict[str, Any] = {"arguments": strip_descriptions(cmd["arguments"])}
            if "result" in cmd:
                out["result"] = strip_descriptions(cmd["result"])
            cmds[cmd_name] = out
        variables = {n: {"qos": 2, **strip_descriptions(v)} for n, v in data["vars"].items()}
        errors: dict[str, dict[str, Any]] = {}
        for index, ref in enumerate(data["errors"]):
            ns = _ERROR_REF.match(ref["reference"])["ns"]  # type: ignore[index] - checked on load
            for entry in self._resolve_error_ref(ref["reference"], path, f"errors.{index}.reference"):
                errors.setdefault(ns, {})[entry["name"]] = {
                    "name": entry["name"], "description": entry["description"], "namespace": ns}
        return {"cmds": cmds, "vars": variables, "errors": errors}

    def error_types(self, name: str) -> list[str]:
        """Every `<ns>/<Name>` error type an interface may raise."""
        return [f"{ns}/{n}" for ns, entries in self.distributed_interface(name)["errors"].items() for n in entries]


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def load_manifest(path: Path) -> dict[str, Any]:
    """A checked manifest.yaml with EVerest's defaults applied (top-level config kept)."""
    data = load_yaml(path)
    validate(data, "manifest", path)
    data.setdefault("config", {})
    data.setdefault("provides", {})
    data.setdefault("requires", {})
    for flag in ("enable_external_mqtt", "enable_telemetry", "enable_global_errors"):
        data.setdefault(flag, False)
    for entry in data["config"].values():
        entry.setdefault("mutability", "ReadOnly")
    for impl in data["provides"].values():
        impl.setdefault("config", {})
        for entry in impl["config"].values():
            entry.setdefault("mutability", "ReadOnly")
    for req in data["requires"].values():
        req.setdefault("min_connections", 1)
        req.setdefault("max_connections", 1)
        if req["min_connections"] > req["max_connections"]:
            raise DefinitionError(path, f"requires.{_req_name(data, req)}",
                                  "min_connections is greater than max_connections")
    for key, entry in _config_entries(data):
        if "default" in entry:
            problem = value_problem(entry, entry["default"])
            if problem:
                raise DefinitionError(path, f"{key}.default", problem)
    return data


def _req_name(manifest: dict[str, Any], req: dict[str, Any]) -> str:
    return next(n for n, r in manifest["requires"].items() if r is req)


def _config_entries(manifest: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, entry in manifest["config"].items():
        yield f"config.{name}", entry
    for impl_id, impl in manifest["provides"].items():
        for name, entry in impl["config"].items():
            yield f"provides.{impl_id}.config.{name}", entry


_CONFIG_META_KEYS = {"description", "default", "mutability"}


def value_problem(entry: dict[str, Any], value: Any) -> str | None:
    """Why `value` does not fit a manifest config entry (its JSON-schema keys), or None."""
    entry_schema = {k: v for k, v in entry.items() if k not in _CONFIG_META_KEYS}
    error = jsonschema.exceptions.best_match(jsonschema.Draft7Validator(entry_schema).iter_errors(value))
    return None if error is None else error.message


def distributed_manifest(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest as the manager publishes it: defaults patched in, top-level `config` removed."""
    out = copy.deepcopy(manifest)
    out.pop("config", None)
    return out


def schemas_as_distributed() -> dict[str, Any]:
    """The `{P}schemas` payload: the format schemas keyed like EVerest's."""
    return {name: copy.deepcopy(schema(name)) for name in SCHEMA_NAMES}
