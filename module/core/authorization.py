"""Authorization of idTags: local list, then cache, then Authorize.req, under the OCPP 1.6 offline rules.

While the link is down the answer comes at once from local data (the queue refuses normal-lane CALLs
immediately), never after a timeout, so a driver at the charger is not kept waiting.

The rules (1.6 sections 3.5.1-3.5.4): an entry of the local list decides over the cache; an entry whose expiryDate
passed is Expired; a known idTag that is not valid is never treated as "unknown" (AllowOfflineTxForUnknownId does
not let it in); answers of the CSMS feed the cache, never the list, and not for idTags the list holds.
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
EXPIRED = "Expired"


def is_expired(info: dict[str, Any], now: datetime) -> bool:
    expiry = parse_time(info.get("expiryDate"))
    return expiry is not None and expiry <= now


def as_of(info: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The idTagInfo as it stands at `now`: an Accepted entry past its expiryDate is Expired."""
    return {**info, "status": EXPIRED} if info.get("status") == ACCEPTED and is_expired(info, now) else info


class IdTagStore(Protocol):
    """A table of idTagInfo by idTag: the authorization cache or the local authorization list."""

    def get(self, id_tag: str) -> dict[str, Any] | None: ...


class AuthCache(IdTagStore, Protocol):
    def put(self, id_tag: str, info: dict[str, Any]) -> None: ...

    def clear(self) -> None: ...


class LocalListView(IdTagStore, Protocol):
    """The local authorization list as authorization reads it."""

    def enabled(self) -> bool:
        """LocalAuthListEnabled: the list is consulted at all."""
        ...


class LocalListSlot:
    """Where authorization finds the local list: unused until the LocalAuthListManagement profile, registered only
    when SupportedFeatureProfiles lists it, installs its list here (module/core/profiles/local_auth_list)."""

    def __init__(self) -> None:
        self._list: LocalListView | None = None

    def install(self, local_list: LocalListView) -> None:
        self._list = local_list

    def enabled(self) -> bool:
        return self._list is not None and self._list.enabled()

    def get(self, id_tag: str) -> dict[str, Any] | None:
        return None if self._list is None else self._list.get(id_tag)


@dataclass(frozen=True)
class AuthorizationSettings:
    local_pre_authorize: bool
    local_authorize_offline: bool
    allow_offline_tx_for_unknown_id: bool
    cache_enabled: bool


@dataclass(frozen=True)
class Known:
    """What the charge point holds of an idTag: its idTagInfo as of now, and whether the local list holds it."""

    info: dict[str, Any]
    listed: bool


class Authorizer:
    """Decides an idTag's idTagInfo; `online` and `send_authorize` come from the link and the queue."""

    def __init__(self, settings: Callable[[], AuthorizationSettings], cache: AuthCache, local_list: LocalListView,
                 online: Callable[[], bool],
                 send_authorize: Callable[[str], Awaitable[dict[str, Any] | None]],
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._settings = settings
        self._cache = cache
        self._local_list = local_list
        self._online = online
        self._send_authorize = send_authorize
        self._now = now

    def _known(self, id_tag: str, settings: AuthorizationSettings) -> Known | None:
        """The list's entry, which wins; else the cache's, which is changed to Expired in the cache once its
        expiryDate passed (1.6 section 3.5.1). The list itself is never changed here."""
        now = self._now()
        if self._local_list.enabled():
            listed = self._local_list.get(id_tag)
            if listed is not None:
                return Known(as_of(listed, now), listed=True)
        if settings.cache_enabled:
            cached = self._cache.get(id_tag)
            if cached is not None:
                info = as_of(cached, now)
                if info is not cached:
                    self._cache.put(id_tag, info)
                return Known(info, listed=False)
        return None

    async def authorize(self, id_tag: str) -> dict[str, Any]:
        settings = self._settings()
        known = self._known(id_tag, settings)
        valid = known is not None and known.info.get("status") == ACCEPTED
        if self._online():
            # LocalPreAuthorize: a valid local entry starts at once, and a list entry's status is final; a cached
            # entry that is not valid is asked about again.
            if settings.local_pre_authorize and known is not None and (valid or known.listed):
                return known.info
            answer = await self._send_authorize(id_tag)
            if answer is not None:
                self.remember(id_tag, answer)
                return answer
            log.info("no answer to Authorize for an idTag: applying the offline rules")
        return self._offline(known, valid, settings)

    @staticmethod
    def _offline(known: Known | None, valid: bool, settings: AuthorizationSettings) -> dict[str, Any]:
        if known is not None and not valid:
            return known.info  # known and not valid: rejected, never "unknown" (1.6 section 3.5.4)
        if known is not None and settings.local_authorize_offline:
            return known.info
        if settings.allow_offline_tx_for_unknown_id:
            return {"status": ACCEPTED}
        return {"status": "Invalid"}

    def remember(self, id_tag: str, info: dict[str, Any]) -> None:
        """Feed the cache from Authorize, StartTransaction and StopTransaction idTagInfo; never the list, and not
        for an idTag the list holds (1.6 section 3.5.3: the list's entry keeps priority)."""
        if not info or not self._settings().cache_enabled:
            return
        if self._local_list.enabled() and self._local_list.get(id_tag) is not None:
            return
        self._cache.put(id_tag, info)
