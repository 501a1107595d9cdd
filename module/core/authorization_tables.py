"""The first authorization migration as it shipped: the cache and the local list tables in one.

Two services own these tables (AuthorizationService the cache, LocalAuthListService the list). Both register this
migration under its shipped name, which applies it once, whichever registers first; so a new database gets exactly
the tables of one an earlier release made, and each owner's later migrations build on them.
"""

from __future__ import annotations

NAME = "core_authorization"
STATEMENTS = (
    "CREATE TABLE auth_cache (id_tag TEXT PRIMARY KEY, info TEXT NOT NULL, updated_at TEXT NOT NULL)",
    "CREATE TABLE local_auth_list (id_tag TEXT PRIMARY KEY, info TEXT NOT NULL)",
    "CREATE TABLE local_auth_list_version (id INTEGER PRIMARY KEY CHECK (id = 0), version INTEGER NOT NULL)",
    "INSERT INTO local_auth_list_version (id, version) VALUES (0, 0)",
)
