"""Start-up: base ocpp-config.json + user config (RFC 7386 merge patch), checked against schemas and the registry.

Every problem becomes a ConfigError whose text is one line naming file, section, key, value and rule."""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jsonschema

from module.config.charge_point_config import ChargePointConfig, shown
from module.config.errors import ConfigError
from module.config.generate import SCHEMA_DIR
from module.config.keys import FEATURE_PROFILES, KEYS_BY_NAME, REQUIRED_SECTIONS, SECTIONS, KeySpec, custom_key
from module.config.user_store import UserConfigStore, remove_stale_temp_files, write_json_atomic
from module.config.values import InvalidValue, from_json, validate

__all__ = ["ConfigError", "ensure_folders", "load_config", "merge_patch"]

log = logging.getLogger(__name__)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for name, value in patch.items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = merge_patch(result.get(name), value)
    return result


def ensure_folders(*paths: str | Path) -> None:
    """Create missing folders such as DatabasePath and MessageLogPath (from the module config)."""
    for path in paths:
        try:
            Path(path).mkdir(parents=True, exist_ok=True)
        except OSError as problem:
            raise ConfigError(str(path), None, None, None, f"cannot create folder: {problem.strerror}") from None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as problem:
        raise ConfigError(str(path), None, None, None, f"cannot read file: {problem.strerror}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as problem:
        rule = f"invalid JSON at line {problem.lineno} column {problem.colno}: {problem.msg}"
        raise ConfigError(str(path), None, None, None, rule) from None
    if not isinstance(document, dict):
        raise ConfigError(str(path), None, None, None, "top level must be a JSON object")
    return document


def _load_user(path: Path) -> dict[str, Any]:
    if path.parent.is_dir():
        remove_stale_temp_files(path)
    if not path.exists():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_json_atomic(path, {})
        except OSError as problem:
            raise ConfigError(str(path), None, None, None, f"cannot create user config: {problem.strerror}") from None
        log.info("created empty user config %s", path)
    return _read_json(path)


class _Origin:
    """Names the file a merged value came from, for the error line."""

    def __init__(self, base: Path, user: Path, user_doc: dict[str, Any]) -> None:
        self._base, self._user, self._user_doc = str(base), str(user), user_doc

    def __call__(self, section: str, key: str | None = None) -> str:
        user_section = self._user_doc.get(section)
        if key is None:
            return self._user if section in self._user_doc else self._base
        if isinstance(user_section, dict) and key in user_section:
            return self._user
        return self._base


def _section_specs(section: str, content: dict[str, Any]) -> list[KeySpec]:
    if section == "Custom":
        return [custom_key(name, value) for name, value in content.items()]
    return [spec for spec in KEYS_BY_NAME.values() if spec.section == section]


def _schema(section: str) -> dict[str, Any]:
    return json.loads((SCHEMA_DIR / f"{section}.json").read_text(encoding="utf-8"))


def _check_structure(merged: dict[str, Any], origin: _Origin) -> None:
    for section, content in merged.items():
        if section not in SECTIONS:
            raise ConfigError(origin(section), section, None, None, f"unknown section (known: {', '.join(SECTIONS)})")
        if not isinstance(content, dict):
            raise ConfigError(origin(section), section, None, None, "section must be a JSON object")
    for section in REQUIRED_SECTIONS:
        if section not in merged:
            raise ConfigError(origin(section), section, None, None, "required section missing")
    for section, content in merged.items():
        if section == "Custom":
            for key in content:
                if key in KEYS_BY_NAME:
                    rule = f"vendor key shadows the standard key of section {KEYS_BY_NAME[key].section}"
                    raise ConfigError(origin(section, key), section, key, None, rule)
            continue
        for key in content:
            if key not in KEYS_BY_NAME or KEYS_BY_NAME[key].section != section:
                where = KEYS_BY_NAME[key].section if key in KEYS_BY_NAME else None
                rule = f"unknown key (it belongs to section {where})" if where else "unknown key"
                raise ConfigError(origin(section, key), section, key, None, rule)
        for spec in _section_specs(section, content):
            if spec.required and spec.name not in content and spec.default is None:
                raise ConfigError(origin(section, spec.name), section, spec.name, None, "required key missing")


def _schema_check(merged: dict[str, Any], origin: _Origin) -> None:
    """Final guard with the committed draft-07 schemas (the registry checks normally fire first)."""
    for section, content in merged.items():
        error = jsonschema.exceptions.best_match(jsonschema.Draft7Validator(_schema(section)).iter_errors(content))
        if error is not None:
            key = str(error.absolute_path[0]) if error.absolute_path else None
            spec = KEYS_BY_NAME.get(key or "")
            value = shown(spec, error.instance) if spec else None
            rule = f"schema rule {error.validator} {json.dumps(error.validator_value)[:80]} violated"
            raise ConfigError(origin(section, key), section, key, value, rule)


def load_config(
    base_path: str | Path,
    user_path: str | Path,
    number_of_connectors: int | None = None,
    implemented_profiles: Iterable[str] | None = None,
) -> ChargePointConfig:
    """Load, merge, check and fill defaults. `number_of_connectors` (the EVSE count) overrides the file's value;
    `implemented_profiles`, when given, drops profiles named in SupportedFeatureProfiles that the module lacks."""
    base_path, user_path = Path(base_path), Path(user_path)
    base = _read_json(base_path)
    user = _load_user(user_path)
    merged = merge_patch(base, user)
    origin = _Origin(base_path, user_path, user)
    _check_structure(merged, origin)
    if number_of_connectors is not None:
        merged["Core"]["NumberOfConnectors"] = number_of_connectors

    specs: dict[str, KeySpec] = {}
    raw: dict[str, Any] = {}
    for section, content in merged.items():
        for spec in _section_specs(section, content):
            specs[spec.name] = spec
            if spec.name in content:
                raw[spec.name] = content[spec.name]
            elif spec.default is not None:
                raw[spec.name] = copy.deepcopy(spec.default)
                content[spec.name] = copy.deepcopy(spec.default)
    for spec in KEYS_BY_NAME.values():
        specs.setdefault(spec.name, spec)

    values: dict[str, Any] = {}
    for name, value in raw.items():
        spec = specs[name]
        try:
            values[name] = from_json(spec, value)
        except InvalidValue as problem:
            file = origin(spec.section, name)
            raise ConfigError(file, spec.section, name, shown(spec, value), str(problem)) from None
    for name, value in values.items():
        spec = specs[name]
        try:
            validate(spec, value, values.get)
        except InvalidValue as problem:
            raise ConfigError(
                origin(spec.section, name), spec.section, name, shown(spec, raw[name]), str(problem)
            ) from None
    _schema_check(merged, origin)

    declared = values["SupportedFeatureProfiles"]
    implemented = set(FEATURE_PROFILES if implemented_profiles is None else implemented_profiles)
    supported = [name for name in declared if name in implemented]
    if "Core" not in supported:
        supported.insert(0, "Core")
    if supported != declared:
        log.warning(
            "SupportedFeatureProfiles %s reduced to the implemented %s", ",".join(declared), ",".join(supported)
        )
        values["SupportedFeatureProfiles"] = supported
    store = UserConfigStore(user_path, user)
    return ChargePointConfig(specs, values, merged.keys(), supported, store)
