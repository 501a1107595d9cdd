"""Authorization of idTags for the charger's auth module: the authorization cache and the rules over it and the
local list (which the LocalAuthListManagement profile owns and installs in the context)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from module.core import authorization_tables
from module.core.authorization import ACCEPTED, AuthorizationSettings, Authorizer
from module.core.context import CoreContext
from module.core.profile import ServiceBase
from module.queue.database import Database

log = logging.getLogger(__name__)

ID_TAG_MAX = 20

# Least-recently-used order: a counter bumped on every lookup and every update.
_RECENCY = [
    "ALTER TABLE auth_cache ADD COLUMN last_used INTEGER NOT NULL DEFAULT 0",
    "UPDATE auth_cache SET last_used = rowid",
    "CREATE INDEX auth_cache_by_use ON auth_cache (last_used)",
]
_NEXT_USE = "(SELECT COALESCE(MAX(last_used), 0) + 1 FROM auth_cache)"
# Valid: Accepted and not past its expiryDate (SQLite's julianday reads the ISO 8601 forms idTagInfo uses).
_VALID = (f"(json_extract(info, '$.status') = '{ACCEPTED}'"
          " AND COALESCE(julianday(json_extract(info, '$.expiryDate')) > julianday(?), 1))")


class AuthCacheTable:
    """idTagInfo by idTag as the CSMS last sent it (JSON, so expiryDate and parentIdTag come back exactly), at most
    `max_entries` of them. When it is full, entries that are not valid (blocked, invalid, expired) go first, then the
    least recently used valid ones (1.6 section 3.5.1); an expired entry is kept until then, as an idTag known to be
    expired must be refused offline, not treated as unknown. Writes are not fsynced: a cache may lose its latest
    entries to a power cut, never its consistency."""

    def __init__(self, db: Database, max_entries: Callable[[], int],
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        db.register_migrations(authorization_tables.NAME, authorization_tables.STATEMENTS)
        db.register_migrations("auth_cache_recency", _RECENCY)
        self._db = db
        self._max_entries = max_entries
        self._now = now

    def get(self, id_tag: str) -> dict[str, Any] | None:
        row = self._db.conn.execute("SELECT info FROM auth_cache WHERE id_tag = ?", (id_tag,)).fetchone()
        if row is None:
            return None
        with self._db.transaction(durable=False) as conn:
            conn.execute(f"UPDATE auth_cache SET last_used = {_NEXT_USE} WHERE id_tag = ?", (id_tag,))
        return json.loads(row[0])

    def put(self, id_tag: str, info: dict[str, Any]) -> None:
        with self._db.transaction(durable=False) as conn:
            conn.execute(
                f"INSERT INTO auth_cache (id_tag, info, updated_at, last_used) VALUES (?, ?, datetime('now'),"
                f" {_NEXT_USE}) ON CONFLICT (id_tag) DO UPDATE SET info = excluded.info,"
                " updated_at = excluded.updated_at, last_used = excluded.last_used",
                (id_tag, json.dumps(info)))
            excess = conn.execute("SELECT COUNT(*) FROM auth_cache").fetchone()[0] - self._max_entries()
            if excess > 0:
                conn.execute(
                    "DELETE FROM auth_cache WHERE id_tag IN"
                    f" (SELECT id_tag FROM auth_cache ORDER BY {_VALID}, last_used LIMIT ?)",
                    (self._now().isoformat(), excess))

    def clear(self) -> None:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM auth_cache")


class AuthorizationService(ServiceBase):
    """Local list, then cache, then Authorize.req, under the keys' offline rules (module/core/authorization.py)."""

    def __init__(self, ctx: CoreContext) -> None:
        self._ctx = ctx
        self.cache = AuthCacheTable(ctx.db, max_entries=lambda: ctx.cfg.get("AuthorizationCacheMaxEntries"))
        self.authorizer = Authorizer(self._settings, self.cache, ctx.local_list, online=ctx.online,
                                     send_authorize=self._send_authorize)

    def _settings(self) -> AuthorizationSettings:
        cfg = self._ctx.cfg
        return AuthorizationSettings(
            local_pre_authorize=cfg.get("LocalPreAuthorize"),
            local_authorize_offline=cfg.get("LocalAuthorizeOffline"),
            allow_offline_tx_for_unknown_id=bool(cfg.get("AllowOfflineTxForUnknownId")),
            cache_enabled=bool(cfg.get("AuthorizationCacheEnabled")))

    async def _send_authorize(self, id_tag: str) -> dict[str, Any] | None:
        response = await self._ctx.send("Authorize", {"idTag": id_tag})
        return None if response is None else response.get("idTagInfo")

    async def validate(self, id_tag: str) -> dict[str, Any]:
        """The idTagInfo for a token presented at the charger (with its parentIdTag, from the list, the cache or
        the CSMS, so the auth module can let another card of the same group stop a transaction); never raises.
        When something failed the status is Unknown (EVerest's AuthorizationStatus has it; 1.6's idTagInfo has not,
        so it never reaches the CSMS)."""
        try:
            return await self.authorizer.authorize(id_tag[:ID_TAG_MAX])
        except Exception:
            log.exception("token validation failed")
            return {"status": "Unknown"}

    def remember(self, id_tag: str, info: dict[str, Any]) -> None:
        self.authorizer.remember(id_tag, info)
