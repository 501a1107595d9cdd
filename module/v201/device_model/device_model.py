"""The device model's values and the rules of GetVariables / SetVariables (OCPP 2.0.1 B06, B05).

Each value is the shipped one (component config files) or the registry's default until written; written values
of persistent variables are kept in SQLite (table `device_model_values`, in the charging station's one database
file), those of others in memory until the next start. Every request item gets its own result, in order, as the
CSMS sent them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from module.queue.database import Database, utc_now
from module.v201.device_model.variables import ATTRIBUTE_TYPES, VARIABLES, DataType, Mutability, VariableSpec

_SCHEMA = ["""
    CREATE TABLE device_model_values (
        variable TEXT NOT NULL,
        attribute TEXT NOT NULL,
        value TEXT NOT NULL,
        written_at TEXT NOT NULL,
        PRIMARY KEY (variable, attribute)
    )
"""]
VALUE_MAX_LENGTH = 2500
"""SetVariableData.attributeValue's limit in the 2.0.1 schema."""


@dataclass(frozen=True)
class Result:
    status: str
    value: str | None = None
    info: str | None = None
    """The reasonCode of statusInfo when the status is not Accepted."""


def key_of(spec: VariableSpec) -> str:
    """Where a variable's values are stored: component[instance]@evse.connector/variable[instance]."""
    component = spec.component
    text = component.name + (f"[{component.instance}]" if component.instance else "")
    if component.evse is not None:
        text += f"@{component.evse}" + (f".{component.connector}" if component.connector is not None else "")
    return text + "/" + spec.name + (f"[{spec.instance}]" if spec.instance else "")


class DeviceModel:
    def __init__(self, db: Database, variables: tuple[VariableSpec, ...] = VARIABLES,
                 shipped: dict[str, dict[str, str]] | None = None) -> None:
        db.register_migrations("device_model_1", _SCHEMA)
        self._db = db
        self.variables = variables
        self._shipped = shipped or {}
        """The component config files' values (component_files.py), under what was written since."""
        self._volatile: dict[tuple[str, str], str] = {}

    # -- lookup -----------------------------------------------------------------------------------------------
    def find(self, component: dict[str, Any], variable: dict[str, Any]) -> VariableSpec | str:
        """The variable a request item names, or its status: UnknownComponent when no variable lives on such a
        component, UnknownVariable when the component exists without that variable."""
        evse = component.get("evse") or {}
        on_component = [spec for spec in self.variables
                        if spec.component.name == component.get("name")
                        and spec.component.instance == component.get("instance")
                        and spec.component.evse == evse.get("id")
                        and spec.component.connector == evse.get("connectorId")]
        if not on_component:
            return "UnknownComponent"
        for spec in on_component:
            if spec.name == variable.get("name") and spec.instance == variable.get("instance"):
                return spec
        return "UnknownVariable"

    def value(self, spec: VariableSpec, attribute: str = "Actual") -> str | None:
        """Written, else shipped (component config files), else the registry's default (Actual only)."""
        stored = self._stored(spec, attribute)
        if stored is not None:
            return stored
        shipped = self._shipped.get(key_of(spec), {}).get(attribute)
        if shipped is not None:
            return shipped
        return spec.default if attribute == "Actual" else None

    def value_of(self, component: str, variable: str, instance: str | None = None) -> str | None:
        """The Actual value of a variable of an EVSE-less component the station reads for itself."""
        spec = self.find({"name": component}, {"name": variable, "instance": instance})
        if isinstance(spec, str):
            raise KeyError(f"{component}/{variable}: {spec}")
        return self.value(spec)

    # -- GetVariables / SetVariables ----------------------------------------------------------------------
    def get(self, component: dict[str, Any], variable: dict[str, Any], attribute: str = "Actual") -> Result:
        spec = self.find(component, variable)
        if isinstance(spec, str):
            return Result(spec)
        if attribute not in spec.attributes:
            return Result("NotSupportedAttributeType")
        if spec.mutability is Mutability.WRITE_ONLY:
            return Result("Rejected", info="WriteOnly")
        return Result("Accepted", self.value(spec, attribute) or "")

    def set(self, component: dict[str, Any], variable: dict[str, Any], value: str, attribute: str = "Actual"
            ) -> Result:
        spec = self.find(component, variable)
        if isinstance(spec, str):
            return Result(spec)
        if attribute not in spec.attributes:
            return Result("NotSupportedAttributeType")
        if spec.mutability is Mutability.READ_ONLY:
            return Result("Rejected", info="ReadOnly")
        problem = invalid(spec, value)
        if problem is not None:
            return Result("Rejected", info=problem)
        self.write(spec, value, attribute)
        return Result("RebootRequired" if spec.reboot_required else "Accepted")

    def write(self, spec: VariableSpec, value: str, attribute: str = "Actual") -> None:
        """Store a value the station itself sets (no mutability check), durably for persistent variables."""
        if not spec.persistent:
            self._volatile[(key_of(spec), attribute)] = value
            return
        with self._db.transaction() as conn:
            conn.execute("INSERT INTO device_model_values (variable, attribute, value, written_at) VALUES (?, ?, ?, ?)"
                         " ON CONFLICT (variable, attribute) DO UPDATE SET value = excluded.value,"
                         " written_at = excluded.written_at", (key_of(spec), attribute, value, utc_now()))

    def _stored(self, spec: VariableSpec, attribute: str) -> str | None:
        if not spec.persistent:
            return self._volatile.get((key_of(spec), attribute))
        row = self._db.conn.execute("SELECT value FROM device_model_values WHERE variable = ? AND attribute = ?",
                                    (key_of(spec), attribute)).fetchone()
        return None if row is None else str(row[0])


