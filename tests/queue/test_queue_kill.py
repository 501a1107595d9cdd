"""kill -9 of the charge point process mid-drain and mid offline transaction: nothing lost, ids right."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from module.queue.database import Database
from module.v16.transactions import TransactionState, TransactionStore
from tests.queue.csms_peer import CsmsPeer, Hold
from tests.queue.messages import number_of

ROOT = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("cp_child.py")


class Child:
    """One charge point process; `line()` reads its next stdout line without blocking the loop."""

    def __init__(self, db_dir: Path, uri: str, mode: str, count: int = 0) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.process = subprocess.Popen(
            [sys.executable, str(CHILD), str(db_dir), uri, mode, str(count)],
            stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env,
        )

    async def line(self) -> str:
        text = await asyncio.to_thread(self.process.stdout.readline)
        assert text, f"child exited with {self.process.poll()}"
        return text.strip()

    async def until(self, wanted: str) -> None:
        while (await self.line()) != wanted:
            pass

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self.process.stdout.close()


@pytest.fixture
def children() -> Iterator[list[Child]]:
    started: list[Child] = []
    yield started
    for child in started:
        if child.process.poll() is None:
            child.kill()


def hold_once(csms: CsmsPeer, action: str, when: Any = lambda payload: True) -> asyncio.Event:
    """Leave the first matching CALL unanswered and signal it: the charge point is killed in that moment."""
    held = asyncio.Event()
    answer = csms.handlers[action]

    def handler(payload: dict[str, Any]) -> Any:
        if not held.is_set() and when(payload):
            held.set()
            return Hold()
        return answer(payload)

    csms.handlers[action] = handler
    return held


async def test_kill_mid_drain_loses_nothing_and_repeats_only_the_message_in_flight(
        tmp_path: Path, csms: CsmsPeer, children: list[Child]) -> None:
    csms.online = False
    children.append(first := Child(tmp_path, csms.uri, "meter", 300))
    await first.until("queued")
    held = hold_once(csms, "MeterValues", lambda payload: number_of(payload) == 100)
    csms.online = True
    await held.wait()
    first.kill()

    children.append(second := Child(tmp_path, csms.uri, "run"))
    await second.until("result MeterValues queued=0")
    assert [number_of(p) for p in csms.of("MeterValues")] == [*range(101), *range(100, 300)]


@pytest.mark.parametrize("kill_at", ["StartTransaction", "MeterValues"])
async def test_kill_mid_offline_transaction_keeps_the_real_id_everywhere(
        tmp_path: Path, csms: CsmsPeer, children: list[Child], kill_at: str) -> None:
    transaction_ids = iter(range(500, 600))
    csms.handlers["StartTransaction"] = lambda payload: {
        "transactionId": next(transaction_ids), "idTagInfo": {"status": "Accepted"}}
    csms.online = False
    children.append(first := Child(tmp_path, csms.uri, "transaction", 5))
    await first.until("queued")
    held = hold_once(csms, kill_at)
    csms.online = True
    await held.wait()
    first.kill()

    children.append(second := Child(tmp_path, csms.uri, "run"))
    await second.until("result StopTransaction queued=0")
    starts = len(csms.of("StartTransaction"))
    real = 500  # the held StartTransaction got no id; the first answered one got 500
    sent = [(item.action, item.payload.get("transactionId")) for item in csms.received
            if item.action in ("MeterValues", "StopTransaction")]
    assert [action for action, _ in sent].count("StopTransaction") == 1
    assert {transaction_id for _, transaction_id in sent} == {real}
    assert len(sent) == (6 if kill_at == "StartTransaction" else 7)  # 5 MeterValues + Stop (+ 1 repeated)
    assert starts == (2 if kill_at == "StartTransaction" else 1)

    second.kill()
    db = Database.open(tmp_path, "CP1")
    transaction = TransactionStore(db).get("S1")
    assert (transaction.csms_transaction_id, transaction.state) == (real, TransactionState.FINISHED)
    assert transaction.placeholder_id < 0
    db.close()
