"""`make run`'s scripted session, headless: what the CSMS sees on both connectors, and a clean stop on Ctrl-C."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from sim.csms import LocalCsms
from sim.demo.ocpp_messages import OcppMessage, from_record

REPO = Path(__file__).resolve().parents[2]
SESSIONS_DONE_S = 75.0  # about 20 s on an idle machine; module start-up is slow on a loaded one
STOP_S = 15.0
CONNECTORS = (1, 2)
OCPP_LINE = re.compile(r"^\S+ ocpp +(CP->CSMS|CSMS->CP) (\S+) (\S+) (.*)$")


@dataclass
class DemoProcess:
    """`python -m sim.demo --headless` with its output lines, parsed into OCPP messages as they come."""

    process: asyncio.subprocess.Process
    started: float
    lines: list[str] = field(default_factory=list)
    messages: list[OcppMessage] = field(default_factory=list)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def read(self) -> None:
        assert self.process.stdout is not None
        async for raw in self.process.stdout:
            line = raw.decode().rstrip("\n")
            self.lines.append(line)
            message = parse_ocpp_line(line)
            if message is not None:
                self.messages.append(message)
            self._changed.set()
        self._changed.set()

    async def wait_line(self, fragment: str, timeout: float) -> None:
        async with asyncio.timeout(timeout):
            while not any(fragment in line for line in self.lines):
                self._changed.clear()
                if self.process.returncode is not None:
                    raise AssertionError("demo exited; output:\n" + "\n".join(self.lines[-30:]))
                await self._changed.wait()

    async def wait_messages(self, done: Any, timeout: float) -> None:
        async with asyncio.timeout(timeout):
            while not done(self.messages):
                self._changed.clear()
                await self._changed.wait()

    async def interrupt(self) -> int:
        """Ctrl-C as a terminal sends it, to the whole process group; returns the exit status."""
        os.killpg(self.process.pid, signal.SIGINT)
        return await asyncio.wait_for(self.process.wait(), STOP_S)


def parse_ocpp_line(line: str) -> OcppMessage | None:
    """`<time> ocpp <CP->CSMS|CSMS->CP> <kind> <action> <json>` (the view's plain line format)."""
    match = OCPP_LINE.match(line)
    if match is None:
        return None
    arrow, kind, action, payload = match.groups()
    return OcppMessage(arrow == "CP->CSMS", kind, action, json.loads(payload))


async def start_demo(state_dir: Path, *extra: str) -> DemoProcess:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sim.demo", "--headless", "--state-dir", str(state_dir), "--duration", "120", *extra,
        cwd=REPO, stdout=asyncio.subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        start_new_session=True)  # its own process group, as in a terminal
    return DemoProcess(process, time.monotonic())


@pytest.fixture
async def demos() -> AsyncIterator[list[DemoProcess]]:
    started: list[DemoProcess] = []
    yield started
    for demo in started:
        if demo.process.returncode is None:
            demo.process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(demo.process.wait(), STOP_S)


def calls(messages: list[OcppMessage], action: str) -> list[dict[str, Any]]:
    return [m.payload for m in messages if m.to_csms and m.kind == "CALL" and m.action == action]


def sessions_done(messages: list[OcppMessage]) -> bool:
    """Both transactions stopped and both connectors reported Available again."""
    if len(calls(messages, "StopTransaction")) < len(CONNECTORS):
        return False
    last = {s["connectorId"]: s["status"] for s in calls(messages, "StatusNotification")}
    return all(last.get(c) == "Available" for c in CONNECTORS)


def energy(meter_values: list[dict[str, Any]]) -> list[float]:
    """Energy.Active.Import.Register readings (all phases together), in order."""
    return [float(s["value"]) for entry in meter_values for s in entry["sampledValue"]
            if s.get("measurand", "Energy.Active.Import.Register") == "Energy.Active.Import.Register"
            and "phase" not in s]