def invalid(spec: VariableSpec, value: str) -> str | None:
    """Why `value` does not fit the variable's characteristics (a reasonCode-like word), or None."""
    if len(value) > (spec.max_length or VALUE_MAX_LENGTH):
        return "ValueTooLong"
    kind = spec.data_type
    if kind in (DataType.INTEGER, DataType.DECIMAL):
        try:
            number = int(value) if kind is DataType.INTEGER else float(value)
        except ValueError:
            return "InvalidValue"
        if not math.isfinite(number):
            return "InvalidValue"
        if (spec.min_limit is not None and number < spec.min_limit) or \
                (spec.max_limit is not None and number > spec.max_limit):
            return "ValueOutOfRange"
    elif kind is DataType.BOOLEAN:
        if value not in ("true", "false"):
            return "InvalidValue"
    elif kind is DataType.DATE_TIME:
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return "InvalidValue"
    elif kind is DataType.OPTION_LIST:
        if value not in spec.values_list:
            return "ValueNotInList"
    elif kind in (DataType.SEQUENCE_LIST, DataType.MEMBER_LIST):
        items = value.split(",") if value else []
        if any(item not in spec.values_list for item in items):
            return "ValueNotInList"
        if kind is DataType.MEMBER_LIST and len(set(items)) != len(items):
            return "InvalidValue"
    return None


def check_registry(variables: tuple[VariableSpec, ...] = VARIABLES) -> list[str]:
    """Problems of the registry itself: a duplicate variable, an unknown attribute type, a default that breaks
    its own characteristics."""
    problems = []
    seen = set()
    for spec in variables:
        key = key_of(spec)
        if key in seen:
            problems.append(f"{key}: declared twice")
        seen.add(key)
        problems += [f"{key}: unknown attribute type {a}" for a in spec.attributes if a not in ATTRIBUTE_TYPES]
        if spec.default is not None and (reason := invalid(spec, spec.default)) is not None:
            problems.append(f"{key}: default {spec.default!r} is {reason}")
    return problems
