"""Cost of keeping every running transaction's latest reading on disk (for PowerLoss stops), 128 EVSEs.

Run: .venv/bin/python bench/meter_journal.py. Compares, in the same run and the same SQLite file settings:
- baseline: each reading written on its own with fsync (what journaling every reading naively costs);
- grouped: the MeterJournal's way, all readings noted within FLUSH_S written in one transaction without fsync.
Prints the disk time per second of metering at 1 Hz per EVSE for both, and their ratio.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from module.core.profiles.core.meter_journal import FLUSH_S  # noqa: E402
from module.queue.database import Database  # noqa: E402
from module.v16.transactions import TransactionStore  # noqa: E402

EVSES = 128
ROUNDS = 20


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = Database.open(folder, "BENCH")
        store = TransactionStore(db)
        sessions = [f"S{n}" for n in range(EVSES)]
        for n, session in enumerate(sessions):
            store.open(session, n + 1, "TAG", 0, "2026-01-01T00:00:00Z")
        started = time.perf_counter()
        for round_ in range(ROUNDS):
            for session in sessions:
                with db.transaction() as conn:  # fsynced, one reading per transaction
                    conn.execute("UPDATE transactions SET last_meter_value = ? WHERE session_id = ?",
                                 (float(round_), session))
        each_fsynced = (time.perf_counter() - started) / ROUNDS
        flushes = round(1 / FLUSH_S)  # a second's readings arrive spread over this many flushes
        share = EVSES // flushes
        started = time.perf_counter()
        for round_ in range(ROUNDS):
            for flush in range(flushes):
                group = sessions[flush * share:(flush + 1) * share]
                store.record_meters({session: (float(round_), "2026-01-01T00:00:00Z") for session in group})
        grouped = (time.perf_counter() - started) / ROUNDS
        db.close()
    print(f"{EVSES} EVSEs at 1 Hz, disk time per second of metering:")
    print(f"  baseline, every reading fsynced on its own: {each_fsynced * 1e3:8.2f} ms")
    print(f"  MeterJournal, grouped, one write per {FLUSH_S:g} s:  {grouped * 1e3:8.2f} ms "
          f"(ratio {each_fsynced / grouped:.0f}x less)")


if __name__ == "__main__":
    main()
