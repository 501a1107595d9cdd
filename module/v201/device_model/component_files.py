"""The shipped values of the device model, read from component config files in EVerest's layout
(`<DeviceModelConfigPath>/standardized/*.json` and `custom/*.json`): one file per component (with `evse_id` /
`connector_id` for an EVSE or Connector), its `properties` each
naming a `variable_name` (and `instance`) with `attributes` whose `value` is the shipped one. The files are only
read: what the CSMS or the station writes later is kept apart, in the SQLite file (DeviceModel)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from module.v201.device_model.device_model import invalid, key_of
from module.v201.device_model.variables import VARIABLES, VariableSpec

log = logging.getLogger(__name__)

Shipped = dict[str, dict[str, str]]
"""key_of(variable) -> attribute type -> value."""


class ComponentFileError(ValueError):
    """A component config file that cannot be used; the message names the file, the place and the rule."""


def load_shipped(folder: Path, variables: tuple[VariableSpec, ...] = VARIABLES) -> Shipped:
    known = {key_of(spec): spec for spec in variables}
    shipped: Shipped = {}
    for path in sorted(folder.glob("*/*.json")):
        for key, attribute, value in _values(path):
            spec = known.get(key)
            if spec is None:
                log.info("%s: %s is not a variable of this module, left out", path.name, key)
                continue
            problem = invalid(spec, value)
            if problem is not None:
                raise ComponentFileError(f"{path}: {key} {attribute} value {value!r}: {problem}")
            shipped.setdefault(key, {})[attribute] = value
    return shipped


def _values(path: Path) -> list[tuple[str, str, str]]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        component = document["name"]
        properties = document.get("properties") or {}
        if not isinstance(component, str) or not isinstance(properties, dict):
            raise TypeError("name must be a string and properties an object")
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ComponentFileError(f"{path}: not a component config file ({type(error).__name__}: {error})") from None
    where = component
    if document.get("evse_id") is not None:  # EVSE_n.json, Connector_n_m.json
        where += f"@{document['evse_id']}" + (f".{document['connector_id']}"
                                                if document.get("connector_id") is not None else "")
    values = []
    for name, entry in properties.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("attributes", []), list):
            raise ComponentFileError(f"{path}: properties.{name}: must be an object with an attributes list")
        variable = entry.get("variable_name", name)
        instance = entry.get("instance")
        key = f"{where}/{variable}" + (f"[{instance}]" if instance else "")
        for attribute in entry.get("attributes", []):
            if isinstance(attribute, dict) and "value" in attribute:
                values.append((key, str(attribute.get("type", "Actual")), _text(attribute["value"])))
    return values


def _text(value: Any) -> str:
    """A JSON value as the device model keeps it: booleans as true / false, numbers as written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)
