"""A 2.0.1 charging station in process: the shared link and queue with the 2.0.1 spec and policy, the device model
on the same SQLite file with the provisioning operations registered, against the local CSMS in 2.0.1 mode."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest

from module.link.link import OcppLink
from module.link.settings import LinkSettings
from module.queue.database import Database
from module.queue.message_queue import MessageQueue, QueueSettings
from module.v201.device_model.device_model import DeviceModel
from module.v201.protocol import OCPP201
from module.v201.provisioning import get_base_report, get_variables, set_variables
from module.v201.transaction_policy import V201TransactionPolicy
from sim.csms.server import LocalCsms

STATION_ID = "CS201"
BOOT = {"reason": "PowerUp", "chargingStation": {"model": "SimModel", "vendorName": "SimVendor"}}


@dataclass
class Station201:
    link: OcppLink
    queue: MessageQueue
    model: DeviceModel
    db: Database


@pytest.fixture
async def csms() -> AsyncIterator[LocalCsms]:
    async with LocalCsms(call_timeout=5, ocpp_version="2.0.1") as server:
        yield server


@asynccontextmanager
async def running_station(tmp_path: Path, csms: LocalCsms, *, accepted: bool = True) -> AsyncIterator[Station201]:
    """The station started against `csms`; with `accepted`, once its BootNotification was accepted."""
    link = OcppLink(LinkSettings(f"{csms.host}:{csms.port}/", STATION_ID, retry_backoff_wait_minimum=0.05,
                                 retry_backoff_random_range=0), OCPP201)
    db = Database.open(tmp_path, STATION_ID)
    model = DeviceModel(db)
    for operation in (get_variables, set_variables):
        link.register_handler(operation.ACTION, partial(operation.handle, model))
    queue = MessageQueue(db, link, QueueSettings(), V201TransactionPolicy(), boot_payload=lambda: dict(BOOT),
                         on_boot_accepted=lambda response: None)
    link.register_handler(get_base_report.ACTION, partial(get_base_report.handle, model, queue.send))
    await queue.start()
    await link.start()
    try:
        if accepted:
            await queue.registration.wait_accepted()
        yield Station201(link, queue, model, db)
    finally:
        await queue.stop()
        await link.stop()
        db.close()


@pytest.fixture
async def station(tmp_path: Path, csms: LocalCsms) -> AsyncIterator[Station201]:
    async with running_station(tmp_path, csms) as started:
        yield started
