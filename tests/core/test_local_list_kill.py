"""kill -9 while a SendLocalList of 10,000 entries is being written: after the restart the list is the old one or
the new one, whole, with its own version; never a mix (the update is one SQLite transaction)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from module.core.profiles.local_auth_list.local_list import LocalAuthList
from module.queue.database import Database

ROOT = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("local_list_child.py")
ENTRIES = 10_000


async def kill_while_writing(db_dir: Path) -> int:
    """Start a writer, let it store one list whole, kill it inside the transaction of the next; returns the version
    it was writing when killed."""
    process = subprocess.Popen([sys.executable, str(CHILD), str(db_dir), str(ENTRIES)], stdout=subprocess.PIPE,
                               text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert process.stdout is not None
    try:
        while not (line := await asyncio.to_thread(process.stdout.readline)).startswith("written"):
            assert line, f"writer exited with {process.poll()}"
        line = await asyncio.to_thread(process.stdout.readline)
        assert line.startswith("writing"), line
        process.send_signal(signal.SIGKILL)
        return int(line.split()[1])
    finally:
        process.kill()
        process.wait()
        process.stdout.close()


async def test_kill_during_a_send_local_list_of_10000_entries_leaves_old_or_new_list(tmp_path: Path) -> None:
    for _ in range(3):
        killed_in = await kill_while_writing(tmp_path)
        db = Database.open(tmp_path, "CP1")
        local_list = LocalAuthList(db)
        version = local_list.version()
        assert version in (killed_in - 1, killed_in)
        assert local_list.size() == ENTRIES
        groups = {(local_list.get(f"TAG{number:05d}") or {}).get("parentIdTag") for number in range(ENTRIES)}
        assert groups == {f"V{version}"}
        db.close()
