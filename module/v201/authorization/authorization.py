"""Block C (authorization) and the local authorization list (D01 SendLocalList, D02 GetLocalListVersion).

A token the charger's auth module asks about (validate_token) is decided, as the 2.0.1 rules say:

1. the local list (LocalAuthListCtrlr.Enabled): online only with AuthCtrlr.LocalPreAuthorize, offline with
   LocalAuthorizeOffline; an Accepted entry authorizes without the CSMS, any other status refuses;
2. the authorization cache (AuthCacheCtrlr.Enabled), with the same two switches, entries older than
   AuthCacheCtrlr.LifeTime or past their cacheExpiryDateTime not used;
3. online: Authorize, and the answer is cached (C10); the cache is cleared by ClearCache (C11);
4. offline and unknown: Accepted when OfflineTxForUnknownIdEnabled, else Unknown;
with AuthCtrlr.Enabled false every token is Accepted at once.

The list and the cache are SQLite tables in the station's database, keyed by idToken and type; a Full
SendLocalList replaces the list in one write, a Differential one adds, updates (with idTokenInfo) or removes
(without) entries; a version of 0 or below the current one is refused as VersionMismatch.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from module.core.timestamps import parse_time, utc_now
from module.link.errors import CallTimeout, LinkDown, OcppError
from module.link.reply import Reply
from module.queue.database import Database
from module.queue.message_queue import MessageQueue, Offline
from module.v201.device_model.device_model import DeviceModel

SEND_LOCAL_LIST, GET_LOCAL_LIST_VERSION, CLEAR_CACHE = "SendLocalList", "GetLocalListVersion", "ClearCache"

_SCHEMA = [
    "CREATE TABLE local_list_201 (id_token TEXT NOT NULL, type TEXT NOT NULL, info TEXT NOT NULL,"
    " PRIMARY KEY (id_token, type))",
    "CREATE TABLE local_list_version_201 (id INTEGER PRIMARY KEY CHECK (id = 0), version INTEGER NOT NULL)",
    "CREATE TABLE auth_cache_201 (id_token TEXT NOT NULL, type TEXT NOT NULL, info TEXT NOT NULL,"
    " cached_at TEXT NOT NULL, PRIMARY KEY (id_token, type))",
]
CACHE_ENTRIES = 1000
"""Most tokens cached; the oldest go first."""


class ListTooLong(Exception):
    """The list would hold more entries than LocalAuthListCtrlr.Entries allows: the update is rolled back."""


def _on(model: DeviceModel, component: str, variable: str) -> bool:
    return (model.value_of(component, variable) or "false") == "true"


class Authorization:
    def __init__(self, model: DeviceModel, db: Database, queue: MessageQueue, online: Callable[[], bool],
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        db.register_migrations("authorization_201", _SCHEMA)
        self._model = model
        self._db = db
        self._queue = queue
        self._online = online
        self.now = now
        """The wall clock cache lifetimes are measured on (a test may move it)."""

    # -- deciding ----------------------------------------------------------------------------------------------
    async def authorize(self, id_token: dict[str, Any]) -> dict[str, Any]:
        """The idTokenInfo for a token (`{"idToken": ..., "type": ...}`); every token is Accepted while
        AuthCtrlr.Enabled is false (a station that charges without authorization)."""
        if not _on(self._model, "AuthCtrlr", "Enabled"):
            return {"status": "Accepted"}
        online = self._online()
        may_use_local = _on(self._model, "AuthCtrlr", "LocalPreAuthorize" if online else "LocalAuthorizeOffline")
        if may_use_local and _on(self._model, "LocalAuthListCtrlr", "Enabled"):
            row = self._db.conn.execute("SELECT info FROM local_list_201 WHERE id_token = ? AND type = ?",
                                        (id_token["idToken"], id_token["type"])).fetchone()
            if row is not None:
                return dict(json.loads(row[0]))
        if may_use_local and _on(self._model, "AuthCacheCtrlr", "Enabled"):
            cached = self._cached(id_token)
            if cached is not None:
                return cached
        if online:
            try:
                answer = await self._queue.send("Authorize", {"idToken": id_token})
            except (Offline, OcppError, CallTimeout, LinkDown):
                pass
            else:
                info: dict[str, Any] = answer["idTokenInfo"]
                self._cache(id_token, info)
                return info
        if _on(self._model, "AuthCtrlr", "OfflineTxForUnknownIdEnabled"):
            return {"status": "Accepted"}
        return {"status": "Unknown"}

    def _cached(self, id_token: dict[str, Any]) -> dict[str, Any] | None:
        row = self._db.conn.execute("SELECT info, cached_at FROM auth_cache_201 WHERE id_token = ? AND type = ?",
                                    (id_token["idToken"], id_token["type"])).fetchone()
        if row is None:
            return None
        info, cached_at = json.loads(row[0]), parse_time(row[1])
        lifetime = int(self._model.value_of("AuthCacheCtrlr", "LifeTime") or 0)
        expiry = parse_time(info.get("cacheExpiryDateTime"))
        now = self.now()
        if (cached_at is not None and lifetime and now > cached_at + timedelta(seconds=lifetime)) or \
                (expiry is not None and now > expiry):
            return None
        return info

    def _cache(self, id_token: dict[str, Any], info: dict[str, Any]) -> None:
        if not _on(self._model, "AuthCacheCtrlr", "Enabled"):
            return
        with self._db.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO auth_cache_201 (id_token, type, info, cached_at) VALUES (?, ?, ?, ?)",
                         (id_token["idToken"], id_token["type"], json.dumps(info), utc_now("milliseconds")))
            conn.execute("DELETE FROM auth_cache_201 WHERE rowid NOT IN (SELECT rowid FROM auth_cache_201 "
                         "ORDER BY cached_at DESC LIMIT ?)", (CACHE_ENTRIES,))

    # -- the CSMS's requests -------------------------------------------------------------------------------------
    def version(self) -> int:
        row = self._db.conn.execute("SELECT version FROM local_list_version_201").fetchone()
        return int(row[0]) if row else 0

    def get_local_list_version(self, _request: dict[str, Any]) -> Reply:
        return Reply({"versionNumber": self.version()})

    def clear_cache(self, _request: dict[str, Any]) -> Reply:
        if not _on(self._model, "AuthCacheCtrlr", "Enabled"):
            return Reply({"status": "Rejected"})
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM auth_cache_201")
        return Reply({"status": "Accepted"})

    def send_local_list(self, request: dict[str, Any]) -> Reply:
        if not _on(self._model, "LocalAuthListCtrlr", "Enabled"):
            return Reply({"status": "Failed", "statusInfo": {"reasonCode": "Disabled"}})
        version, entries = request["versionNumber"], request.get("localAuthorizationList") or []
        if version <= 0 or (request["updateType"] == "Differential" and version <= self.version()):
            return Reply({"status": "VersionMismatch"})
        spec = self._model.find({"name": "LocalAuthListCtrlr"}, {"name": "Entries"})
        limit = None if isinstance(spec, str) else spec.max_limit
        try:
            with self._db.transaction() as conn:  # all or nothing
                if request["updateType"] == "Full":
                    conn.execute("DELETE FROM local_list_201")
                for entry in entries:
                    token = entry["idToken"]
                    if entry.get("idTokenInfo") is None:
                        conn.execute("DELETE FROM local_list_201 WHERE id_token = ? AND type = ?",
                                     (token["idToken"], token["type"]))
                    else:
                        conn.execute("INSERT OR REPLACE INTO local_list_201 (id_token, type, info) VALUES (?, ?, ?)",
                                     (token["idToken"], token["type"], json.dumps(entry["idTokenInfo"])))
                count = conn.execute("SELECT COUNT(*) FROM local_list_201").fetchone()[0]
                if limit is not None and count > limit:
                    raise ListTooLong(count)
                conn.execute("INSERT OR REPLACE INTO local_list_version_201 (id, version) VALUES (0, ?)", (version,))
        except ListTooLong:
            return Reply({"status": "Failed", "statusInfo": {"reasonCode": "ListTooLong"}})
        if not isinstance(spec, str):
            self._model.write(spec, str(count))
        return Reply({"status": "Accepted"})
