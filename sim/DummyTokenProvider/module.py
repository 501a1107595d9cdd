"""Turns JSON tokens from an external MQTT topic into provided_token publications."""

from __future__ import annotations

import json
import logging

from framework.errors import SchemaValidationError
from framework.module import Module

log = logging.getLogger(__name__)


def redacted(token: dict) -> str:
    """Token values identify people: log only their last characters."""
    value = str(token.get("id_token", {}).get("value", ""))
    return f"...{value[-3:]}" if len(value) > 3 else "..."


async def main() -> None:
    mod = await Module.connect()
    topic = mod.config["mqtt_topic"]

    async def provide(payload: str) -> None:
        try:
            token = json.loads(payload)
        except json.JSONDecodeError as exc:
            log.error("ignoring a token that is not JSON: %s", exc)
            return
        if not isinstance(token, dict) or "id_token" not in token:
            log.error("ignoring a token without id_token")
            return
        token.setdefault("authorization_type", "RFID")
        try:
            await mod.publish("main", "provided_token", token)
        except SchemaValidationError as exc:
            log.error("ignoring an invalid token: %s", exc)
            return
        log.info("provided token %s", redacted(token))

    mod.subscribe_external(topic, provide)
    log.info("tokens are read from %s%s", mod.external_prefix, topic)
    await mod.signal_ready()
    try:
        await mod.run_forever()
    finally:
        await mod.close()
