"""Keeping the AuthorizationKey and the Basic auth header out of every log, message log and error text."""

from __future__ import annotations

import json
import logging
import re
import threading
from typing import Any

MASK = "*****"
SECRET_CONFIG_KEYS = frozenset({"AuthorizationKey"})

_BASIC = re.compile(r"(?i)(authorization\s*[:=]\s*['\"]?\s*basic\s+)[A-Za-z0-9+/=._-]+")
_VALUE_AFTER_KEY = re.compile(r'("value"\s*:\s*")((?:[^"\\]|\\.)*)(")')


class SecretRegistry:
    """The secret strings in use (current and previous keys and their Basic auth forms), masked anywhere."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: tuple[str, ...] = ()

    def add(self, *values: str) -> None:
        with self._lock:
            merged = set(self._secrets) | {v for v in values if v and len(v) >= 4}
            self._secrets = tuple(sorted(merged, key=len, reverse=True))

    def mask(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return _BASIC.sub(lambda m: m.group(1) + MASK, text)


SECRETS = SecretRegistry()


def mask_text(text: str) -> str:
    """Any text: known secrets and Basic auth credentials replaced by the mask."""
    return SECRETS.mask(text)


def mask_payload(payload: Any) -> Any:
    """A copy of a JSON value where every {"key": <secret config key>, "value": ...} has its value masked.

    Covers ChangeConfiguration.req and a GetConfiguration.conf that (wrongly) lists the key.
    """
    if isinstance(payload, dict):
        masked = {k: mask_payload(v) for k, v in payload.items()}
        if masked.get("key") in SECRET_CONFIG_KEYS and "value" in masked:
            masked["value"] = MASK
        return masked
    if isinstance(payload, list):
        return [mask_payload(v) for v in payload]
    return payload


def mask_frame_text(text: str) -> str:
    """A raw frame (or any text) made safe to show; the secret config value is masked even in malformed JSON."""
    if any(key in text for key in SECRET_CONFIG_KEYS):
        try:
            text = json.dumps(mask_payload(json.loads(text)), separators=(",", ":"))
        except ValueError:
            text = _VALUE_AFTER_KEY.sub(lambda m: m.group(1) + MASK + m.group(3), text)
    return mask_text(text)


class SecretFilter(logging.Filter):
    """Masks secrets in a record's final message; install on handlers or loggers (it never drops records)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is logging's problem, not ours
            return True
        masked = mask_frame_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


SECRET_FILTER = SecretFilter()


def install_secret_filter() -> None:
    """Masks the websockets loggers (the client logs request headers at DEBUG); ours add the filter themselves."""
    for name in ("websockets", "websockets.client", "websockets.server", "websockets.protocol"):
        lg = logging.getLogger(name)
        if SECRET_FILTER not in lg.filters:
            lg.addFilter(SECRET_FILTER)
