"""The authorization cache's bound (AuthorizationCacheMaxEntries) and its upgrade, in process."""

from __future__ import annotations

from pathlib import Path

from module.core import authorization_tables
from module.core.profiles.core.authorization import AuthCacheTable
from module.queue.database import Database
from sim.csms.server import LocalCsms
from tests.core.station import Station, station

PAST = "2020-01-01T00:00:00Z"
CACHE_OF_THREE = {"Internal": {"AuthorizationCacheMaxEntries": 3},
                  "Core": {"AuthorizationCacheEnabled": True, "LocalPreAuthorize": True, "LocalAuthorizeOffline": True,
                           "AllowOfflineTxForUnknownId": False}}


async def statuses(cp: Station, *id_tags: str) -> list[str]:
    return [(await cp.charge_point.core.authorization.validate(id_tag))["status"] for id_tag in id_tags]


async def test_a_full_cache_drops_the_least_recently_used_entry(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms, config=CACHE_OF_THREE) as cp:
        assert await statuses(cp, "A", "B", "C", "A", "D") == ["Accepted"] * 5
        assert [p["idTag"] for p in csms.payloads("Authorize")] == ["A", "B", "C", "D"]  # A came from the cache
        await cp.go_offline()
        assert await statuses(cp, "A", "B", "C", "D") == ["Accepted", "Invalid", "Accepted", "Accepted"]


async def test_a_full_cache_drops_entries_that_are_not_valid_first(tmp_path: Path, csms: LocalCsms) -> None:
    async with station(tmp_path, csms, config=CACHE_OF_THREE) as cp:
        csms.set_id_tag("BLOCKED", "Blocked")
        csms.set_id_tag("OLD", "Accepted", expiry_date=PAST)
        await statuses(cp, "A", "BLOCKED", "OLD", "D", "E")
        await cp.go_offline()
        # A is the least recently used, yet valid: the blocked and the expired entry made room for D and E.
        assert await statuses(cp, "A", "D", "E") == ["Accepted", "Accepted", "Accepted"]


def test_a_cache_of_an_earlier_release_is_kept_on_upgrade(tmp_path: Path) -> None:
    db = Database.open(tmp_path, "CP1")
    db.register_migrations(authorization_tables.NAME, authorization_tables.STATEMENTS)
    db.conn.execute("""INSERT INTO auth_cache VALUES ('OLD', '{"status": "Accepted"}', datetime('now'))""")
    cache = AuthCacheTable(db, max_entries=lambda: 2)
    assert cache.get("OLD") == {"status": "Accepted"}
    cache.put("NEW1", {"status": "Accepted"})
    cache.put("NEW2", {"status": "Accepted"})
    assert (cache.get("OLD"), cache.get("NEW2")) == (None, {"status": "Accepted"})
    db.close()
