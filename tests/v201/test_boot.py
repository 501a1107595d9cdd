"""Cold boot over OCPP 2.0.1 (B01-B03): Accepted, Pending (the CSMS may ask, the station answers) and Rejected
(nothing but the boot again after the interval; the CSMS's CALLs go unanswered)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from sim.csms.server import LocalCsms
from tests.v201.conftest import BOOT, STATION_ID, running_station

OFFLINE_THRESHOLD = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "OfflineThreshold"}}


async def test_tc_b_01_cs_cold_boot_accepted(tmp_path: Path, csms: LocalCsms) -> None:
    async with running_station(tmp_path, csms) as station:
        assert station.queue.registration.accepted
        assert csms.payloads("BootNotification") == [BOOT]


async def test_tc_b_02_cs_cold_boot_pending_answers_the_csms(tmp_path: Path, csms: LocalCsms) -> None:
    csms.boot_status = "Pending"
    async with running_station(tmp_path, csms, accepted=False) as station:
        await csms.wait_for("BootNotification", direction="out", kind="CALLRESULT")
        answer = await csms.call(STATION_ID, "GetVariables", {"getVariableData": [OFFLINE_THRESHOLD]})
        assert answer["getVariableResult"][0]["attributeValue"] == "60"
        assert not station.queue.registration.accepted


async def test_tc_b_03_cs_cold_boot_rejected_boots_again_after_the_interval(tmp_path: Path, csms: LocalCsms) -> None:
    csms.boot_status = "Rejected"
    csms.heartbeat_interval = 1
    async with running_station(tmp_path, csms, accepted=False) as station:
        await csms.wait_for("BootNotification", direction="out", kind="CALLRESULT")
        with pytest.raises(TimeoutError):  # while Rejected the station leaves the CSMS's CALLs unanswered
            await csms.call(STATION_ID, "GetVariables", {"getVariableData": [OFFLINE_THRESHOLD]}, timeout=0.5)
        csms.boot_status = "Accepted"
        await asyncio.wait_for(station.queue.registration.wait_accepted(), 10)  # the next boot, 1 s later
        assert len(csms.payloads("BootNotification")) == 2
