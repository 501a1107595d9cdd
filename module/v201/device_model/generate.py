"""`python -m module.v201.device_model.generate`: write the shipped component config files
(config/v201/component_config/standardized/<Component>.json, EVerest's layout) from the registry, so the files a
charger maker edits start from what the module knows. A test fails while the committed files are stale."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from module.v201.device_model.variables import VARIABLES, Mutability, VariableSpec

FOLDER = Path(__file__).resolve().parents[3] / "config" / "v201" / "component_config" / "standardized"


def component_files(variables: tuple[VariableSpec, ...] = VARIABLES) -> dict[str, str]:
    """File name -> text, one file per component name."""
    by_component: dict[str, list[VariableSpec]] = defaultdict(list)
    for spec in variables:
        by_component[spec.component.name].append(spec)
    files = {}
    for component, specs in sorted(by_component.items()):
        properties: dict[str, Any] = {}
        for spec in specs:
            name = spec.name + (spec.instance or "")
            entry: dict[str, Any] = {"variable_name": spec.name}
            if spec.instance:
                entry["instance"] = spec.instance
            characteristics: dict[str, Any] = {"dataType": spec.data_type.value, "supportsMonitoring": False}
            if spec.unit:
                characteristics["unit"] = spec.unit
            if spec.min_limit is not None:
                characteristics["minLimit"] = spec.min_limit
            if spec.max_limit is not None:
                characteristics["maxLimit"] = spec.max_limit
            if spec.values_list:
                characteristics["valuesList"] = ",".join(spec.values_list)
            entry["characteristics"] = characteristics
            attributes = []
            for attribute in spec.attributes:
                item: dict[str, Any] = {"type": attribute, "mutability": spec.mutability.value}
                if attribute == "Actual" and spec.default is not None and spec.mutability is not Mutability.WRITE_ONLY:
                    item["value"] = spec.default
                attributes.append(item)
            entry["attributes"] = attributes
            properties[name] = entry
        document = {"name": component, "type": "object", "properties": properties}
        files[f"{component}.json"] = json.dumps(document, indent=2) + "\n"
    return files


def write_all() -> None:
    FOLDER.mkdir(parents=True, exist_ok=True)
    for name, text in component_files().items():
        (FOLDER / name).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    write_all()