def assert_full_sessions(messages: list[OcppMessage]) -> None:
    """The CSMS saw a boot and, on each connector, a whole RFID-authorized transaction with growing energy."""
    assert calls(messages, "BootNotification"), "no BootNotification"
    statuses = calls(messages, "StatusNotification")
    starts = calls(messages, "StartTransaction")
    results = [m.payload for m in messages if m.kind == "CALLRESULT" and m.action == "StartTransaction"]
    transaction_ids = {start["connectorId"]: result["transactionId"] for start, result in zip(starts, results,
                                                                                               strict=True)}
    assert sorted(transaction_ids) == list(CONNECTORS)
    for connector, transaction_id in transaction_ids.items():
        seen = [s["status"] for s in statuses if s["connectorId"] == connector]
        assert {"Preparing", "Charging"} <= set(seen) and seen[-1] == "Available", (connector, seen)
        tag = f"RFID_VALID{connector}"
        assert {"idTag": tag} in calls(messages, "Authorize")
        start = next(s for s in starts if s["connectorId"] == connector)
        assert start["idTag"] == tag
        samples = [r for mv in calls(messages, "MeterValues") if mv.get("transactionId") == transaction_id
                   for r in energy(mv["meterValue"])]
        assert len(samples) >= 2 and samples == sorted(samples) and samples[0] < samples[-1], samples
        stop = next(s for s in calls(messages, "StopTransaction") if s["transactionId"] == transaction_id)
        last_reading = energy(stop["transactionData"])[-1]
        assert stop["meterStop"] == round(last_reading), (stop["meterStop"], last_reading)
        assert stop["meterStop"] >= samples[-1] > start["meterStart"]
        assert stop["reason"] == "EVDisconnected"


def assert_first_session_limited(demo: DemoProcess) -> None:
    """The local CSMS limited the session on connector 1 to 8 A: the EVSE offered the car less, and the session
    took less energy than the one on connector 2, which charged as long at full power."""
    exchange = [(m.kind, m.to_csms, m.payload) for m in demo.messages if m.action == "SetChargingProfile"]
    assert [(kind, to_csms) for kind, to_csms, _ in exchange] == [("CALL", False), ("CALLRESULT", True)]
    assert exchange[0][2]["csChargingProfiles"]["chargingProfilePurpose"] == "TxProfile"
    assert exchange[1][2] == {"status": "Accepted"}
    assert any(" evse1 " in line and "offers the car 8 A (was 32 A)" in line for line in demo.lines), demo.lines
    starts = {s["connectorId"]: s["meterStart"] for s in calls(demo.messages, "StartTransaction")}
    results = [m.payload["transactionId"] for m in demo.messages
               if m.kind == "CALLRESULT" and m.action == "StartTransaction"]
    ids = dict(zip(starts, results, strict=True))
    used = {connector: next(s["meterStop"] for s in calls(demo.messages, "StopTransaction")
                            if s["transactionId"] == ids[connector]) - starts[connector] for connector in starts}
    assert used[1] < used[2], used


async def test_make_run_plays_a_full_session_on_both_connectors_and_stops_on_ctrl_c(
        tmp_path: Path, demos: list[DemoProcess]) -> None:
    demo = await start_demo(tmp_path)
    demos.append(demo)
    reader = asyncio.create_task(demo.read())
    await demo.wait_messages(sessions_done, SESSIONS_DONE_S)
    elapsed = time.monotonic() - demo.started
    assert_full_sessions(demo.messages)
    assert_first_session_limited(demo)
    await demo.wait_line("scripted sessions done", STOP_S)
    assert json.loads((tmp_path / "broker.json").read_text())["port"] > 0  # sim.ctl finds the running system
    assert (tmp_path / "csms-control.port").exists()
    assert await demo.interrupt() == 0
    await reader
    assert demo.lines[-1] == "demo stopped", demo.lines[-5:]
    assert not (tmp_path / "broker.json").exists()
    user_config = json.loads((tmp_path / "local" / "user_config.json").read_text())
    assert user_config["Internal"]["ChargePointId"] == "cp001"
    assert (tmp_path / "local" / "db" / "cp001.db").exists()
    assert '"BootNotification"' in (tmp_path / "local" / "logs" / "messages.html").read_text()  # README's page
    assert "lost" not in (tmp_path / "manager.log").read_text()  # the broker outlived the modules' shutdown
    print(f"both sessions done {elapsed:.1f} s after start")


