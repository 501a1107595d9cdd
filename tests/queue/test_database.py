"""The database file: migrations by name, corrupt files moved aside, a full disk refused loudly."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from module.link.link import OcppLink
from module.queue.database import Database, DatabaseFull
from module.queue.message_queue import MessageQueue, QueueSettings
from module.v16.transaction_policy import V16TransactionPolicy
from module.v16.transactions import TransactionState, TransactionStore
from tests.queue.conftest import BOOT, link_settings
from tests.queue.messages import meter_values, start_transaction


def test_durable_settings_and_migrations_applied_once_in_order(tmp_path: Path) -> None:
    db = Database.open(tmp_path, "CP1")
    assert db.path == tmp_path / "CP1.db"
    assert db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    TransactionStore(db)
    assert db.register_migrations("auth_cache_1", ["CREATE TABLE auth_cache (id_tag TEXT PRIMARY KEY)"])
    db.close()

    db = Database.open(tmp_path, "CP1")
    assert not db.register_migrations("auth_cache_1", ["CREATE TABLE auth_cache (id_tag TEXT PRIMARY KEY)"])
    assert db.register_migrations("auth_cache_2", ["ALTER TABLE auth_cache ADD COLUMN status TEXT"])
    assert db.applied_migrations() == ["transactions_1", "auth_cache_1", "auth_cache_2"]
    assert db.sqlite["auth_cache"].columns_dict == {"id_tag": str, "status": str}


def test_failed_migration_leaves_nothing_behind(tmp_path: Path) -> None:
    db = Database.open(tmp_path, "CP1")
    with pytest.raises(sqlite3.OperationalError):
        db.register_migrations("broken_1", ["CREATE TABLE half (a)", "THIS IS NOT SQL"])
    assert not db.migration_applied("broken_1")
    assert not db.sqlite["half"].exists()


def test_file_that_is_not_a_database_is_moved_aside(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "CP1.db").write_bytes(b"this is not sqlite" * 500)
    with caplog.at_level(logging.CRITICAL):
        db = Database.open(tmp_path, "CP1")
    kept = list(tmp_path.glob("CP1.corrupt-*.db"))
    assert len(kept) == 1 and kept[0].read_bytes().startswith(b"this is not sqlite")
    assert "CORRUPT" in caplog.text and kept[0].name in caplog.text
    assert TransactionStore(db).unfinished() == []


def test_file_failing_the_integrity_check_is_moved_aside(tmp_path: Path) -> None:
    db = Database.open(tmp_path, "CP1")
    db.register_migrations("filler_1", ["CREATE TABLE filler (a TEXT)", "CREATE INDEX filler_a ON filler (a)"])
    with db.transaction():
        db.conn.executemany("INSERT INTO filler VALUES (?)", [(f"row {i}" * 20,) for i in range(2000)])
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    data = bytearray((tmp_path / "CP1.db").read_bytes())
    page = 4096
    for offset in range(page * 5, page * 5 + page, 7):  # scribble over one b-tree page
        data[offset] = 0xA5
    (tmp_path / "CP1.db").write_bytes(bytes(data))

    db = Database.open(tmp_path, "CP1")
    assert len(list(tmp_path.glob("CP1.corrupt-*.db"))) == 1
    assert not db.sqlite["filler"].exists()


async def test_full_disk_makes_enqueueing_fail_loudly_and_keeps_what_was_stored(tmp_path: Path) -> None:
    db = Database.open(tmp_path, "CP1")
    link = OcppLink(link_settings("127.0.0.1:1"))
    queue = MessageQueue(db, link, QueueSettings(), V16TransactionPolicy(db), boot_payload=lambda: dict(BOOT),
                         on_boot_accepted=lambda response: None)
    pages = db.conn.execute("PRAGMA page_count").fetchone()[0]
    db.conn.execute(f"PRAGMA max_page_count = {pages + 3}")
    stored = 0
    with pytest.raises(DatabaseFull, match="full"):
        for number in range(10_000):
            await queue.enqueue_transactional("MeterValues", meter_values(number))
            stored += 1
    assert 0 < stored < 10_000
    assert queue.queued() == stored
    assert db.conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == stored

    db.conn.execute(f"PRAGMA max_page_count = {pages + 6}")
    with pytest.raises(DatabaseFull):
        for number in range(10_000):
            await queue.enqueue_transactional("StartTransaction", start_transaction(), session_id=f"S{number}")
    sessions = {row[0] for row in db.conn.execute("SELECT session_id FROM transactions")}
    queued = {row[0] for row in db.conn.execute("SELECT session_id FROM outbox WHERE session_id IS NOT NULL")}
    assert sessions == queued and sessions  # a transaction row only together with its StartTransaction
    db.close()


def test_placeholder_ids_are_negative_unique_and_survive_a_restart(tmp_path: Path) -> None:
    db = Database.open(tmp_path, "CP1")
    store = TransactionStore(db)
    first = store.open("S1", 1, "TAG1", 0, "2026-01-01T00:00:00Z")
    second = store.open("S2", 2, "TAG2", 10, "2026-01-01T00:00:00Z", reservation_id=5)
    assert (first.placeholder_id, second.placeholder_id) == (-1, -2)
    assert store.open("S1", 1, "TAG1", 0, None) == first
    store.confirm_start("S1", 4711)
    store.record_meter("S2", 1234.5, "2026-01-01T00:10:00Z")
    db.close()

    db = Database.open(tmp_path, "CP1")
    store = TransactionStore(db)
    assert store.open("S3", 1, "TAG3", 0, None).placeholder_id == -3
    assert store.get("S1").csms_transaction_id == 4711
    assert store.get("S2").last_meter_value == 1234.5
    store.record_stop("S1", 500, "2026-01-01T01:00:00Z", "Local")
    store.set_state("S1", TransactionState.FINISHED)
    assert [t.session_id for t in store.unfinished()] == ["S2", "S3"]
    assert store.get("S2").transaction_id == -2 and store.get("S1").transaction_id == 4711
