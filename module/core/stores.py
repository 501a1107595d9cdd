"""The core's tables in the charge point database: authorization cache, local list, connector availability.

Each table comes as a named migration of the one database file the queue owns, so the whole state of the
charge point lives (and is backed up, or moved aside when corrupt) together.
"""

from __future__ import annotations

import json
from typing import Any

from module.queue.database import Database

_AUTH_SCHEMA = [
    "CREATE TABLE auth_cache (id_tag TEXT PRIMARY KEY, info TEXT NOT NULL, updated_at TEXT NOT NULL)",
    "CREATE TABLE local_auth_list (id_tag TEXT PRIMARY KEY, info TEXT NOT NULL)",
    "CREATE TABLE local_auth_list_version (id INTEGER PRIMARY KEY CHECK (id = 0), version INTEGER NOT NULL)",
    "INSERT INTO local_auth_list_version (id, version) VALUES (0, 0)",
]
_AVAILABILITY_SCHEMA = [
    "CREATE TABLE connector_availability (connector_id INTEGER PRIMARY KEY, operative INTEGER NOT NULL,"
    " scheduled INTEGER)",
]


class IdTagTable:
    """idTagInfo by idTag, stored as JSON so that expiryDate and parentIdTag come back exactly as received."""

    def __init__(self, db: Database, table: str) -> None:
        db.register_migrations("core_authorization", _AUTH_SCHEMA)
        self._db = db
        self._table = table

    def get(self, id_tag: str) -> dict[str, Any] | None:
        row = self._db.conn.execute(f"SELECT info FROM {self._table} WHERE id_tag = ?", (id_tag,)).fetchone()
        return json.loads(row[0]) if row else None

    def __len__(self) -> int:
        return self._db.conn.execute(f"SELECT COUNT(*) FROM {self._table}").fetchone()[0]


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


class LocalAuthListTable(IdTagTable):
    def __init__(self, db: Database) -> None:
        super().__init__(db, "local_auth_list")

    @property
    def version(self) -> int:
        return self._db.conn.execute("SELECT version FROM local_auth_list_version WHERE id = 0").fetchone()[0]


class AvailabilityTable:
    """Operative / Inoperative per connector (0 = the whole charge point), plus a change waiting for a session end.

    Kept on disk so that a charge point taken out of service by the CSMS stays out of service after a reboot.
    """

    def __init__(self, db: Database) -> None:
        db.register_migrations("core_availability", _AVAILABILITY_SCHEMA)
        self._db = db

    def operative(self, connector_id: int) -> bool:
        row = self._db.conn.execute("SELECT operative FROM connector_availability WHERE connector_id = ?",
                                    (connector_id,)).fetchone()
        return bool(row[0]) if row else True

    def scheduled(self) -> dict[int, bool]:
        rows = self._db.conn.execute(
            "SELECT connector_id, scheduled FROM connector_availability WHERE scheduled IS NOT NULL")
        return {connector_id: bool(scheduled) for connector_id, scheduled in rows}

    def set(self, connector_id: int, operative: bool) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO connector_availability (connector_id, operative, scheduled) VALUES (?, ?, NULL)"
                " ON CONFLICT (connector_id) DO UPDATE SET operative = excluded.operative, scheduled = NULL",
                (connector_id, int(operative)))

    def schedule(self, connector_id: int, operative: bool) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO connector_availability (connector_id, operative, scheduled) VALUES (?, 1, ?)"
                " ON CONFLICT (connector_id) DO UPDATE SET scheduled = excluded.scheduled",
                (connector_id, int(operative)))
