"""The auth requirement (and our auth_provider var): the core's AuthPort."""

from __future__ import annotations

from typing import Any

from framework.module import Module
from module.impl.requirements.command import call


class AuthModule:
    def __init__(self, mod: Module) -> None:
        self._mod = mod
        self._auth = mod.requirement("auth")

    async def provide_token(self, id_tag: str, connectors: list[int] | None, prevalidated: bool,
                            parent_id_tag: str | None = None, token_type: str = "Central") -> None:
        """A remote start's token, published on the provided auth_provider for the auth module (1.6 idTags are
        Central; a 2.0.1 idToken keeps its type)."""
        token: dict[str, Any] = {"id_token": {"value": id_tag, "type": token_type}, "authorization_type": "OCPP",
                                 "prevalidated": prevalidated}
        if connectors:
            token["connectors"] = connectors
        if parent_id_tag:
            token["parent_id_token"] = {"value": parent_id_tag, "type": "Central"}
        await self._mod.publish("auth_provider", "provided_token", token)

    async def set_connection_timeout(self, seconds: int) -> None:
        await call(self._auth, "set_connection_timeout", {"connection_timeout": int(seconds)})
