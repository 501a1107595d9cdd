"""Checks command arguments, results and vars against interface schemas (only with settings.validate_schema).

`$ref: /<typefile>#/<Type>` resolves through the distributed type definitions: the resource `/<typefile>` is the
`types:` object of that file, and the fragment points into it.
"""

from __future__ import annotations

from typing import Any

from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7


class SchemaViolation(ValueError):
    """A value does not match its interface schema; the message names what and where."""


def type_registry(type_definitions: dict[str, dict]) -> Registry:
    """`type_definitions` maps a file key ("/evse_manager" or "evse_manager") to that file's `types:` object."""
    resources = [
        ("/" + key.lstrip("/"), Resource.from_contents(types, default_specification=DRAFT7))
        for key, types in type_definitions.items()
    ]
    return Registry().with_resources(resources)


class InterfaceValidator:
    """Validators for one interface definition, built lazily per command / var."""

    def __init__(self, interface: str, definition: dict, registry: Registry) -> None:
        self.interface = interface
        self._definition = definition
        self._registry = registry
        self._cache: dict[tuple[str, ...], Draft7Validator] = {}

    def _validator(self, key: tuple[str, ...], schema: dict) -> Draft7Validator:
        if key not in self._cache:
            self._cache[key] = Draft7Validator(schema, registry=self._registry)
        return self._cache[key]

    def _check(self, key: tuple[str, ...], schema: dict, value: Any, what: str) -> None:
        error = next(iter(self._validator(key, schema).iter_errors(value)), None)
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path)
            raise SchemaViolation(f"{self.interface} {what}{' at ' + where if where else ''}: {error.message}")

    def check_args(self, cmd: str, args: dict) -> None:
        arguments = (self._definition.get("cmds", {}).get(cmd) or {}).get("arguments") or {}
        if not isinstance(args, dict):
            raise SchemaViolation(f"{self.interface} {cmd}: arguments must be an object")
        for name, schema in arguments.items():
            if name not in args:
                raise SchemaViolation(f"{self.interface} {cmd}: argument {name!r} is missing")
            self._check(("arg", cmd, name), schema, args[name], f"{cmd} argument {name!r}")
        unknown = sorted(set(args) - set(arguments))
        if unknown:
            raise SchemaViolation(f"{self.interface} {cmd}: unknown argument(s) {', '.join(unknown)}")

    def check_result(self, cmd: str, retval: Any) -> None:
        schema = (self._definition.get("cmds", {}).get(cmd) or {}).get("result") or {"type": "null"}
        self._check(("result", cmd), schema, retval, f"{cmd} result")

    def check_var(self, var: str, value: Any) -> None:
        schema = self._definition.get("vars", {}).get(var)
        if schema is not None:
            self._check(("var", var), schema, value, f"var {var}")
