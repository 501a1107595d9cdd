"""Authorization of idTags: local list, then cache, then Authorize.req, under the OCPP 1.6 offline rules.

While the link is down the answer comes at once from local data (the queue refuses normal-lane CALLs
immediately), never after a timeout, so a driver at the charger is not kept waiting.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from module.core.timestamps import parse_time

log = logging.getLogger(__name__)

ACCEPTED = "Accepted"


def is_expired(info: dict[str, Any], now: datetime) -> bool:
    expiry = parse_time(info.get("expiryDate"))
    return expiry is not None and expiry <= now


class IdTagStore(Protocol):
    """A table of idTagInfo by idTag: the authorization cache or the local authorization list."""

    def get(self, id_tag: str) -> dict[str, Any] | None: ...


class AuthCache(IdTagStore, Protocol):
    def put(self, id_tag: str, info: dict[str, Any]) -> None: ...

    def clear(self) -> None: ...


@dataclass(frozen=True)
class AuthorizationSettings:
    local_pre_authorize: bool
    local_authorize_offline: bool
    allow_offline_tx_for_unknown_id: bool
    cache_enabled: bool
    local_list_enabled: bool


class Authorizer:
    """Decides an idTag's idTagInfo; `online` and `send_authorize` come from the link and the queue."""

    def __init__(self, settings: Callable[[], AuthorizationSettings], cache: AuthCache, local_list: IdTagStore,
                 online: Callable[[], bool],
                 send_authorize: Callable[[str], Awaitable[dict[str, Any] | None]],
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._settings = settings
        self._cache = cache
        self._local_list = local_list
        self._online = online
        self._send_authorize = send_authorize
        self._now = now

    def _local_answer(self, id_tag: str, settings: AuthorizationSettings) -> dict[str, Any] | None:
        """A valid answer from the local list or the cache, or None when the CSMS (or offline rules) must decide."""
        if settings.local_list_enabled:
            listed = self._local_list.get(id_tag)
            if listed is not None:
                if listed.get("status") == ACCEPTED and is_expired(listed, self._now()):
                    return {**listed, "status": "Expired"}
                return listed
        if settings.cache_enabled:
            cached = self._cache.get(id_tag)
            if cached is not None and cached.get("status") == ACCEPTED:
                if not is_expired(cached, self._now()):
                    return cached
                self._cache.put(id_tag, {**cached, "status": "Expired"})
        return None

    async def authorize(self, id_tag: str) -> dict[str, Any]:
        settings = self._settings()
        online = self._online()
        if (online and settings.local_pre_authorize) or (not online and settings.local_authorize_offline):
            local = self._local_answer(id_tag, settings)
            if local is not None:
                return local
        if online:
            answer = await self._send_authorize(id_tag)
            if answer is not None:
                self.remember(id_tag, answer)
                return answer
            log.info("no answer to Authorize for an idTag: applying the offline rules")
            if settings.local_authorize_offline:
                local = self._local_answer(id_tag, settings)
                if local is not None:
                    return local
        if settings.allow_offline_tx_for_unknown_id:
            return {"status": ACCEPTED}
        return {"status": "Invalid"}

    def remember(self, id_tag: str, info: dict[str, Any]) -> None:
        """Feed the cache from Authorize, StartTransaction and StopTransaction idTagInfo."""
        if self._settings().cache_enabled and info:
            self._cache.put(id_tag, info)
