"""The charge point side in its own process, so a test can kill -9 it: `cp_child.py DB_DIR URI MODE [N]`.

MODE meter: queue N MeterValues; transaction: queue StartTransaction, N MeterValues, StopTransaction (session
S1); run: queue nothing. Prints "queued" once the messages are durable, then one line per result:
"result <action> queued=<left>".
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from module.link.link import OcppLink
from module.queue.database import Database
from module.queue.message_queue import MessageQueue, QueueSettings
from module.v16.transaction_policy import V16TransactionPolicy
from tests.queue.conftest import BOOT, link_settings
from tests.queue.messages import meter_values, start_transaction, stop_transaction


async def main(db_dir: str, uri: str, mode: str, count: int) -> None:
    db = Database.open(db_dir, "CP1")
    link = OcppLink(link_settings(uri))
    queue = MessageQueue(db, link, QueueSettings(), V16TransactionPolicy(db), boot_payload=lambda: dict(BOOT),
                         on_boot_accepted=lambda response: None)

    def report(action: str) -> Any:
        def callback(session_id: str | None, request: dict[str, Any], response: dict[str, Any] | None) -> None:
            print(f"result {action} queued={queue.queued()}", flush=True)
        return callback

    for action in V16TransactionPolicy.transactional_actions:
        queue.on_transactional_result(action, report(action))
    if mode == "meter":
        for number in range(count):
            await queue.enqueue_transactional("MeterValues", meter_values(number))
    elif mode == "transaction":
        await queue.enqueue_transactional("StartTransaction", start_transaction(), session_id="S1")
        for number in range(count):
            await queue.enqueue_transactional("MeterValues", meter_values(number), session_id="S1")
        await queue.enqueue_transactional("StopTransaction", stop_transaction(), session_id="S1")
    print("queued", flush=True)
    await queue.start()
    await link.start()
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 0))
