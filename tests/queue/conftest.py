"""Fixtures for the queue tests: a loopback CSMS, and a charge point side (database, link, queue) on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from module.clock import Clock
from module.link.link import OcppLink
from module.link.settings import LinkSettings
from module.queue.database import Database
from module.queue.message_queue import MessageQueue, QueueSettings
from module.v16.transaction_policy import V16TransactionPolicy
from tests.queue.csms_peer import CsmsPeer

BOOT = {"chargePointVendor": "QueueTests", "chargePointModel": "Loopback"}


def link_settings(uri: str, call_timeout: float = 5.0) -> LinkSettings:
    """Reconnect every 20 ms, so a CSMS coming back is seen at once."""
    return LinkSettings(
        central_system_uri=uri, charge_point_id="CP1", retry_backoff_wait_minimum=0.02,
        retry_backoff_random_range=0.0, retry_backoff_repeat_times=0, call_timeout=call_timeout,
    )


@dataclass
class Station:
    """The charge point side: one database, one link, one queue."""

    db: Database
    link: OcppLink
    queue: MessageQueue
    boot_responses: list[dict[str, Any]] = field(default_factory=list)


StationFactory = Callable[..., Awaitable[Station]]


@pytest.fixture
async def csms() -> AsyncIterator[CsmsPeer]:
    peer = await CsmsPeer().start()
    yield peer
    await peer.close()


@pytest.fixture
async def station(tmp_path: Path, csms: CsmsPeer) -> AsyncIterator[StationFactory]:
    made: list[Station] = []

    async def make(settings: QueueSettings | None = None, clock: Clock | None = None,
                   start_link: bool = True, call_timeout: float = 5.0) -> Station:
        db = Database.open(tmp_path, "CP1")
        link = OcppLink(link_settings(csms.uri, call_timeout))
        responses: list[dict[str, Any]] = []
        queue = MessageQueue(
            db, link, settings or QueueSettings(), V16TransactionPolicy(db),
            boot_payload=lambda: dict(BOOT), on_boot_accepted=responses.append, clock=clock,
        )
        made.append(Station(db, link, queue, responses))
        await queue.start()
        if start_link:
            await link.start()
        return made[-1]

    yield make
    for item in made:
        await item.queue.stop()
        await item.link.stop()
        item.db.close()
