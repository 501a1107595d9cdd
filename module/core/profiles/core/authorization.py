"""Authorization of idTags for the charger's auth module: the cache and local list tables and their rules."""

from __future__ import annotations

import json
import logging
from typing import Any

from module.core.authorization import AuthorizationSettings, Authorizer
from module.core.context import CoreContext
from module.core.profile import ServiceBase
from module.queue.database import Database

log = logging.getLogger(__name__)

_SCHEMA = [
    "CREATE TABLE auth_cache (id_tag TEXT PRIMARY KEY, info TEXT NOT NULL, updated_at TEXT NOT NULL)",
    "CREATE TABLE local_auth_list (id_tag TEXT PRIMARY KEY, info TEXT NOT NULL)",
    "CREATE TABLE local_auth_list_version (id INTEGER PRIMARY KEY CHECK (id = 0), version INTEGER NOT NULL)",
    "INSERT INTO local_auth_list_version (id, version) VALUES (0, 0)",
]
ID_TAG_MAX = 20


class IdTagTable:
    """idTagInfo by idTag, stored as JSON so that expiryDate and parentIdTag come back exactly as received."""

    def __init__(self, db: Database, table: str) -> None:
        db.register_migrations("core_authorization", _SCHEMA)
        self._db = db
        self._table = table

    def get(self, id_tag: str) -> dict[str, Any] | None:
        row = self._db.conn.execute(f"SELECT info FROM {self._table} WHERE id_tag = ?", (id_tag,)).fetchone()
        return json.loads(row[0]) if row else None


class AuthCacheTable(IdTagTable):
    def __init__(self, db: Database) -> None:
        super().__init__(db, "auth_cache")

    def put(self, id_tag: str, info: dict[str, Any]) -> None:
        with self._db.transaction(durable=False) as conn:
            conn.execute(
                "INSERT INTO auth_cache (id_tag, info, updated_at) VALUES (?, ?, datetime('now'))"
                " ON CONFLICT (id_tag) DO UPDATE SET info = excluded.info, updated_at = excluded.updated_at",
                (id_tag, json.dumps(info)))

    def clear(self) -> None:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM auth_cache")


class AuthorizationService(ServiceBase):
    """Local list, then cache, then Authorize.req, under the keys' offline rules (module/core/authorization.py)."""

    def __init__(self, ctx: CoreContext) -> None:
        self._ctx = ctx
        self.cache = AuthCacheTable(ctx.db)
        self.local_list = IdTagTable(ctx.db, "local_auth_list")
        self.authorizer = Authorizer(self._settings, self.cache, self.local_list, online=ctx.online,
                                     send_authorize=self._send_authorize)

    def _settings(self) -> AuthorizationSettings:
        cfg = self._ctx.cfg
        return AuthorizationSettings(
            local_pre_authorize=cfg.get("LocalPreAuthorize"),
            local_authorize_offline=cfg.get("LocalAuthorizeOffline"),
            allow_offline_tx_for_unknown_id=bool(cfg.get("AllowOfflineTxForUnknownId")),
            cache_enabled=bool(cfg.get("AuthorizationCacheEnabled")),
            local_list_enabled="LocalAuthListManagement" in cfg.supported_profiles
            and cfg.get("LocalAuthListEnabled"))

    async def _send_authorize(self, id_tag: str) -> dict[str, Any] | None:
        response = await self._ctx.send("Authorize", {"idTag": id_tag})
        return None if response is None else response.get("idTagInfo")

    async def validate(self, id_tag: str) -> dict[str, Any]:
        """The idTagInfo for a token presented at the charger; never raises. When something failed the status
        is Unknown (EVerest's AuthorizationStatus has it; 1.6's idTagInfo has not, so it never reaches the CSMS)."""
        try:
            return await self.authorizer.authorize(id_tag[:ID_TAG_MAX])
        except Exception:
            log.exception("token validation failed")
            return {"status": "Unknown"}

    def remember(self, id_tag: str, info: dict[str, Any]) -> None:
        self.authorizer.remember(id_tag, info)
