"""The loaded configuration: typed getters, GetConfiguration, ChangeConfiguration, internal sets and change hooks."""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
import string
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from module.config import secret_fields
from module.config.errors import ConfigError, TooManyKeysError
from module.config.keys import (
    ALWAYS_ACTIVE_SECTIONS,
    OCPP_VALUE_MAX_LENGTH,
    Access,
    KeySpec,
)
from module.config.user_store import UserConfigStore
from module.config.values import InvalidValue, coerce, parse_text, to_json, to_text, validate

log = logging.getLogger(__name__)

ChangeCallback = Callable[[str, Any], Any]
"""cb(key, new_typed_value); may return an awaitable, which is scheduled on the running loop."""

MASK = "<hidden>"

ACCEPTED, REJECTED, REBOOT_REQUIRED, NOT_SUPPORTED = "Accepted", "Rejected", "RebootRequired", "NotSupported"


def shown(spec: KeySpec, value: Any) -> str:
    """A value as it may appear in logs and errors: secrets masked, always one line."""
    if spec.secret:
        return MASK
    return " ".join(repr(value).split())


def decode_authorization_key(text: str) -> str:
    """The whitepaper sends the key hex-encoded; decode it when it is hex of printable ASCII (libocpp's rule)."""
    if len(text) < 2 or len(text) % 2 or any(char not in string.hexdigits for char in text):
        return text
    decoded = bytes.fromhex(text)
    if all(0x20 <= byte <= 0x7E for byte in decoded):
        return decoded.decode("ascii")
    return text


METER_PUBLIC_KEYS = "MeterPublicKeys"
_METER_PUBLIC_KEY = re.compile(r"^meterpublickey\[(\d+)\]$")


def _meter_public_key_connector(key: str) -> int | None:
    """N of a `MeterPublicKey[N]` key (any case), else None."""
    match = _METER_PUBLIC_KEY.match(key.casefold())
    return int(match.group(1)) if match else None


