"""The local authorization list and its version, in the charge point's SQLite file.

Every update is one durable transaction: it is on disk before SendLocalList is answered, and a crash or power cut
leaves the old list or the new one, never a mix of the two.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from module.core import authorization_tables
from module.queue.database import Database


class ListTooLong(Exception):
    """The update would leave more entries than the list may hold; nothing of it was applied."""


class LocalAuthList:
    """idTagInfo by idTag as the CSMS sent it (JSON, so expiryDate and parentIdTag come back exactly), and the
    version the CSMS gave the list."""

    def __init__(self, db: Database) -> None:
        db.register_migrations(authorization_tables.NAME, authorization_tables.STATEMENTS)
        self._db = db

    def get(self, id_tag: str) -> dict[str, Any] | None:
        row = self._db.conn.execute("SELECT info FROM local_auth_list WHERE id_tag = ?", (id_tag,)).fetchone()
        return json.loads(row[0]) if row else None

    def version(self) -> int:
        """The version of the last accepted update (0 before the first one), whether or not the list is empty."""
        row = self._db.conn.execute("SELECT version FROM local_auth_list_version WHERE id = 0").fetchone()
        return int(row[0]) if row else 0

    def size(self) -> int:
        return int(self._db.conn.execute("SELECT COUNT(*) FROM local_auth_list").fetchone()[0])

    def replace(self, version: int, entries: Mapping[str, dict[str, Any]], max_length: int) -> None:
        """A Full update: `entries` become the list."""
        if len(entries) > max_length:
            raise ListTooLong(f"{len(entries)} entries, at most {max_length} fit")
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM local_auth_list")
            # One JSON document for the whole list, split into rows by SQLite: a third faster than a row each.
            conn.execute("INSERT INTO local_auth_list (id_tag, info) SELECT key, value FROM json_each(?)",
                         (json.dumps(entries),))
            self._set_version(version)

    def update(self, version: int, changes: Mapping[str, dict[str, Any] | None], max_length: int) -> None:
        """A Differential update: an idTag with idTagInfo is added or updated, one with None is removed."""
        document = json.dumps(changes)
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM local_auth_list WHERE id_tag IN"
                         " (SELECT key FROM json_each(?) WHERE type = 'null')", (document,))
            conn.execute("INSERT INTO local_auth_list (id_tag, info) SELECT key, value FROM json_each(?)"
                         " WHERE type = 'object' ON CONFLICT (id_tag) DO UPDATE SET info = excluded.info",
                         (document,))
            size = self.size()
            if size > max_length:
                raise ListTooLong(f"the update leaves {size} entries, at most {max_length} fit")
            self._set_version(version)

    def _set_version(self, version: int) -> None:
        self._db.conn.execute(
            "INSERT INTO local_auth_list_version (id, version) VALUES (0, ?)"
            " ON CONFLICT (id) DO UPDATE SET version = excluded.version", (version,))
