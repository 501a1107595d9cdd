"""Where configuration secrets travel on the wire, told to the link (which names no OCPP action itself).

ChangeConfiguration.req brings a key's new value as {"key", "value"}, and a GetConfiguration.conf that listed a
secret key would carry it the same way: for a secret key (AuthorizationKey) that value is masked in every log, and
learned as a secret the moment it arrives.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from module.link.secrets import MASK, register_payload_secrets


class ConfigurationSecrets:
    def __init__(self, secret_keys: Iterable[str]) -> None:
        self.markers = frozenset(secret_keys)

    def values(self, action: str, payload: Any) -> Iterable[str]:
        """Only a string key and value count: this runs before the schema check, on whatever the peer sent."""
        if action != "ChangeConfiguration" or not isinstance(payload, dict):
            return ()
        key, value = payload.get("key"), payload.get("value")
        return (value,) if isinstance(key, str) and key in self.markers and isinstance(value, str) else ()

    def mask(self, payload: Any) -> Any:
        if isinstance(payload, dict) and "value" in payload:
            key = payload.get("key")
            if isinstance(key, str) and key in self.markers:  # a list key would be unhashable
                return {**payload, "value": MASK}
        return payload


def register(secret_keys: Iterable[str]) -> None:
    register_payload_secrets("configuration", ConfigurationSecrets(secret_keys))
