"""Keeping the AuthorizationKey and the Basic auth header out of every log, message log and error text."""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterable
from typing import Any, Protocol

MASK = "*****"

_BASIC = re.compile(r"(?i)(authorization\s*[:=]\s*['\"]?\s*basic\s+)[A-Za-z0-9+/=._-]+")
_VALUE_AFTER_KEY = re.compile(r"""(['"]value['"]\s*:\s*['"])([^'"]*)(['"]?)""")
_WEBSOCKETS_FRAME = re.compile(r"^([<>] (?:TEXT|BINARY)) .*?( \[\d+ bytes\])?$", re.DOTALL)


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


class PayloadSecrets(Protocol):
    """Where secrets travel inside OCPP payloads, as a layer above the link knows it (the link names no action)."""

    markers: frozenset[str]
    """Text present in every frame that may carry such a secret: frames without it are not parsed again."""

    def values(self, action: str, payload: Any) -> Iterable[str]:
        """The secrets an incoming CALL brings (masked from then on); any JSON may come here, unchecked."""
        ...

    def mask(self, payload: Any) -> Any:
        """A copy of one JSON value (not its children) with its secret fields replaced by MASK."""
        ...


_PAYLOAD_SECRETS: dict[str, PayloadSecrets] = {}


def register_payload_secrets(name: str, rule: PayloadSecrets) -> None:
    """Register (or replace) the rule `name`."""
    _PAYLOAD_SECRETS[name] = rule


def learn_secrets(action: str, payload: Any) -> None:
    """A secret is masked from the moment it arrives, even in a CALL that is refused later."""
    for rule in _PAYLOAD_SECRETS.values():
        SECRETS.add(*rule.values(action, payload))
_FORMATTER = logging.Formatter()


def mask_text(text: str) -> str:
    """Any text: known secrets and Basic auth credentials replaced by the mask."""
    return SECRETS.mask(text)


def mask_payload(payload: Any) -> Any:
    """A copy of a JSON value with the secret fields the registered rules know masked, at any depth."""
    if isinstance(payload, dict):
        masked: Any = {k: mask_payload(v) for k, v in payload.items()}
        for rule in _PAYLOAD_SECRETS.values():
            masked = rule.mask(masked)
        return masked
    if isinstance(payload, list):
        return [mask_payload(v) for v in payload]
    return payload


def mask_frame_text(text: str) -> str:
    """A raw frame (or any text) made safe to show. A frame with a registered marker that cannot be parsed (malformed,
    or nested too deep for the parser or for mask_payload: both recurse) has every "value" string masked."""
    if any(marker in text for rule in _PAYLOAD_SECRETS.values() for marker in rule.markers):
        try:
            text = json.dumps(mask_payload(json.loads(text)), separators=(",", ":"))
        except (ValueError, RecursionError):
            text = _VALUE_AFTER_KEY.sub(lambda m: m.group(1) + MASK + m.group(3), text)
    return mask_text(text)


class SecretFilter(logging.Filter):
    """Masks secrets in a record's final message, for handlers or loggers; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        mask_record(record)
        return True


def mask_record(record: logging.LogRecord) -> None:
    """Rewrites the record's message with secrets masked; websockets frame dumps lose their content
    (they may be cut mid-secret; the message log shows frames masked)."""
    try:
        message = record.getMessage()
    except Exception:  # a broken format string is logging's problem, not ours
        return
    masked = mask_frame_text(message)
    if record.name.startswith("websockets"):
        masked = _WEBSOCKETS_FRAME.sub(lambda m: m.group(1) + " <content in the message log>" + (m.group(2) or ""),
                                       masked)
    if masked != message:
        record.msg, record.args = masked, None
    if record.exc_info and not record.exc_text:
        record.exc_text = mask_frame_text(_FORMATTER.formatException(record.exc_info))


SECRET_FILTER = SecretFilter()
_installed = False


def install_secret_masking() -> None:
    """Masks every log record of the process at creation, whatever logger or handler it goes to."""
    global _installed
    if _installed:
        return
    _installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        mask_record(record)
        return record

    logging.setLogRecordFactory(factory)