async def test_other_csms_gets_the_same_sessions_and_the_demo_state_stays_untouched(
        tmp_path: Path, demos: list[DemoProcess]) -> None:
    saved = tmp_path / "local" / "user_config.json"
    saved.parent.mkdir(parents=True)
    saved.write_text('{"Internal": {"CentralSystemURI": "127.0.0.1:1/kept"}}\n')
    async with LocalCsms() as csms:
        url = f"{csms.url}ocpp"
        demo = await start_demo(tmp_path, "--csms", url)
        demos.append(demo)
        reader = asyncio.create_task(demo.read())
        async with asyncio.timeout(SESSIONS_DONE_S):
            while not sessions_done(messages := [from_record(r) for r in csms.messages]):
                await csms.wait_for_record(lambda _r: True, SESSIONS_DONE_S, after_index=len(messages))
        assert csms.charge_points.keys() == {"cp001"}
        assert_full_sessions(messages)
        await demo.wait_messages(sessions_done, STOP_S)  # the demo shows them from the charge point's log
        assert await demo.interrupt() == 0
        await reader
    assert saved.read_text() == '{"Internal": {"CentralSystemURI": "127.0.0.1:1/kept"}}\n'
    remote = next((tmp_path / "remote").iterdir())
    assert json.loads((remote / "user_config.json").read_text())["Internal"]["CentralSystemURI"] == url


def transactions_201_done(messages: list[OcppMessage]) -> bool:
    """A TransactionEvent Ended on each EVSE and each connector Available again."""
    ended = {p["evse"]["id"] for p in calls(messages, "TransactionEvent") if p["eventType"] == "Ended"}
    last = {s["evseId"]: s["connectorStatus"] for s in calls(messages, "StatusNotification")}
    return ended >= set(CONNECTORS) and all(last.get(c) == "Available" for c in CONNECTORS)


async def test_make_run_ocpp_201_boots_shows_its_base_report_and_plays_the_sessions(
        tmp_path: Path, demos: list[DemoProcess]) -> None:
    demo = await start_demo(tmp_path, "--ocpp", "201")
    demos.append(demo)
    reader = asyncio.create_task(demo.read())
    await demo.wait_line("base report received", SESSIONS_DONE_S)
    boot = next(m for m in demo.messages if m.action == "BootNotification" and m.kind == "CALL")
    assert boot.payload["reason"] == "PowerUp" and boot.payload["chargingStation"]["vendorName"] == "SimVendor"
    assert any(m.action == "NotifyReport" and not m.payload["tbc"] for m in demo.messages)
    await demo.wait_messages(transactions_201_done, SESSIONS_DONE_S)
    for evse in CONNECTORS:  # the same two card sessions as in 1.6 mode, as 2.0.1 transactions
        events = [p for p in calls(demo.messages, "TransactionEvent") if p["evse"]["id"] == evse]
        assert [e["seqNo"] for e in events] == list(range(len(events)))
        assert events[0]["eventType"] == "Started" and events[0]["idToken"]["idToken"] == f"RFID_VALID{evse}"
        assert "Charging" in [e["transactionInfo"].get("chargingState") for e in events]
        assert events[-1]["eventType"] == "Ended"
    assert await demo.interrupt() == 0
    await reader
    assert (tmp_path / "local201" / "component_config" / "custom" / "InternalCtrlr.json").exists()