class ChargePointConfig:
    """One charge point's configuration: base + user overlay, validated; every change lands in the user file."""

    def __init__(
        self,
        specs: dict[str, KeySpec],
        values: dict[str, Any],
        present_sections: Iterable[str],
        supported_profiles: Iterable[str],
        store: UserConfigStore,
    ) -> None:
        self._specs = specs
        self._values = values
        self._present_sections = frozenset(present_sections)
        self.supported_profiles: frozenset[str] = frozenset(supported_profiles)
        self._store = store
        self._hooks: dict[str, list[ChangeCallback]] = {}
        self._any_hooks: list[ChangeCallback] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        secret_fields.register(spec.name for spec in specs.values() if spec.secret)
        self._folded = {name.casefold(): name for name in specs}

    def canonical(self, key: str) -> str:
        """The registry's spelling of a key the CSMS named: 1.6 keys are CiString, compared without case (as
        libocpp does, so `ConnectionTimeout` is `ConnectionTimeOut`); an unknown name comes back as given."""
        return self._folded.get(key.casefold(), key)

    # ---- reading ----
    def get(self, key: str) -> Any:
        """Typed value (int, float, bool, str, list[str] for CSV/array keys, dict); None for an absent optional key.

        Raises KeyError for a name that is not a configuration key (a typo in the caller)."""
        if key not in self._specs:
            raise KeyError(key)
        return self._values.get(key)

    def spec(self, key: str) -> KeySpec | None:
        return self._specs.get(key)

    def is_reported(self, key: str) -> bool:
        """True when GetConfiguration shows the key: active section, has a value (or may be reported without one),
        not write-only."""
        spec = self._specs.get(key)
        return (spec is not None and self._active(spec) and not spec.secret
                and (self._values.get(key) is not None or spec.reported_unset))

    def key_value(self, key: str) -> dict[str, Any] | None:
        """The OCPP KeyValue of one reported key (for the configuration_key var); None when not reported."""
        connector_id = _meter_public_key_connector(key)
        if connector_id is not None:
            keys = self._values.get(METER_PUBLIC_KEYS) or []
            if not 1 <= connector_id <= len(keys):
                return None
            return {"key": f"MeterPublicKey[{connector_id}]", "readonly": True, "value": keys[connector_id - 1]}
        if not self.is_reported(key):
            return None
        spec = self._specs[key]
        key_value = {"key": key, "readonly": spec.access is Access.READ_ONLY}
        if self._values.get(key) is not None:
            key_value["value"] = to_text(spec, self._values[key])
        return key_value

    def get_configuration(self, keys: list[str] | None = None) -> tuple[list[dict[str, Any]], list[str]]:
        """GetConfiguration: (configurationKey list, unknownKey list). No or an empty key list means every key.

        Raises TooManyKeysError (CALLERROR PropertyConstraintViolation) for more than GetConfigurationMaxKeys keys."""
        if not keys:
            names = [name for name in self._specs if name != METER_PUBLIC_KEYS]
            names += [f"MeterPublicKey[{i}]" for i in range(1, len(self._values.get(METER_PUBLIC_KEYS) or []) + 1)]
            reported = [self.key_value(name) for name in names]
            return [kv for kv in reported if kv is not None], []
        maximum = self._values.get("GetConfigurationMaxKeys")
        if maximum is not None and len(keys) > maximum:
            raise TooManyKeysError(len(keys), maximum)
        found: list[dict[str, Any]] = []
        unknown: list[str] = []
        for name in dict.fromkeys(keys):
            key_value = self.key_value(self.canonical(name))
            if key_value is None:
                unknown.append(name)
            else:
                found.append(key_value)
        return found, unknown

    # ---- writing ----
    def change_configuration(self, key: str, value: str) -> str:
        """ChangeConfiguration.req -> status. An accepted value is on disk before this returns."""
        if _meter_public_key_connector(key) is not None and self.key_value(key) is not None:
            log.info("ChangeConfiguration %s rejected: read-only", key)
            return REJECTED
        key = self.canonical(key)
        spec = self._specs.get(key)
        if spec is None or not self._active(spec) or (self._values.get(key) is None and not spec.secret
                                                      and not spec.reported_unset):
            return NOT_SUPPORTED
        if spec.access is Access.READ_ONLY:
            log.info("ChangeConfiguration %s rejected: read-only", key)
            return REJECTED
        if len(value) > OCPP_VALUE_MAX_LENGTH:
            log.info("ChangeConfiguration %s rejected: value longer than %d", key, OCPP_VALUE_MAX_LENGTH)
            return REJECTED
        if key == "AuthorizationKey":
            value = decode_authorization_key(value)
        try:
            typed = parse_text(spec, value)
            validate(spec, typed, self._values.get)
        except InvalidValue as problem:
            log.info("ChangeConfiguration %s = %s rejected: %s", key, shown(spec, value), problem)
            return REJECTED
        try:
            self._commit(spec, typed)
        except OSError as problem:
            log.error("ChangeConfiguration %s not stored in %s: %s", key, self._store.path, problem.strerror)
            return REJECTED
        return REBOOT_REQUIRED if spec.reboot else ACCEPTED

    def set(self, key: str, value: Any) -> None:
        """Internal write (e.g. HeartbeatInterval from BootNotification.conf): validated, stored, hooks run.

        Read-only keys may be set this way; raises ConfigError (one line, secrets masked) on a bad key or value."""
        spec = self._specs.get(key)
        file = str(self._store.path)
        if spec is None:
            raise ConfigError(file, None, key, None, "unknown configuration key")
        try:
            typed = coerce(spec, value)
            validate(spec, typed, self._values.get)
        except InvalidValue as problem:
            raise ConfigError(file, spec.section, key, shown(spec, value), str(problem)) from None
        self._commit(spec, typed)

    def set_meter_public_key(self, connector_id: int, public_key: str) -> None:
        """The public key of a connector's signed meter (the EVSE's powermeter_public_key_ocmf), reported to the
        CSMS as the read-only key MeterPublicKey[connector] and kept in the user config, as libocpp keeps it."""
        count = int(self._values.get("NumberOfConnectors") or 0)
        if not 1 <= connector_id <= count:
            log.warning("meter public key of connector %s ignored: no such connector", connector_id)
            return
        keys = list(self._values.get(METER_PUBLIC_KEYS) or [])
        keys += [""] * (count - len(keys))
        if keys[connector_id - 1] != public_key:
            keys[connector_id - 1] = public_key
            self.set(METER_PUBLIC_KEYS, keys)

    def on_change(self, key: str, callback: ChangeCallback) -> Callable[[], None]:
        """Apply hook / subscription for one key; returns a function that unsubscribes."""
        if key not in self._specs:
            raise KeyError(key)
        self._hooks.setdefault(key, []).append(callback)
        return lambda: self._hooks[key].remove(callback)

    def on_any_change(self, callback: ChangeCallback) -> Callable[[], None]:
        """Subscription to every key (secrets are passed to the callback as the masked text)."""
        self._any_hooks.append(callback)
        return lambda: self._any_hooks.remove(callback)

    # ---- internals ----
    def _active(self, spec: KeySpec) -> bool:
        if spec.section in ALWAYS_ACTIVE_SECTIONS:
            return True
        if spec.section in ("PnC", "CostAndPrice", "Custom"):
            return spec.section in self._present_sections
        return spec.section in self.supported_profiles

    def _commit(self, spec: KeySpec, typed: Any) -> None:
        self._store.store(spec.section, spec.name, to_json(spec, typed))
        self._values[spec.name] = typed
        log.info("configuration %s set to %s", spec.name, shown(spec, typed))
        for callback in list(self._hooks.get(spec.name, ())):
            self._run_hook(spec, callback, typed)
        for callback in list(self._any_hooks):
            self._run_hook(spec, callback, MASK if spec.secret else typed)

    def _run_hook(self, spec: KeySpec, callback: ChangeCallback, value: Any) -> None:
        try:
            result = callback(spec.name, value)
        except Exception:
            log.exception("change hook for %s failed", spec.name)
            return
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    @property
    def user_config_path(self) -> Path:
        return self._store.path
