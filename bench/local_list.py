"""Local authorization list benchmark, every figure next to a baseline measured in the same run:
`python bench/local_list.py`.

1. SendLocalList Full of 10,000 entries to the real charge point (link with its schema check, the SendLocalList
   rules, one fsynced SQLite transaction) from the local CSMS on loopback: time until the answer arrives. Beside it,
   the rules and the store alone, a plain SQLite insert of the same rows in one fsynced transaction, and the round
   trip of a GetLocalListVersion (the link without the list).
2. Authorization lookups with 10,000 entries in the list (LocalPreAuthorize: the list answers, no CSMS), and of idTags
   in a cache of 10,000 (each hit also writes its least-recently-used mark), beside a plain SQLite primary-key lookup
   in a table of 10,000 rows. Goal: sub-millisecond.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from module.core.profiles.local_auth_list.send_local_list import apply
from module.core.profiles.local_auth_list.service import LocalAuthListService
from sim.csms.server import LocalCsms
from tests.core.station import CP_ID, station

ENTRIES = 10_000
ROUNDS = 5
LOOKUPS = 5_000
CONFIG = {"Core": {"LocalPreAuthorize": True, "AuthorizationCacheEnabled": True},
          "Internal": {"AuthorizationCacheMaxEntries": ENTRIES},
          "LocalAuthListManagement": {"LocalAuthListMaxLength": ENTRIES, "SendLocalListMaxLength": ENTRIES}}


def tag(number: int) -> str:
    return f"TAG{number % ENTRIES:05d}"


def full_list(version: int) -> dict[str, Any]:
    return {"listVersion": version, "updateType": "Full", "localAuthorizationList": [
        {"idTag": tag(n), "idTagInfo": {"status": "Accepted", "expiryDate": "2342-06-19T09:10:00Z",
                                        "parentIdTag": f"FLEET{n % 100:03d}"}} for n in range(ENTRIES)]}


def timed(work: Callable[[int], Any], rounds: int) -> list[float]:
    samples = []
    for n in range(rounds):
        started = time.perf_counter()
        work(n)
        samples.append(time.perf_counter() - started)
    return samples


async def timed_async(work: Callable[[int], Awaitable[Any]], rounds: int) -> list[float]:
    samples = []
    for n in range(rounds):
        started = time.perf_counter()
        await work(n)
        samples.append(time.perf_counter() - started)
    return samples


def plain_sqlite(folder: Path) -> tuple[list[float], list[float]]:
    """Baselines: 10,000 rows inserted in one fsynced transaction (WAL, synchronous=FULL, as in the charge point's
    file), and primary-key lookups of JSON in them."""
    conn = sqlite3.connect(folder / "plain.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE t (id_tag TEXT PRIMARY KEY, info TEXT NOT NULL)")
    rows = [(item["idTag"], json.dumps(item["idTagInfo"])) for item in full_list(1)["localAuthorizationList"]]

    def insert(_round: int) -> None:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("DELETE FROM t")
        conn.executemany("INSERT INTO t VALUES (?, ?)", rows)
        conn.execute("COMMIT")

    inserts = timed(insert, ROUNDS)
    lookups = timed(lambda n: json.loads(conn.execute("SELECT info FROM t WHERE id_tag = ?",
                                                      (tag(n * 7),)).fetchone()[0]), LOOKUPS)
    conn.close()
    return inserts, lookups


def us(samples: list[float]) -> str:
    ordered = sorted(samples)
    return (f"p50 {ordered[len(ordered) // 2] * 1e6:6.1f} us, p99 {ordered[int(len(ordered) * 0.99)] * 1e6:6.1f} us,"
            f" mean {statistics.mean(samples) * 1e6:6.1f} us")


def ms(samples: list[float]) -> str:
    return (f"median {statistics.median(samples) * 1e3:6.1f} ms (min {min(samples) * 1e3:.1f}, "
            f"max {max(samples) * 1e3:.1f}, {len(samples)} runs)")


async def main() -> None:
    versions = iter(range(1, 1_000))
    with tempfile.TemporaryDirectory() as folder:
        async with LocalCsms(call_timeout=60) as csms, station(Path(folder), csms, config=CONFIG) as cp:
            answers: list[Any] = []
            # The CSMS side skips its own schema check of the request (the `ocpp` package's, slow for 10,000 entries):
            # what is timed is the charge point's work and the loopback.
            send = await timed_async(lambda _n: csms.call(CP_ID, "SendLocalList", full_list(next(versions)),
                                                          validate=False), ROUNDS)
            service = cp.charge_point.services["LocalAuthListManagement"]
            assert isinstance(service, LocalAuthListService)
            requests = [full_list(next(versions)) for _ in range(ROUNDS)]
            store = timed(lambda n: answers.append(apply(service.list, requests[n], service.limits())), ROUNDS)
            version_trip = await timed_async(lambda _n: cp.call("GetLocalListVersion", {}), 200)

            validate = cp.charge_point.core.authorization.validate
            listed = await timed_async(lambda n: validate(tag(n * 7)), LOOKUPS)
            raw_get = timed(lambda n: service.list.get(tag(n * 7)), LOOKUPS)
            answers.append((await cp.call("SendLocalList", {"listVersion": next(versions), "updateType": "Full"}))[
                "status"])  # the list empty again: the cache answers now
            for n in range(ENTRIES):
                cp.charge_point.core.authorization.cache.put(tag(n), {"status": "Accepted", "parentIdTag": "FLEET"})
            cached = await timed_async(lambda n: validate(tag(n * 7)), LOOKUPS)
            assert csms.payloads("Authorize") == [], "every lookup must be answered locally"
        inserts, plain_lookups = plain_sqlite(Path(folder))
    assert answers == ["Accepted"] * len(answers)

    print(f"SendLocalList Full of {ENTRIES:,} entries, CSMS until the answer: {ms(send)}")
    print(f"  the SendLocalList rules and the store alone:            {ms(store)}")
    print(f"  baseline: plain SQLite insert in one fsynced transaction: {ms(inserts)}")
    print(f"  baseline: GetLocalListVersion round trip:               {ms(version_trip)}")
    print(f"authorization lookup, {ENTRIES:,} entries in the list:    {us(listed)}")
    print(f"  LocalAuthList.get alone:                                {us(raw_get)}")
    print(f"authorization lookup, {ENTRIES:,} entries in the cache:   {us(cached)}")
    print(f"  baseline: plain SQLite primary-key lookup:              {us(plain_lookups)}")


if __name__ == "__main__":
    asyncio.run(main())
